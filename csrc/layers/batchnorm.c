/* BatchNorm (0=channels, 1=eps; .bin: slope, mean, var, bias, each [channels]
 * raw).  Folded at load exactly as ncnn's batchnorm.cpp:
 *   b = slope / sqrtf(var + eps), a = bias - slope * mean / sqrtf(var + eps),
 *   y = b * x + a
 * per channel (3-D), per row (2-D) or per element (1-D). */
#include <math.h>
#include "layer_util.h"

typedef struct {
    int channels;
    float eps;
    float *a, *b;
} batchnorm_priv;

static void destroy(mxn_layer *l)
{
    batchnorm_priv *p = (batchnorm_priv *)l->priv;
    if (p) {
        free(p->a);
        free(p->b);
    }
    free(p);
    l->priv = NULL;
}

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    batchnorm_priv *p;
    int rc = mxn_check_blob_counts(l, 1, 1, err);
    if (rc) return rc;
    if (!(p = (batchnorm_priv *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->channels = mxn_pd_int(pd, 0, 0);
    p->eps = mxn_pd_float(pd, 1, 0.f);
    if (p->channels <= 0)
        return mxn_error_set(err, MXN_ERR_FORMAT, "BatchNorm channels (0=) must be positive, got %d", p->channels);
    return MXN_OK;
}

static int load_model(mxn_layer *l, mxn_modelbin *mb, mxn_error *err)
{
    batchnorm_priv *p = (batchnorm_priv *)l->priv;
    mxn_mat arr[4];
    static const char *const names[4] = {"slope", "mean", "var", "bias"};
    int k, i, rc = MXN_OK;
    memset(arr, 0, sizeof(arr));
    for (k = 0; k < 4 && rc == MXN_OK; k++)
        rc = mxn_modelbin_read_named(mb, (size_t)p->channels, MXN_BIN_RAW_F32, names[k], &arr[k], err);
    if (rc == MXN_OK) {
        p->a = (float *)malloc((size_t)p->channels * sizeof(float));
        p->b = (float *)malloc((size_t)p->channels * sizeof(float));
        if (!p->a || !p->b) rc = mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory");
    }
    if (rc == MXN_OK) {
        const float *slope = mxn_mat_f32(&arr[0]), *mean = mxn_mat_f32(&arr[1]);
        const float *var = mxn_mat_f32(&arr[2]), *bias = mxn_mat_f32(&arr[3]);
        for (i = 0; i < p->channels; i++) {
            float sqrt_var = sqrtf(var[i] + p->eps);
            p->a[i] = bias[i] - slope[i] * mean[i] / sqrt_var;
            p->b[i] = slope[i] / sqrt_var;
        }
    }
    for (k = 0; k < 4; k++) mxn_mat_free(&arr[k]);
    return rc;
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const batchnorm_priv *p = (const batchnorm_priv *)l->priv;
    const mxn_mat *x = &bottoms[0];
    int groups, rc, g;
    size_t inner, i;
    (void)opt;
    if ((rc = mxn_check_f32(l, x, 0, err))) return rc;
    groups = mxn_channel_groups(x, &inner);
    if (groups != p->channels)
        return mxn_error_set(err, MXN_ERR_SHAPE, "has %d channels, its %d-D input has %d", p->channels, x->dims,
                             groups);
    if ((rc = mxn_mat_alloc_like(&tops[0], x, MXN_F32, err))) return rc;
    for (g = 0; g < groups; g++) {
        const float *src = mxn_mat_f32(x) + g * inner;
        float *dst = mxn_mat_f32(&tops[0]) + g * inner;
        const float a = p->a[g], b = p->b[g];
        for (i = 0; i < inner; i++) dst[i] = b * src[i] + a;
    }
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_batchnorm = {"BatchNorm", load_param, load_model, forward, destroy};

/* Heap bytes of the layer's weights (mxn_net_weight_memory): the folded a and
 * b (the four .bin arrays are freed after folding). */
size_t mxn_batchnorm_weight_bytes(const mxn_layer *l)
{
    const batchnorm_priv *p = (const batchnorm_priv *)l->priv;
    return p && p->a && p->b ? 2 * sizeof(float) * (size_t)p->channels : 0;
}
