/* Clip (0=min default -FLT_MAX, 1=max default FLT_MAX). */
#include <float.h>
#include "layer_util.h"

typedef struct {
    float min, max;
} clip_priv;

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    clip_priv *p;
    int rc = mxn_check_blob_counts(l, 1, 1, err);
    if (rc) return rc;
    if (!(p = (clip_priv *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->min = mxn_pd_float(pd, 0, -FLT_MAX);
    p->max = mxn_pd_float(pd, 1, FLT_MAX);
    return MXN_OK;
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const clip_priv *p = (const clip_priv *)l->priv;
    const float *x;
    float *y;
    size_t i, n;
    int rc;
    (void)opt;
    if ((rc = mxn_elementwise_begin(l, bottoms, tops, &x, &y, &n, err))) return rc;
    for (i = 0; i < n; i++) {
        float v = x[i];
        if (v < p->min) v = p->min;
        if (v > p->max) v = p->max;
        y[i] = v;
    }
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_clip = {"Clip", load_param, NULL, forward, NULL};
