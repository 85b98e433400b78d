/* Compute kernels of the heavy layers (Convolution, ConvolutionDepthWise,
 * InnerProduct) and the int8 arithmetic they share.
 *
 * Every kernel here has a portable reference implementation in
 * csrc/kernels_ref.c (plain C99 loops, the innermost loop over contiguous
 * memory so the compiler can vectorise it).  Architecture kernels
 * (csrc/x86/, csrc/arm/) are meant to implement the same signatures and be
 * tested against the reference bit for bit: the integer parts must agree
 * exactly, and the float epilogues below define the rounding (they are the
 * formulas that make maixnn agree with the official ncnn runtime).
 *
 * The kernels do no validation: the layer code checks shapes, sizes and
 * overflow before calling them.
 */
#ifndef MXN_KERNELS_H
#define MXN_KERNELS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include "mxn_core.h"

/* ---- int8 helpers ---------------------------------------------------- */

/* ncnn's float2int8: round half away from zero, computed in float32 exactly
 * as ncnn does ((int)truncf(v + copysignf(0.5f, v))), clamped to [-127, 127].
 * NaN maps to -127 like ncnn's x86 path (cvttps gives INT_MIN, then the
 * clamp).  The clamp happens in float so that huge values never overflow the
 * int conversion. */
static inline int8_t mxn_float2int8(float v)
{
    float r = truncf(v + copysignf(0.5f, v));
    if (r >= 127.f) return 127;
    if (!(r > -127.f)) return -127; /* also NaN */
    return (int8_t)(int)r;
}

/* The border value of an int8 blob padded with the float pad value v:
 * ncnn converts it with a C++ cast to signed char (truncation, NOT a
 * quantization with the blob's scale; checked against the wheel), clamped
 * here so that out-of-range values and NaN stay defined. */
static inline int8_t mxn_pad_value_to_int8(float v)
{
    if (!(v == v)) return 0;
    if (v >= 127.f) return 127;
    if (v <= -128.f) return -128;
    return (int8_t)v;
}

/* ---- convolution geometry --------------------------------------------- */

/* One grouped 2-D convolution over an input that is ALREADY padded.
 * Input  (in_c, in_h, in_w)   channel-major contiguous.
 * Output (out_c, out_h, out_w) channel-major contiguous.
 * Weight [group][out_c/group][in_c/group][kernel_h][kernel_w]
 * (for group == 1 this is PyTorch's OIHW). */
typedef struct {
    int in_c, in_h, in_w;
    int out_c, out_h, out_w;
    int kernel_w, kernel_h;
    int dilation_w, dilation_h;
    int stride_w, stride_h;
    int group;
} mxn_conv_shape;

/* float32: out = bias (0 when bias is NULL) + sum(weight * in).  No activation. */
void mxn_conv2d_f32_ref(const mxn_conv_shape *s, const float *in, const float *weight,
                        const float *bias, float *out);

/* int8 x int8 -> int32 accumulators (exact). */
void mxn_conv2d_s8_ref(const mxn_conv_shape *s, const int8_t *in, const int8_t *weight,
                       int32_t *acc);

/* Fully connected: out[p] = bias[p] + sum_i weight[p*num_input + i] * in[i]. */
void mxn_innerproduct_f32_ref(int num_input, int num_output, const float *in,
                              const float *weight, const float *bias, float *out);
void mxn_innerproduct_s8_ref(int num_input, int num_output, const int8_t *in,
                             const int8_t *weight, int32_t *acc);

/* ---- int8 epilogues (these fix the float rounding; keep them exact) ----- */

/* Convolution / ConvolutionDepthWise.  For each of the `channels` planes of
 * `plane` accumulators:  v = fmaf((float)acc, scale_in[p], bias[p])  (one
 * rounding, as ncnn's x86/arm requantize/dequantize kernels fuse it; with
 * fused == 0: (float)acc * scale_in[p] + bias[p], two roundings, see
 * csrc/x86/ncnn_host_compat.c), then the activation, then either out_f32 = v, or
 * (out_i8 != NULL) out_i8 = float2int8(v * top_scale).  bias may be NULL (0). */
void mxn_conv_dequant_ref(const int32_t *acc, int channels, size_t plane,
                          const float *scale_in, const float *bias,
                          const mxn_activation *act, float top_scale, int fused,
                          float *out_f32, int8_t *out_i8);

/* InnerProduct: v = bias[p] + (float)acc * scale_in[p]  (two roundings, as
 * ncnn's innerproduct int8 path), then the activation; float output only. */
void mxn_innerproduct_dequant_ref(const int32_t *acc, int num_output, const float *scale_in,
                                  const float *bias, const mxn_activation *act, float *out);

/* Quantize n floats: q = float2int8(x * scale). */
void mxn_quantize_f32_to_s8(const float *in, size_t n, float scale, int8_t *out);

/* Copy `c` planes of (h, w) into (h + top + bottom, w + left + right) planes,
 * filling the border with `value`.  (A negative pad would crop that side;
 * the layers never pass one.) */
void mxn_pad_planes_f32(const float *in, int c, int h, int w, int top, int bottom, int left,
                        int right, float value, float *out);
void mxn_pad_planes_s8(const int8_t *in, int c, int h, int w, int top, int bottom, int left,
                       int right, int8_t value, int8_t *out);

/* ---- host-dependent ncnn behaviour (csrc/x86/ and csrc/arm/ncnn_host_compat.c) ----------- */

/* 1 when ncnn on this host dequantizes pure depthwise int8 convolutions with
 * channels % 8 == 0 using rcpps and a separate multiply + add (x86). */
int mxn_ncnn_x86_rcp_depthwise(void);
/* the host's rcpps(x) on x86, 1.f / x elsewhere */
float mxn_ncnn_x86_rcp(float x);

#endif
