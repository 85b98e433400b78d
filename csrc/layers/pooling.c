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
#include "conv_common.h"
#include "pool_common.h"
#include "../kernels.h"

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

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops,
                   const mxn_option *opt, mxn_error *err)
{
    const pool_layer *p = (const pool_layer *)l->priv;
    const mxn_mat *in = &bottoms[0];
    mxn_mat *out = &tops[0];
    int c, w, h, pl, pr, pt, pb, wtailpad, htailpad, pw, ph, ow, oh, q;
    mxn_pool_geometry g;
    const float *src;
    float *padded = NULL;
    int rc;
    (void)opt;

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
    pl = g.pl;
    pr = g.pr;
    pt = g.pt;
    pb = g.pb;
    wtailpad = g.wtail;
    htailpad = g.htail;
    pw = w + pl + pr;
    ph = h + pt + pb;
    ow = g.ow;
    oh = g.oh;

    src = mxn_mat_f32(in);
    if (pl || pr || pt || pb) {
        if ((long long)c * pw * ph > (long long)(SIZE_MAX / sizeof(float)))
            return mxn_error_set(err, MXN_ERR_NO_MEM, "padded input too large");
        padded = (float *)malloc(sizeof(float) * (size_t)c * pw * ph);
        if (!padded) return mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory");
        mxn_pad_planes_f32(src, c, h, w, pt, pb, pl, pr, p->pooling_type == 0 ? -FLT_MAX : 0.f, padded);
        src = padded;
    }
    rc = mxn_mat_alloc(out, 3, ow, oh, c, MXN_F32, err);
    if (rc) {
        free(padded);
        return rc;
    }

    for (q = 0; q < c; q++) {
        const float *plane = src + (size_t)q * pw * ph;
        float *dst = mxn_mat_f32(out) + (size_t)q * ow * oh;
        const int packed = c % 4 == 0;
        int i, j;
        for (i = 0; i < oh; i++) {
            const int sy0 = i * p->stride_h;
            for (j = 0; j < ow; j++) {
                const int sx0 = j * p->stride_w;
                int ky, kx;
                if (p->pooling_type == 0) {
                    float m = plane[(size_t)sy0 * pw + sx0];
                    for (ky = 0; ky < p->kernel_h; ky++) {
                        const float *row = plane + (size_t)(sy0 + ky) * pw + sx0;
                        for (kx = 0; kx < p->kernel_w; kx++) m = row[kx] > m ? row[kx] : m;
                    }
                    dst[i * ow + j] = m;
                } else if (p->avgpool_count_include_pad) {
                    float sum = 0.f;
                    for (ky = 0; ky < p->kernel_h; ky++) {
                        const float *row = plane + (size_t)(sy0 + ky) * pw + sx0;
                        for (kx = 0; kx < p->kernel_w; kx++) sum += row[kx];
                    }
                    dst[i * ow + j] = avg_finish(sum, p->kernel_w * p->kernel_h, 1);
                } else {
                    /* only elements inside [pad_top, ph - pad_bottom - htailpad) x
                     * [pad_left, pw - pad_right - wtailpad), using the pad PARAMS */
                    float sum = 0.f;
                    int area = 0;
                    for (ky = 0; ky < p->kernel_h; ky++) {
                        const int sy = sy0 + ky;
                        if (sy < p->pad_top) continue;
                        if (sy >= ph - p->pad_bottom - htailpad) break;
                        for (kx = 0; kx < p->kernel_w; kx++) {
                            const int sx = sx0 + kx;
                            if (sx < p->pad_left) continue;
                            if (sx >= pw - p->pad_right - wtailpad) break;
                            sum += plane[(size_t)sy * pw + sx];
                            area++;
                        }
                    }
                    /* a window entirely in the padding: ncnn divides 0 by 0 */
                    dst[i * ow + j] = avg_finish(sum, area, packed);
                }
            }
        }
    }
    free(padded);
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_pooling = {"Pooling", load_param, NULL, forward, NULL};
