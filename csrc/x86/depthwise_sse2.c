/* SSE2 depthwise convolution (every x86-64), one channel plane per call
 * (kernels.h mxn_dw_plane); the same scheme as depthwise_avx2.c on 128-bit
 * vectors: stride 1 over the flattened plane, stride 2 row by row (float:
 * shufps splits even and odd columns; int8: pmaddwd pairs are already taps
 * (2m, 2m+1)).  int8 sums are exact; SSE2 has no FMA, so the fused int8
 * epilogue (fmaf, one rounding) stays the scalar reference, the mul + add one
 * (ncnn's x86 depthwise rule) is vectorised with the same float operations. */
#include "depthwise_x86.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <emmintrin.h>

#define INLINE static inline __attribute__((always_inline))
#define PAIRS (MXN_DW_MAX_K / 2 + 1)

/* the activation for types 0..3, the operand order of act_avx2 (NaN and -0
 * come out as mxn_activation_apply's) */
INLINE __m128 act_sse2(const mxn_activation *a, __m128 v)
{
    switch (a->type) {
    case 1: return _mm_max_ps(v, _mm_setzero_ps());
    case 2: {
        const __m128 pos = _mm_cmpgt_ps(v, _mm_setzero_ps());
        return _mm_or_ps(_mm_and_ps(pos, v), _mm_andnot_ps(pos, _mm_mul_ps(v, _mm_set1_ps(a->p0))));
    }
    case 3: return _mm_min_ps(_mm_set1_ps(a->p1), _mm_max_ps(_mm_set1_ps(a->p0), v));
    default: return v;
    }
}

/* mxn_float2int8 on 4 lanes (see float2int8_avx2) */
INLINE __m128i float2int8_sse2(__m128 x)
{
    x = _mm_add_ps(x, _mm_or_ps(_mm_and_ps(x, _mm_set1_ps(-0.f)), _mm_set1_ps(0.5f)));
    x = _mm_min_ps(_mm_max_ps(x, _mm_set1_ps(-127.f)), _mm_set1_ps(127.f));
    return _mm_cvttps_epi32(x);
}

/* ---- float32 ---------------------------------------------------------- */

INLINE void put_f32(const mxn_dw_plane *p, __m128 a, int m, int y, int x, int pitch, int vec)
{
    float buf[16];
    if (vec) {
        a = act_sse2(p->act, a);
        if (m == 4 && x + 4 <= p->out_w) {
            _mm_storeu_ps(p->out_f32 + (size_t)y * p->out_w + x, a);
            return;
        }
        _mm_storeu_ps(buf, a);
        mxn_dw_store(p, buf, sizeof(float), m, y, x, pitch);
        return;
    }
    _mm_storeu_ps(buf, a);
    mxn_dw_finish_f32(p, buf, m, y, x, pitch);
}

INLINE void dw_f32_s1(const mxn_dw_plane *p, const int KW, const int KH)
{
    const float *in = (const float *)p->in, *w = (const float *)p->w;
    const int pitch = p->pitch, vec = p->act->type <= 3;
    const int L = (p->out_h - 1) * pitch + p->out_w;
    const __m128 b = _mm_set1_ps(p->bias);
    int j, y = 0, x = 0, ky, kx, v;
    for (j = 0; j < L; j += 16) {
        __m128 a[4];
        a[0] = a[1] = a[2] = a[3] = b;
        for (ky = 0; ky < KH; ky++) {
            const float *r = in + (size_t)ky * pitch + j;
            for (kx = 0; kx < KW; kx++) {
                const __m128 wt = _mm_set1_ps(w[ky * KW + kx]);
                a[0] = _mm_add_ps(a[0], _mm_mul_ps(wt, _mm_loadu_ps(r + kx)));
                a[1] = _mm_add_ps(a[1], _mm_mul_ps(wt, _mm_loadu_ps(r + kx + 4)));
                a[2] = _mm_add_ps(a[2], _mm_mul_ps(wt, _mm_loadu_ps(r + kx + 8)));
                a[3] = _mm_add_ps(a[3], _mm_mul_ps(wt, _mm_loadu_ps(r + kx + 12)));
            }
        }
        for (v = 0; v < 4 && j + 4 * v < L; v++) {
            const int m = L - j - 4 * v < 4 ? L - j - 4 * v : 4;
            put_f32(p, a[v], m, y, x, pitch, vec);
            mxn_dw_step(&y, &x, 4, pitch);
        }
    }
}

INLINE void dw_f32_s2(const mxn_dw_plane *p, const int KW, const int KH)
{
    const float *in = (const float *)p->in, *w = (const float *)p->w;
    const int pitch = p->pitch, vec = p->act->type <= 3, ow = p->out_w;
    const __m128 b = _mm_set1_ps(p->bias);
    int y, x0, ky, kx;
    for (y = 0; y < p->out_h; y++) {
        for (x0 = 0; x0 < ow; x0 += 8) {
            __m128 a0 = b, a1 = b;
            for (ky = 0; ky < KH; ky++) {
                const float *r = in + (size_t)(2 * y + ky) * pitch + 2 * x0;
                for (kx = 0; kx < KW; kx += 2) {
                    const __m128 l0 = _mm_loadu_ps(r + kx), l1 = _mm_loadu_ps(r + kx + 4);
                    const __m128 l2 = _mm_loadu_ps(r + kx + 8), l3 = _mm_loadu_ps(r + kx + 12);
                    const __m128 w0 = _mm_set1_ps(w[ky * KW + kx]);
                    a0 = _mm_add_ps(a0, _mm_mul_ps(w0, _mm_shuffle_ps(l0, l1, 0x88)));
                    a1 = _mm_add_ps(a1, _mm_mul_ps(w0, _mm_shuffle_ps(l2, l3, 0x88)));
                    if (kx + 1 < KW) {
                        const __m128 w1 = _mm_set1_ps(w[ky * KW + kx + 1]);
                        a0 = _mm_add_ps(a0, _mm_mul_ps(w1, _mm_shuffle_ps(l0, l1, 0xDD)));
                        a1 = _mm_add_ps(a1, _mm_mul_ps(w1, _mm_shuffle_ps(l2, l3, 0xDD)));
                    }
                }
            }
            put_f32(p, a0, ow - x0 < 4 ? ow - x0 : 4, y, x0, ow, vec);
            if (x0 + 4 < ow) put_f32(p, a1, ow - x0 - 4 < 4 ? ow - x0 - 4 : 4, y, x0 + 4, ow, vec);
        }
    }
}

void mxn_dw_f32_sse2(const mxn_dw_plane *p)
{
    MXN_DW_DISPATCH(p, dw_f32_s1, dw_f32_s2);
}

/* ---- int8 ------------------------------------------------------------- */

/* the epilogue of 16 int32 sums (positions 0-3 in c[0], ... 12-15 in c[3]):
 * vector form for the mul + add rule and activations 0..3 (vec), the
 * reference otherwise; the store of the first m <= 16 */
INLINE __m128 dequant4(const mxn_dw_plane *p, __m128i a)
{
    return act_sse2(p->act, _mm_add_ps(_mm_mul_ps(_mm_cvtepi32_ps(a), _mm_set1_ps(p->scale_in)),
                                       _mm_set1_ps(p->bias)));
}

INLINE void put_s32x16(const mxn_dw_plane *p, const __m128i *c, int m, int y, int x, int pitch, int vec)
{
    int h;
    if (!vec) {
        int32_t buf[16];
        for (h = 0; h * 4 < m; h++) _mm_storeu_si128((__m128i *)(buf + 4 * h), c[h]);
        mxn_dw_finish_s32(p, buf, m, y, x, pitch);
        return;
    }
    if (p->out_i8) {
        const __m128 top = _mm_set1_ps(p->top_scale);
        __m128i q[4], b;
        int8_t buf[48];
        for (h = 0; h < 4; h++) q[h] = h * 4 < m ? float2int8_sse2(_mm_mul_ps(dequant4(p, c[h]), top)) : q[0];
        b = _mm_packs_epi16(_mm_packs_epi32(q[0], q[1]), _mm_packs_epi32(q[2], q[3]));
        if (m == 16 && x + 16 <= p->out_w) {
            _mm_storeu_si128((__m128i *)(p->out_i8 + (size_t)y * p->out_w + x), b);
            return;
        }
        _mm_storeu_si128((__m128i *)buf, b);
        mxn_dw_store(p, buf, 1, m, y, x, pitch);
    } else {
        float buf[24];
        for (h = 0; h * 4 < m; h++) _mm_storeu_ps(buf + 4 * h, dequant4(p, c[h]));
        for (h = 0; h < m; h += 8) {
            mxn_dw_store(p, buf + h, sizeof(float), m - h < 8 ? m - h : 8, y, x, pitch);
            mxn_dw_step(&y, &x, 8, pitch);
        }
    }
}

/* 8 int8 pixels sign-extended to int16 */
INLINE __m128i load8(const int8_t *s)
{
    const __m128i l = _mm_loadl_epi64((const __m128i *)s);
    return _mm_srai_epi16(_mm_unpacklo_epi8(l, l), 8);
}

INLINE void dw_s8_s1(const mxn_dw_plane *p, const int KW, const int KH)
{
    const int8_t *in = (const int8_t *)p->in, *w = (const int8_t *)p->w;
    const int pitch = p->pitch, vec = p->act->type <= 3 && !p->fused, M = KW / 2 + 1;
    const int L = (p->out_h - 1) * pitch + p->out_w;
    int32_t pe[MXN_DW_MAX_K][PAIRS], po[MXN_DW_MAX_K][PAIRS];
    int j, y = 0, x = 0, ky, m;
    for (ky = 0; ky < KH; ky++)
        for (m = 0; m < M; m++) {
            pe[ky][m] = dw_tap_pair(w + ky * KW, KW, 2 * m, 2 * m + 1);
            po[ky][m] = dw_tap_pair(w + ky * KW, KW, 2 * m - 1, 2 * m);
        }
    for (j = 0; j < L; j += 16) {
        /* positions j..j+7 (e0, o0) and j+8..j+15 (e1, o1) */
        __m128i e0 = _mm_setzero_si128(), o0 = e0, e1 = e0, o1 = e0, c[4];
        for (ky = 0; ky < KH; ky++) {
            const int8_t *r = in + (size_t)ky * pitch + j;
            for (m = 0; m < M; m++) {
                const __m128i we = _mm_set1_epi32(pe[ky][m]), wo = _mm_set1_epi32(po[ky][m]);
                const __m128i l0 = load8(r + 2 * m), l1 = load8(r + 2 * m + 8);
                e0 = _mm_add_epi32(e0, _mm_madd_epi16(l0, we));
                o0 = _mm_add_epi32(o0, _mm_madd_epi16(l0, wo));
                e1 = _mm_add_epi32(e1, _mm_madd_epi16(l1, we));
                o1 = _mm_add_epi32(o1, _mm_madd_epi16(l1, wo));
            }
        }
        c[0] = _mm_unpacklo_epi32(e0, o0);
        c[1] = _mm_unpackhi_epi32(e0, o0);
        c[2] = _mm_unpacklo_epi32(e1, o1);
        c[3] = _mm_unpackhi_epi32(e1, o1);
        put_s32x16(p, c, L - j < 16 ? L - j : 16, y, x, pitch, vec);
        mxn_dw_step(&y, &x, 16, pitch);
    }
}

INLINE void dw_s8_s2(const mxn_dw_plane *p, const int KW, const int KH)
{
    const int8_t *in = (const int8_t *)p->in, *w = (const int8_t *)p->w;
    const int pitch = p->pitch, vec = p->act->type <= 3 && !p->fused, M = (KW + 1) / 2, ow = p->out_w;
    int32_t pw[MXN_DW_MAX_K][PAIRS];
    int y, x0, ky, m;
    for (ky = 0; ky < KH; ky++)
        for (m = 0; m < M; m++) pw[ky][m] = dw_tap_pair(w + ky * KW, KW, 2 * m, 2 * m + 1);
    for (y = 0; y < p->out_h; y++) {
        for (x0 = 0; x0 < ow; x0 += 8) {
            __m128i a0 = _mm_setzero_si128(), a1 = a0, c[4];
            for (ky = 0; ky < KH; ky++) {
                const int8_t *r = in + (size_t)(2 * y + ky) * pitch + 2 * x0;
                for (m = 0; m < M; m++) {
                    const __m128i wp = _mm_set1_epi32(pw[ky][m]);
                    a0 = _mm_add_epi32(a0, _mm_madd_epi16(load8(r + 2 * m), wp));
                    a1 = _mm_add_epi32(a1, _mm_madd_epi16(load8(r + 2 * m + 8), wp));
                }
            }
            c[0] = a0;
            c[1] = a1;
            put_s32x16(p, c, ow - x0 < 8 ? ow - x0 : 8, y, x0, ow, vec);
        }
    }
}

void mxn_dw_s8_sse2(const mxn_dw_plane *p)
{
    MXN_DW_DISPATCH(p, dw_s8_s1, dw_s8_s2);
}
#endif
