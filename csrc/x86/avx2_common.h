/* Helpers shared by the AVX2 kernels of csrc/x86/ (static inline, each with
 * the AVX2 target attribute so that a baseline x86-64 build compiles them;
 * they only run where cpuid reported AVX2 + FMA, see kernel_select.c). */
#ifndef MXN_X86_AVX2_COMMON_H
#define MXN_X86_AVX2_COMMON_H

#include "../kernels.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#include <string.h>

#define AVX2 __attribute__((target("avx2,fma")))

/* the activation for types 0..3 (operand order as mxn_activation_apply's
 * comparisons: NaN and -0 come out the same) */
static inline AVX2 __m256 act_avx2(const mxn_activation *a, __m256 v)
{
    switch (a->type) {
    case 1: return _mm256_max_ps(v, _mm256_setzero_ps());
    case 2: {
        __m256 pos = _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GT_OQ);
        return _mm256_blendv_ps(_mm256_mul_ps(v, _mm256_set1_ps(a->p0)), v, pos);
    }
    case 3: return _mm256_min_ps(_mm256_set1_ps(a->p1), _mm256_max_ps(_mm256_set1_ps(a->p0), v));
    default: return v;
    }
}

static inline AVX2 __m256i bcast_pair(const int16_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof(v));
    return _mm256_set1_epi32(v);
}

/* 8x8 transpose of 32-bit lanes: in[j] holds column j's 8 channels; out[r]
 * gets channel r's 8 columns */
static inline AVX2 void transpose8(__m256 *m)
{
    __m256 t0 = _mm256_unpacklo_ps(m[0], m[1]), t1 = _mm256_unpackhi_ps(m[0], m[1]);
    __m256 t2 = _mm256_unpacklo_ps(m[2], m[3]), t3 = _mm256_unpackhi_ps(m[2], m[3]);
    __m256 t4 = _mm256_unpacklo_ps(m[4], m[5]), t5 = _mm256_unpackhi_ps(m[4], m[5]);
    __m256 t6 = _mm256_unpacklo_ps(m[6], m[7]), t7 = _mm256_unpackhi_ps(m[6], m[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    m[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    m[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    m[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    m[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    m[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    m[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    m[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    m[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* mxn_float2int8 on 8 lanes (as int32): truncf(x + copysignf(0.5f, x)),
 * clamped to [-127, 127] in float before the conversion (the clamp commutes
 * with the truncation: the bounds are integers); maxps returns its second
 * operand for NaN, so NaN gives -127 like !(r > -127.f) */
static inline AVX2 __m256i float2int8_avx2(__m256 x)
{
    x = _mm256_add_ps(x, _mm256_or_ps(_mm256_and_ps(x, _mm256_set1_ps(-0.f)), _mm256_set1_ps(0.5f)));
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-127.f)), _mm256_set1_ps(127.f));
    return _mm256_cvttps_epi32(x);
}

/* the float32 partial-tile kernels (sgemm_tail): the second A panel (or the
 * first again when t->mr <= MR) and the 16 channels' biases, zero past mr */
static inline const float *tail_panels_f32(int K, const float *a, const mxn_gemm_tile *t, float *bias16)
{
    memset(bias16, 0, 16 * sizeof(float));
    memcpy(bias16, t->bias, sizeof(float) * (t->mr > MXN_GEMM_MR ? 16 : MXN_GEMM_MR));
    return t->mr > MXN_GEMM_MR ? a + (size_t)K * MXN_GEMM_MR : a;
}

/* horizontal sums of 8 lanes */
static inline AVX2 float hsum8(__m256 v)
{
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 1));
    return _mm_cvtss_f32(x);
}

static inline AVX2 int32_t hsum8i(__m256i v)
{
    __m128i x = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0x4E));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0xB1));
    return _mm_cvtsi128_si32(x);
}

#endif
#endif
