/* ReLU (0=slope, default 0): x < 0 ? x * slope : x, as ncnn's relu.cpp. */
#include "layer_util.h"

typedef struct {
    float slope;
} relu_priv;

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    relu_priv *p;
    int rc = mxn_check_blob_counts(l, 1, 1, err);
    if (rc) return rc;
    if (!(p = (relu_priv *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->slope = mxn_pd_float(pd, 0, 0.f);
    return MXN_OK;
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const relu_priv *p = (const relu_priv *)l->priv;
    const float *x;
    float *y;
    size_t i, n;
    int rc;
    (void)opt;
    if ((rc = mxn_elementwise_begin(l, bottoms, tops, &x, &y, &n, err))) return rc;
    if (p->slope == 0.f) {
        for (i = 0; i < n; i++) y[i] = x[i] < 0.f ? 0.f : x[i];
    } else {
        for (i = 0; i < n; i++) y[i] = x[i] < 0.f ? x[i] * p->slope : x[i];
    }
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_relu = {"ReLU", load_param, NULL, forward, NULL};
