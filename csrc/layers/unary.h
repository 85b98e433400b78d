/* Element-wise float layers without parameters (Swish, Mish) and with a
 * mode (GELU): the blob-count check and the loop applying `f`. */
#ifndef MXN_UNARY_H
#define MXN_UNARY_H

#include "layer_util.h"

static inline int mxn_unary_load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    (void)pd;
    return mxn_check_blob_counts(l, 1, 1, err);
}

static inline int mxn_unary_forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, float (*f)(float),
                                    mxn_error *err)
{
    const float *x;
    float *y;
    size_t i, n;
    int rc;
    if ((rc = mxn_elementwise_begin(l, bottoms, tops, &x, &y, &n, err))) return rc;
    for (i = 0; i < n; i++) y[i] = f(x[i]);
    return MXN_OK;
}

#endif
