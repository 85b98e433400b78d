/* Convolution as packed GEMM: weight packing at load, per-forward input
 * packing (im2col of one column tile at a time), tiling and threads.  The
 * arithmetic is in the kernel sets' micro-kernels (csrc/x86/, csrc/arm/); the
 * portable tile epilogue below is their exact reference for the edges. */
#include <stdlib.h>
#include <string.h>
#include "conv_gemm.h"

#define MR MXN_GEMM_MR
/* one B tile (K x nc packed values) is sized to stay in L2 */
#define B_TILE_BYTES (96 * 1024)

void mxn_conv_gemm_free(mxn_conv_gemm *g)
{
    free(g->a_f32);
    free(g->a_s8);
    free(g->bias);
    free(g->scale_in);
    memset(g, 0, sizeof(*g));
}

int mxn_conv_gemm_prepare(mxn_conv_gemm *g, int groups, int M, int K, const float *w_f32,
                          const int8_t *w_s8, const float *bias, const float *scale_in, mxn_error *err)
{
    size_t npan, gi, p, k, r;
    memset(g, 0, sizeof(*g));
    g->groups = groups;
    g->M = M;
    g->K = K;
    g->K2 = (K + 1) / 2;
    g->panels = (M + MR - 1) / MR;
    npan = (size_t)groups * (size_t)g->panels;
    g->bias = (float *)calloc(npan * MR, sizeof(float));
    if (w_f32) g->a_f32 = (float *)malloc(npan * (size_t)K * MR * sizeof(float));
    if (w_s8) {
        g->a_s8 = (int8_t *)malloc(npan * (size_t)g->K2 * MR * 2);
        g->scale_in = (float *)calloc(npan * MR, sizeof(float));
    }
    if (!g->bias || (w_f32 && !g->a_f32) || (w_s8 && (!g->a_s8 || !g->scale_in))) {
        mxn_conv_gemm_free(g);
        return mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory packing the weights");
    }
    for (gi = 0; gi < (size_t)groups; gi++)
        for (p = 0; p < (size_t)g->panels; p++) {
            const size_t pan = gi * (size_t)g->panels + p;
            for (r = 0; r < MR; r++) {
                const size_t m = p * MR + r;           /* row within the group */
                const size_t row = gi * (size_t)M + m; /* output channel */
                const int valid = m < (size_t)M;
                if (valid && bias) g->bias[pan * MR + r] = bias[row];
                if (valid && w_s8) g->scale_in[pan * MR + r] = scale_in[row];
                if (w_f32)
                    for (k = 0; k < (size_t)K; k++)
                        g->a_f32[(pan * K + k) * MR + r] = valid ? w_f32[row * K + k] : 0.f;
                if (w_s8)
                    for (k = 0; k < (size_t)g->K2 * 2; k++)
                        g->a_s8[((pan * g->K2 + k / 2) * MR + r) * 2 + k % 2] =
                            valid && k < (size_t)K ? w_s8[row * K + k] : 0;
            }
        }
    return MXN_OK;
}

size_t mxn_conv_gemm_bytes(const mxn_conv_gemm *g)
{
    const size_t npan = (size_t)g->groups * (size_t)g->panels;
    size_t n = 0;
    if (g->a_f32) n += npan * (size_t)g->K * MR * sizeof(float);
    if (g->a_s8) n += npan * (size_t)g->K2 * MR * 2;
    if (g->bias) n += npan * MR * sizeof(float);
    if (g->scale_in) n += npan * MR * sizeof(float);
    return n;
}

void mxn_conv_gemm_unpack(const mxn_conv_gemm *g, float *w_f32, int8_t *w_s8)
{
    size_t gi, m, k;
    for (gi = 0; gi < (size_t)g->groups; gi++)
        for (m = 0; m < (size_t)g->M; m++) {
            const size_t pan = gi * (size_t)g->panels + m / MR, r = m % MR;
            const size_t row = gi * (size_t)g->M + m;
            if (w_f32 && g->a_f32)
                for (k = 0; k < (size_t)g->K; k++) w_f32[row * g->K + k] = g->a_f32[(pan * g->K + k) * MR + r];
            if (w_s8 && g->a_s8)
                for (k = 0; k < (size_t)g->K; k++)
                    w_s8[row * g->K + k] = g->a_s8[((pan * g->K2 + k / 2) * MR + r) * 2 + k % 2];
        }
}

/* ---- the portable tile epilogue (reference formulas) ---------------------- */

void mxn_gemm_tile_store_f32(const mxn_gemm_tile *t, const float *acc, int rs, int cs)
{
    int r, j;
    for (r = 0; r < t->mr; r++) {
        float *o = t->out_f32 + (size_t)r * t->ldc;
        for (j = 0; j < t->nr; j++) {
            float v = acc[r * rs + j * cs];
            if (t->act->type) v = mxn_activation_apply(t->act, v);
            o[j] = v;
        }
    }
}

void mxn_gemm_tile_store_s32(const mxn_gemm_tile *t, const int32_t *acc, int rs, int cs)
{
    int r, j;
    for (r = 0; r < t->mr; r++) {
        const float s = t->scale_in[r], b = t->bias[r];
        for (j = 0; j < t->nr; j++) {
            const int32_t a = acc[r * rs + j * cs];
            float v = t->fused ? fmaf((float)a, s, b) : (float)a * s + b;
            if (t->act->type) v = mxn_activation_apply(t->act, v);
            if (t->out_i8) t->out_i8[(size_t)r * t->ldc + j] = mxn_float2int8(v * t->top_scale);
            else t->out_f32[(size_t)r * t->ldc + j] = v;
        }
    }
}

/* ---- the forward ------------------------------------------------------------ */

typedef struct {
    const mxn_conv_gemm *g;
    const mxn_conv_shape *s;
    const void *in;
    const mxn_conv_gemm_out *o;
    const mxn_kernel_set *k;
    int int8, u8;            /* int8 net; int8 through the u8gemm kernels */
    int nr, nc;              /* columns per micro-tile / per B tile */
    size_t N;                /* output pixels */
    int n_tiles, m_chunks, items, workers;
    int next_item;           /* mxn_claim_item's counter */
    const size_t *koff;      /* [K] input offset of each tap within a group */
} run_ctx;

typedef struct {
    int j, n;
    size_t off;
} col_run;

typedef struct {
    run_ctx *c;               /* shared; workers advance its next_item */
    int id;
    void *bpack;             /* this worker's B tile */
    size_t *coff;            /* [nc] input offset of each column of the tile */
    col_run *runs;           /* [nr] the runs of one micro-panel */
    int32_t *aq;             /* u8gemm: two A panels as quads ([2][K4][MR]) and their corrections [2 * MR] */
    int32_t corr[2 * MR];
} worker;

/* The runs of a micro-panel: maximal groups of columns j..j+n-1 whose input
 * offsets go up by stride_w (the pixels of one output row - or of several
 * rows when the input rows are exactly that far apart, as in a 1x1 stride-1
 * convolution), so that every tap packs them as one strided vector.
 * Returns the number of runs (at most w). */
static int find_runs(const size_t *co, int w, size_t step, col_run *r)
{
    int j, nr = 0;
    for (j = 0; j < w; j++) {
        if (j > 0 && co[j] - co[j - 1] == step) {
            r[nr - 1].n++;
            continue;
        }
        r[nr].j = j;
        r[nr].n = 1;
        r[nr].off = co[j];
        nr++;
    }
    return nr;
}

static void pack_b_f32(const run_ctx *c, const float *in, int cols, const size_t *coff, col_run *runs, float *bp)
{
    const int K = c->g->K, nr = c->nr, step = c->s->stride_w;
    int sp, k, j, q;
    for (sp = 0; sp < cols; sp += nr) {
        const int w = cols - sp < nr ? cols - sp : nr;
        const int nruns = find_runs(coff + sp, w, (size_t)step, runs);
        float *panel = bp + (size_t)sp * K;
        if (c->k->pack_run_f32) {
            for (q = 0; q < nruns; q++)
                c->k->pack_run_f32(in + runs[q].off, c->koff, K, step, runs[q].n, panel + runs[q].j, (size_t)nr);
        } else if (nruns == 1 && w == nr && step == 1) {
            for (k = 0; k < K; k++)
                memcpy(panel + (size_t)k * nr, in + c->koff[k] + runs[0].off, sizeof(float) * (size_t)nr);
        } else {
            for (k = 0; k < K; k++)
                for (q = 0; q < nruns; q++) {
                    const float *src = in + c->koff[k] + runs[q].off;
                    float *dst = panel + (size_t)k * nr + runs[q].j;
                    for (j = 0; j < runs[q].n; j++) dst[j] = src[(size_t)j * step];
                }
        }
        if (w < nr)
            for (k = 0; k < K; k++)
                for (j = w; j < nr; j++) panel[(size_t)k * nr + j] = 0.f;
    }
}

static void pack_b_s8(const run_ctx *c, const int8_t *in, int cols, const size_t *coff, col_run *runs, int16_t *bp)
{
    const int K = c->g->K, K2 = c->g->K2, nr = c->nr, step = c->s->stride_w;
    int sp, kp, j, q;
    for (sp = 0; sp < cols; sp += nr) {
        const int w = cols - sp < nr ? cols - sp : nr;
        const int nruns = find_runs(coff + sp, w, (size_t)step, runs);
        int16_t *panel = bp + (size_t)sp * K2 * 2;
        const int whole = nruns == 1 && w == nr && step == 1;
        if (c->k->pack_run_s8) {
            for (q = 0; q < nruns; q++)
                c->k->pack_run_s8(in + runs[q].off, c->koff, K, step, runs[q].n, panel + 2 * runs[q].j,
                                  (size_t)nr * 2);
            if (w < nr)
                for (kp = 0; kp < K2; kp++)
                    for (j = 2 * w; j < 2 * nr; j++) panel[(size_t)kp * nr * 2 + j] = 0;
            continue;
        }
        for (kp = 0; kp < K2; kp++) {
            const int8_t *s0 = in + c->koff[2 * kp];
            const int8_t *s1 = 2 * kp + 1 < K ? in + c->koff[2 * kp + 1] : NULL;
            int16_t *dst = panel + (size_t)kp * nr * 2;
            if (whole && s1) {
                c->k->pack_pairs(s0 + runs[0].off, s1 + runs[0].off, dst);
                continue;
            }
            for (q = 0; q < nruns; q++) {
                const col_run *r = &runs[q];
                const int8_t *a = s0 + r->off, *b = s1 ? s1 + r->off : NULL;
                int16_t *d = dst + 2 * r->j;
                for (j = 0; j < r->n; j++) {
                    d[2 * j] = a[(size_t)j * step];
                    d[2 * j + 1] = b ? b[(size_t)j * step] : 0;
                }
            }
            for (j = w; j < nr; j++) dst[2 * j] = dst[2 * j + 1] = 0;
        }
    }
}

/* the B panel of the u8gemm kernels: quads of taps, input + 128 (kernels.h) */
static void pack_b_u8(const run_ctx *c, const int8_t *in, int cols, const size_t *coff, col_run *runs, uint8_t *bp)
{
    const int K = c->g->K, K4 = (c->g->K2 + 1) / 2, nr = c->nr, step = c->s->stride_w;
    int sp, q, j, r;
    for (sp = 0; sp < cols; sp += nr) {
        const int w = cols - sp < nr ? cols - sp : nr;
        const int nruns = find_runs(coff + sp, w, (size_t)step, runs);
        uint8_t *panel = bp + (size_t)sp * K4 * 4;
        for (r = 0; r < nruns; r++)
            c->k->pack_run_u8(in + runs[r].off, c->koff, K, step, runs[r].n, panel + 4 * runs[r].j,
                              (size_t)nr * 4);
        if (w < nr)
            for (q = 0; q < K4; q++)
                for (j = 4 * w; j < 4 * nr; j++) panel[(size_t)q * nr * 4 + j] = 0x80;
    }
}

static void run_item(worker *wk, int item)
{
    const run_ctx *c = wk->c;
    const mxn_conv_gemm *g = c->g;
    const mxn_conv_shape *s = c->s;
    const int mchunk = item % c->m_chunks;
    const int tile = (item / c->m_chunks) % c->n_tiles;
    const int gi = item / c->m_chunks / c->n_tiles;
    const size_t n0 = (size_t)tile * c->nc;
    const int cols = (int)(c->N - n0 < (size_t)c->nc ? c->N - n0 : (size_t)c->nc);
    const size_t in_goff = (size_t)gi * (s->in_c / s->group) * ((size_t)s->in_h * s->in_w);
    const int p0 = (int)((long long)g->panels * mchunk / c->m_chunks);
    const int p1 = (int)((long long)g->panels * (mchunk + 1) / c->m_chunks);
    int j, p, sp;
    mxn_gemm_tile t;

    {
        /* input offset of each column (output pixel), stepping through the rows */
        size_t y = n0 / (size_t)s->out_w, x = n0 % (size_t)s->out_w;
        const size_t row_step = (size_t)s->stride_h * (size_t)s->in_w;
        size_t row = y * row_step;
        for (j = 0; j < cols; j++) {
            wk->coff[j] = row + x * (size_t)s->stride_w;
            if (++x == (size_t)s->out_w) {
                x = 0;
                row += row_step;
            }
        }
    }
    if (c->u8) pack_b_u8(c, (const int8_t *)c->in + in_goff, cols, wk->coff, wk->runs, (uint8_t *)wk->bpack);
    else if (c->int8) pack_b_s8(c, (const int8_t *)c->in + in_goff, cols, wk->coff, wk->runs, (int16_t *)wk->bpack);
    else pack_b_f32(c, (const float *)c->in + in_goff, cols, wk->coff, wk->runs, (float *)wk->bpack);

    t.ldc = c->N;
    t.act = c->o->act;
    t.top_scale = c->o->top_scale;
    t.fused = c->o->fused;
    /* the full micro-tiles, one A panel at a time */
    {
        const int tail_fn = c->u8 ? c->k->u8gemm_tail != NULL : !c->int8 && c->k->sgemm_tail != NULL;
        const size_t k4 = (size_t)(g->K2 + 1) / 2;
        const int full = tail_fn ? cols / c->nr * c->nr : cols;
        for (p = p0; p < p1; p++) {
            const size_t pan = (size_t)gi * g->panels + (size_t)p;
            const size_t row0 = (size_t)gi * g->M + (size_t)p * MR;
            t.mr = g->M - p * MR < MR ? g->M - p * MR : MR;
            t.bias = g->bias + pan * MR;
            t.scale_in = g->scale_in ? g->scale_in + pan * MR : NULL;
            if (c->u8 && full > 0) c->k->u8_quads(g->K2, g->a_s8 + pan * g->K2 * MR * 2, wk->aq, wk->corr);
            for (sp = 0; sp < full; sp += c->nr) {
                const size_t col = n0 + (size_t)sp;
                t.nr = cols - sp < c->nr ? cols - sp : c->nr;
                t.out_f32 = c->o->out_f32 ? c->o->out_f32 + row0 * c->N + col : NULL;
                t.out_i8 = c->o->out_i8 ? c->o->out_i8 + row0 * c->N + col : NULL;
                if (c->u8)
                    c->k->u8gemm((int)k4, wk->aq, wk->corr, (const uint8_t *)wk->bpack + (size_t)sp * k4 * 4, &t);
                else if (c->int8)
                    c->k->s8gemm(g->K2, g->a_s8 + pan * g->K2 * MR * 2,
                                 (const int16_t *)wk->bpack + (size_t)sp * g->K2 * 2, &t);
                else
                    c->k->sgemm(g->K, g->a_f32 + pan * g->K * MR, (const float *)wk->bpack + (size_t)sp * g->K, &t);
            }
        }
        /* the partial micro-tile at the end: two A panels per call (kernels.h) */
        if (full < cols)
            for (p = p0; p < p1; p += 2) {
                const size_t pan = (size_t)gi * g->panels + (size_t)p;
                const size_t row0 = (size_t)gi * g->M + (size_t)p * MR;
                const int rows = (p + 1 < p1 ? 2 : 1) * MR;
                t.mr = g->M - p * MR < rows ? g->M - p * MR : rows;
                t.nr = cols - full;
                t.bias = g->bias + pan * MR;
                t.scale_in = g->scale_in ? g->scale_in + pan * MR : NULL;
                t.out_f32 = c->o->out_f32 ? c->o->out_f32 + row0 * c->N + n0 + full : NULL;
                t.out_i8 = c->o->out_i8 ? c->o->out_i8 + row0 * c->N + n0 + full : NULL;
                if (c->u8) {
                    int32_t *aq1 = rows > MR ? wk->aq + k4 * MR : wk->aq;
                    c->k->u8_quads(g->K2, g->a_s8 + pan * g->K2 * MR * 2, wk->aq, wk->corr);
                    if (rows > MR) c->k->u8_quads(g->K2, g->a_s8 + (pan + 1) * g->K2 * MR * 2, aq1, wk->corr + MR);
                    c->k->u8gemm_tail((int)k4, wk->aq, aq1, wk->corr,
                                      (const uint8_t *)wk->bpack + (size_t)full * k4 * 4, &t);
                } else {
                    c->k->sgemm_tail(g->K, g->a_f32 + pan * g->K * MR,
                                     (const float *)wk->bpack + (size_t)full * g->K, &t);
                }
            }
    }
}

static void *worker_main(void *arg)
{
    worker *wk = (worker *)arg;
    run_ctx *c = wk->c;
    int item;
    for (item = mxn_claim_item(&c->next_item); item < c->items; item = mxn_claim_item(&c->next_item))
        run_item(wk, item);
    return NULL;
}

int mxn_conv_gemm_run(const mxn_conv_gemm *g, const mxn_conv_shape *s, const void *in,
                      const mxn_conv_gemm_out *o, const mxn_kernel_set *k, int num_threads,
                      mxn_thread_pool *pool, size_t *scratch_bytes, mxn_error *err)
{
    run_ctx c;
    worker *wk = NULL;
    size_t *koff = NULL, col_bytes, aq_bytes;
    const int in_g = s->in_c / s->group;
    const size_t in_plane = (size_t)s->in_h * s->in_w;
    int i, q, ky, kx, rc = MXN_OK;

    memset(&c, 0, sizeof(c));
    c.g = g;
    c.s = s;
    c.in = in;
    c.o = o;
    c.k = k;
    c.int8 = g->a_s8 != NULL;
    c.u8 = c.int8 && k->u8gemm && k->u8_quads && k->pack_run_u8;
    c.nr = c.int8 ? k->nr_s8 : k->nr_f32;
    c.N = (size_t)s->out_h * s->out_w;
    if (num_threads < 1) num_threads = 1;
    col_bytes = c.u8 ? (size_t)(g->K2 + 1) / 2 * 4 : c.int8 ? (size_t)g->K2 * 4 : (size_t)g->K * 4;
    {
        size_t nc = B_TILE_BYTES / col_bytes / (size_t)c.nr * (size_t)c.nr;
        size_t nmax = (c.N + (size_t)c.nr - 1) / (size_t)c.nr * (size_t)c.nr;
        if (nc < (size_t)c.nr) nc = (size_t)c.nr;
        if (nc > nmax) nc = nmax;
        if (num_threads > 1) {
            /* small layers: at least one tile per thread */
            size_t per = (c.N + (size_t)num_threads - 1) / (size_t)num_threads;
            per = (per + (size_t)c.nr - 1) / (size_t)c.nr * (size_t)c.nr;
            if (per < nc) nc = per;
        }
        c.nc = (int)nc;
    }
    c.n_tiles = (int)((c.N + (size_t)c.nc - 1) / (size_t)c.nc);
    c.m_chunks = 1;
    if (num_threads > 1 && (long long)c.n_tiles * g->groups < 2LL * num_threads)
        c.m_chunks = g->panels < num_threads ? g->panels : num_threads;
    c.items = g->groups * c.n_tiles * c.m_chunks;
    c.workers = num_threads < c.items ? num_threads : c.items;

    aq_bytes = c.u8 ? sizeof(int32_t) * 2 * MR * (size_t)((g->K2 + 1) / 2) : 0;
    *scratch_bytes = sizeof(size_t) * (size_t)g->K +
                     (size_t)c.workers * (col_bytes * (size_t)c.nc + sizeof(size_t) * (size_t)c.nc +
                                          sizeof(col_run) * (size_t)c.nr + aq_bytes);
    koff = (size_t *)malloc(sizeof(size_t) * (size_t)g->K);
    wk = (worker *)calloc((size_t)c.workers, sizeof(worker));
    if (!koff || !wk) goto no_mem;
    for (q = 0, i = 0; q < in_g; q++)
        for (ky = 0; ky < s->kernel_h; ky++)
            for (kx = 0; kx < s->kernel_w; kx++)
                koff[i++] = (size_t)q * in_plane + (size_t)ky * s->dilation_h * s->in_w + (size_t)kx * s->dilation_w;
    c.koff = koff;
    for (i = 0; i < c.workers; i++) {
        wk[i].c = &c;
        wk[i].id = i;
        wk[i].bpack = malloc(col_bytes * (size_t)c.nc);
        wk[i].coff = (size_t *)malloc(sizeof(size_t) * (size_t)c.nc);
        wk[i].runs = (col_run *)malloc(sizeof(col_run) * (size_t)c.nr);
        wk[i].aq = aq_bytes ? (int32_t *)malloc(aq_bytes) : NULL;
        if (!wk[i].bpack || !wk[i].coff || !wk[i].runs || (aq_bytes && !wk[i].aq)) goto no_mem;
    }
    mxn_run_workers(pool, c.workers, worker_main, wk, sizeof(worker));
    goto done;

no_mem:
    rc = mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory (convolution scratch)");
done:
    if (wk)
        for (i = 0; i < c.workers; i++) {
            free(wk[i].bpack);
            free(wk[i].coff);
            free(wk[i].runs);
            free(wk[i].aq);
        }
    free(wk);
    free(koff);
    return rc;
}
