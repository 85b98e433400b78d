/* Slice (0 slices: int array, one extent per top, -233 = an equal share of
 * what is left; 1 axis on ncnn dims, negative from the end).  The extents
 * must add up to the input's extent along the axis.  float32 or int8. */
#include "blob_shape.h"

#define SLICE_REST (-233)

typedef struct {
    int n;
    int *slices; /* owned */
    int axis;
} slice_priv;

static void destroy(mxn_layer *l)
{
    slice_priv *p = (slice_priv *)l->priv;
    if (p) free(p->slices);
    free(p);
    l->priv = NULL;
}

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    slice_priv *p;
    const int *slices;
    int k, rc = mxn_check_blob_counts(l, 1, -1, err);
    if (rc) return rc;
    if (!(p = (slice_priv *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->n = mxn_pd_int_array(pd, 0, &slices);
    p->axis = mxn_pd_int(pd, 1, 0);
    if (mxn_pd_has(pd, 2))
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "Slice by indices (2=) is not supported");
    if (p->n != l->top_count)
        return mxn_error_set(err, MXN_ERR_FORMAT, "Slice has %d slices (0=) for %d top blobs", p->n, l->top_count);
    if (!(p->slices = (int *)malloc(sizeof(int) * (size_t)p->n)))
        return mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory");
    for (k = 0; k < p->n; k++) {
        if (slices[k] <= 0 && slices[k] != SLICE_REST)
            return mxn_error_set(err, MXN_ERR_FORMAT, "Slice extent %d is %d (positive or -233)", k, slices[k]);
        p->slices[k] = slices[k];
    }
    return MXN_OK;
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const slice_priv *p = (const slice_priv *)l->priv;
    const mxn_mat *a = &bottoms[0];
    int ext[3], in3[3], dims, axis, k, q = 0, rc;
    (void)opt;
    dims = mxn_blob_extents(a, ext);
    axis = p->axis < 0 ? p->axis + dims : p->axis;
    if (axis < 0 || axis >= dims)
        return mxn_error_set(err, MXN_ERR_SHAPE, "Slice axis %d is out of range for a %d-D blob", p->axis, dims);
    mxn_extents3(dims, ext, in3);
    for (k = 0; k < p->n; k++) {
        int out[3], start3[3] = {0, 0, 0}, out3[3], n = p->slices[k];
        if (n == SLICE_REST) n = (ext[axis] - q) / (p->n - k);
        if (n <= 0 || q + n > ext[axis])
            return mxn_error_set(err, MXN_ERR_SHAPE, "Slice extents do not fit the input's extent %d on axis %d",
                                 ext[axis], axis);
        out[0] = ext[0]; out[1] = ext[1]; out[2] = ext[2];
        out[axis] = n;
        if ((rc = mxn_mat_alloc_extents(&tops[k], dims, out, a->dtype, err))) return rc;
        mxn_extents3(dims, out, out3);
        start3[axis + 3 - dims] = q;
        mxn_copy_box((const unsigned char *)a->data, in3, (unsigned char *)tops[k].data, start3, out3,
                     mxn_dtype_size(a->dtype));
        q += n;
    }
    if (q != ext[axis])
        return mxn_error_set(err, MXN_ERR_SHAPE, "Slice extents add up to %d, the input has %d on axis %d", q,
                             ext[axis], axis);
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_slice = {"Slice", load_param, NULL, forward, destroy};
