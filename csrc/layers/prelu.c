/* PReLU (0 num_slope; .bin: slope[num_slope] raw).  y = x < 0 ? x * slope : x,
 * one slope per channel of a 3-D blob, per row of a 2-D blob, per element of
 * a 1-D blob, or one for all when num_slope is 1. */
#include "layer_util.h"

typedef struct {
    int num_slope;
    mxn_mat slope;
} prelu_priv;

static void destroy(mxn_layer *l)
{
    prelu_priv *p = (prelu_priv *)l->priv;
    if (p) mxn_mat_free(&p->slope);
    free(p);
    l->priv = NULL;
}

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    prelu_priv *p;
    int rc = mxn_check_blob_counts(l, 1, 1, err);
    if (rc) return rc;
    if (!(p = (prelu_priv *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->num_slope = mxn_pd_int(pd, 0, 0);
    if (p->num_slope <= 0)
        return mxn_error_set(err, MXN_ERR_FORMAT, "PReLU num_slope (0=) must be positive, got %d", p->num_slope);
    return MXN_OK;
}

static int load_model(mxn_layer *l, mxn_modelbin *mb, mxn_error *err)
{
    prelu_priv *p = (prelu_priv *)l->priv;
    return mxn_modelbin_read_named(mb, (size_t)p->num_slope, MXN_BIN_RAW_F32, "slope", &p->slope, err);
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const prelu_priv *p = (const prelu_priv *)l->priv;
    const float *x, *s = mxn_mat_f32(&p->slope);
    float *y;
    size_t i, n, inner;
    int groups, g, rc;
    (void)opt;
    if ((rc = mxn_elementwise_begin(l, bottoms, tops, &x, &y, &n, err))) return rc;
    groups = mxn_channel_groups(&bottoms[0], &inner);
    if (p->num_slope != 1 && p->num_slope != groups)
        return mxn_error_set(err, MXN_ERR_SHAPE, "PReLU has %d slopes, its %d-D input has %d channels", p->num_slope,
                             bottoms[0].dims, groups);
    for (g = 0; g < groups; g++) {
        const float sv = s[p->num_slope == 1 ? 0 : g];
        for (i = (size_t)g * inner; i < (size_t)(g + 1) * inner; i++) y[i] = x[i] < 0.f ? x[i] * sv : x[i];
    }
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_prelu = {"PReLU", load_param, load_model, forward, destroy};
