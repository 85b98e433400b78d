/* LayerNorm (0 affine_size, 1 eps 0.001, 2 affine 1; .bin: gamma[affine_size],
 * beta[affine_size] raw when affine).  Normalizes each row of w values (1-D,
 * 2-D, and 3-D when affine_size == w) or each channel's w*h values (3-D when
 * affine_size == w*h), as ncnn: mean, then the mean of squared deviations,
 * y = (x * a + b) * gamma + beta with a = 1/sqrt(var + eps), b = -mean * a. */
#include <math.h>
#include "norm_affine.h"

typedef struct {
    int affine_size, affine;
    float eps;
    mxn_norm_affine ab;
} layernorm_priv;

static void destroy(mxn_layer *l)
{
    layernorm_priv *p = (layernorm_priv *)l->priv;
    if (p) mxn_norm_affine_free(&p->ab);
    free(p);
    l->priv = NULL;
}

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    layernorm_priv *p;
    int rc = mxn_check_blob_counts(l, 1, 1, err);
    if (rc) return rc;
    if (!(p = (layernorm_priv *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->affine_size = mxn_pd_int(pd, 0, 0);
    p->eps = mxn_pd_float(pd, 1, 0.001f);
    p->affine = mxn_pd_int(pd, 2, 1);
    if (p->affine_size <= 0)
        return mxn_error_set(err, MXN_ERR_FORMAT, "LayerNorm affine_size (0=) must be positive, got %d",
                             p->affine_size);
    return MXN_OK;
}

static int load_model(mxn_layer *l, mxn_modelbin *mb, mxn_error *err)
{
    layernorm_priv *p = (layernorm_priv *)l->priv;
    if (!p->affine) return MXN_OK;
    return mxn_norm_affine_load(&p->ab, mb, (size_t)p->affine_size, err);
}

/* normalize n contiguous values */
static void norm_row(const float *x, float *y, int n, float eps, const float *gamma, const float *beta)
{
    float sum = 0.f, sqsum = 0.f, mean, var, a, b;
    int i;
    for (i = 0; i < n; i++) sum += x[i];
    mean = sum / n;
    for (i = 0; i < n; i++) {
        float t = x[i] - mean;
        sqsum += t * t;
    }
    var = sqsum / n;
    a = 1.f / sqrtf(var + eps);
    b = -mean * a;
    if (gamma) {
        for (i = 0; i < n; i++) y[i] = (x[i] * a + b) * gamma[i] + beta[i];
    } else {
        for (i = 0; i < n; i++) y[i] = x[i] * a + b;
    }
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const layernorm_priv *p = (const layernorm_priv *)l->priv;
    const mxn_mat *a = &bottoms[0];
    const float *gamma = p->affine ? mxn_mat_f32(&p->ab.gamma) : NULL;
    const float *beta = p->affine ? mxn_mat_f32(&p->ab.beta) : NULL;
    int row, rc;
    size_t rows, r;
    (void)opt;
    if ((rc = mxn_check_f32(l, a, 0, err))) return rc;
    if (a->dims == 3 && p->affine_size == a->w * a->h && p->affine_size != a->w) row = a->w * a->h;
    else row = a->w;
    if (row != p->affine_size)
        return mxn_error_set(err, MXN_ERR_SHAPE, "LayerNorm affine_size %d fits neither w %d nor w*h %d of the input",
                             p->affine_size, a->w, a->w * a->h);
    if ((rc = mxn_mat_alloc_like(&tops[0], a, MXN_F32, err))) return rc;
    rows = mxn_mat_total(a) / (size_t)row;
    for (r = 0; r < rows; r++)
        norm_row(mxn_mat_f32(a) + r * row, mxn_mat_f32(&tops[0]) + r * row, row, p->eps, gamma, beta);
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_layernorm = {"LayerNorm", load_param, load_model, forward, destroy};
