/* Pooling (ncnn pooling.cpp semantics), float32.
 *
 * params: 0 type (0 max, 1 avg), 1 kernel_w, 11 kernel_h, 2 stride_w,
 * 12 stride_h, 3 pad_left, 14 pad_right, 13 pad_top, 15 pad_bottom (note: not
 * Convolution's ids), 4 global_pooling, 5 pad_mode (0 full, 1 valid,
 * 2 SAME_UPPER, 3 SAME_LOWER), 6 avgpool_count_include_pad,
 * 7 adaptive_pooling, 8 out_w, 18 out_h.
 *
 * - pad_mode 0 ("full", PyTorch ceil_mode) pads the right/bottom further by
 *   stride - (w + pads - kernel) % stride when that remainder is not 0;
 * - max pooling pads with -FLT_MAX, average with 0;
 * - average without count_include_pad divides by the number of window
 *   elements inside the ORIGINAL input as given by the pad params (the extra
 *   "full" tail is excluded; SAME modes count their implicit border because
 *   ncnn only subtracts the explicit pad params);
 * - global pooling gives a 1-D blob (w = channels), adaptive pooling windows
 *   are [floor(i*in/out), ceil((i+1)*in/out)).
 *
 * The average is finished the way ncnn's x86/arm kernels do it (checked bit
 * for bit against the wheel): a float32 sum in window order, then
 *   - channels a multiple of 4 (ncnn's packed layout): sum * (1.f / count);
 *   - otherwise: sum * (1.f / count) with avgpool_count_include_pad, sum /
 *     count without;
 *   - global pooling: sum * (1.f / size);  adaptive: sum / kh / kw.
 * This makes the packed cases (every int8 network: ResNet's global average
 * over 512 channels feeding an int8 fc) bit-identical; a 1-ulp difference
 * can flip an int8 rounding downstream.  ncnn sums unpacked global/adaptive
 * windows in a vectorised order, so those differ from it by an ulp or so. */
#include <float.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "pool_common.h"
#include "../thread_pool.h"

typedef mxn_pool_params pool_layer;

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    pool_layer *p = (pool_layer *)calloc(1, sizeof(*p));
    if (!p) return mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory");
    l->priv = p;
    return mxn_pool_params_load(p, pd, err);
}

/* finishing an average the way the host ncnn kernel does (see top) */
static float avg_finish(float sum, int count, int multiply)
{
    return multiply ? sum * (1.f / (float)count) : sum / (float)count;
}

static int forward_global(const pool_layer *p, const mxn_mat *in, int c,
                          mxn_mat *out, mxn_error *err)
{
    const size_t size = (size_t)in->w * in->h;
    int rc = mxn_mat_alloc(out, 1, c, 1, 1, MXN_F32, err), q;
    if (rc) return rc;
    for (q = 0; q < c; q++) {
        const float *ptr = mxn_mat_f32(in) + (size_t)q * size;
        size_t i;
        if (p->pooling_type == 0) {
            float m = ptr[0];
            for (i = 1; i < size; i++) m = ptr[i] > m ? ptr[i] : m;
            mxn_mat_f32(out)[q] = m;
        } else {
            float sum = 0.f;
            for (i = 0; i < size; i++) sum += ptr[i];
            mxn_mat_f32(out)[q] = avg_finish(sum, (int)size, 1);
        }
    }
    return MXN_OK;
}

static int forward_adaptive(const pool_layer *p, const mxn_mat *in, int c,
                            mxn_mat *out, mxn_error *err)
{
    const int w = in->w, h = in->h, ow = p->out_w, oh = p->out_h;
    int rc = mxn_mat_alloc(out, 3, ow, oh, c, MXN_F32, err), q;
    if (rc) return rc;
    for (q = 0; q < c; q++) {
        const float *src = mxn_mat_f32(in) + (size_t)q * w * h;
        float *dst = mxn_mat_f32(out) + (size_t)q * ow * oh;
        int i, j;
        for (i = 0; i < oh; i++) {
            const int y0 = (int)((long long)h * i / oh);
            const int y1 = (int)(((long long)h * (i + 1) + oh - 1) / oh);
            for (j = 0; j < ow; j++) {
                const int x0 = (int)((long long)w * j / ow);
                const int x1 = (int)(((long long)w * (j + 1) + ow - 1) / ow);
                int y, x;
                if (p->pooling_type == 0) {
                    float m = src[(size_t)y0 * w + x0];
                    for (y = y0; y < y1; y++)
                        for (x = x0; x < x1; x++) m = src[(size_t)y * w + x] > m ? src[(size_t)y * w + x] : m;
                    dst[i * ow + j] = m;
                } else {
                    float sum = 0.f;
                    for (y = y0; y < y1; y++)
                        for (x = x0; x < x1; x++) sum += src[(size_t)y * w + x];
                    /* ncnn's reference: sum / window_h / window_w (two divisions) */
                    dst[i * ow + j] = sum / (float)(y1 - y0) / (float)(x1 - x0);
                }
            }
        }
    }
    return MXN_OK;
}

/* ---- windowed pooling ------------------------------------------------------
 *
 * The definition (kept verbatim as window_exact below, on a virtually padded
 * plane): max folds m = e > m ? e : m over the window in row-major order,
 * starting from its first element; average sums in the same order.  Windows
 * that lie inside the input (and, for an average without count_include_pad,
 * inside the counted region) - nearly all of them - are computed a whole
 * output row at a time, each window still folded in that order, with loops
 * over the row that the compiler vectorises (maxps is exactly e > m ? e : m).
 * No padded copy of the input is made.  Output rows are spread over the
 * session's threads; every value is computed the same way whatever the
 * thread count. */

typedef struct {
    const pool_layer *p;
    const float *in;
    float *out;
    int w, h, ow, oh;
    int pl, pt, pw, ph, wtail, htail;   /* the padded geometry (pads actually applied) */
    int fy0, fy1;                       /* the fast region's rows / columns, padded coordinates */
    int jlo, jhi;                       /* output columns whose windows lie in the fast region */
    int packed;                         /* channels % 4 == 0 (see avg_finish) */
    float padval;
} pool_run;

/* element (sy, sx) of the padded plane */
static float padded_at(const pool_run *r, const float *plane, int sy, int sx)
{
    const int y = sy - r->pt, x = sx - r->pl;
    return y >= 0 && y < r->h && x >= 0 && x < r->w ? plane[(size_t)y * r->w + x] : r->padval;
}

/* output (i, j) by the definition (border windows) */
static float window_exact(const pool_run *r, const float *plane, int i, int j)
{
    const pool_layer *p = r->p;
    const int sy0 = i * p->stride_h, sx0 = j * p->stride_w;
    int ky, kx;
    if (p->pooling_type == 0) {
        float m = padded_at(r, plane, sy0, sx0);
        for (ky = 0; ky < p->kernel_h; ky++)
            for (kx = 0; kx < p->kernel_w; kx++) {
                const float e = padded_at(r, plane, sy0 + ky, sx0 + kx);
                m = e > m ? e : m;
            }
        return m;
    }
    if (p->avgpool_count_include_pad) {
        float sum = 0.f;
        for (ky = 0; ky < p->kernel_h; ky++)
            for (kx = 0; kx < p->kernel_w; kx++) sum += padded_at(r, plane, sy0 + ky, sx0 + kx);
        return avg_finish(sum, p->kernel_w * p->kernel_h, 1);
    } else {
        /* only elements inside [pad_top, ph - pad_bottom - htailpad) x
         * [pad_left, pw - pad_right - wtailpad), using the pad PARAMS */
        float sum = 0.f;
        int area = 0;
        for (ky = 0; ky < p->kernel_h; ky++) {
            const int sy = sy0 + ky;
            if (sy < p->pad_top) continue;
            if (sy >= r->ph - p->pad_bottom - r->htail) break;
            for (kx = 0; kx < p->kernel_w; kx++) {
                const int sx = sx0 + kx;
                if (sx < p->pad_left) continue;
                if (sx >= r->pw - p->pad_right - r->wtail) break;
                sum += padded_at(r, plane, sy, sx);
                area++;
            }
        }
        /* a window entirely in the padding: ncnn divides 0 by 0 */
        return avg_finish(sum, area, r->packed);
    }
}

/* n outputs of one row from src = the first window's top-left element
 * (unpadded plane, row length w); SW the horizontal stride.  dst first holds
 * the running max / sum of every window. */
#define POOL_ROW_KERNELS(SUFFIX, SW)                                                                   \
    static void max_row_##SUFFIX(const float *restrict src, size_t w, int kh, int kw, int sw, int n,     \
                                 float *restrict dst)                                                  \
    {                                                                                                  \
        int ky, kx, j;                                                                                 \
        (void)sw;                                                                                      \
        for (j = 0; j < n; j++) dst[j] = src[(size_t)j * (SW)];                                        \
        for (ky = 0; ky < kh; ky++)                                                                    \
            for (kx = ky ? 0 : 1; kx < kw; kx++) {                                                     \
                const float *restrict e = src + (size_t)ky * w + kx;                                   \
                for (j = 0; j < n; j++) {                                                              \
                    const float v = e[(size_t)j * (SW)];                                               \
                    dst[j] = v > dst[j] ? v : dst[j];                                                  \
                }                                                                                      \
            }                                                                                          \
    }                                                                                                  \
    static void sum_row_##SUFFIX(const float *restrict src, size_t w, int kh, int kw, int sw, int n,     \
                                 float *restrict dst)                                                  \
    {                                                                                                  \
        int ky, kx, j;                                                                                 \
        (void)sw;                                                                                      \
        for (j = 0; j < n; j++) dst[j] = 0.f;                                                          \
        for (ky = 0; ky < kh; ky++)                                                                    \
            for (kx = 0; kx < kw; kx++) {                                                              \
                const float *restrict e = src + (size_t)ky * w + kx;                                   \
                for (j = 0; j < n; j++) dst[j] += e[(size_t)j * (SW)];                                 \
            }                                                                                          \
    }
POOL_ROW_KERNELS(s1, 1)
POOL_ROW_KERNELS(s2, 2)
POOL_ROW_KERNELS(sn, sw)

typedef void (*pool_row_fn)(const float *restrict, size_t, int, int, int, int, float *restrict);

/* output rows [begin, end) of the flattened (channel, row) range */
static void pool_rows(void *ctx, size_t begin, size_t end)
{
    const pool_run *r = (const pool_run *)ctx;
    const pool_layer *p = r->p;
    const int sw = p->stride_w, kh = p->kernel_h, kw = p->kernel_w;
    const pool_row_fn row_fn = p->pooling_type == 0 ? (sw == 1 ? max_row_s1 : sw == 2 ? max_row_s2 : max_row_sn)
                                                    : (sw == 1 ? sum_row_s1 : sw == 2 ? sum_row_s2 : sum_row_sn);
    const float inv = 1.f / (float)(kw * kh);
    const int multiply = p->avgpool_count_include_pad || r->packed;
    size_t u;
    for (u = begin; u < end; u++) {
        const size_t q = u / (size_t)r->oh;
        const int i = (int)(u % (size_t)r->oh);
        const float *plane = r->in + q * (size_t)r->w * r->h;
        float *dst = r->out + (q * (size_t)r->oh + (size_t)i) * r->ow;
        const int sy0 = i * p->stride_h;
        int j, j0 = 0, j1 = 0;
        if (sy0 >= r->fy0 && sy0 + kh <= r->fy1 && r->jlo < r->jhi) {
            j0 = r->jlo;
            j1 = r->jhi;
            row_fn(plane + (size_t)(sy0 - r->pt) * r->w + (size_t)(j0 * sw - r->pl), (size_t)r->w, kh, kw, sw,
                   j1 - j0, dst + j0);
            if (p->pooling_type == 1) {
                /* windows inside the counted region: kw * kh elements */
                if (multiply)
                    for (j = j0; j < j1; j++) dst[j] = dst[j] * inv;
                else
                    for (j = j0; j < j1; j++) dst[j] = dst[j] / (float)(kw * kh);
            }
        }
        for (j = 0; j < j0; j++) dst[j] = window_exact(r, plane, i, j);
        for (j = j1; j < r->ow; j++) dst[j] = window_exact(r, plane, i, j);
    }
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops,
                   const mxn_option *opt, mxn_error *err)
{
    const pool_layer *p = (const pool_layer *)l->priv;
    const mxn_mat *in = &bottoms[0];
    mxn_mat *out = &tops[0];
    int c, w, h, fx0, fx1;
    mxn_pool_geometry g;
    pool_run r;
    size_t rows;
    int rc;

    if (!in->data || in->dims < 2)
        return mxn_error_set(err, MXN_ERR_SHAPE, "expects a (c, h, w) input blob, got dims %d", in->dims);
    if (in->dtype != MXN_F32)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT,
                              "int8 input blob: Pooling runs in float32 only (keep the producing "
                              "convolution's output in float: int8_scale_term 1/2, not 101/102)");
    c = in->dims == 3 ? in->c : 1;
    w = in->w;
    h = in->h;

    if (p->global_pooling) return forward_global(p, in, c, out, err);
    if (p->adaptive_pooling) return forward_adaptive(p, in, c, out, err);

    if ((rc = mxn_pool_geometry_get(p, w, h, &g, err))) return rc;
    if ((rc = mxn_mat_alloc(out, 3, g.ow, g.oh, c, MXN_F32, err))) return rc;
    memset(&r, 0, sizeof(r));
    r.p = p;
    r.in = mxn_mat_f32(in);
    r.out = mxn_mat_f32(out);
    r.w = w;
    r.h = h;
    r.ow = g.ow;
    r.oh = g.oh;
    r.pl = g.pl;
    r.pt = g.pt;
    r.pw = w + g.pl + g.pr;
    r.ph = h + g.pt + g.pb;
    r.wtail = g.wtail;
    r.htail = g.htail;
    r.packed = c % 4 == 0;
    r.padval = p->pooling_type == 0 ? -FLT_MAX : 0.f;
    /* the fast region: the input itself, for an average without
     * count_include_pad also inside the counted region */
    fx0 = g.pl;
    fx1 = g.pl + w;
    r.fy0 = g.pt;
    r.fy1 = g.pt + h;
    if (p->pooling_type == 1 && !p->avgpool_count_include_pad) {
        const int cx1 = r.pw - p->pad_right - g.wtail, cy1 = r.ph - p->pad_bottom - g.htail;
        if (p->pad_left > fx0) fx0 = p->pad_left;
        if (cx1 < fx1) fx1 = cx1;
        if (p->pad_top > r.fy0) r.fy0 = p->pad_top;
        if (cy1 < r.fy1) r.fy1 = cy1;
    }
    r.jlo = (fx0 + p->stride_w - 1) / p->stride_w;
    r.jhi = fx1 - p->kernel_w >= 0 ? (fx1 - p->kernel_w) / p->stride_w + 1 : 0;
    if (r.jhi > g.ow) r.jhi = g.ow;
    if (r.jlo > r.jhi) r.jlo = r.jhi;

    rows = (size_t)c * g.oh;
    if (rows * g.ow * p->kernel_w * p->kernel_h < MXN_PARALLEL_MIN_WORK) pool_rows(&r, 0, rows);
    else mxn_parallel_for(opt, rows, 1, pool_rows, &r);
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_pooling = {"Pooling", load_param, NULL, forward, NULL};
