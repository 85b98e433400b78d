/* Helpers shared by the NEON kernels of csrc/arm/: the int8 requantize
 * epilogue in vector form, bit-identical to the reference where it is used.
 *
 * ARMv7 NEON float arithmetic always flushes denormal inputs and results to
 * zero (and returns the default NaN), so it is not IEEE.  For an int8 OUTPUT
 * that does not matter when the layer's constants are not denormal and the
 * top scale is at most 2^100: then every value NEON flushes (|v| < 2^-126,
 * also v * top_scale) is one the reference turns into the code 0 as well
 * (|v * top_scale| < 2^-26 < 0.5), the product (float)acc * scale_in of a
 * nonzero acc is never denormal (|acc| >= 1, scale_in normal), and the other
 * operations (int -> float conversion round-to-nearest, compares and selects
 * written as the reference's branches, truncation) are exact.  fmaf's single
 * rounding needs vfma (VFPv4, __ARM_FEATURE_FMA; the Cortex-A7 has it).  A
 * float output keeps the scalar reference: a denormal result must stay one. */
#ifndef MXN_ARM_NEON_COMMON_H
#define MXN_ARM_NEON_COMMON_H

#include "../kernels.h"

#if defined(__ARM_NEON) || defined(__ARM_NEON__)
#include <arm_neon.h>
#include <float.h>
#include <math.h>

static inline int mxn_neon_not_denormal(float v)
{
    return v == 0.f || !(fabsf(v) < FLT_MIN);
}

/* 1 when mxn_neon_requant gives the reference's int8 codes for these
 * constants (int8 output, activation type 0..3) */
static inline int mxn_neon_requant_exact(float scale_in, float bias, float top_scale, int fused,
                                         const mxn_activation *act)
{
#if !defined(__ARM_FEATURE_FMA)
    if (fused) return 0;
#else
    (void)fused;
#endif
    return act->type <= 3 && mxn_neon_not_denormal(scale_in) && mxn_neon_not_denormal(bias) &&
           mxn_neon_not_denormal(act->p0) && mxn_neon_not_denormal(act->p1) && top_scale >= FLT_MIN &&
           top_scale <= 0x1p100f;
}

/* the activation of types 0..3 with the reference's comparisons (NaN and -0
 * take the same branches) */
static inline float32x4_t mxn_neon_act(const mxn_activation *a, float32x4_t v)
{
    switch (a->type) {
    case 1: return vbslq_f32(vcgtq_f32(v, vdupq_n_f32(0.f)), v, vdupq_n_f32(0.f));
    case 2: return vbslq_f32(vcgtq_f32(v, vdupq_n_f32(0.f)), v, vmulq_n_f32(v, a->p0));
    case 3: {
        const float32x4_t lo = vdupq_n_f32(a->p0), hi = vdupq_n_f32(a->p1);
        v = vbslq_f32(vcltq_f32(v, lo), lo, v);
        return vbslq_f32(vcgtq_f32(v, hi), hi, v);
    }
    default: return v;
    }
}

/* mxn_float2int8 on 4 lanes: truncf(x + copysignf(0.5f, x)), NaN -> -127 */
static inline int32x4_t mxn_neon_float2int8(float32x4_t x)
{
    const uint32x4_t sign = vandq_u32(vreinterpretq_u32_f32(x), vdupq_n_u32(0x80000000u));
    const float32x4_t half = vreinterpretq_f32_u32(vorrq_u32(sign, vreinterpretq_u32_f32(vdupq_n_f32(0.5f))));
    const float32x4_t lo = vdupq_n_f32(-127.f);
    float32x4_t r = vaddq_f32(x, half);
    r = vbslq_f32(vcgtq_f32(r, lo), r, lo); /* !(r > -127) -> -127, NaN too */
    r = vminq_f32(r, vdupq_n_f32(127.f));
    return vcvtq_s32_f32(r);                /* truncation */
}

/* requantize 4 int32 sums with per-lane scale_in / bias: the int8 codes
 * float2int8(act(acc * scale_in + bias) * top_scale) as int32 lanes, fmaf
 * when fused (use only where mxn_neon_requant_exact holds for every lane) */
static inline int32x4_t mxn_neon_requant4(int32x4_t a, float32x4_t s, float32x4_t b, float32x4_t top, int fused,
                                          const mxn_activation *act)
{
    float32x4_t v = vcvtq_f32_s32(a);
#if defined(__ARM_FEATURE_FMA)
    if (fused) v = vfmaq_f32(b, v, s);
    else
#endif
        v = vaddq_f32(vmulq_f32(v, s), b);
    (void)fused;
    return mxn_neon_float2int8(vmulq_f32(mxn_neon_act(act, v), top));
}

/* 8 sums (a0: 0-3, a1: 4-7) of one channel to 8 int8 codes */
static inline int8x8_t mxn_neon_requant8(int32x4_t a0, int32x4_t a1, float scale_in, float bias, float top_scale,
                                         int fused, const mxn_activation *act)
{
    const float32x4_t s = vdupq_n_f32(scale_in), b = vdupq_n_f32(bias), t = vdupq_n_f32(top_scale);
    return vqmovn_s16(vcombine_s16(vqmovn_s32(mxn_neon_requant4(a0, s, b, t, fused, act)),
                                   vqmovn_s32(mxn_neon_requant4(a1, s, b, t, fused, act))));
}

#endif
#endif
