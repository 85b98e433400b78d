/* Concat (0=axis on ncnn dims, negative from the end; for a 3-D blob 0 =
 * channels, 1 = rows, 2 = columns).  All bottoms must have the same dims, the
 * same dtype and equal extents except along the axis. */
#include "layer_util.h"

typedef struct {
    int axis;
} concat_priv;

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    concat_priv *p;
    int rc = mxn_check_blob_counts(l, -1, 1, err);
    if (rc) return rc;
    if (!(p = (concat_priv *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->axis = mxn_pd_int(pd, 0, 0);
    return MXN_OK;
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const concat_priv *p = (const concat_priv *)l->priv;
    const mxn_mat *a = &bottoms[0];
    int axis = p->axis, k, rc, total_n = 0, n0;
    size_t outer0, inner0, esize = mxn_dtype_size(a->dtype), o;
    unsigned char *dst;
    (void)opt;
    if (axis < 0) axis += a->dims;
    if (axis < 0 || axis >= a->dims)
        return mxn_error_set(err, MXN_ERR_SHAPE, "axis %d is out of range for %d-D blobs", p->axis, a->dims);
    mxn_split_at_axis(a, axis, &outer0, &n0, &inner0);
    for (k = 0; k < l->bottom_count; k++) {
        const mxn_mat *b = &bottoms[k];
        size_t outer, inner;
        int n;
        if (b->dims != a->dims || b->dtype != a->dtype)
            return mxn_error_set(err, MXN_ERR_SHAPE, "bottom %d is %d-D %s, bottom 0 is %d-D %s", k, b->dims,
                                 b->dtype == MXN_I8 ? "int8" : "float32", a->dims,
                                 a->dtype == MXN_I8 ? "int8" : "float32");
        mxn_split_at_axis(b, axis, &outer, &n, &inner);
        if (outer != outer0 || inner != inner0 ||
            (a->dims == 3 && ((axis != 0 && b->c != a->c) || (axis != 1 && b->h != a->h) || (axis != 2 && b->w != a->w))) ||
            (a->dims == 2 && ((axis != 0 && b->h != a->h) || (axis != 1 && b->w != a->w))))
            return mxn_error_set(err, MXN_ERR_SHAPE,
                                 "bottom %d (c,h,w = %d,%d,%d) does not match bottom 0 (%d,%d,%d) outside axis %d", k,
                                 b->c, b->h, b->w, a->c, a->h, a->w, p->axis);
        if (n > 0x7fffffff - total_n) return mxn_error_set(err, MXN_ERR_SHAPE, "concatenated extent too large");
        total_n += n;
    }
    if (a->dims == 3)
        rc = mxn_mat_alloc(&tops[0], 3, axis == 2 ? total_n : a->w, axis == 1 ? total_n : a->h,
                           axis == 0 ? total_n : a->c, a->dtype, err);
    else if (a->dims == 2)
        rc = mxn_mat_alloc(&tops[0], 2, axis == 1 ? total_n : a->w, axis == 0 ? total_n : a->h, 1, a->dtype, err);
    else
        rc = mxn_mat_alloc(&tops[0], 1, total_n, 1, 1, a->dtype, err);
    if (rc) return rc;
    dst = (unsigned char *)tops[0].data;
    for (o = 0; o < outer0; o++) {
        for (k = 0; k < l->bottom_count; k++) {
            const mxn_mat *b = &bottoms[k];
            size_t outer, inner, chunk;
            int n;
            mxn_split_at_axis(b, axis, &outer, &n, &inner);
            chunk = (size_t)n * inner * esize;
            memcpy(dst, (const unsigned char *)b->data + o * chunk, chunk);
            dst += chunk;
        }
    }
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_concat = {"Concat", load_param, NULL, forward, NULL};
