/* PReLU (float32, ncnn semantics): 0=num_slope; slopes as raw floats in the
 * .bin; y = x > 0 ? x : x * slope[channel] (one slope for all channels when
 * num_slope == 1).  Channels of a 3-D blob, rows of a 2-D blob, elements of a
 * 1-D blob. */
#include "layer_util.h"

typedef struct {
    int num_slope;
    mxn_mat slope;
} prelu_layer;

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    prelu_layer *p;
    int rc = mxn_check_blob_counts(l, 1, 1, err);
    if (rc) return rc;
    if (!(p = (prelu_layer *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->num_slope = mxn_pd_int(pd, 0, 0);
    if (p->num_slope < 1 || p->num_slope > (1 << 24))
        return mxn_error_set(err, MXN_ERR_FORMAT, "num_slope (param 0) = %d, expected 1..%d", p->num_slope, 1 << 24);
    return MXN_OK;
}

static int load_model(mxn_layer *l, mxn_modelbin *mb, mxn_error *err)
{
    prelu_layer *p = (prelu_layer *)l->priv;
    return mxn_modelbin_read_named(mb, (size_t)p->num_slope, MXN_BIN_RAW_F32, "slopes", &p->slope, err);
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt, mxn_error *err)
{
    const prelu_layer *p = (const prelu_layer *)l->priv;
    const float *x;
    float *y;
    size_t n, inner, i;
    int groups, g, rc;
    (void)opt;
    if ((rc = mxn_elementwise_begin(l, bottoms, tops, &x, &y, &n, err))) return rc;
    groups = mxn_channel_groups(&bottoms[0], &inner);
    if (p->num_slope != 1 && p->num_slope != groups) {
        mxn_mat_free(&tops[0]);
        return mxn_error_set(err, MXN_ERR_SHAPE, "%d slopes for %d channels", p->num_slope, groups);
    }
    for (g = 0; g < groups; g++) {
        const float s = mxn_mat_f32(&p->slope)[p->num_slope == 1 ? 0 : g];
        for (i = 0; i < inner; i++) {
            const float v = x[(size_t)g * inner + i];
            y[(size_t)g * inner + i] = v > 0.f ? v : v * s;
        }
    }
    return MXN_OK;
}

static void destroy(mxn_layer *l)
{
    prelu_layer *p = (prelu_layer *)l->priv;
    if (p) mxn_mat_free(&p->slope);
    free(p);
    l->priv = NULL;
}

const mxn_layer_ops mxn_layer_prelu = {"PReLU", load_param, load_model, forward, destroy};
