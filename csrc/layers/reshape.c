/* Reshape (0=w 1=h 2=c; which ones are given decides the output dims: only w
 * -> 1-D, w,h -> 2-D, w,h,c -> 3-D).  0 keeps the input's extent, -1 is
 * inferred from the element count (at most one), and the product must equal
 * the input's element count.  Data order (C,H,W) is unchanged; float32 or int8. */
#include "layer_util.h"

#define RESHAPE_UNSET (-233)

typedef struct {
    int ndim;
    int shape[3]; /* w, h, c */
} reshape_priv;

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    reshape_priv *p;
    int rc = mxn_check_blob_counts(l, 1, 1, err), k;
    if (rc) return rc;
    if (!(p = (reshape_priv *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->shape[0] = mxn_pd_int(pd, 0, RESHAPE_UNSET);
    p->shape[1] = mxn_pd_int(pd, 1, RESHAPE_UNSET);
    p->shape[2] = mxn_pd_int(pd, 2, RESHAPE_UNSET);
    if (mxn_pd_int(pd, 11, RESHAPE_UNSET) != RESHAPE_UNSET)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "4-D Reshape (11=d) is not supported");
    if (mxn_pd_int(pd, 3, 0) != 0)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "Reshape with permute (3=1) is not supported");
    if (mxn_pd_has(pd, 6))
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "Reshape with a shape expression (6=) is not supported");
    p->ndim = 3;
    if (p->shape[2] == RESHAPE_UNSET) p->ndim = 2;
    if (p->shape[1] == RESHAPE_UNSET) p->ndim = 1;
    if (p->shape[0] == RESHAPE_UNSET)
        return mxn_error_set(err, MXN_ERR_FORMAT, "Reshape needs at least 0=w");
    {
        int inferred = 0;
        for (k = 0; k < p->ndim; k++) {
            if (p->shape[k] == -1) inferred++;
            else if (p->shape[k] < 0)
                return mxn_error_set(err, MXN_ERR_FORMAT, "Reshape extent %d=%d is invalid (use >0, 0 = keep, -1 = infer)",
                                     k, p->shape[k]);
        }
        if (inferred > 1) return mxn_error_set(err, MXN_ERR_FORMAT, "Reshape can infer only one extent (-1)");
    }
    return MXN_OK;
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const reshape_priv *p = (const reshape_priv *)l->priv;
    const mxn_mat *a = &bottoms[0];
    size_t total = mxn_mat_total(a), known = 1;
    int in_ext[3], out[3] = {1, 1, 1}, k, infer = -1;
    (void)opt;
    in_ext[0] = a->w;
    in_ext[1] = a->h;
    in_ext[2] = a->c;
    for (k = 0; k < p->ndim; k++) {
        out[k] = p->shape[k] == 0 ? in_ext[k] : p->shape[k];
        if (out[k] == -1) infer = k;
        else known *= (size_t)out[k];
    }
    if (infer >= 0) {
        if (known == 0 || total % known != 0)
            return mxn_error_set(err, MXN_ERR_SHAPE, "cannot reshape %zu elements (input %dx%dx%d) with extents %d,%d,%d",
                                 total, a->c, a->h, a->w, p->shape[0], p->shape[1], p->shape[2]);
        out[infer] = (int)(total / known);
        known *= (size_t)out[infer];
    }
    if (known != total)
        return mxn_error_set(err, MXN_ERR_SHAPE,
                             "cannot reshape input c,h,w = %d,%d,%d (%zu elements) to w,h,c = %d,%d,%d (%zu elements)",
                             a->c, a->h, a->w, total, out[0], out[1], out[2], known);
    /* the same values in C,H,W order: a view of the input, no copy */
    mxn_mat_view(&tops[0], a, p->ndim, out[0], p->ndim < 2 ? 1 : out[1], p->ndim < 3 ? 1 : out[2]);
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_reshape = {"Reshape", load_param, NULL, forward, NULL};
