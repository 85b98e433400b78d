/* HardSigmoid (0=alpha 0.2, 1=beta 0.5): clamp(x * alpha + beta, 0, 1) with
 * ncnn's explicit thresholds lower = -beta/alpha, upper = 1/alpha + lower. */
#include "layer_util.h"

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const mxn_hardsigmoid_param *p = (const mxn_hardsigmoid_param *)l->priv;
    const float *x;
    float *y;
    size_t i, n;
    int rc;
    (void)opt;
    if ((rc = mxn_elementwise_begin(l, bottoms, tops, &x, &y, &n, err))) return rc;
    for (i = 0; i < n; i++) {
        float v = x[i];
        if (v < p->lower) y[i] = 0.f;
        else if (v > p->upper) y[i] = 1.f;
        else y[i] = v * p->alpha + p->beta;
    }
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_hardsigmoid = {"HardSigmoid", mxn_hardsigmoid_param_load, NULL, forward, NULL};
