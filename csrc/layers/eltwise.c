/* Eltwise (0=op: 0 prod, 1 sum, 2 max; 1=coeffs for sum, one per bottom).
 * All bottoms have the same shape.  Sum with coeffs is evaluated as ncnn does:
 * y = x0*c0 + x1*c1, then y += xk*ck, each product and sum rounded. */
#include "layer_util.h"
#include "../thread_pool.h"

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

typedef struct {
    const eltwise_priv *p;
    const mxn_mat *bottoms;
    int count;
    float *y;
} eltwise_run;

/* elements [begin, end): bottom 0 with bottom 1, then the others in order
 * (each element the same operations whatever the split) */
static void eltwise_range(void *ctx, size_t begin, size_t end)
{
    const eltwise_run *r = (const eltwise_run *)ctx;
    const eltwise_priv *p = r->p;
    const size_t n = end - begin;
    float *restrict y = r->y + begin;
    size_t i;
    int k;
    {
        const float *restrict x0 = mxn_mat_f32(&r->bottoms[0]) + begin;
        const float *restrict x1 = mxn_mat_f32(&r->bottoms[1]) + begin;
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
    for (k = 2; k < r->count; k++) {
        const float *restrict x = mxn_mat_f32(&r->bottoms[k]) + begin;
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
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const eltwise_priv *p = (const eltwise_priv *)l->priv;
    const mxn_mat *a = &bottoms[0];
    const size_t n = mxn_mat_total(a);
    eltwise_run r;
    int k, rc;
    for (k = 0; k < l->bottom_count; k++) {
        const mxn_mat *b = &bottoms[k];
        if ((rc = mxn_check_f32(l, b, k, err))) return rc;
        if (b->dims != a->dims || b->w != a->w || b->h != a->h || b->c != a->c)
            return mxn_error_set(err, MXN_ERR_SHAPE, "bottom %d (c,h,w = %d,%d,%d) differs from bottom 0 (%d,%d,%d)", k,
                                 b->c, b->h, b->w, a->c, a->h, a->w);
    }
    if ((rc = mxn_mat_alloc_like(&tops[0], a, MXN_F32, err))) return rc;
    r.p = p;
    r.bottoms = bottoms;
    r.count = l->bottom_count;
    r.y = mxn_mat_f32(&tops[0]);
    if (n < MXN_PARALLEL_MIN_WORK) eltwise_range(&r, 0, n);
    else mxn_parallel_for(opt, n, 1024, eltwise_range, &r);
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_eltwise = {"Eltwise", load_param, NULL, forward, destroy};
