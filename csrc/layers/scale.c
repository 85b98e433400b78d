/* Scale (0=scale_data_size, -233 = the scale comes from a second bottom;
 * 1=bias_term).  .bin: scale[n] raw, then bias[n] raw if bias_term.
 * y = x * s (+ bias) per channel (3-D), per row (2-D) or per element (1-D). */
#include "layer_util.h"

#define SCALE_FROM_BOTTOM (-233)

typedef struct {
    int size;
    int bias_term;
    mxn_mat scale, bias;
} scale_priv;

static void destroy(mxn_layer *l)
{
    scale_priv *p = (scale_priv *)l->priv;
    if (p) {
        mxn_mat_free(&p->scale);
        mxn_mat_free(&p->bias);
    }
    free(p);
    l->priv = NULL;
}

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    scale_priv *p;
    int rc;
    if (!(p = (scale_priv *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->size = mxn_pd_int(pd, 0, 0);
    p->bias_term = mxn_pd_int(pd, 1, 0);
    if (p->size == SCALE_FROM_BOTTOM) {
        if ((rc = mxn_check_blob_counts(l, 2, 1, err))) return rc;
        if (p->bias_term)
            return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "Scale with the scale from a bottom cannot have a bias");
        return MXN_OK;
    }
    if ((rc = mxn_check_blob_counts(l, 1, 1, err))) return rc;
    if (p->size <= 0)
        return mxn_error_set(err, MXN_ERR_FORMAT, "Scale scale_data_size (0=) must be positive or -233, got %d",
                             p->size);
    return MXN_OK;
}

static int load_model(mxn_layer *l, mxn_modelbin *mb, mxn_error *err)
{
    scale_priv *p = (scale_priv *)l->priv;
    int rc;
    if (p->size == SCALE_FROM_BOTTOM) return MXN_OK;
    if ((rc = mxn_modelbin_read_named(mb, (size_t)p->size, MXN_BIN_RAW_F32, "scale", &p->scale, err)))
        return rc;
    if (p->bias_term)
        return mxn_modelbin_read_named(mb, (size_t)p->size, MXN_BIN_RAW_F32, "bias", &p->bias, err);
    return MXN_OK;
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const scale_priv *p = (const scale_priv *)l->priv;
    const mxn_mat *x = &bottoms[0];
    const float *s, *bias = NULL;
    int groups, g, rc, n;
    size_t inner, i;
    (void)opt;
    if ((rc = mxn_check_f32(l, x, 0, err))) return rc;
    if (p->size == SCALE_FROM_BOTTOM) {
        if ((rc = mxn_check_f32(l, &bottoms[1], 1, err))) return rc;
        s = mxn_mat_f32(&bottoms[1]);
        n = (int)mxn_mat_total(&bottoms[1]);
    } else {
        s = mxn_mat_f32(&p->scale);
        if (p->bias_term) bias = mxn_mat_f32(&p->bias);
        n = p->size;
    }
    groups = mxn_channel_groups(x, &inner);
    if (groups != n)
        return mxn_error_set(err, MXN_ERR_SHAPE, "has %d scale values, its %d-D input has %d channels", n, x->dims,
                             groups);
    if ((rc = mxn_mat_alloc_like(&tops[0], x, MXN_F32, err))) return rc;
    for (g = 0; g < groups; g++) {
        const float *src = mxn_mat_f32(x) + g * inner;
        float *dst = mxn_mat_f32(&tops[0]) + g * inner;
        const float sv = s[g];
        if (bias) {
            const float bv = bias[g];
            for (i = 0; i < inner; i++) dst[i] = src[i] * sv + bv;
        } else {
            for (i = 0; i < inner; i++) dst[i] = src[i] * sv;
        }
    }
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_scale = {"Scale", load_param, load_model, forward, destroy};
