/* ReLU (0=slope, default 0): x < 0 ? x * slope : x, as ncnn's relu.cpp. */
#include "layer_util.h"
#include "../thread_pool.h"

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

typedef struct {
    float slope;
    const float *x;
    float *y;
} relu_run;

static void relu_range(void *ctx, size_t begin, size_t end)
{
    const relu_run *r = (const relu_run *)ctx;
    const float *restrict x = r->x;
    float *restrict y = r->y;
    const float slope = r->slope;
    size_t i;
    if (slope == 0.f) {
        for (i = begin; i < end; i++) y[i] = x[i] < 0.f ? 0.f : x[i];
    } else {
        for (i = begin; i < end; i++) y[i] = x[i] < 0.f ? x[i] * slope : x[i];
    }
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const relu_priv *p = (const relu_priv *)l->priv;
    relu_run r;
    size_t n;
    int rc;
    if ((rc = mxn_elementwise_begin(l, bottoms, tops, &r.x, &r.y, &n, err))) return rc;
    r.slope = p->slope;
    if (n < MXN_PARALLEL_MIN_WORK) relu_range(&r, 0, n);
    else mxn_parallel_for(opt, n, 1024, relu_range, &r);
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_relu = {"ReLU", load_param, NULL, forward, NULL};
