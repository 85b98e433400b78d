/* Winograd convolution (conv_winograd.h): the weight transform at load, the
 * portable input / output transforms (plain loops over 8 lanes that the
 * compiler vectorises: tiles for the input, output channels for the output),
 * and the forward's tiling and threads.  The GEMM is the kernel set's
 * wino_gemm; F(4,3)'s transforms may be the set's too (wino_in, wino_out).
 *
 * F(4,3) with the interpolation points 0, 1, -1, 1/2, -2 and infinity:
 *   B^T = [1 -3/2  -2   3/2  1   0]   G = [  1      0      0  ]
 *         [0  -1   1/2  5/2  1   0]       [ 1/3    1/3    1/3 ]
 *         [0   1  -5/2  1/2  1   0]       [-1/3    1/3   -1/3 ]
 *         [0  -2   -1    2   1   0]       [-16/15 -8/15 -4/15]
 *         [0  1/2  -1  -1/2  1   0]       [ 1/15  -2/15  4/15]
 *         [0   1  -3/2  -2  3/2  1]       [  0      0      1  ]
 *   A^T = [1 1  1  1    1  0]
 *         [0 1 -1 1/2  -2  0]
 *         [0 1  1 1/4   4  0]
 *         [0 1 -1 1/8  -8  1]
 * The usual points 0, +-1, +-2 (Lavin & Gray) give 2-3x larger float32
 * errors (Barabasz et al. 2020 "Error analysis and improving the accuracy of
 * Winograd convolution"; simulated: 2.9e-6 against 1.1e-6 of the largest
 * output for 64 channels).  F(6,3) is not used: its float32 error is 4x
 * F(4,3)'s (simulated, 128 channels, points 0, +-1, +-2, +-1/2: 4.1e-6
 * against 1.0e-6) before any activation narrows the output range, too close
 * to the 1e-5 the kernels are held to.
 * F(2,3): the points 0, 1, -1 and infinity (matrices at wino23_in_c).
 *
 * Where it is used (mxn_winograd_tile; measured on Zen 4, one thread, against
 * the im2col GEMM of conv_gemm.c, in README "Speed"): every 3x3 stride-1
 * dilation-1 float32 convolution of one group with at least
 * WINO_MIN_CHANNELS input and output channels (8 channels at 56x56: 46 us
 * against 83 us).  F(4,3) U is 4x the 3x3 weights, F(2,3)'s 1.8x: F(2,3)
 * takes the layers with in_c * out_c >= WINO23_MIN_WEIGHTS = 512 x 512, whose
 * F(4,3) U would be 38 MB or more.  Those big layers sit on small planes in
 * real nets (ResNet18's last stage: 7x7, F(4,3) 4 tiles, F(2,3) 16), where
 * streaming U dominates: after the GEMM's AVX-512 kernels landed, F(2,3) was
 * as fast there as F(4,3) (ResNet18 224, one thread, medians of per-layer
 * times: its three 512 x 512 layers 7.0 against 8.6 ms and 6.9 against
 * 8.6 ms; with the 14x14 stage added 11.2-12.7 against 10.8-11.9 ms, within
 * the noise) for 63 MB less weight memory (ResNet18 fp32 135 MB instead of
 * 198 MB).  On 14x14 planes F(4,3) stays clearly faster (F(2,3) from
 * 256 x 256 on: the net 11-15 ms slower), hence the threshold. */
#include <stdlib.h>
#include <string.h>
#include "conv_winograd.h"
#include "thread_pool.h"

#define OB 8                       /* output channels per GEMM block (vector lanes) */
#define VT 8                       /* tiles per input transform call */
#define WINO_MIN_CHANNELS 8
#define WINO23_MIN_WEIGHTS (512 * 512)
/* bytes of V and M of one tile block (all output channels): see mxn_winograd_run */
#define TILE_BLOCK_MIN (512 * 1024)
#define TILE_BLOCK_MAX (8 * 1024 * 1024)
/* columns an F(4,3) input transform call may read (F(2,3): 2 * VT + 4) */
#define IN_SPAN (4 * VT + 4)

int mxn_winograd_tile(int in_c, int out_c, int kernel_w, int kernel_h, int stride_w, int stride_h,
                      int dilation_w, int dilation_h, int group)
{
    if (kernel_w != 3 || kernel_h != 3 || stride_w != 1 || stride_h != 1 || dilation_w != 1 || dilation_h != 1 ||
        group != 1 || in_c < WINO_MIN_CHANNELS || out_c < WINO_MIN_CHANNELS)
        return 0;
    return (long long)in_c * out_c >= WINO23_MIN_WEIGHTS ? 2 : 4;
}

void mxn_winograd_free(mxn_winograd *w)
{
    free(w->u);
    free(w->bias);
    memset(w, 0, sizeof(*w));
}

size_t mxn_winograd_bytes(const mxn_winograd *w)
{
    const size_t np = (size_t)(w->m + 2) * (w->m + 2);
    return w->u ? sizeof(float) * (np * w->nb * w->in_c * OB + (size_t)w->nb * OB) : 0;
}

int mxn_winograd_prepare(mxn_winograd *w, int m, int in_c, int out_c, const float *weight, const float *bias,
                         mxn_error *err)
{
    static const double G43[6][3] = {{1, 0, 0},
                                     {1.0 / 3, 1.0 / 3, 1.0 / 3},
                                     {-1.0 / 3, 1.0 / 3, -1.0 / 3},
                                     {-16.0 / 15, -8.0 / 15, -4.0 / 15},
                                     {1.0 / 15, -2.0 / 15, 4.0 / 15},
                                     {0, 0, 1}};
    static const double G23[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    const int n = m + 2;
    const double(*G)[3] = m == 4 ? G43 : G23;
    int o, q, i, j, b, l;
    memset(w, 0, sizeof(*w));
    w->m = m;
    w->in_c = in_c;
    w->out_c = out_c;
    w->nb = (out_c + OB - 1) / OB;
    w->u = (float *)calloc((size_t)n * n * w->nb * in_c * OB, sizeof(float));
    w->bias = (float *)calloc((size_t)w->nb * OB, sizeof(float));
    if (!w->u || !w->bias) {
        mxn_winograd_free(w);
        return mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory transforming the Winograd weights");
    }
    for (o = 0; o < out_c; o++)
        if (bias) w->bias[o] = bias[o];
    /* 8 output channels of one input channel at a time: U's runs of 8 floats */
    for (b = 0; b < w->nb; b++)
        for (q = 0; q < in_c; q++) {
            float tile[36][OB];
            memset(tile, 0, sizeof(tile));
            for (l = 0; l < OB && b * OB + l < out_c; l++) {
                const float *g = weight + ((size_t)(b * OB + l) * in_c + q) * 9;
                double t[6][3];
                for (i = 0; i < n; i++)
                    for (j = 0; j < 3; j++)
                        t[i][j] = G[i][0] * g[0 * 3 + j] + G[i][1] * g[1 * 3 + j] + G[i][2] * g[2 * 3 + j];
                for (i = 0; i < n; i++)
                    for (j = 0; j < n; j++)
                        tile[i * n + j][l] = (float)(t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2]);
            }
            for (i = 0; i < n * n; i++)
                memcpy(w->u + (((size_t)i * w->nb + b) * in_c + q) * OB, tile[i], sizeof(tile[i]));
        }
    return MXN_OK;
}

/* ---- portable transforms ---------------------------------------------------- */

/* one row of B^T (the kernels in csrc/x86, csrc/arm spell out the same sums) */
#define BT_ROW(d0, d1, d2, d3, d4, d5, o0, o1, o2, o3, o4, o5)         \
    do {                                                               \
        o0 = (d0 - 2.f * d2 + d4) + 1.5f * (d3 - d1);                  \
        o1 = (d4 - d1) + 0.5f * d2 + 2.5f * d3;                        \
        o2 = (d4 + d1) - 2.5f * d2 + 0.5f * d3;                        \
        o3 = (d4 - d2) + 2.f * (d3 - d1);                              \
        o4 = (d4 - d2) + 0.5f * (d1 - d3);                             \
        o5 = (d1 - 2.f * d3 + d5) + 1.5f * (d4 - d2);                  \
    } while (0)

/* one column of A^T */
#define AT_COL(m0, m1, m2, m3, m4, m5, o0, o1, o2, o3)                 \
    do {                                                               \
        const float s12_ = m1 + m2, d12_ = m1 - m2;                    \
        o0 = (m0 + s12_) + (m3 + m4);                                  \
        o1 = d12_ + (0.5f * m3 - 2.f * m4);                            \
        o2 = s12_ + (0.25f * m3 + 4.f * m4);                           \
        o3 = (d12_ + (0.125f * m3 - 8.f * m4)) + m5;                   \
    } while (0)

void mxn_wino_in_c(const float *src, int src_w, float *v, size_t v_ps)
{
    float h[6][6][VT]; /* [input row][column of B^T d][tile] */
    int r, c, t, j;
    for (r = 0; r < 6; r++) {
        const float *row = src + (size_t)r * src_w;
        float d[6][VT];
        for (t = 0; t < VT; t++)
            for (c = 0; c < 6; c++) d[c][t] = row[4 * t + c];
        for (t = 0; t < VT; t++) {
            BT_ROW(d[0][t], d[1][t], d[2][t], d[3][t], d[4][t], d[5][t], h[r][0][t], h[r][1][t], h[r][2][t],
                   h[r][3][t], h[r][4][t], h[r][5][t]);
        }
    }
    for (j = 0; j < 6; j++) {
        float *o0 = v + (size_t)(0 * 6 + j) * v_ps, *o1 = v + (size_t)(1 * 6 + j) * v_ps;
        float *o2 = v + (size_t)(2 * 6 + j) * v_ps, *o3 = v + (size_t)(3 * 6 + j) * v_ps;
        float *o4 = v + (size_t)(4 * 6 + j) * v_ps, *o5 = v + (size_t)(5 * 6 + j) * v_ps;
        for (t = 0; t < VT; t++) {
            const float d0 = h[0][j][t], d1 = h[1][j][t], d2 = h[2][j][t];
            const float d3 = h[3][j][t], d4 = h[4][j][t], d5 = h[5][j][t];
            BT_ROW(d0, d1, d2, d3, d4, d5, o0[t], o1[t], o2[t], o3[t], o4[t], o5[t]);
        }
    }
}

void mxn_wino_out_c(const float *m, const float *bias, const mxn_activation *act, float *out, size_t ldc, int out_w,
                    int rows, int cols, int noc)
{
    float t[6][4][OB], y[4][4][OB];
    int r, i, j, l;
    for (r = 0; r < 6; r++) {
        const float *mr = m + (size_t)r * 6 * OB;
        for (l = 0; l < OB; l++) {
            const float m0 = mr[0 * OB + l], m1 = mr[1 * OB + l], m2 = mr[2 * OB + l];
            const float m3 = mr[3 * OB + l], m4 = mr[4 * OB + l], m5 = mr[5 * OB + l];
            AT_COL(m0, m1, m2, m3, m4, m5, t[r][0][l], t[r][1][l], t[r][2][l], t[r][3][l]);
        }
    }
    for (j = 0; j < 4; j++)
        for (l = 0; l < OB; l++) {
            const float m0 = t[0][j][l], m1 = t[1][j][l], m2 = t[2][j][l];
            const float m3 = t[3][j][l], m4 = t[4][j][l], m5 = t[5][j][l];
            float o0, o1, o2, o3;
            AT_COL(m0, m1, m2, m3, m4, m5, o0, o1, o2, o3);
            y[0][j][l] = bias[l] + o0;
            y[1][j][l] = bias[l] + o1;
            y[2][j][l] = bias[l] + o2;
            y[3][j][l] = bias[l] + o3;
        }
    for (l = 0; l < noc; l++)
        for (i = 0; i < rows; i++) {
            float *o = out + (size_t)l * ldc + (size_t)i * out_w;
            for (j = 0; j < cols; j++) o[j] = act->type ? mxn_activation_apply(act, y[i][j][l]) : y[i][j][l];
        }
}

/* F(2,3): B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
 *         G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1], A^T = [1 1 1 0; 0 1 -1 -1].
 * 8 tiles (2 columns apart) of one channel, v[p*v_ps + t] for p < 16 */
static void wino23_in_c(const float *src, int src_w, float *v, size_t v_ps)
{
    float h[4][4][VT];
    int r, c, t, j;
    for (r = 0; r < 4; r++) {
        const float *row = src + (size_t)r * src_w;
        float d[4][VT];
        for (t = 0; t < VT; t++)
            for (c = 0; c < 4; c++) d[c][t] = row[2 * t + c];
        for (t = 0; t < VT; t++) {
            h[r][0][t] = d[0][t] - d[2][t];
            h[r][1][t] = d[1][t] + d[2][t];
            h[r][2][t] = d[2][t] - d[1][t];
            h[r][3][t] = d[1][t] - d[3][t];
        }
    }
    for (j = 0; j < 4; j++) {
        float *o0 = v + (size_t)(0 * 4 + j) * v_ps, *o1 = v + (size_t)(1 * 4 + j) * v_ps;
        float *o2 = v + (size_t)(2 * 4 + j) * v_ps, *o3 = v + (size_t)(3 * 4 + j) * v_ps;
        for (t = 0; t < VT; t++) {
            o0[t] = h[0][j][t] - h[2][j][t];
            o1[t] = h[1][j][t] + h[2][j][t];
            o2[t] = h[2][j][t] - h[1][j][t];
            o3[t] = h[1][j][t] - h[3][j][t];
        }
    }
}

static void wino23_out_c(const float *m, const float *bias, const mxn_activation *act, float *out, size_t ldc,
                         int out_w, int rows, int cols, int noc)
{
    float t[4][2][OB], y[2][2][OB];
    int r, i, j, l;
    if (rows > 2) rows = 2;
    if (cols > 2) cols = 2;
    for (r = 0; r < 4; r++) {
        const float *mr = m + (size_t)r * 4 * OB;
        for (l = 0; l < OB; l++) {
            t[r][0][l] = (mr[0 * OB + l] + mr[1 * OB + l]) + mr[2 * OB + l];
            t[r][1][l] = (mr[1 * OB + l] - mr[2 * OB + l]) - mr[3 * OB + l];
        }
    }
    for (j = 0; j < 2; j++)
        for (l = 0; l < OB; l++) {
            y[0][j][l] = bias[l] + ((t[0][j][l] + t[1][j][l]) + t[2][j][l]);
            y[1][j][l] = bias[l] + ((t[1][j][l] - t[2][j][l]) - t[3][j][l]);
        }
    for (l = 0; l < noc; l++)
        for (i = 0; i < rows; i++) {
            float *o = out + (size_t)l * ldc + (size_t)i * out_w;
            for (j = 0; j < cols; j++) o[j] = act->type ? mxn_activation_apply(act, y[i][j][l]) : y[i][j][l];
        }
}

/* ---- the forward ------------------------------------------------------------- */

typedef struct {
    const mxn_winograd *w;
    const mxn_kernel_set *k;
    void (*in_fn)(const float *, int, float *, size_t);
    void (*out_fn)(const float *, const float *, const mxn_activation *, float *, size_t, int, int, int, int);
    const mxn_activation *act;
    const float *pad;        /* padded input, rows pw apart */
    int pw;
    size_t pplane;
    float *out;
    int out_w, out_h;
    int m, np;               /* output tile side (4: F(4,3), 2: F(2,3)); positions (m + 2)^2 */
    int tiles_x, ntiles;
    int tb, tbs;             /* tiles per block; V row length (tb + VT: room for a whole transform) */
    int nblocks, oc_chunks, items, workers;
    int next_item;           /* mxn_claim_item's counter */
} wctx;

typedef struct {
    wctx *c;                 /* shared; workers advance its next_item */
    int id;
    float *v, *m;
    float edge[6 * IN_SPAN]; /* a row's last tiles with zeros past the plane */
} wworker;

static void run_item(wworker *wk, int item)
{
    const wctx *c = wk->c;
    const mxn_winograd *w = c->w;
    const int chunk = item % c->oc_chunks, block = item / c->oc_chunks;
    const int b0 = (int)((long long)w->nb * chunk / c->oc_chunks);
    const int b1 = (int)((long long)w->nb * (chunk + 1) / c->oc_chunks);
    const int t0 = block * c->tb;
    const int nt = c->ntiles - t0 < c->tb ? c->ntiles - t0 : c->tb;
    const size_t tbs = (size_t)c->tbs, in_c = (size_t)w->in_c, oplane = (size_t)c->out_w * c->out_h;
    int q, t, p, b;

    /* V [np][in_c][tbs] */
    for (q = 0; q < w->in_c; q++) {
        const float *plane = c->pad + (size_t)q * c->pplane;
        for (t = t0; t < t0 + nt;) {
            const int ty = t / c->tiles_x, tx = t % c->tiles_x;
            int n = c->tiles_x - tx;
            if (n > t0 + nt - t) n = t0 + nt - t;
            if (n > VT) n = VT;
            const float *src = plane + (size_t)(c->m * ty) * c->pw + c->m * tx;
            int src_w = c->pw;
            if (c->m * tx + c->m * VT + 4 > c->pw) {
                /* the transform reads m * VT + 4 columns: the row's last
                 * tiles from a copy that is zero past the padded plane */
                const int have = c->pw - c->m * tx;
                int r;
                for (r = 0; r < c->m + 2; r++) {
                    memcpy(wk->edge + r * IN_SPAN, src + (size_t)r * c->pw, sizeof(float) * (size_t)have);
                    memset(wk->edge + r * IN_SPAN + have, 0, sizeof(float) * (size_t)(IN_SPAN - have));
                }
                src = wk->edge;
                src_w = IN_SPAN;
            }
            /* a short run's extra lanes land on the next run's tiles (written
             * after) or past nt in the row's slack */
            c->in_fn(src, src_w, wk->v + q * tbs + (size_t)(t - t0), in_c * tbs);
            t += n;
        }
    }
    /* M [b1-b0][tbs][np][8] */
    for (p = 0; p < c->np; p++)
        c->k->wino_gemm(w->in_c, b1 - b0, nt, w->u + ((size_t)p * w->nb + b0) * in_c * OB, in_c * OB,
                        wk->v + (size_t)p * in_c * tbs, tbs, wk->m + (size_t)p * OB, (size_t)c->np * OB,
                        tbs * c->np * OB);
    for (b = b0; b < b1; b++) {
        const int noc = w->out_c - b * OB < OB ? w->out_c - b * OB : OB;
        for (t = 0; t < nt; t++) {
            const int ty = (t0 + t) / c->tiles_x, tx = (t0 + t) % c->tiles_x;
            const int rows = c->out_h - c->m * ty < c->m ? c->out_h - c->m * ty : c->m;
            const int cols = c->out_w - c->m * tx < c->m ? c->out_w - c->m * tx : c->m;
            c->out_fn(wk->m + ((size_t)(b - b0) * tbs + (size_t)t) * c->np * OB, w->bias + (size_t)b * OB, c->act,
                      c->out + (size_t)b * OB * oplane + (size_t)(c->m * ty) * c->out_w + c->m * tx, oplane,
                      c->out_w,
                      rows, cols, noc);
        }
    }
}

static void *worker_main(void *arg)
{
    wworker *wk = (wworker *)arg;
    wctx *c = wk->c;
    int item;
    for (item = mxn_claim_item(&c->next_item); item < c->items; item = mxn_claim_item(&c->next_item))
        run_item(wk, item);
    return NULL;
}

/* the padded input planes [begin, end): rounded up to whole tiles, zero
 * beyond the convolution's own padding */
typedef struct {
    const wctx *c;
    float *pad;
    const float *in;
    int in_h, in_w, ph, pt, pb, pl, pr;
    float pad_value;
} pad_job;

static void pad_planes(void *ctx, size_t begin, size_t end)
{
    const pad_job *j = (const pad_job *)ctx;
    const wctx *c = j->c;
    size_t q;
    int y;
    for (q = begin; q < end; q++) {
        float *plane = j->pad + q * c->pplane;
        const float *src = j->in + q * (size_t)j->in_h * j->in_w;
        for (y = 0; y < j->ph; y++) {
            float *row = plane + (size_t)y * c->pw;
            const int sy = y - j->pt;
            const int inside_h = y < j->in_h + j->pt + j->pb; /* within the convolution's padded plane */
            int x = 0, xe;
            if (sy >= 0 && sy < j->in_h) {
                for (; x < j->pl; x++) row[x] = j->pad_value;
                memcpy(row + x, src + (size_t)sy * j->in_w, sizeof(float) * (size_t)j->in_w);
                x += j->in_w;
                xe = j->in_w + j->pl + j->pr;
                for (; x < xe; x++) row[x] = j->pad_value;
            } else if (inside_h) {
                xe = j->in_w + j->pl + j->pr;
                for (; x < xe; x++) row[x] = j->pad_value;
            }
            for (; x < c->pw; x++) row[x] = 0.f;
        }
    }
}

int mxn_winograd_run(const mxn_winograd *w, const float *in, int in_h, int in_w, int pt, int pb, int pl, int pr,
                     float pad_value, const mxn_activation *act, float *out, const mxn_kernel_set *k,
                     int num_threads, mxn_thread_pool *pool, size_t *scratch_bytes, mxn_error *err)
{
    wctx c;
    wworker *wk = NULL;
    float *pad = NULL;
    size_t per_tile, vbytes, mbytes;
    int ph, i, max_chunk_blocks, rc = MXN_OK;

    memset(&c, 0, sizeof(c));
    *scratch_bytes = 0;
    c.w = w;
    c.k = k;
    c.m = w->m;
    c.np = (w->m + 2) * (w->m + 2);
    if (w->m == 4) {
        c.in_fn = k->wino_in ? k->wino_in : mxn_wino_in_c;
        c.out_fn = k->wino_out ? k->wino_out : mxn_wino_out_c;
    } else {
        c.in_fn = wino23_in_c;
        c.out_fn = wino23_out_c;
    }
    c.act = act;
    c.out = out;
    c.out_w = in_w + pl + pr - 2;
    c.out_h = in_h + pt + pb - 2;
    c.tiles_x = (c.out_w + c.m - 1) / c.m;
    c.ntiles = c.tiles_x * ((c.out_h + c.m - 1) / c.m);
    if (num_threads < 1) num_threads = 1;

    /* the padded input, rounded up to whole tiles; zero beyond the
     * convolution's own padding */
    c.pw = c.m * c.tiles_x + 2;
    ph = c.m * ((c.out_h + c.m - 1) / c.m) + 2;
    c.pplane = (size_t)c.pw * ph;
    pad = (float *)malloc(sizeof(float) * c.pplane * (size_t)w->in_c);
    if (!pad) goto no_mem;
    {
        pad_job job;
        job.c = &c;
        job.pad = pad;
        job.in = in;
        job.in_h = in_h;
        job.in_w = in_w;
        job.ph = ph;
        job.pt = pt;
        job.pb = pb;
        job.pl = pl;
        job.pr = pr;
        job.pad_value = pad_value;
        /* the copy is a serial step between two parallel ones otherwise */
        mxn_parallel_range(pool, num_threads, (size_t)w->in_c, 1, pad_planes, &job);
    }
    c.pad = pad;

    /* tile blocks; with several threads and few blocks the output channels
     * are split too */
    per_tile = sizeof(float) * (size_t)c.np * ((size_t)w->in_c + (size_t)w->nb * OB);
    {
        /* V and M of a block about as large as U (each block reads all of U),
         * within TILE_BLOCK_MIN..TILE_BLOCK_MAX bytes */
        size_t budget = mxn_winograd_bytes(w);
        if (budget < TILE_BLOCK_MIN) budget = TILE_BLOCK_MIN;
        if (budget > TILE_BLOCK_MAX) budget = TILE_BLOCK_MAX;
        c.tb = (int)(budget / per_tile);
    }
    if (c.tb < 1) c.tb = 1;
    if (c.tb > c.ntiles) c.tb = c.ntiles;
    c.nblocks = (c.ntiles + c.tb - 1) / c.tb;
    c.oc_chunks = 1;
    if (num_threads > 1) {
        if (c.ntiles >= 8 * num_threads) {
            /* a multiple of the threads, so that they get equal shares */
            const int nb = (c.nblocks + num_threads - 1) / num_threads * num_threads;
            c.tb = (c.ntiles + nb - 1) / nb;
            c.nblocks = (c.ntiles + c.tb - 1) / c.tb;
        } else if (c.nblocks < num_threads) {
            c.oc_chunks = w->nb < num_threads ? w->nb : num_threads;
        }
    }
    c.tbs = c.tb + VT;
    c.items = c.nblocks * c.oc_chunks;
    c.workers = num_threads < c.items ? num_threads : c.items;
    max_chunk_blocks = (w->nb + c.oc_chunks - 1) / c.oc_chunks;
    vbytes = sizeof(float) * (size_t)c.np * (size_t)w->in_c * c.tbs;
    mbytes = sizeof(float) * (size_t)c.np * OB * (size_t)max_chunk_blocks * c.tbs;

    wk = (wworker *)calloc((size_t)c.workers, sizeof(wworker));
    if (!wk) goto no_mem;
    for (i = 0; i < c.workers; i++) {
        wk[i].c = &c;
        wk[i].id = i;
        wk[i].v = (float *)calloc(vbytes / sizeof(float), sizeof(float));
        wk[i].m = (float *)malloc(mbytes);
        if (!wk[i].v || !wk[i].m) goto no_mem;
    }
    *scratch_bytes = sizeof(float) * c.pplane * (size_t)w->in_c + (size_t)c.workers * (vbytes + mbytes);
    mxn_run_workers(pool, c.workers, worker_main, wk, sizeof(wworker));
    goto done;

no_mem:
    rc = mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory (Winograd convolution scratch)");
done:
    if (wk)
        for (i = 0; i < c.workers; i++) {
            free(wk[i].v);
            free(wk[i].m);
        }
    free(wk);
    free(pad);
    return rc;
}
