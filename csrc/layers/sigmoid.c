/* Sigmoid: 1 / (1 + exp(-x)). */
#include <math.h>
#include "layer_util.h"

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    (void)pd;
    return mxn_check_blob_counts(l, 1, 1, err);
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const float *x;
    float *y;
    size_t i, n;
    int rc;
    (void)opt;
    if ((rc = mxn_check_f32(l, &bottoms[0], 0, err))) return rc;
    if ((rc = mxn_mat_alloc_like(&tops[0], &bottoms[0], MXN_F32, err))) return rc;
    x = mxn_mat_f32(&bottoms[0]);
    y = mxn_mat_f32(&tops[0]);
    n = mxn_mat_total(&bottoms[0]);
    for (i = 0; i < n; i++) y[i] = 1.f / (1.f + expf(-x[i]));
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_sigmoid = {"Sigmoid", load_param, NULL, forward, NULL};
