/* Convolution as packed GEMM: weight packing at load, per-forward input
 * packing (im2col of one column tile at a time), tiling and threads.  The
 * arithmetic is in the kernel sets' micro-kernels (csrc/x86/, csrc/arm/); the
 * portable tile epilogue below is their exact reference for the edges. */
#include <pthread.h>
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

void mxn_run_workers(int workers, void *(*fn)(void *), void *args, size_t arg_size)
{
    pthread_t *tids = workers > 1 ? (pthread_t *)calloc((size_t)workers, sizeof(pthread_t)) : NULL;
    unsigned char *started = workers > 1 ? (unsigned char *)calloc((size_t)workers, 1) : NULL;
    int i;
    if (tids && started)
        for (i = 1; i < workers; i++)
            started[i] = pthread_create(&tids[i], NULL, fn, (char *)args + (size_t)i * arg_size) == 0;
    fn(args);
    for (i = 1; i < workers; i++) {
        if (started && started[i]) pthread_join(tids[i], NULL);
        else fn((char *)args + (size_t)i * arg_size);
    }
    free(tids);
    free(started);
}

/* ---- the forward ------------------------------------------------------------ */

typedef struct {
    const mxn_conv_gemm *g;
    const mxn_conv_shape *s;
    const void *in;
    const mxn_conv_gemm_out *o;
    const mxn_kernel_set *k;
    int int8;
    int nr, nc;              /* columns per micro-tile / per B tile */
    size_t N;                /* output pixels */
    int n_tiles, m_chunks, items, workers;
    const size_t *koff;      /* [K] input offset of each tap within a group */
} run_ctx;

typedef struct {
    const run_ctx *c;
    int id;
    void *bpack;             /* this worker's B tile */
    size_t *coff;            /* [nc] input offset of each column of the tile */
} worker;

/* a full micro-panel whose columns are consecutive input pixels (stride 1,
 * within one output row): packing is a plain copy */
static int contiguous(const size_t *co, int w, int nr)
{
    return w == nr && co[nr - 1] - co[0] == (size_t)(nr - 1);
}

static void pack_b_f32(const run_ctx *c, const float *in, size_t n0, int cols, const size_t *coff, float *bp)
{
    const int K = c->g->K, nr = c->nr;
    int sp, k, j;
    for (sp = 0; sp < cols; sp += nr) {
        const int w = cols - sp < nr ? cols - sp : nr;
        const size_t *co = coff + sp;
        if (contiguous(co, w, nr)) {
            for (k = 0; k < K; k++)
                memcpy(bp + ((size_t)sp * K + (size_t)k * nr), in + c->koff[k] + co[0], sizeof(float) * (size_t)nr);
            continue;
        }
        for (k = 0; k < K; k++) {
            const float *src = in + c->koff[k];
            float *dst = bp + ((size_t)sp * K + (size_t)k * nr);
            for (j = 0; j < w; j++) dst[j] = src[co[j]];
            for (; j < nr; j++) dst[j] = 0.f;
        }
    }
    (void)n0;
}

static void pack_b_s8(const run_ctx *c, const int8_t *in, int cols, const size_t *coff, int16_t *bp)
{
    const int K = c->g->K, K2 = c->g->K2, nr = c->nr;
    int sp, kp, j;
    for (sp = 0; sp < cols; sp += nr) {
        const int w = cols - sp < nr ? cols - sp : nr;
        const size_t *co = coff + sp;
        if (contiguous(co, w, nr)) {
            /* all pairs but an odd K's last one */
            for (kp = 0; kp < K / 2; kp++)
                c->k->pack_pairs(in + c->koff[2 * kp] + co[0], in + c->koff[2 * kp + 1] + co[0],
                                 bp + ((size_t)sp * K2 + (size_t)kp * nr) * 2);
            if (K % 2) {
                const int8_t *s0 = in + c->koff[K - 1] + co[0];
                int16_t *dst = bp + ((size_t)sp * K2 + (size_t)(K2 - 1) * nr) * 2;
                for (j = 0; j < nr; j++) {
                    dst[2 * j] = s0[j];
                    dst[2 * j + 1] = 0;
                }
            }
            continue;
        }
        for (kp = 0; kp < K2; kp++) {
            const int8_t *s0 = in + c->koff[2 * kp];
            int16_t *dst = bp + ((size_t)sp * K2 + (size_t)kp * nr) * 2;
            if (2 * kp + 1 < K) {
                const int8_t *s1 = in + c->koff[2 * kp + 1];
                for (j = 0; j < w; j++) {
                    dst[2 * j] = s0[co[j]];
                    dst[2 * j + 1] = s1[co[j]];
                }
            } else {
                for (j = 0; j < w; j++) {
                    dst[2 * j] = s0[co[j]];
                    dst[2 * j + 1] = 0;
                }
            }
            for (; j < nr; j++) dst[2 * j] = dst[2 * j + 1] = 0;
        }
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

    for (j = 0; j < cols; j++) {
        const size_t n = n0 + (size_t)j;
        const size_t y = n / (size_t)s->out_w, x = n % (size_t)s->out_w;
        wk->coff[j] = y * s->stride_h * (size_t)s->in_w + x * s->stride_w;
    }
    if (c->int8) pack_b_s8(c, (const int8_t *)c->in + in_goff, cols, wk->coff, (int16_t *)wk->bpack);
    else pack_b_f32(c, (const float *)c->in + in_goff, n0, cols, wk->coff, (float *)wk->bpack);

    t.ldc = c->N;
    t.act = c->o->act;
    t.top_scale = c->o->top_scale;
    t.fused = c->o->fused;
    for (p = p0; p < p1; p++) {
        const size_t pan = (size_t)gi * g->panels + (size_t)p;
        const size_t row0 = (size_t)gi * g->M + (size_t)p * MR;
        t.mr = g->M - p * MR < MR ? g->M - p * MR : MR;
        t.bias = g->bias + pan * MR;
        t.scale_in = g->scale_in ? g->scale_in + pan * MR : NULL;
        for (sp = 0; sp < cols; sp += c->nr) {
            const size_t col = n0 + (size_t)sp;
            t.nr = cols - sp < c->nr ? cols - sp : c->nr;
            t.out_f32 = c->o->out_f32 ? c->o->out_f32 + row0 * c->N + col : NULL;
            t.out_i8 = c->o->out_i8 ? c->o->out_i8 + row0 * c->N + col : NULL;
            if (c->int8)
                c->k->s8gemm(g->K2, g->a_s8 + pan * g->K2 * MR * 2,
                             (const int16_t *)wk->bpack + (size_t)sp * g->K2 * 2, &t);
            else
                c->k->sgemm(g->K, g->a_f32 + pan * g->K * MR, (const float *)wk->bpack + (size_t)sp * g->K, &t);
        }
    }
}

static void *worker_main(void *arg)
{
    worker *wk = (worker *)arg;
    int item;
    for (item = wk->id; item < wk->c->items; item += wk->c->workers) run_item(wk, item);
    return NULL;
}

int mxn_conv_gemm_run(const mxn_conv_gemm *g, const mxn_conv_shape *s, const void *in,
                      const mxn_conv_gemm_out *o, const mxn_kernel_set *k, int num_threads,
                      size_t *scratch_bytes, mxn_error *err)
{
    run_ctx c;
    worker *wk = NULL;
    size_t *koff = NULL, col_bytes;
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
    c.nr = c.int8 ? k->nr_s8 : k->nr_f32;
    c.N = (size_t)s->out_h * s->out_w;
    if (num_threads < 1) num_threads = 1;
    col_bytes = c.int8 ? (size_t)g->K2 * 4 : (size_t)g->K * 4;
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

    *scratch_bytes = sizeof(size_t) * (size_t)g->K +
                     (size_t)c.workers * (col_bytes * (size_t)c.nc + sizeof(size_t) * (size_t)c.nc);
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
        if (!wk[i].bpack || !wk[i].coff) goto no_mem;
    }
    mxn_run_workers(c.workers, worker_main, wk, sizeof(worker));
    goto done;

no_mem:
    rc = mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory (convolution scratch)");
done:
    if (wk)
        for (i = 0; i < c.workers; i++) {
            free(wk[i].bpack);
            free(wk[i].coff);
        }
    free(wk);
    free(koff);
    return rc;
}
