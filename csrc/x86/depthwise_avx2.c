/* AVX2 + FMA depthwise convolution, one channel plane per call (kernels.h
 * mxn_dw_plane).  float32 with FMA; int8 with exact int32 sums through
 * vpmaddwd on pairs of taps and the reference epilogue in vector form
 * (bit-identical).
 *
 * Stride 1 runs over the plane flattened (kernels.h), 32 (float) or 16 (int8)
 * positions per step.  int8 stride 1 computes even and odd outputs apart:
 * one sign-extended load of 16 pixels at j + 2m serves both, the pair
 * (in[j+2i+2m], in[j+2i+2m+1]) being taps (2m, 2m+1) of output j+2i and taps
 * (2m-1, 2m) of output j+2i+1.  Stride 2 runs row by row: float loads two
 * vectors and splits even and odd columns (shufps; the lane order is fixed
 * once per block), int8 needs no split at all: the pair (in[2x+2m],
 * in[2x+2m+1]) is exactly taps (2m, 2m+1) of output x.  3x3 and 5x5 are
 * compiled with constant sizes, other sizes through the same code. */
#include "avx2_common.h"
#include "depthwise_x86.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))

#define INLINE static inline __attribute__((always_inline)) AVX2
#define PAIRS (MXN_DW_MAX_K / 2 + 1)

/* ---- float32 ---------------------------------------------------------- */

/* the activation (types 0..3 in vector form) and the store of m <= 8
 * outputs at position (y, x) of rows of `pitch` positions */
INLINE void put_f32(const mxn_dw_plane *p, __m256 a, int m, int y, int x, int pitch, int vec)
{
    float buf[16];
    if (vec) {
        a = act_avx2(p->act, a);
        if (m == 8 && x + 8 <= p->out_w) {
            _mm256_storeu_ps(p->out_f32 + (size_t)y * p->out_w + x, a);
            return;
        }
        _mm256_storeu_ps(buf, a);
        mxn_dw_store(p, buf, sizeof(float), m, y, x, pitch);
        return;
    }
    _mm256_storeu_ps(buf, a);
    mxn_dw_finish_f32(p, buf, m, y, x, pitch);
}

INLINE void dw_f32_s1(const mxn_dw_plane *p, const int KW, const int KH)
{
    const float *in = (const float *)p->in, *w = (const float *)p->w;
    const int pitch = p->pitch, vec = p->act->type <= 3;
    const int L = (p->out_h - 1) * pitch + p->out_w;
    const __m256 b = _mm256_set1_ps(p->bias);
    int j, y = 0, x = 0, ky, kx, v;
    for (j = 0; j < L; j += 32) {
        __m256 a[4];
        a[0] = a[1] = a[2] = a[3] = b;
        for (ky = 0; ky < KH; ky++) {
            const float *r = in + (size_t)ky * pitch + j;
            for (kx = 0; kx < KW; kx++) {
                const __m256 wt = _mm256_set1_ps(w[ky * KW + kx]);
                a[0] = _mm256_fmadd_ps(wt, _mm256_loadu_ps(r + kx), a[0]);
                a[1] = _mm256_fmadd_ps(wt, _mm256_loadu_ps(r + kx + 8), a[1]);
                a[2] = _mm256_fmadd_ps(wt, _mm256_loadu_ps(r + kx + 16), a[2]);
                a[3] = _mm256_fmadd_ps(wt, _mm256_loadu_ps(r + kx + 24), a[3]);
            }
        }
        for (v = 0; v < 4 && j + 8 * v < L; v++) {
            const int m = L - j - 8 * v < 8 ? L - j - 8 * v : 8;
            put_f32(p, a[v], m, y, x, pitch, vec);
            mxn_dw_step(&y, &x, 8, pitch);
        }
    }
}

INLINE void dw_f32_s2(const mxn_dw_plane *p, const int KW, const int KH)
{
    const float *in = (const float *)p->in, *w = (const float *)p->w;
    const int pitch = p->pitch, vec = p->act->type <= 3, ow = p->out_w;
    const __m256 b = _mm256_set1_ps(p->bias);
    int y, x0, ky, kx;
    for (y = 0; y < p->out_h; y++) {
        for (x0 = 0; x0 < ow; x0 += 16) {
            /* lanes in the order 0 1 4 5 2 3 6 7 of shufps on two vectors */
            __m256 a0 = b, a1 = b;
            if (ow - x0 > 8) {
                for (ky = 0; ky < KH; ky++) {
                    const float *r = in + (size_t)(2 * y + ky) * pitch + 2 * x0;
                    for (kx = 0; kx < KW; kx += 2) {
                        const __m256 l0 = _mm256_loadu_ps(r + kx), l1 = _mm256_loadu_ps(r + kx + 8);
                        const __m256 l2 = _mm256_loadu_ps(r + kx + 16), l3 = _mm256_loadu_ps(r + kx + 24);
                        const __m256 w0 = _mm256_set1_ps(w[ky * KW + kx]);
                        a0 = _mm256_fmadd_ps(w0, _mm256_shuffle_ps(l0, l1, 0x88), a0);
                        a1 = _mm256_fmadd_ps(w0, _mm256_shuffle_ps(l2, l3, 0x88), a1);
                        if (kx + 1 < KW) {
                            const __m256 w1 = _mm256_set1_ps(w[ky * KW + kx + 1]);
                            a0 = _mm256_fmadd_ps(w1, _mm256_shuffle_ps(l0, l1, 0xDD), a0);
                            a1 = _mm256_fmadd_ps(w1, _mm256_shuffle_ps(l2, l3, 0xDD), a1);
                        }
                    }
                }
            } else { /* the last <= 8 outputs of the row */
                for (ky = 0; ky < KH; ky++) {
                    const float *r = in + (size_t)(2 * y + ky) * pitch + 2 * x0;
                    for (kx = 0; kx < KW; kx += 2) {
                        const __m256 l0 = _mm256_loadu_ps(r + kx), l1 = _mm256_loadu_ps(r + kx + 8);
                        a0 = _mm256_fmadd_ps(_mm256_set1_ps(w[ky * KW + kx]), _mm256_shuffle_ps(l0, l1, 0x88), a0);
                        if (kx + 1 < KW)
                            a0 = _mm256_fmadd_ps(_mm256_set1_ps(w[ky * KW + kx + 1]), _mm256_shuffle_ps(l0, l1, 0xDD),
                                                 a0);
                    }
                }
            }
            a0 = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(a0), 0xD8));
            a1 = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(a1), 0xD8));
            put_f32(p, a0, ow - x0 < 8 ? ow - x0 : 8, y, x0, ow, vec);
            if (x0 + 8 < ow) put_f32(p, a1, ow - x0 - 8 < 8 ? ow - x0 - 8 : 8, y, x0 + 8, ow, vec);
        }
    }
}

AVX2 void mxn_dw_f32_avx2(const mxn_dw_plane *p)
{
    MXN_DW_DISPATCH(p, dw_f32_s1, dw_f32_s2);
}

/* ---- int8 ------------------------------------------------------------- */

/* mxn_dw_finish_s32's epilogue on 8 int32 sums in vector form (the same
 * float operations; activation types 0..3) */
INLINE __m256 dequant8(const mxn_dw_plane *p, __m256i a)
{
    const __m256 f = _mm256_cvtepi32_ps(a), s = _mm256_set1_ps(p->scale_in), b = _mm256_set1_ps(p->bias);
    return act_avx2(p->act, p->fused ? _mm256_fmadd_ps(f, s, b) : _mm256_add_ps(_mm256_mul_ps(f, s), b));
}

/* 16 int32 sums (positions 0-7 in c0, 8-15 in c1): the epilogue and the
 * store of the first m <= 16 at position (y, x) */
INLINE void put_s32x16(const mxn_dw_plane *p, __m256i c0, __m256i c1, int m, int y, int x, int pitch, int vec)
{
    if (!vec) {
        int32_t buf[16];
        _mm256_storeu_si256((__m256i *)buf, c0);
        _mm256_storeu_si256((__m256i *)(buf + 8), c1);
        mxn_dw_finish_s32(p, buf, m, y, x, pitch);
        return;
    }
    if (p->out_i8) {
        const __m256 top = _mm256_set1_ps(p->top_scale);
        const __m256i q0 = float2int8_avx2(_mm256_mul_ps(dequant8(p, c0), top));
        const __m256i q1 = float2int8_avx2(_mm256_mul_ps(dequant8(p, c1), top));
        const __m256i w16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(q0, q1), 0xD8);
        const __m128i q = _mm_packs_epi16(_mm256_castsi256_si128(w16), _mm256_extracti128_si256(w16, 1));
        int8_t buf[48];
        if (m == 16 && x + 16 <= p->out_w) {
            _mm_storeu_si128((__m128i *)(p->out_i8 + (size_t)y * p->out_w + x), q);
            return;
        }
        _mm_storeu_si128((__m128i *)buf, q);
        mxn_dw_store(p, buf, 1, m, y, x, pitch);
    } else {
        float buf[24];
        _mm256_storeu_ps(buf, dequant8(p, c0));
        _mm256_storeu_ps(buf + 8, dequant8(p, c1));
        mxn_dw_store(p, buf, sizeof(float), m < 8 ? m : 8, y, x, pitch);
        if (m > 8) {
            mxn_dw_step(&y, &x, 8, pitch);
            mxn_dw_store(p, buf + 8, sizeof(float), m - 8, y, x, pitch);
        }
    }
}

INLINE __m256i load16(const int8_t *s)
{
    return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)s));
}

#define ACC_MADD(a, l, w) _mm256_add_epi32(a, _mm256_madd_epi16(l, w))

/* Stride 1 over the flattened plane, 16 positions a step: even and odd
 * outputs apart (see the top), then back in order. */
#define DW_S8_S1_BODY(ACC)                                                                       \
    const int8_t *in = (const int8_t *)p->in, *w = (const int8_t *)p->w;                         \
    const int pitch = p->pitch, vec = p->act->type <= 3, M = KW / 2 + 1;                          \
    const int L = (p->out_h - 1) * pitch + p->out_w;                                             \
    int32_t pe[MXN_DW_MAX_K][PAIRS], po[MXN_DW_MAX_K][PAIRS];                                    \
    int j, y = 0, x = 0, ky, m;                                                                  \
    for (ky = 0; ky < KH; ky++)                                                                  \
        for (m = 0; m < M; m++) {                                                                \
            pe[ky][m] = dw_tap_pair(w + ky * KW, KW, 2 * m, 2 * m + 1);                          \
            po[ky][m] = dw_tap_pair(w + ky * KW, KW, 2 * m - 1, 2 * m);                          \
        }                                                                                        \
    for (j = 0; j < L; j += 16) {                                                                \
        __m256i e = _mm256_setzero_si256(), o = _mm256_setzero_si256(), lo, hi;                  \
        for (ky = 0; ky < KH; ky++) {                                                            \
            const int8_t *r = in + (size_t)ky * pitch + j;                                       \
            for (m = 0; m < M; m++) {                                                            \
                const __m256i l = load16(r + 2 * m);                                             \
                e = ACC(e, l, _mm256_set1_epi32(pe[ky][m]));                                     \
                o = ACC(o, l, _mm256_set1_epi32(po[ky][m]));                                     \
            }                                                                                    \
        }                                                                                        \
        /* lo = positions 0-3 | 8-11, hi = 4-7 | 12-15 */                                        \
        lo = _mm256_unpacklo_epi32(e, o);                                                        \
        hi = _mm256_unpackhi_epi32(e, o);                                                        \
        put_s32x16(p, _mm256_permute2x128_si256(lo, hi, 0x20), _mm256_permute2x128_si256(lo, hi, 0x31), \
                   L - j < 16 ? L - j : 16, y, x, pitch, vec);                                   \
        mxn_dw_step(&y, &x, 16, pitch);                                                              \
    }

/* Stride 2 row by row, 16 outputs a step: the pair (in[2x+2m], in[2x+2m+1])
 * is taps (2m, 2m+1) of output x. */
#define DW_S8_S2_BODY(ACC)                                                                       \
    const int8_t *in = (const int8_t *)p->in, *w = (const int8_t *)p->w;                         \
    const int pitch = p->pitch, vec = p->act->type <= 3, M = (KW + 1) / 2, ow = p->out_w;        \
    int32_t pw[MXN_DW_MAX_K][PAIRS];                                                             \
    int y, x0, ky, m;                                                                            \
    for (ky = 0; ky < KH; ky++)                                                                  \
        for (m = 0; m < M; m++) pw[ky][m] = dw_tap_pair(w + ky * KW, KW, 2 * m, 2 * m + 1);      \
    for (y = 0; y < p->out_h; y++) {                                                             \
        for (x0 = 0; x0 < ow; x0 += 16) {                                                        \
            __m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();                    \
            if (ow - x0 > 8) {                                                                   \
                for (ky = 0; ky < KH; ky++) {                                                    \
                    const int8_t *r = in + (size_t)(2 * y + ky) * pitch + 2 * x0;                \
                    for (m = 0; m < M; m++) {                                                    \
                        const __m256i wp = _mm256_set1_epi32(pw[ky][m]);                         \
                        a0 = ACC(a0, load16(r + 2 * m), wp);                                     \
                        a1 = ACC(a1, load16(r + 2 * m + 16), wp);                                \
                    }                                                                            \
                }                                                                                \
            } else { /* the last <= 8 outputs of the row (all of a 7-wide one) */                \
                for (ky = 0; ky < KH; ky++) {                                                    \
                    const int8_t *r = in + (size_t)(2 * y + ky) * pitch + 2 * x0;                \
                    for (m = 0; m < M; m++) a0 = ACC(a0, load16(r + 2 * m), _mm256_set1_epi32(pw[ky][m])); \
                }                                                                                \
            }                                                                                    \
            put_s32x16(p, a0, a1, ow - x0 < 16 ? ow - x0 : 16, y, x0, ow, vec);                  \
        }                                                                                        \
    }

INLINE void dw_s8_s1(const mxn_dw_plane *p, const int KW, const int KH)
{
    DW_S8_S1_BODY(ACC_MADD)
}

INLINE void dw_s8_s2(const mxn_dw_plane *p, const int KW, const int KH)
{
    DW_S8_S2_BODY(ACC_MADD)
}

AVX2 void mxn_dw_s8_avx2(const mxn_dw_plane *p)
{
    MXN_DW_DISPATCH(p, dw_s8_s1, dw_s8_s2);
}

/* AVX-512 VNNI (with VL, on 256-bit registers): vpdpwssd is vpmaddwd and the
 * add in one instruction - the same exact int32 sums. */
#define VNNI __attribute__((target("avx2,fma,avx512f,avx512vl,avx512vnni")))
#define VNNI_INLINE static inline __attribute__((always_inline)) VNNI

VNNI_INLINE void dw_s8_s1_vnni(const mxn_dw_plane *p, const int KW, const int KH)
{
    DW_S8_S1_BODY(_mm256_dpwssd_epi32)
}

VNNI_INLINE void dw_s8_s2_vnni(const mxn_dw_plane *p, const int KW, const int KH)
{
    DW_S8_S2_BODY(_mm256_dpwssd_epi32)
}

VNNI void mxn_dw_s8_avx512vnni(const mxn_dw_plane *p)
{
    MXN_DW_DISPATCH(p, dw_s8_s1_vnni, dw_s8_s2_vnni);
}
#endif
