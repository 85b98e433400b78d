/* Bias (0=bias_data_size; .bin: bias raw): y = x + bias[c] per channel. */
#include "layer_util.h"

typedef struct {
    int size;
    mxn_mat bias;
} bias_priv;

static void destroy(mxn_layer *l)
{
    bias_priv *p = (bias_priv *)l->priv;
    if (p) mxn_mat_free(&p->bias);
    free(p);
    l->priv = NULL;
}

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    bias_priv *p;
    int rc = mxn_check_blob_counts(l, 1, 1, err);
    if (rc) return rc;
    if (!(p = (bias_priv *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->size = mxn_pd_int(pd, 0, 0);
    if (p->size <= 0)
        return mxn_error_set(err, MXN_ERR_FORMAT, "Bias bias_data_size (0=) must be positive, got %d", p->size);
    return MXN_OK;
}

static int load_model(mxn_layer *l, mxn_modelbin *mb, mxn_error *err)
{
    bias_priv *p = (bias_priv *)l->priv;
    return mxn_modelbin_read_named(mb, (size_t)p->size, MXN_BIN_RAW_F32, "bias", &p->bias, err);
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const bias_priv *p = (const bias_priv *)l->priv;
    const mxn_mat *x = &bottoms[0];
    size_t inner = (size_t)x->w * x->h, i;
    int q, rc;
    (void)opt;
    if ((rc = mxn_check_f32(l, x, 0, err))) return rc;
    if (x->c != p->size)
        return mxn_error_set(err, MXN_ERR_SHAPE, "has %d bias values, its input has %d channels", p->size, x->c);
    if ((rc = mxn_mat_alloc_like(&tops[0], x, MXN_F32, err))) return rc;
    for (q = 0; q < x->c; q++) {
        const float *src = mxn_mat_f32(x) + q * inner;
        float *dst = mxn_mat_f32(&tops[0]) + q * inner;
        const float b = mxn_mat_f32(&p->bias)[q];
        for (i = 0; i < inner; i++) dst[i] = src[i] + b;
    }
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_bias = {"Bias", load_param, load_model, forward, destroy};
