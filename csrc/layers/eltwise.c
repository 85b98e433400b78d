/* Eltwise (0=op: 0 prod, 1 sum, 2 max; 1=coeffs for sum, one per bottom).
 * All bottoms have the same shape.  Sum with coeffs is evaluated as ncnn does:
 * y = x0*c0 + x1*c1, then y += xk*ck, each product and sum rounded. */
#include "layer_util.h"

enum { ELTWISE_PROD = 0, ELTWISE_SUM = 1, ELTWISE_MAX = 2 };

typedef struct {
    int op;
    int ncoeffs;
    float *coeffs;
} eltwise_priv;

static void destroy(mxn_layer *l)
{
    eltwise_priv *p = (eltwise_priv *)l->priv;
    if (p) free(p->coeffs);
    free(p);
    l->priv = NULL;
}

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    eltwise_priv *p;
    const float *c;
    int rc = mxn_check_blob_counts(l, -1, 1, err);
    if (rc) return rc;
    if (l->bottom_count < 2)
        return mxn_error_set(err, MXN_ERR_FORMAT, "Eltwise takes at least 2 bottom blobs, the line has %d",
                             l->bottom_count);
    if (!(p = (eltwise_priv *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->op = mxn_pd_int(pd, 0, 0);
    if (p->op < 0 || p->op > 2)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "Eltwise op %d is not supported (0 prod, 1 sum, 2 max)",
                             p->op);
    p->ncoeffs = mxn_pd_float_array(pd, 1, &c);
    if (p->ncoeffs > 0) {
        if (p->op == ELTWISE_SUM && p->ncoeffs != l->bottom_count)
            return mxn_error_set(err, MXN_ERR_FORMAT, "Eltwise has %d coeffs for %d bottoms", p->ncoeffs,
                                 l->bottom_count);
        p->coeffs = (float *)malloc((size_t)p->ncoeffs * sizeof(float));
        if (!p->coeffs) return mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory");
        memcpy(p->coeffs, c, (size_t)p->ncoeffs * sizeof(float));
    }
    return MXN_OK;
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const eltwise_priv *p = (const eltwise_priv *)l->priv;
    const mxn_mat *a = &bottoms[0];
    size_t i, n = mxn_mat_total(a);
    float *y;
    int k, rc;
    (void)opt;
    for (k = 0; k < l->bottom_count; k++) {
        const mxn_mat *b = &bottoms[k];
        if ((rc = mxn_check_f32(l, b, k, err))) return rc;
        if (b->dims != a->dims || b->w != a->w || b->h != a->h || b->c != a->c)
            return mxn_error_set(err, MXN_ERR_SHAPE, "bottom %d (c,h,w = %d,%d,%d) differs from bottom 0 (%d,%d,%d)", k,
                                 b->c, b->h, b->w, a->c, a->h, a->w);
    }
    if ((rc = mxn_mat_alloc_like(&tops[0], a, MXN_F32, err))) return rc;
    y = mxn_mat_f32(&tops[0]);
    {
        const float *x0 = mxn_mat_f32(&bottoms[0]), *x1 = mxn_mat_f32(&bottoms[1]);
        if (p->op == ELTWISE_PROD) {
            for (i = 0; i < n; i++) y[i] = x0[i] * x1[i];
        } else if (p->op == ELTWISE_MAX) {
            for (i = 0; i < n; i++) y[i] = x0[i] > x1[i] ? x0[i] : x1[i];
        } else if (p->ncoeffs == 0) {
            for (i = 0; i < n; i++) y[i] = x0[i] + x1[i];
        } else {
            const float c0 = p->coeffs[0], c1 = p->coeffs[1];
            for (i = 0; i < n; i++) y[i] = x0[i] * c0 + x1[i] * c1;
        }
    }
    for (k = 2; k < l->bottom_count; k++) {
        const float *x = mxn_mat_f32(&bottoms[k]);
        if (p->op == ELTWISE_PROD) {
            for (i = 0; i < n; i++) y[i] *= x[i];
        } else if (p->op == ELTWISE_MAX) {
            for (i = 0; i < n; i++) y[i] = y[i] > x[i] ? y[i] : x[i];
        } else if (p->ncoeffs == 0) {
            for (i = 0; i < n; i++) y[i] += x[i];
        } else {
            const float c = p->coeffs[k];
            for (i = 0; i < n; i++) y[i] += x[i] * c;
        }
    }
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_eltwise = {"Eltwise", load_param, NULL, forward, destroy};
