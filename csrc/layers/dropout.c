/* Dropout at inference (0=scale, default 1): identity, or x * scale. */
#include "layer_util.h"

typedef struct {
    float scale;
} dropout_priv;

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    dropout_priv *p;
    int rc = mxn_check_blob_counts(l, 1, 1, err);
    if (rc) return rc;
    if (!(p = (dropout_priv *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->scale = mxn_pd_float(pd, 0, 1.f);
    return MXN_OK;
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const dropout_priv *p = (const dropout_priv *)l->priv;
    const float *x;
    float *y;
    size_t i, n;
    int rc;
    (void)opt;
    if (p->scale == 1.f) return mxn_mat_copy(&tops[0], &bottoms[0], err);
    if ((rc = mxn_elementwise_begin(l, bottoms, tops, &x, &y, &n, err))) return rc;
    for (i = 0; i < n; i++) y[i] = x[i] * p->scale;
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_dropout = {"Dropout", load_param, NULL, forward, NULL};
