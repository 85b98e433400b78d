/* Reduction (0 operation: 0 sum, 1 sum of |x|, 2 sum of squares, 3 mean,
 * 4 max, 5 min, 6 product; 1 reduce_all; 2 coeff (multiplies the result);
 * 3 axes: int array on ncnn dims - 0 = channels of a 3-D blob - negative from
 * the end; 4 keepdims; 5 fixbug0 = 1, required with axes as ncnn requires it).
 * Without keepdims the reduced axes are dropped (all reduced: one value).
 * float32. */
#include <float.h>
#include <math.h>
#include "blob_shape.h"

typedef struct {
    int operation, reduce_all, keepdims, naxes;
    int axes[3];
    float coeff;
} reduction_priv;

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    reduction_priv *p;
    const int *axes;
    int k, rc = mxn_check_blob_counts(l, 1, 1, err);
    if (rc) return rc;
    if (!(p = (reduction_priv *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->operation = mxn_pd_int(pd, 0, 0);
    p->reduce_all = mxn_pd_int(pd, 1, 1);
    p->coeff = mxn_pd_float(pd, 2, 1.f);
    p->naxes = mxn_pd_int_array(pd, 3, &axes);
    p->keepdims = mxn_pd_int(pd, 4, 0);
    if (p->operation < 0 || p->operation > 6)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "Reduction operation %d is not supported (0..6)",
                             p->operation);
    if (!p->reduce_all && mxn_pd_int(pd, 5, 0) == 0)
        return mxn_error_set(err, MXN_ERR_FORMAT, "Reduction with axes needs 5=1 (fixbug0): the .param is from an "
                             "old converter, regenerate it");
    if (p->naxes > 3) return mxn_error_set(err, MXN_ERR_FORMAT, "Reduction has %d axes (at most 3)", p->naxes);
    for (k = 0; k < p->naxes; k++) p->axes[k] = axes[k];
    return MXN_OK;
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const reduction_priv *p = (const reduction_priv *)l->priv;
    const mxn_mat *a = &bottoms[0];
    int ext[3], in3[3], red[3] = {0, 0, 0}, out3[3], out[3] = {1, 1, 1}, dims, k, n_out = 0, rc;
    size_t i0, i1, i2, count = 1;
    const float *x;
    float *acc;
    (void)opt;
    if ((rc = mxn_check_f32(l, a, 0, err))) return rc;
    dims = mxn_blob_extents(a, ext);
    mxn_extents3(dims, ext, in3);
    if (p->reduce_all || p->naxes == 0) {
        red[0] = red[1] = red[2] = 1;
    } else {
        for (k = 0; k < p->naxes; k++) {
            int axis = p->axes[k] < 0 ? p->axes[k] + dims : p->axes[k];
            if (axis < 0 || axis >= dims)
                return mxn_error_set(err, MXN_ERR_SHAPE, "Reduction axis %d is out of range for a %d-D blob",
                                     p->axes[k], dims);
            red[axis + 3 - dims] = 1;
        }
    }
    for (k = 0; k < 3; k++) {
        out3[k] = red[k] ? 1 : in3[k];
        if (red[k] && k >= 3 - dims) count *= (size_t)in3[k];
    }
    if (p->keepdims) {
        for (k = 0; k < dims; k++) out[k] = out3[k + 3 - dims];
        n_out = dims;
    } else {
        for (k = 3 - dims; k < 3; k++)
            if (!red[k]) out[n_out++] = out3[k];
        if (n_out == 0) out[n_out++] = 1;
    }
    if ((rc = mxn_mat_alloc_extents(&tops[0], n_out, out, MXN_F32, err))) return rc;
    acc = mxn_mat_f32(&tops[0]);
    {
        const size_t total = (size_t)out3[0] * out3[1] * out3[2];
        const float init = p->operation == 4 ? -FLT_MAX : p->operation == 5 ? FLT_MAX : p->operation == 6 ? 1.f : 0.f;
        size_t t;
        for (t = 0; t < total; t++) acc[t] = init;
    }
    x = mxn_mat_f32(a);
    for (i0 = 0; i0 < (size_t)in3[0]; i0++)
        for (i1 = 0; i1 < (size_t)in3[1]; i1++)
            for (i2 = 0; i2 < (size_t)in3[2]; i2++) {
                const float v = x[(i0 * in3[1] + i1) * in3[2] + i2];
                float *o = acc + ((red[0] ? 0 : i0) * out3[1] + (red[1] ? 0 : i1)) * out3[2] + (red[2] ? 0 : i2);
                switch (p->operation) {
                case 0: case 3: *o += v; break;
                case 1: *o += fabsf(v); break;
                case 2: *o += v * v; break;
                case 4: if (v > *o) *o = v; break;
                case 5: if (v < *o) *o = v; break;
                default: *o *= v; break;
                }
            }
    {
        const size_t total = (size_t)out3[0] * out3[1] * out3[2];
        const float scale = p->operation == 3 ? p->coeff / (float)count : p->coeff;
        size_t t;
        if (scale != 1.f)
            for (t = 0; t < total; t++) acc[t] *= scale;
    }
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_reduction = {"Reduction", load_param, NULL, forward, NULL};
