/* HardSigmoid (0=alpha 0.2, 1=beta 0.5): clamp(x * alpha + beta, 0, 1) with
 * ncnn's explicit thresholds lower = -beta/alpha, upper = 1/alpha + lower. */
#include "layer_util.h"

typedef struct {
    float alpha, beta, lower, upper;
} hardsigmoid_priv;

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    hardsigmoid_priv *p;
    int rc = mxn_check_blob_counts(l, 1, 1, err);
    if (rc) return rc;
    if (!(p = (hardsigmoid_priv *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->alpha = mxn_pd_float(pd, 0, 0.2f);
    p->beta = mxn_pd_float(pd, 1, 0.5f);
    if (p->alpha == 0.f) return mxn_error_set(err, MXN_ERR_FORMAT, "HardSigmoid alpha (0=) must not be 0");
    p->lower = -p->beta / p->alpha;
    p->upper = (1.f / p->alpha) + p->lower;
    return MXN_OK;
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const hardsigmoid_priv *p = (const hardsigmoid_priv *)l->priv;
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
    for (i = 0; i < n; i++) {
        float v = x[i];
        if (v < p->lower) y[i] = 0.f;
        else if (v > p->upper) y[i] = 1.f;
        else y[i] = v * p->alpha + p->beta;
    }
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_hardsigmoid = {"HardSigmoid", load_param, NULL, forward, NULL};
