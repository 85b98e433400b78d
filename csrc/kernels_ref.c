/* Portable reference kernels (see kernels.h).
 *
 * Direct convolution without im2col: for a block of up to 4 output channels
 * and one output row, the accumulator rows stay in L1 while every
 * (input channel, ky, kx) tap adds weight * input-row into them.  The stride-1
 * inner loop is a plain contiguous axpy that compilers vectorise; strided
 * convolutions use the same loop with a stride. */
#include <string.h>
#include "kernels.h"

/* ---- float32 convolution ------------------------------------------------ */

/* o_b[x] += w_b * src[x * stride] for b < 4 */
static void axpy4_f32(float *restrict o0, float *restrict o1, float *restrict o2,
                      float *restrict o3, const float *restrict src, int n, int stride,
                      float w0, float w1, float w2, float w3)
{
    int x;
    if (stride == 1) {
        for (x = 0; x < n; x++) {
            float v = src[x];
            o0[x] += w0 * v;
            o1[x] += w1 * v;
            o2[x] += w2 * v;
            o3[x] += w3 * v;
        }
    } else {
        for (x = 0; x < n; x++) {
            float v = src[x * stride];
            o0[x] += w0 * v;
            o1[x] += w1 * v;
            o2[x] += w2 * v;
            o3[x] += w3 * v;
        }
    }
}

static void axpy1_f32(float *restrict o, const float *restrict src, int n, int stride, float w)
{
    int x;
    if (stride == 1) {
        for (x = 0; x < n; x++) o[x] += w * src[x];
    } else {
        for (x = 0; x < n; x++) o[x] += w * src[x * stride];
    }
}

void mxn_conv2d_f32_ref(const mxn_conv_shape *s, const float *in, const float *weight,
                        const float *bias, float *out)
{
    const int in_g = s->in_c / s->group;
    const int out_g = s->out_c / s->group;
    const int maxk = s->kernel_w * s->kernel_h;
    const size_t in_plane = (size_t)s->in_h * s->in_w;
    const size_t out_plane = (size_t)s->out_h * s->out_w;
    const int ow = s->out_w;
    int g;

    for (g = 0; g < s->group; g++) {
        int p0;
        for (p0 = 0; p0 < out_g; p0 += 4) {
            const int nb = out_g - p0 < 4 ? out_g - p0 : 4;
            const int pfirst = g * out_g + p0;
            int y;
            for (y = 0; y < s->out_h; y++) {
                float *orow[4];
                int b, q;
                for (b = 0; b < nb; b++) {
                    int x;
                    float init = bias ? bias[pfirst + b] : 0.f;
                    orow[b] = out + (size_t)(pfirst + b) * out_plane + (size_t)y * ow;
                    for (x = 0; x < ow; x++) orow[b][x] = init;
                }
                for (q = 0; q < in_g; q++) {
                    const float *inq = in + (size_t)(g * in_g + q) * in_plane;
                    int ky;
                    for (ky = 0; ky < s->kernel_h; ky++) {
                        const float *row = inq + (size_t)(y * s->stride_h + ky * s->dilation_h) * s->in_w;
                        int kx;
                        for (kx = 0; kx < s->kernel_w; kx++) {
                            const float *src = row + kx * s->dilation_w;
                            const size_t k = (size_t)q * maxk + (size_t)ky * s->kernel_w + kx;
                            const size_t wstep = (size_t)in_g * maxk;
                            const float *wp = weight + (size_t)pfirst * wstep + k;
                            if (nb == 4)
                                axpy4_f32(orow[0], orow[1], orow[2], orow[3], src, ow, s->stride_w,
                                          wp[0], wp[wstep], wp[2 * wstep], wp[3 * wstep]);
                            else
                                for (b = 0; b < nb; b++)
                                    axpy1_f32(orow[b], src, ow, s->stride_w, wp[b * wstep]);
                        }
                    }
                }
            }
        }
    }
}

/* ---- int8 convolution --------------------------------------------------- */

static void axpy4_s8(int32_t *restrict o0, int32_t *restrict o1, int32_t *restrict o2,
                     int32_t *restrict o3, const int8_t *restrict src, int n, int stride,
                     int32_t w0, int32_t w1, int32_t w2, int32_t w3)
{
    int x;
    if (stride == 1) {
        for (x = 0; x < n; x++) {
            int32_t v = src[x];
            o0[x] += w0 * v;
            o1[x] += w1 * v;
            o2[x] += w2 * v;
            o3[x] += w3 * v;
        }
    } else {
        for (x = 0; x < n; x++) {
            int32_t v = src[x * stride];
            o0[x] += w0 * v;
            o1[x] += w1 * v;
            o2[x] += w2 * v;
            o3[x] += w3 * v;
        }
    }
}

static void axpy1_s8(int32_t *restrict o, const int8_t *restrict src, int n, int stride, int32_t w)
{
    int x;
    if (stride == 1) {
        for (x = 0; x < n; x++) o[x] += w * (int32_t)src[x];
    } else {
        for (x = 0; x < n; x++) o[x] += w * (int32_t)src[x * stride];
    }
}

void mxn_conv2d_s8_ref(const mxn_conv_shape *s, const int8_t *in, const int8_t *weight,
                       int32_t *acc)
{
    const int in_g = s->in_c / s->group;
    const int out_g = s->out_c / s->group;
    const int maxk = s->kernel_w * s->kernel_h;
    const size_t in_plane = (size_t)s->in_h * s->in_w;
    const size_t out_plane = (size_t)s->out_h * s->out_w;
    const int ow = s->out_w;
    int g;

    for (g = 0; g < s->group; g++) {
        int p0;
        for (p0 = 0; p0 < out_g; p0 += 4) {
            const int nb = out_g - p0 < 4 ? out_g - p0 : 4;
            const int pfirst = g * out_g + p0;
            int y;
            for (y = 0; y < s->out_h; y++) {
                int32_t *orow[4];
                int b, q;
                for (b = 0; b < nb; b++) {
                    orow[b] = acc + (size_t)(pfirst + b) * out_plane + (size_t)y * ow;
                    memset(orow[b], 0, sizeof(int32_t) * (size_t)ow);
                }
                for (q = 0; q < in_g; q++) {
                    const int8_t *inq = in + (size_t)(g * in_g + q) * in_plane;
                    int ky;
                    for (ky = 0; ky < s->kernel_h; ky++) {
                        const int8_t *row = inq + (size_t)(y * s->stride_h + ky * s->dilation_h) * s->in_w;
                        int kx;
                        for (kx = 0; kx < s->kernel_w; kx++) {
                            const int8_t *src = row + kx * s->dilation_w;
                            const size_t k = (size_t)q * maxk + (size_t)ky * s->kernel_w + kx;
                            const size_t wstep = (size_t)in_g * maxk;
                            const int8_t *wp = weight + (size_t)pfirst * wstep + k;
                            if (nb == 4)
                                axpy4_s8(orow[0], orow[1], orow[2], orow[3], src, ow, s->stride_w,
                                         wp[0], wp[wstep], wp[2 * wstep], wp[3 * wstep]);
                            else
                                for (b = 0; b < nb; b++)
                                    axpy1_s8(orow[b], src, ow, s->stride_w, wp[b * wstep]);
                        }
                    }
                }
            }
        }
    }
}

/* ---- fully connected ---------------------------------------------------- */

void mxn_innerproduct_f32_ref(int num_input, int num_output, const float *in,
                              const float *weight, const float *bias, float *out)
{
    int p;
    for (p = 0; p < num_output; p++) {
        const float *w = weight + (size_t)p * num_input;
        float sum = bias ? bias[p] : 0.f;
        int i;
        for (i = 0; i < num_input; i++) sum += w[i] * in[i];
        out[p] = sum;
    }
}

void mxn_innerproduct_s8_ref(int num_input, int num_output, const int8_t *in,
                             const int8_t *weight, int32_t *acc)
{
    int p;
    for (p = 0; p < num_output; p++) {
        const int8_t *w = weight + (size_t)p * num_input;
        int32_t sum = 0;
        int i;
        for (i = 0; i < num_input; i++) sum += (int32_t)w[i] * (int32_t)in[i];
        acc[p] = sum;
    }
}

/* ---- int8 epilogues ----------------------------------------------------- */

void mxn_conv_dequant_ref(const int32_t *acc, int channels, size_t plane,
                          const float *scale_in, const float *bias,
                          const mxn_activation *act, float top_scale, int fused,
                          float *out_f32, int8_t *out_i8)
{
    int p;
    for (p = 0; p < channels; p++) {
        const int32_t *a = acc + (size_t)p * plane;
        const float s = scale_in[p];
        const float b = bias ? bias[p] : 0.f;
        size_t i;
        if (out_i8) {
            int8_t *o = out_i8 + (size_t)p * plane;
            for (i = 0; i < plane; i++) {
                float v = fused ? fmaf((float)a[i], s, b) : (float)a[i] * s + b;
                if (act->type) v = mxn_activation_apply(act, v);
                o[i] = mxn_float2int8(v * top_scale);
            }
        } else {
            float *o = out_f32 + (size_t)p * plane;
            for (i = 0; i < plane; i++) {
                float v = fused ? fmaf((float)a[i], s, b) : (float)a[i] * s + b;
                if (act->type) v = mxn_activation_apply(act, v);
                o[i] = v;
            }
        }
    }
}

void mxn_innerproduct_dequant_ref(const int32_t *acc, int num_output, const float *scale_in,
                                  const float *bias, const mxn_activation *act, float *out)
{
    int p;
    for (p = 0; p < num_output; p++) {
        float prod = (float)acc[p] * scale_in[p];
        float v = bias ? bias[p] + prod : prod;
        if (act->type) v = mxn_activation_apply(act, v);
        out[p] = v;
    }
}

/* ---- quantize / pad ----------------------------------------------------- */

void mxn_quantize_f32_to_s8(const float *in, size_t n, float scale, int8_t *out)
{
    size_t i;
    for (i = 0; i < n; i++) out[i] = mxn_float2int8(in[i] * scale);
}

/* Rows/columns outside the source get `value`; a negative pad crops. */
#define MXN_DEFINE_PAD(NAME, T)                                                              \
    void NAME(const T *in, int c, int h, int w, int top, int bottom, int left, int right,   \
              T value, T *out)                                                               \
    {                                                                                        \
        const int ow = w + left + right;                                                     \
        const int oh = h + top + bottom;                                                     \
        const int x0 = left > 0 ? left : 0;                   /* first copied column */      \
        const int x1 = left + w < ow ? left + w : ow;         /* end of copied columns */    \
        int q;                                                                               \
        for (q = 0; q < c; q++) {                                                            \
            const T *src = in + (size_t)q * h * w;                                           \
            T *dst = out + (size_t)q * oh * ow;                                              \
            int y, x;                                                                        \
            for (y = 0; y < oh; y++) {                                                       \
                T *drow = dst + (size_t)y * ow;                                              \
                const int sy = y - top;                                                      \
                if (sy < 0 || sy >= h || x1 <= x0) {                                         \
                    for (x = 0; x < ow; x++) drow[x] = value;                                \
                    continue;                                                                \
                }                                                                            \
                for (x = 0; x < x0; x++) drow[x] = value;                                    \
                memcpy(drow + x0, src + (size_t)sy * w + (x0 - left), sizeof(T) * (size_t)(x1 - x0)); \
                for (x = x1; x < ow; x++) drow[x] = value;                                   \
            }                                                                                \
        }                                                                                    \
    }

MXN_DEFINE_PAD(mxn_pad_planes_f32, float)
MXN_DEFINE_PAD(mxn_pad_planes_s8, int8_t)
