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

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))

#define INLINE static inline __attribute__((always_inline)) AVX2
#define PAIRS (MXN_DW_MAX_K / 2 + 1)

/* ---- float32 ---------------------------------------------------------- */

/* the activation (types 0..3 in vector form) and the store of m <= 8
 * outputs at position (y, x) of rows of `pitch` positions */
INLINE void put_f32(const mxn_dw_plane *p, __m256 a, int m, int y, int x, int pitch, int vec)
{
    float buf[8];
    if (vec) {
        a = act_avx2(p->act, a);
        if (m == 8 && x + 8 <= p->out_w) {
            _mm256_storeu_ps(p->out_f32 + (size_t)y * p->out_w + x, a);
            return;
        }
        _mm256_storeu_ps(buf, a);
        mxn_dw_put(buf, sizeof(float), m, y, x, pitch, p->out_w, p->out_f32);
        return;
    }
    _mm256_storeu_ps(buf, a);
    mxn_dw_finish_f32(p, buf, m, y, x, pitch);
}

/* advance a flattened position by n */
INLINE void step(int *y, int *x, int n, int pitch)
{
    *x += n;
    while (*x >= pitch) {
        *x -= pitch;
        (*y)++;
    }
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
            step(&y, &x, 8, pitch);
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
            a0 = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(a0), 0xD8));
            a1 = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(a1), 0xD8));
            put_f32(p, a0, ow - x0 < 8 ? ow - x0 : 8, y, x0, ow, vec);
            if (x0 + 8 < ow) put_f32(p, a1, ow - x0 - 8 < 8 ? ow - x0 - 8 : 8, y, x0 + 8, ow, vec);
        }
    }
}

AVX2 void mxn_dw_f32_avx2(const mxn_dw_plane *p)
{
    if (p->stride == 1) {
        if (p->kw == 3 && p->kh == 3) dw_f32_s1(p, 3, 3);
        else if (p->kw == 5 && p->kh == 5) dw_f32_s1(p, 5, 5);
        else dw_f32_s1(p, p->kw, p->kh);
    } else {
        if (p->kw == 3 && p->kh == 3) dw_f32_s2(p, 3, 3);
        else if (p->kw == 5 && p->kh == 5) dw_f32_s2(p, 5, 5);
        else dw_f32_s2(p, p->kw, p->kh);
    }
}

/* ---- int8 ------------------------------------------------------------- */

/* mxn_dw_finish_s32's epilogue on 8 int32 sums (types 0..3 in vector form,
 * the same float operations) and the store of m <= 8 outputs */
INLINE void put_s32(const mxn_dw_plane *p, __m256i a, int m, int y, int x, int pitch, int vec)
{
    if (vec) {
        const __m256 f = _mm256_cvtepi32_ps(a), s = _mm256_set1_ps(p->scale_in), b = _mm256_set1_ps(p->bias);
        __m256 v = p->fused ? _mm256_fmadd_ps(f, s, b) : _mm256_add_ps(_mm256_mul_ps(f, s), b);
        v = act_avx2(p->act, v);
        if (p->out_i8) {
            const __m256i q = float2int8_avx2(_mm256_mul_ps(v, _mm256_set1_ps(p->top_scale)));
            const __m128i q16 = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
            const __m128i q8 = _mm_packs_epi16(q16, q16);
            int8_t buf[16];
            if (m == 8 && x + 8 <= p->out_w) {
                _mm_storel_epi64((__m128i *)(p->out_i8 + (size_t)y * p->out_w + x), q8);
                return;
            }
            _mm_storeu_si128((__m128i *)buf, q8);
            mxn_dw_put(buf, 1, m, y, x, pitch, p->out_w, p->out_i8);
        } else {
            float buf[8];
            if (m == 8 && x + 8 <= p->out_w) {
                _mm256_storeu_ps(p->out_f32 + (size_t)y * p->out_w + x, v);
                return;
            }
            _mm256_storeu_ps(buf, v);
            mxn_dw_put(buf, sizeof(float), m, y, x, pitch, p->out_w, p->out_f32);
        }
        return;
    }
    {
        int32_t buf[8];
        _mm256_storeu_si256((__m256i *)buf, a);
        mxn_dw_finish_s32(p, buf, m, y, x, pitch);
    }
}

/* two int8 taps as one pmaddwd operand (0 outside the kernel row) */
static int32_t tap_pair(const int8_t *row, int kw, int a, int b)
{
    const int16_t wa = (int16_t)(a >= 0 && a < kw ? row[a] : 0), wb = (int16_t)(b >= 0 && b < kw ? row[b] : 0);
    return (int32_t)((uint32_t)(uint16_t)wa | ((uint32_t)(uint16_t)wb << 16));
}

INLINE __m256i load16(const int8_t *s)
{
    return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)s));
}

INLINE void dw_s8_s1(const mxn_dw_plane *p, const int KW, const int KH)
{
    const int8_t *in = (const int8_t *)p->in, *w = (const int8_t *)p->w;
    const int pitch = p->pitch, vec = p->act->type <= 3, M = KW / 2 + 1;
    const int L = (p->out_h - 1) * pitch + p->out_w;
    int32_t pe[MXN_DW_MAX_K][PAIRS], po[MXN_DW_MAX_K][PAIRS];
    int j, y = 0, x = 0, ky, m;
    for (ky = 0; ky < KH; ky++)
        for (m = 0; m < M; m++) {
            pe[ky][m] = tap_pair(w + ky * KW, KW, 2 * m, 2 * m + 1);
            po[ky][m] = tap_pair(w + ky * KW, KW, 2 * m - 1, 2 * m);
        }
    for (j = 0; j < L; j += 16) {
        __m256i e = _mm256_setzero_si256(), o = _mm256_setzero_si256(), lo, hi;
        for (ky = 0; ky < KH; ky++) {
            const int8_t *r = in + (size_t)ky * pitch + j;
            for (m = 0; m < M; m++) {
                const __m256i l = load16(r + 2 * m);
                e = _mm256_add_epi32(e, _mm256_madd_epi16(l, _mm256_set1_epi32(pe[ky][m])));
                o = _mm256_add_epi32(o, _mm256_madd_epi16(l, _mm256_set1_epi32(po[ky][m])));
            }
        }
        /* even/odd back to positions: lo = 0-3 | 8-11, hi = 4-7 | 12-15 */
        lo = _mm256_unpacklo_epi32(e, o);
        hi = _mm256_unpackhi_epi32(e, o);
        put_s32(p, _mm256_permute2x128_si256(lo, hi, 0x20), L - j < 8 ? L - j : 8, y, x, pitch, vec);
        step(&y, &x, 8, pitch);
        if (j + 8 < L) {
            put_s32(p, _mm256_permute2x128_si256(lo, hi, 0x31), L - j - 8 < 8 ? L - j - 8 : 8, y, x, pitch, vec);
            step(&y, &x, 8, pitch);
        }
    }
}

INLINE void dw_s8_s2(const mxn_dw_plane *p, const int KW, const int KH)
{
    const int8_t *in = (const int8_t *)p->in, *w = (const int8_t *)p->w;
    const int pitch = p->pitch, vec = p->act->type <= 3, M = (KW + 1) / 2, ow = p->out_w;
    int32_t pw[MXN_DW_MAX_K][PAIRS];
    int y, x0, ky, m;
    for (ky = 0; ky < KH; ky++)
        for (m = 0; m < M; m++) pw[ky][m] = tap_pair(w + ky * KW, KW, 2 * m, 2 * m + 1);
    for (y = 0; y < p->out_h; y++) {
        for (x0 = 0; x0 < ow; x0 += 16) {
            __m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
            for (ky = 0; ky < KH; ky++) {
                const int8_t *r = in + (size_t)(2 * y + ky) * pitch + 2 * x0;
                for (m = 0; m < M; m++) {
                    const __m256i wp = _mm256_set1_epi32(pw[ky][m]);
                    a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(load16(r + 2 * m), wp));
                    a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(load16(r + 2 * m + 16), wp));
                }
            }
            put_s32(p, a0, ow - x0 < 8 ? ow - x0 : 8, y, x0, ow, vec);
            if (x0 + 8 < ow) put_s32(p, a1, ow - x0 - 8 < 8 ? ow - x0 - 8 : 8, y, x0 + 8, ow, vec);
        }
    }
}

AVX2 void mxn_dw_s8_avx2(const mxn_dw_plane *p)
{
    if (p->stride == 1) {
        if (p->kw == 3 && p->kh == 3) dw_s8_s1(p, 3, 3);
        else if (p->kw == 5 && p->kh == 5) dw_s8_s1(p, 5, 5);
        else dw_s8_s1(p, p->kw, p->kh);
    } else {
        if (p->kw == 3 && p->kh == 3) dw_s8_s2(p, 3, 3);
        else if (p->kw == 5 && p->kh == 5) dw_s8_s2(p, 5, 5);
        else dw_s8_s2(p, p->kw, p->kh);
    }
}
#endif
