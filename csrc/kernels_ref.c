/* Portable reference kernels (see kernels.h).
 *
 * Direct convolution without im2col.  For a block of up to 4 output channels
 * the accumulators (one output row, or a chunk of the flattened plane for
 * stride 1) stay in L1; for every (input channel, kernel row) the whole row
 * of kernel taps is applied per output element, so each accumulator is
 * loaded and stored once per kernel row, not once per tap.  Kernel widths 1/3/5/7 and strides 1/2 are compiled as
 * constants (the compiler unrolls the taps and vectorises over x); other
 * shapes use a per-tap loop.  Float sums are accumulated in the order
 * bias, then input channel, kernel row, kernel column (like ncnn's reference
 * implementation); int8 sums are exact. */
#include <string.h>
#include "kernels.h"

/* int8 products: |weight| <= 127, |input| <= 128, so each product fits in
 * int16 (a 16-bit SIMD multiply on every target); the sum is int32. */
#define PROD_F32(w, v) ((w) * (v))
#define PROD_S8(w, v) ((int16_t)((w) * (v)))

/* o_b[x] += sum_{k<KW} w_b[k] * src[x*stride + k*dil] for the nb (1..4)
 * channels of the block; wp points at channel 0's taps of this kernel row,
 * the next channel's taps are wstep further.  SW 0 = stride from sw_rt. */
#define MXN_DEFINE_ROW(NAME, T, WT, ACC, PROD, KW, SW)                                        \
    static void NAME(ACC *restrict o0, ACC *restrict o1, ACC *restrict o2, ACC *restrict o3, \
                     int nb, const T *restrict src, int n, int sw_rt, int dil,                \
                     const T *restrict wp, size_t wstep)                                      \
    {                                                                                         \
        const int sw = SW ? SW : sw_rt;                                                       \
        WT w[4][KW];                                                                          \
        int x, k, b;                                                                          \
        for (b = 0; b < 4; b++)                                                               \
            for (k = 0; k < KW; k++) w[b][k] = b < nb ? (WT)wp[b * wstep + k] : (WT)0;        \
        if (nb == 4) {                                                                        \
            for (x = 0; x < n; x++) {                                                         \
                const T *sp = src + (size_t)x * sw;                                           \
                ACC a0 = o0[x], a1 = o1[x], a2 = o2[x], a3 = o3[x];                           \
                for (k = 0; k < KW; k++) {                                                    \
                    const WT v = (WT)sp[k * dil];                                             \
                    a0 += PROD(w[0][k], v);                                                   \
                    a1 += PROD(w[1][k], v);                                                   \
                    a2 += PROD(w[2][k], v);                                                   \
                    a3 += PROD(w[3][k], v);                                                   \
                }                                                                             \
                o0[x] = a0;                                                                   \
                o1[x] = a1;                                                                   \
                o2[x] = a2;                                                                   \
                o3[x] = a3;                                                                   \
            }                                                                                 \
            return;                                                                           \
        }                                                                                     \
        for (b = 0; b < nb; b++) {                                                            \
            ACC *restrict o = b == 0 ? o0 : (b == 1 ? o1 : o2);                               \
            const WT *wb = w[b];                                                              \
            for (x = 0; x < n; x++) {                                                         \
                const T *sp = src + (size_t)x * sw;                                           \
                ACC a = o[x];                                                                 \
                for (k = 0; k < KW; k++) a += PROD(wb[k], (WT)sp[k * dil]);                   \
                o[x] = a;                                                                     \
            }                                                                                 \
        }                                                                                     \
    }

/* any kernel width: one tap at a time (same arithmetic order) */
#define MXN_DEFINE_ROW_ANY(NAME, T, WT, ACC, PROD)                                            \
    static void NAME(ACC *const *o, int nb, const T *src, int n, int sw, int dil, int kw,     \
                     const T *wp, size_t wstep)                                               \
    {                                                                                         \
        int b, k, x;                                                                          \
        for (k = 0; k < kw; k++)                                                              \
            for (b = 0; b < nb; b++) {                                                        \
                ACC *restrict ob = o[b];                                                      \
                const T *restrict sk = src + k * dil;                                         \
                const WT wk = (WT)wp[b * wstep + k];                                          \
                for (x = 0; x < n; x++) ob[x] += PROD(wk, (WT)sk[(size_t)x * sw]);            \
            }                                                                                 \
    }

#define MXN_DEFINE_ROWS(PFX, T, WT, ACC, PROD)                                                \
    MXN_DEFINE_ROW(PFX##_k1_s1, T, WT, ACC, PROD, 1, 1)                                       \
    MXN_DEFINE_ROW(PFX##_k1_s2, T, WT, ACC, PROD, 1, 2)                                       \
    MXN_DEFINE_ROW(PFX##_k1_sn, T, WT, ACC, PROD, 1, 0)                                       \
    MXN_DEFINE_ROW(PFX##_k3_s1, T, WT, ACC, PROD, 3, 1)                                       \
    MXN_DEFINE_ROW(PFX##_k3_s2, T, WT, ACC, PROD, 3, 2)                                       \
    MXN_DEFINE_ROW(PFX##_k3_sn, T, WT, ACC, PROD, 3, 0)                                       \
    MXN_DEFINE_ROW(PFX##_k5_s1, T, WT, ACC, PROD, 5, 1)                                       \
    MXN_DEFINE_ROW(PFX##_k5_s2, T, WT, ACC, PROD, 5, 2)                                       \
    MXN_DEFINE_ROW(PFX##_k5_sn, T, WT, ACC, PROD, 5, 0)                                       \
    MXN_DEFINE_ROW(PFX##_k7_s1, T, WT, ACC, PROD, 7, 1)                                       \
    MXN_DEFINE_ROW(PFX##_k7_s2, T, WT, ACC, PROD, 7, 2)                                       \
    MXN_DEFINE_ROW(PFX##_k7_sn, T, WT, ACC, PROD, 7, 0)                                       \
    MXN_DEFINE_ROW_ANY(PFX##_any, T, WT, ACC, PROD)                                           \
    static void PFX(ACC *const *o, int nb, const T *src, int n, int sw, int dil, int kw,      \
                    const T *wp, size_t wstep)                                                \
    {                                                                                         \
        ACC *o1 = nb > 1 ? o[1] : o[0], *o2 = nb > 2 ? o[2] : o[0], *o3 = nb > 3 ? o[3] : o[0]; \
        switch (kw * 4 + (sw == 1 ? 1 : (sw == 2 ? 2 : 0))) {                                 \
        case 5: PFX##_k1_s1(o[0], o1, o2, o3, nb, src, n, sw, dil, wp, wstep); return;        \
        case 6: PFX##_k1_s2(o[0], o1, o2, o3, nb, src, n, sw, dil, wp, wstep); return;        \
        case 4: PFX##_k1_sn(o[0], o1, o2, o3, nb, src, n, sw, dil, wp, wstep); return;        \
        case 13: PFX##_k3_s1(o[0], o1, o2, o3, nb, src, n, sw, dil, wp, wstep); return;       \
        case 14: PFX##_k3_s2(o[0], o1, o2, o3, nb, src, n, sw, dil, wp, wstep); return;       \
        case 12: PFX##_k3_sn(o[0], o1, o2, o3, nb, src, n, sw, dil, wp, wstep); return;       \
        case 21: PFX##_k5_s1(o[0], o1, o2, o3, nb, src, n, sw, dil, wp, wstep); return;       \
        case 22: PFX##_k5_s2(o[0], o1, o2, o3, nb, src, n, sw, dil, wp, wstep); return;       \
        case 20: PFX##_k5_sn(o[0], o1, o2, o3, nb, src, n, sw, dil, wp, wstep); return;       \
        case 29: PFX##_k7_s1(o[0], o1, o2, o3, nb, src, n, sw, dil, wp, wstep); return;       \
        case 30: PFX##_k7_s2(o[0], o1, o2, o3, nb, src, n, sw, dil, wp, wstep); return;       \
        case 28: PFX##_k7_sn(o[0], o1, o2, o3, nb, src, n, sw, dil, wp, wstep); return;       \
        default: PFX##_any(o, nb, src, n, sw, dil, kw, wp, wstep); return;                    \
        }                                                                                     \
    }

MXN_DEFINE_ROWS(conv_row_f32, float, float, float, PROD_F32)
MXN_DEFINE_ROWS(conv_row_s8, int8_t, int16_t, int32_t, PROD_S8)

/* The loop nest shared by both types: blocks of 4 output channels; for each,
 * accumulate over input channels and kernel rows with the row kernels.
 *
 * stride 1: the output plane is computed over the padded input width (index
 * j = y * in_w + x, so an input row offset is just j + ky*dil_h*in_w and one
 * long contiguous loop covers many output rows), in chunks of CONV_CHUNK
 * elements that stay in L1; the columns x >= out_w are computed and dropped.
 * Other strides: one output row at a time. */
#define CONV_CHUNK 512
#define MXN_DEFINE_CONV(NAME, T, ACC, ROW, INIT)                                              \
    static void NAME(const mxn_conv_shape *s, const T *in, const T *weight, const float *bias,\
                     ACC *out)                                                                \
    {                                                                                         \
        const int in_g = s->in_c / s->group;                                                  \
        const int out_g = s->out_c / s->group;                                                \
        const size_t maxk = (size_t)s->kernel_w * s->kernel_h;                                \
        const size_t wstep = (size_t)in_g * maxk;                                             \
        const size_t in_plane = (size_t)s->in_h * s->in_w;                                    \
        const size_t out_plane = (size_t)s->out_h * s->out_w;                                 \
        const int ow = s->out_w, iw = s->in_w;                                                \
        const int flat = s->stride_w == 1 && s->stride_h == 1;                                \
        /* flattened length: full padded rows except the last, which needs ow */             \
        const size_t flat_len = (size_t)(s->out_h - 1) * iw + ow;                             \
        ACC chunk[4][CONV_CHUNK];                                                             \
        int g, p0, y, b, q, ky, x;                                                            \
        (void)bias;                                                                           \
        for (g = 0; g < s->group; g++) {                                                      \
            for (p0 = 0; p0 < out_g; p0 += 4) {                                               \
                const int nb = out_g - p0 < 4 ? out_g - p0 : 4;                               \
                const int pfirst = g * out_g + p0;                                            \
                const T *wblock = weight + (size_t)pfirst * wstep;                            \
                if (flat) {                                                                   \
                    size_t j0;                                                                \
                    for (j0 = 0; j0 < flat_len; j0 += CONV_CHUNK) {                           \
                        const int n = (int)(flat_len - j0 < CONV_CHUNK ? flat_len - j0 : CONV_CHUNK); \
                        ACC *orow[4];                                                         \
                        size_t j;                                                             \
                        for (b = 0; b < nb; b++) {                                            \
                            const ACC init = INIT;                                            \
                            orow[b] = chunk[b];                                               \
                            for (x = 0; x < n; x++) chunk[b][x] = init;                       \
                        }                                                                     \
                        for (q = 0; q < in_g; q++) {                                          \
                            const T *inq = in + (size_t)(g * in_g + q) * in_plane + j0;       \
                            for (ky = 0; ky < s->kernel_h; ky++)                              \
                                ROW(orow, nb, inq + (size_t)ky * s->dilation_h * iw, n, 1,    \
                                    s->dilation_w, s->kernel_w,                               \
                                    wblock + (size_t)q * maxk + (size_t)ky * s->kernel_w, wstep); \
                        }                                                                     \
                        /* keep the valid columns */                                          \
                        for (j = 0; j < (size_t)n;) {                                         \
                            const size_t jj = j0 + j;                                         \
                            const int yy = (int)(jj / (size_t)iw), xx = (int)(jj % (size_t)iw); \
                            int run = xx < ow ? ow - xx : 0;                                  \
                            if ((size_t)run > (size_t)n - j) run = (int)((size_t)n - j);      \
                            for (b = 0; b < nb && run > 0; b++)                               \
                                memcpy(out + (size_t)(pfirst + b) * out_plane + (size_t)yy * ow + xx, \
                                       chunk[b] + j, sizeof(ACC) * (size_t)run);              \
                            j += (size_t)(xx < ow ? run : iw - xx);                           \
                        }                                                                     \
                    }                                                                         \
                    continue;                                                                 \
                }                                                                             \
                for (y = 0; y < s->out_h; y++) {                                              \
                    ACC *orow[4];                                                             \
                    for (b = 0; b < nb; b++) {                                                \
                        const ACC init = INIT;                                                \
                        orow[b] = out + (size_t)(pfirst + b) * out_plane + (size_t)y * ow;    \
                        for (x = 0; x < ow; x++) orow[b][x] = init;                           \
                    }                                                                         \
                    for (q = 0; q < in_g; q++) {                                              \
                        const T *inq = in + (size_t)(g * in_g + q) * in_plane;                \
                        for (ky = 0; ky < s->kernel_h; ky++) {                                \
                            const T *row = inq + (size_t)(y * s->stride_h + ky * s->dilation_h) * iw; \
                            ROW(orow, nb, row, ow, s->stride_w, s->dilation_w, s->kernel_w,   \
                                wblock + (size_t)q * maxk + (size_t)ky * s->kernel_w, wstep); \
                        }                                                                     \
                    }                                                                         \
                }                                                                             \
            }                                                                                 \
        }                                                                                     \
    }

MXN_DEFINE_CONV(conv_f32, float, float, conv_row_f32, bias ? bias[pfirst + b] : 0.f)
MXN_DEFINE_CONV(conv_s8, int8_t, int32_t, conv_row_s8, 0)

void mxn_conv2d_f32_ref(const mxn_conv_shape *s, const float *in, const float *weight,
                        const float *bias, float *out)
{
    conv_f32(s, in, weight, bias, out);
}

void mxn_conv2d_s8_ref(const mxn_conv_shape *s, const int8_t *in, const int8_t *weight,
                       int32_t *acc)
{
    conv_s8(s, in, weight, NULL, acc);
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

/* ---- depthwise kernel helpers (kernels.h mxn_dw_plane) -------------------- */

#define DW_FINISH_BLOCK 64

void mxn_dw_finish_s32(const mxn_dw_plane *p, const int32_t *acc, int m, int y, int x, int pitch)
{
    while (m > 0) {
        const int n = m < DW_FINISH_BLOCK ? m : DW_FINISH_BLOCK;
        float f[DW_FINISH_BLOCK + MXN_DW_STORE_BYTES / sizeof(float)];
        int8_t q[DW_FINISH_BLOCK + MXN_DW_STORE_BYTES];
        int i;
        for (i = 0; i < n; i++) {
            float v = p->fused ? fmaf((float)acc[i], p->scale_in, p->bias) : (float)acc[i] * p->scale_in + p->bias;
            if (p->act->type) v = mxn_activation_apply(p->act, v);
            if (p->out_i8) q[i] = mxn_float2int8(v * p->top_scale);
            else f[i] = v;
        }
        if (p->out_i8) mxn_dw_store(p, q, 1, n, y, x, pitch);
        else mxn_dw_store(p, f, sizeof(float), n, y, x, pitch);
        acc += n;
        m -= n;
        mxn_dw_step(&y, &x, n, pitch);
    }
}

void mxn_dw_finish_f32(const mxn_dw_plane *p, const float *acc, int m, int y, int x, int pitch)
{
    while (m > 0) {
        const int n = m < DW_FINISH_BLOCK ? m : DW_FINISH_BLOCK;
        float f[DW_FINISH_BLOCK + MXN_DW_STORE_BYTES / sizeof(float)];
        int i;
        for (i = 0; i < n; i++) f[i] = p->act->type ? mxn_activation_apply(p->act, acc[i]) : acc[i];
        mxn_dw_store(p, f, sizeof(float), n, y, x, pitch);
        acc += n;
        m -= n;
        mxn_dw_step(&y, &x, n, pitch);
    }
}
