/* SSE2 micro-kernels of the packed GEMM convolution (kernels.h), the x86
 * baseline every x86-64 CPU runs.
 *
 * float32: 8 output channels x 4 columns, one register per channel row,
 * mul + add (SSE2 has no FMA).
 * int8: pmaddwd on sign-extended int16: the 8 channels of a tap pair in two
 * registers, each column's tap pair broadcast; 8 x 4 int32 accumulators.
 * The int8 epilogue needs fmaf's single rounding, which SSE2 lacks, so it
 * runs the portable reference epilogue (exact by construction). */
#include "../kernels.h"

#if defined(__SSE2__) || defined(__x86_64__) || defined(_M_X64)
#include <emmintrin.h>
#include <string.h>

#define MR MXN_GEMM_MR
#define NR 4

/* the activation on 4 lanes for types 0..3 (same comparisons and operand
 * order as mxn_activation_apply, so NaN and -0 come out the same) */
static __m128 act_sse2(const mxn_activation *a, __m128 v)
{
    switch (a->type) {
    case 1: return _mm_max_ps(v, _mm_setzero_ps());
    case 2: {
        __m128 pos = _mm_cmpgt_ps(v, _mm_setzero_ps());
        __m128 neg = _mm_mul_ps(v, _mm_set1_ps(a->p0));
        return _mm_or_ps(_mm_and_ps(pos, v), _mm_andnot_ps(pos, neg));
    }
    case 3: return _mm_min_ps(_mm_set1_ps(a->p1), _mm_max_ps(_mm_set1_ps(a->p0), v));
    default: return v;
    }
}

void mxn_sgemm_sse2(int K, const float *a, const float *b, const mxn_gemm_tile *t)
{
    __m128 c0 = _mm_set1_ps(t->bias[0]), c1 = _mm_set1_ps(t->bias[1]);
    __m128 c2 = _mm_set1_ps(t->bias[2]), c3 = _mm_set1_ps(t->bias[3]);
    __m128 c4 = _mm_set1_ps(t->bias[4]), c5 = _mm_set1_ps(t->bias[5]);
    __m128 c6 = _mm_set1_ps(t->bias[6]), c7 = _mm_set1_ps(t->bias[7]);
    int k;
    for (k = 0; k < K; k++) {
        const __m128 bv = _mm_loadu_ps(b + (size_t)k * NR);
        const float *ak = a + (size_t)k * MR;
        c0 = _mm_add_ps(c0, _mm_mul_ps(_mm_set1_ps(ak[0]), bv));
        c1 = _mm_add_ps(c1, _mm_mul_ps(_mm_set1_ps(ak[1]), bv));
        c2 = _mm_add_ps(c2, _mm_mul_ps(_mm_set1_ps(ak[2]), bv));
        c3 = _mm_add_ps(c3, _mm_mul_ps(_mm_set1_ps(ak[3]), bv));
        c4 = _mm_add_ps(c4, _mm_mul_ps(_mm_set1_ps(ak[4]), bv));
        c5 = _mm_add_ps(c5, _mm_mul_ps(_mm_set1_ps(ak[5]), bv));
        c6 = _mm_add_ps(c6, _mm_mul_ps(_mm_set1_ps(ak[6]), bv));
        c7 = _mm_add_ps(c7, _mm_mul_ps(_mm_set1_ps(ak[7]), bv));
    }
    if (t->mr == MR && t->nr == NR && t->act->type <= 3) {
        float *o = t->out_f32;
        const size_t ld = t->ldc;
        _mm_storeu_ps(o, act_sse2(t->act, c0));
        _mm_storeu_ps(o + ld, act_sse2(t->act, c1));
        _mm_storeu_ps(o + 2 * ld, act_sse2(t->act, c2));
        _mm_storeu_ps(o + 3 * ld, act_sse2(t->act, c3));
        _mm_storeu_ps(o + 4 * ld, act_sse2(t->act, c4));
        _mm_storeu_ps(o + 5 * ld, act_sse2(t->act, c5));
        _mm_storeu_ps(o + 6 * ld, act_sse2(t->act, c6));
        _mm_storeu_ps(o + 7 * ld, act_sse2(t->act, c7));
    } else {
        float buf[MR * NR];
        _mm_storeu_ps(buf + 0 * NR, c0);
        _mm_storeu_ps(buf + 1 * NR, c1);
        _mm_storeu_ps(buf + 2 * NR, c2);
        _mm_storeu_ps(buf + 3 * NR, c3);
        _mm_storeu_ps(buf + 4 * NR, c4);
        _mm_storeu_ps(buf + 5 * NR, c5);
        _mm_storeu_ps(buf + 6 * NR, c6);
        _mm_storeu_ps(buf + 7 * NR, c7);
        mxn_gemm_tile_store_f32(t, buf, NR, 1);
    }
}

/* 8 int8 -> 8 int16, sign-extended (SSE2 has no pmovsxbw) */
static __m128i widen_lo(__m128i x) { return _mm_srai_epi16(_mm_unpacklo_epi8(x, x), 8); }
static __m128i widen_hi(__m128i x) { return _mm_srai_epi16(_mm_unpackhi_epi8(x, x), 8); }

static __m128i bcast_pair(const int16_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof(v));
    return _mm_set1_epi32(v);
}

void mxn_s8gemm_sse2(int K2, const int8_t *a, const int16_t *b, const mxn_gemm_tile *t)
{
    /* cJL: column J, channels 0-3 (L=0) / 4-7 (L=1) */
    __m128i c00 = _mm_setzero_si128(), c01 = _mm_setzero_si128(), c10 = _mm_setzero_si128(),
            c11 = _mm_setzero_si128(), c20 = _mm_setzero_si128(), c21 = _mm_setzero_si128(),
            c30 = _mm_setzero_si128(), c31 = _mm_setzero_si128();
    int32_t buf[NR * MR];
    int kp;
    for (kp = 0; kp < K2; kp++) {
        const __m128i av = _mm_loadu_si128((const __m128i *)(a + (size_t)kp * MR * 2));
        const __m128i alo = widen_lo(av), ahi = widen_hi(av);
        const int16_t *bk = b + (size_t)kp * NR * 2;
        __m128i bv = bcast_pair(bk);
        c00 = _mm_add_epi32(c00, _mm_madd_epi16(alo, bv));
        c01 = _mm_add_epi32(c01, _mm_madd_epi16(ahi, bv));
        bv = bcast_pair(bk + 2);
        c10 = _mm_add_epi32(c10, _mm_madd_epi16(alo, bv));
        c11 = _mm_add_epi32(c11, _mm_madd_epi16(ahi, bv));
        bv = bcast_pair(bk + 4);
        c20 = _mm_add_epi32(c20, _mm_madd_epi16(alo, bv));
        c21 = _mm_add_epi32(c21, _mm_madd_epi16(ahi, bv));
        bv = bcast_pair(bk + 6);
        c30 = _mm_add_epi32(c30, _mm_madd_epi16(alo, bv));
        c31 = _mm_add_epi32(c31, _mm_madd_epi16(ahi, bv));
    }
    _mm_storeu_si128((__m128i *)(buf + 0), c00);
    _mm_storeu_si128((__m128i *)(buf + 4), c01);
    _mm_storeu_si128((__m128i *)(buf + 8), c10);
    _mm_storeu_si128((__m128i *)(buf + 12), c11);
    _mm_storeu_si128((__m128i *)(buf + 16), c20);
    _mm_storeu_si128((__m128i *)(buf + 20), c21);
    _mm_storeu_si128((__m128i *)(buf + 24), c30);
    _mm_storeu_si128((__m128i *)(buf + 28), c31);
    mxn_gemm_tile_store_s32(t, buf, 1, MR);
}

void mxn_pack_pairs_sse2(const int8_t *s0, const int8_t *s1, int16_t *d)
{
    int32_t v0, v1;
    __m128i x;
    memcpy(&v0, s0, 4);
    memcpy(&v1, s1, 4);
    x = _mm_unpacklo_epi8(_mm_cvtsi32_si128(v0), _mm_cvtsi32_si128(v1));
    _mm_storeu_si128((__m128i *)d, widen_lo(x));
}

#endif
