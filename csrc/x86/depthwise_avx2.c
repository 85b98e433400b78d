/* AVX2 + FMA depthwise convolution rows (kernels.h mxn_dw_f32_fn / mxn_dw_s8_fn):
 * float32 with FMA, int8 with exact int32 sums through vpmaddwd and the
 * reference epilogue in vector form (bit-identical). */
#include "avx2_common.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))

AVX2 void mxn_dw_f32_avx2(int n, int taps, const float *const *src, const float *w, const mxn_dw_row *r)
{
    const __m256 b = _mm256_set1_ps(r->bias);
    int x = 0, t;
    for (; x + 16 <= n; x += 16) {
        __m256 a0 = b, a1 = b;
        for (t = 0; t < taps; t++) {
            const __m256 wt = _mm256_set1_ps(w[t]);
            a0 = _mm256_fmadd_ps(wt, _mm256_loadu_ps(src[t] + x), a0);
            a1 = _mm256_fmadd_ps(wt, _mm256_loadu_ps(src[t] + x + 8), a1);
        }
        if (r->act->type <= 3) {
            _mm256_storeu_ps(r->out_f32 + x, act_avx2(r->act, a0));
            _mm256_storeu_ps(r->out_f32 + x + 8, act_avx2(r->act, a1));
        } else {
            float buf[16];
            mxn_dw_row rr = *r;
            _mm256_storeu_ps(buf, a0);
            _mm256_storeu_ps(buf + 8, a1);
            rr.out_f32 = r->out_f32 + x;
            mxn_dw_store_f32(buf, 16, &rr);
        }
    }
    /* the last columns 8 at a time, the final partial block masked */
    for (; x < n; x += 8) {
        const int m = n - x < 8 ? n - x : 8;
        const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(m), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        __m256 a = b;
        for (t = 0; t < taps; t++) a = _mm256_fmadd_ps(_mm256_set1_ps(w[t]), _mm256_maskload_ps(src[t] + x, mask), a);
        if (r->act->type <= 3) {
            _mm256_maskstore_ps(r->out_f32 + x, mask, act_avx2(r->act, a));
        } else {
            float buf[8];
            mxn_dw_row rr = *r;
            _mm256_storeu_ps(buf, a);
            rr.out_f32 = r->out_f32 + x;
            mxn_dw_store_f32(buf, m, &rr);
        }
    }
}

/* 16 columns of an int8 depthwise row: exact int32 sums, then the epilogue;
 * m < 16 stores only the first m (the sources are then padded copies) */
static AVX2 void dw_s8_block(int taps, const int8_t *const *src, const int8_t *w, const mxn_dw_row *r, int x,
                             int m)
{
    /* lo: columns 0-3 and 8-11, hi: 4-7 and 12-15 (unpack works per 128-bit lane) */
    __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
    __m256i c0, c1;
    int t;
    for (t = 0; t + 1 < taps; t += 2) {
        const __m256i p = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)src[t]));
        const __m256i q = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)src[t + 1]));
        const __m256i wp = _mm256_set1_epi32((int32_t)(uint16_t)(int16_t)w[t] |
                                             (int32_t)((uint32_t)(uint16_t)(int16_t)w[t + 1] << 16));
        lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(p, q), wp));
        hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(p, q), wp));
    }
    if (t < taps) {
        const __m256i p = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)src[t]));
        const __m256i wp = _mm256_set1_epi32((int32_t)(uint16_t)(int16_t)w[t]);
        const __m256i z = _mm256_setzero_si256();
        lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(p, z), wp));
        hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(p, z), wp));
    }
    c0 = _mm256_permute2x128_si256(lo, hi, 0x20); /* columns 0-7 */
    c1 = _mm256_permute2x128_si256(lo, hi, 0x31); /* columns 8-15 */
    if (r->act->type <= 3) {
        const __m256 s = _mm256_set1_ps(r->scale_in), b = _mm256_set1_ps(r->bias);
        const __m256 f0 = _mm256_cvtepi32_ps(c0), f1 = _mm256_cvtepi32_ps(c1);
        __m256 v0 = r->fused ? _mm256_fmadd_ps(f0, s, b) : _mm256_add_ps(_mm256_mul_ps(f0, s), b);
        __m256 v1 = r->fused ? _mm256_fmadd_ps(f1, s, b) : _mm256_add_ps(_mm256_mul_ps(f1, s), b);
        v0 = act_avx2(r->act, v0);
        v1 = act_avx2(r->act, v1);
        if (r->out_i8) {
            const __m256 top = _mm256_set1_ps(r->top_scale);
            __m256i q0 = float2int8_avx2(_mm256_mul_ps(v0, top));
            __m256i q1 = float2int8_avx2(_mm256_mul_ps(v1, top));
            __m256i w16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(q0, q1), 0xD8);
            __m128i q = _mm_packs_epi16(_mm256_castsi256_si128(w16), _mm256_extracti128_si256(w16, 1));
            if (m == 16) {
                _mm_storeu_si128((__m128i *)(r->out_i8 + x), q);
            } else {
                int8_t buf[16];
                _mm_storeu_si128((__m128i *)buf, q);
                memcpy(r->out_i8 + x, buf, (size_t)m);
            }
        } else if (m == 16) {
            _mm256_storeu_ps(r->out_f32 + x, v0);
            _mm256_storeu_ps(r->out_f32 + x + 8, v1);
        } else {
            float buf[16];
            _mm256_storeu_ps(buf, v0);
            _mm256_storeu_ps(buf + 8, v1);
            memcpy(r->out_f32 + x, buf, sizeof(float) * (size_t)m);
        }
    } else {
        int32_t buf[16];
        mxn_dw_row rr = *r;
        _mm256_storeu_si256((__m256i *)buf, c0);
        _mm256_storeu_si256((__m256i *)(buf + 8), c1);
        if (rr.out_i8) rr.out_i8 += x;
        else rr.out_f32 += x;
        mxn_dw_store_s32(buf, m, &rr);
    }
}

AVX2 void mxn_dw_s8_avx2(int n, int taps, const int8_t *const *src, const int8_t *w, const mxn_dw_row *r)
{
    const int8_t *at[64];
    int x = 0, t;
    if (taps > 64) { /* the layer never passes more; stay exact anyway */
        int32_t a;
        for (; x < n; x++) {
            mxn_dw_row rr = *r;
            for (a = 0, t = 0; t < taps; t++) a += (int32_t)w[t] * (int32_t)src[t][x];
            if (rr.out_i8) rr.out_i8 += x;
            else rr.out_f32 += x;
            mxn_dw_store_s32(&a, 1, &rr);
        }
        return;
    }
    for (; x + 16 <= n; x += 16) {
        for (t = 0; t < taps; t++) at[t] = src[t] + x;
        dw_s8_block(taps, at, w, r, x, 16);
    }
    if (x < n) {
        /* the last columns from zero-padded copies (no read past a row) */
        int8_t pad[64][16];
        for (t = 0; t < taps; t++) {
            memset(pad[t], 0, 16);
            memcpy(pad[t], src[t] + x, (size_t)(n - x));
            at[t] = pad[t];
        }
        dw_s8_block(taps, at, w, r, x, n - x);
    }
}
#endif
