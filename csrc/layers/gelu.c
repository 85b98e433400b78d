/* GELU (0 fast_gelu): exact 0.5 x erfc(-x / sqrt 2), or with 0=1 the tanh
 * approximation 0.5 x (1 + tanh(0.79788452 (x + 0.044715 x^3))). */
#include <math.h>
#include "unary.h"

typedef struct {
    int fast;
} gelu_priv;

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    gelu_priv *p;
    int rc = mxn_unary_load_param(l, pd, err);
    if (rc) return rc;
    if (!(p = (gelu_priv *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->fast = mxn_pd_int(pd, 0, 0);
    return MXN_OK;
}

static float gelu_erf(float v)
{
    return 0.5f * v * erfcf(-0.70710678f * v);
}

static float gelu_tanh(float v)
{
    return 0.5f * v * (1.f + tanhf(0.79788452f * (v + 0.044715f * v * v * v)));
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    (void)opt;
    return mxn_unary_forward(l, bottoms, tops, ((const gelu_priv *)l->priv)->fast ? gelu_tanh : gelu_erf, err);
}

const mxn_layer_ops mxn_layer_gelu = {"GELU", load_param, NULL, forward, NULL};
