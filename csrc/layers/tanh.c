/* TanH (float32): y = tanhf(x).  A CPU layer of awnn models (awnn-format.md 7.12). */
#include <math.h>
#include "layer_util.h"

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    (void)pd;
    return mxn_check_blob_counts(l, 1, 1, err);
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt, mxn_error *err)
{
    const float *x;
    float *y;
    size_t n, i;
    int rc;
    (void)opt;
    if ((rc = mxn_elementwise_begin(l, bottoms, tops, &x, &y, &n, err))) return rc;
    for (i = 0; i < n; i++) y[i] = tanhf(x[i]);
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_tanh = {"TanH", load_param, NULL, forward, NULL};
