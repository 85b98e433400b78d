/* GroupNorm (0 group 1, 1 channels, 2 eps 0.001, 3 affine 1; .bin:
 * gamma[channels], beta[channels] raw when affine).  The channels (3-D), rows
 * (2-D) or elements (1-D) fall into `group` consecutive groups; each group is
 * normalized over all its values (mean, then mean squared deviation), then
 * y = x * a + b per channel with a = gamma / sqrt(var + eps),
 * b = -mean * a + beta (ncnn's arithmetic). */
#include <math.h>
#include "norm_affine.h"

typedef struct {
    int group, channels, affine;
    float eps;
    mxn_norm_affine ab;
} groupnorm_priv;

static void destroy(mxn_layer *l)
{
    groupnorm_priv *p = (groupnorm_priv *)l->priv;
    if (p) mxn_norm_affine_free(&p->ab);
    free(p);
    l->priv = NULL;
}

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    groupnorm_priv *p;
    int rc = mxn_check_blob_counts(l, 1, 1, err);
    if (rc) return rc;
    if (!(p = (groupnorm_priv *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->group = mxn_pd_int(pd, 0, 1);
    p->channels = mxn_pd_int(pd, 1, 0);
    p->eps = mxn_pd_float(pd, 2, 0.001f);
    p->affine = mxn_pd_int(pd, 3, 1);
    if (p->group <= 0 || p->channels <= 0 || p->channels % p->group != 0)
        return mxn_error_set(err, MXN_ERR_FORMAT, "GroupNorm group %d does not divide channels %d", p->group,
                             p->channels);
    return MXN_OK;
}

static int load_model(mxn_layer *l, mxn_modelbin *mb, mxn_error *err)
{
    groupnorm_priv *p = (groupnorm_priv *)l->priv;
    if (!p->affine) return MXN_OK;
    return mxn_norm_affine_load(&p->ab, mb, (size_t)p->channels, err);
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const groupnorm_priv *p = (const groupnorm_priv *)l->priv;
    const mxn_mat *x = &bottoms[0];
    int channels, per, g, q, rc;
    size_t inner, i;
    (void)opt;
    if ((rc = mxn_check_f32(l, x, 0, err))) return rc;
    channels = mxn_channel_groups(x, &inner);
    if (channels != p->channels)
        return mxn_error_set(err, MXN_ERR_SHAPE, "GroupNorm expects %d channels, its %d-D input has %d", p->channels,
                             x->dims, channels);
    if ((rc = mxn_mat_alloc_like(&tops[0], x, MXN_F32, err))) return rc;
    per = p->channels / p->group;
    for (g = 0; g < p->group; g++) {
        const float *src = mxn_mat_f32(x) + (size_t)g * per * inner;
        float *dst = mxn_mat_f32(&tops[0]) + (size_t)g * per * inner;
        const size_t n = (size_t)per * inner;
        float sum = 0.f, sqsum = 0.f, mean, var;
        for (q = 0; q < per; q++)
            for (i = 0; i < inner; i++) sum += src[q * inner + i];
        mean = sum / (float)n;
        for (q = 0; q < per; q++)
            for (i = 0; i < inner; i++) {
                float t = src[q * inner + i] - mean;
                sqsum += t * t;
            }
        var = sqsum / (float)n;
        for (q = 0; q < per; q++) {
            float a, b;
            if (p->affine) {
                a = mxn_mat_f32(&p->ab.gamma)[g * per + q] / sqrtf(var + p->eps);
                b = -mean * a + mxn_mat_f32(&p->ab.beta)[g * per + q];
            } else {
                a = 1.f / sqrtf(var + p->eps);
                b = -mean * a;
            }
            for (i = 0; i < inner; i++) dst[q * inner + i] = src[q * inner + i] * a + b;
        }
    }
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_groupnorm = {"GroupNorm", load_param, load_model, forward, destroy};
