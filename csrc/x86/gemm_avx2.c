/* AVX2 + FMA packed-GEMM convolution micro-kernels (kernels.h).  Compiled for every x86
 * build with per-function target attributes and only called when cpuid
 * reports the instructions (kernel_select.c), so one library runs on any x86-64.
 *
 * float32: 8 output channels x 16 columns, FMA.
 * int8: vpmaddwd on sign-extended int16 - the 8 channels of a tap pair in
 * one register, each column's tap pair broadcast; 8 x 8 int32 accumulators
 * (one per column).  (The AVX-512 kernels are in gemm_avx512.c.)  The epilogue is mxn_conv_dequant_ref's formula in
 * vector form: vfmadd gives fmaf's single rounding, the rest are the same
 * IEEE operations in the same order, so the int8 results are bit-identical. */
#include "avx2_common.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))

#define MR MXN_GEMM_MR
#define NR 8

/* 8 channels x 16 columns in two passes of 4 channels: per tap two loads of
 * B and 4 broadcasts feed 8 FMAs (8 x 8 at once would need 9 loads for 8) */
AVX2 void mxn_sgemm_avx2(int K, const float *a, const float *b, const mxn_gemm_tile *t)
{
    float buf[MR * 16];
    const int direct = t->nr == 16 && t->act->type <= 3;
    int half, k, r;
    for (half = 0; half < 2 && half * 4 < t->mr; half++) {
        const float *ah = a + half * 4;
        __m256 c00 = _mm256_set1_ps(t->bias[half * 4 + 0]), c01 = c00;
        __m256 c10 = _mm256_set1_ps(t->bias[half * 4 + 1]), c11 = c10;
        __m256 c20 = _mm256_set1_ps(t->bias[half * 4 + 2]), c21 = c20;
        __m256 c30 = _mm256_set1_ps(t->bias[half * 4 + 3]), c31 = c30;
        __m256 v[8];
        for (k = 0; k < K; k++) {
            const __m256 b0 = _mm256_loadu_ps(b + (size_t)k * 16), b1 = _mm256_loadu_ps(b + (size_t)k * 16 + 8);
            const float *ak = ah + (size_t)k * MR;
            __m256 x = _mm256_broadcast_ss(ak + 0);
            c00 = _mm256_fmadd_ps(x, b0, c00);
            c01 = _mm256_fmadd_ps(x, b1, c01);
            x = _mm256_broadcast_ss(ak + 1);
            c10 = _mm256_fmadd_ps(x, b0, c10);
            c11 = _mm256_fmadd_ps(x, b1, c11);
            x = _mm256_broadcast_ss(ak + 2);
            c20 = _mm256_fmadd_ps(x, b0, c20);
            c21 = _mm256_fmadd_ps(x, b1, c21);
            x = _mm256_broadcast_ss(ak + 3);
            c30 = _mm256_fmadd_ps(x, b0, c30);
            c31 = _mm256_fmadd_ps(x, b1, c31);
        }
        v[0] = c00; v[1] = c01; v[2] = c10; v[3] = c11; v[4] = c20; v[5] = c21; v[6] = c30; v[7] = c31;
        for (r = 0; r < 4; r++) {
            const int row = half * 4 + r;
            if (direct) {
                if (row < t->mr) {
                    _mm256_storeu_ps(t->out_f32 + (size_t)row * t->ldc, act_avx2(t->act, v[2 * r]));
                    _mm256_storeu_ps(t->out_f32 + (size_t)row * t->ldc + 8, act_avx2(t->act, v[2 * r + 1]));
                }
            } else {
                _mm256_storeu_ps(buf + row * 16, v[2 * r]);
                _mm256_storeu_ps(buf + row * 16 + 8, v[2 * r + 1]);
            }
        }
    }
    if (!direct) mxn_gemm_tile_store_f32(t, buf, 16, 1);
}


/* The partial column tile (kernels.h sgemm_tail): 16 channels of two A
 * panels in two registers, each column's B value broadcast, one pair of
 * accumulators per column, TW columns per pass.  The same sums (bias, then
 * tap by tap, FMA) as mxn_sgemm_avx2, so the same results. */
#define TW 6

static inline __attribute__((always_inline)) AVX2 void stail_pass(int K, const float *a0, const float *a1,
                                                                  const float *b, const float *bias, const int cw,
                                                                  float *buf)
{
    __m256 lo[TW], hi[TW];
    const __m256 blo = _mm256_loadu_ps(bias), bhi = _mm256_loadu_ps(bias + 8);
    int k, j;
    for (j = 0; j < cw; j++) {
        lo[j] = blo;
        hi[j] = bhi;
    }
    for (k = 0; k < K; k++) {
        const __m256 x0 = _mm256_loadu_ps(a0 + (size_t)k * MR), x1 = _mm256_loadu_ps(a1 + (size_t)k * MR);
        const float *bk = b + (size_t)k * 16;
        for (j = 0; j < cw; j++) {
            const __m256 y = _mm256_broadcast_ss(bk + j);
            lo[j] = _mm256_fmadd_ps(x0, y, lo[j]);
            hi[j] = _mm256_fmadd_ps(x1, y, hi[j]);
        }
    }
    for (j = 0; j < cw; j++) {
        _mm256_storeu_ps(buf + j * 16, lo[j]);
        _mm256_storeu_ps(buf + j * 16 + 8, hi[j]);
    }
}

AVX2 void mxn_sgemm_tail_avx2(int K, const float *a, const float *b, const mxn_gemm_tile *t)
{
    float buf[16 * 16], bias[16];
    const float *a1 = tail_panels_f32(K, a, t, bias);
    int j0;
    for (j0 = 0; j0 < t->nr; j0 += TW) {
        const int cw = t->nr - j0 < TW ? t->nr - j0 : TW;
        switch (cw) {
        case 1: stail_pass(K, a, a1, b + j0, bias, 1, buf + j0 * 16); break;
        case 2: stail_pass(K, a, a1, b + j0, bias, 2, buf + j0 * 16); break;
        case 3: stail_pass(K, a, a1, b + j0, bias, 3, buf + j0 * 16); break;
        case 4: stail_pass(K, a, a1, b + j0, bias, 4, buf + j0 * 16); break;
        case 5: stail_pass(K, a, a1, b + j0, bias, 5, buf + j0 * 16); break;
        default: stail_pass(K, a, a1, b + j0, bias, 6, buf + j0 * 16); break;
        }
    }
    mxn_gemm_tile_store_f32(t, buf, 1, 16);
}

/* kernels.h pack_run_f32: n <= 16 columns of all K taps; full groups of 8
 * by vector loads at step 1 or 2 (never touching memory past the run), the
 * rest element by element (a masked store is slow on some CPUs) */
AVX2 void mxn_pack_run_f32_avx2(const float *in, const size_t *koff, int K, int step, int n, float *d, size_t ldd)
{
    const __m256i even = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    const __m256i seven = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, -1, 0);
    const int full = step <= 2 ? n / 8 * 8 : 0;
    int k, j;
    for (k = 0; k < K; k++) {
        const float *s = in + koff[k];
        float *o = d + (size_t)k * ldd;
        for (j = 0; j < full; j += 8) {
            __m256 v;
            if (step == 1) {
                v = _mm256_loadu_ps(s + j);
            } else {
                const __m256 lo = _mm256_loadu_ps(s + 2 * j);
                const __m256 hi = _mm256_maskload_ps(s + 2 * j + 8, seven);
                v = _mm256_blend_ps(_mm256_permutevar8x32_ps(lo, even), _mm256_permutevar8x32_ps(hi, even), 0xF0);
            }
            _mm256_storeu_ps(o + j, v);
        }
        for (j = full; j < n; j++) o[j] = s[(size_t)j * step];
    }
}

/* kernels.h pack_run_s8 (nr = 8): a full run of 8 pixels at step 1 or 2 by
 * vector loads (never past the run's last pixel), the rest element by element */
static inline AVX2 __m128i load8_step(const int8_t *s, int step)
{
    if (step == 1) return _mm_loadl_epi64((const __m128i *)s);
    {
        /* bytes 0..7 and 7..14: the even ones are 0 2 4 6 of the first, 1 3 5 7 of the second */
        const __m128i lo = _mm_shuffle_epi8(_mm_loadl_epi64((const __m128i *)s),
                                            _mm_setr_epi8(0, 2, 4, 6, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1));
        const __m128i hi = _mm_shuffle_epi8(_mm_loadl_epi64((const __m128i *)(s + 7)),
                                            _mm_setr_epi8(-1, -1, -1, -1, 1, 3, 5, 7, -1, -1, -1, -1, -1, -1, -1, -1));
        return _mm_or_si128(lo, hi);
    }
}

AVX2 void mxn_pack_run_s8_avx2(const int8_t *in, const size_t *koff, int K, int step, int n, int16_t *d, size_t ldd)
{
    const int K2 = (K + 1) / 2;
    int kp, j;
    for (kp = 0; kp < K2; kp++) {
        const int8_t *s0 = in + koff[2 * kp];
        const int8_t *s1 = 2 * kp + 1 < K ? in + koff[2 * kp + 1] : NULL;
        int16_t *o = d + (size_t)kp * ldd;
        if (n == NR && step <= 2) {
            const __m128i x0 = load8_step(s0, step), x1 = s1 ? load8_step(s1, step) : _mm_setzero_si128();
            _mm256_storeu_si256((__m256i *)o, _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(x0, x1)));
            continue;
        }
        for (j = 0; j < n; j++) {
            o[2 * j] = s0[(size_t)j * step];
            o[2 * j + 1] = s1 ? s1[(size_t)j * step] : 0;
        }
    }
}

/* the int8 tile's epilogue: c[j] holds column j's 8 channel sums */
static AVX2 void s8_epilogue(__m256i *c, const mxn_gemm_tile *t)
{
    int j;
    if (t->mr != MR || t->nr != NR || t->act->type > 3) {
        int32_t buf[NR * MR];
        for (j = 0; j < NR; j++) _mm256_storeu_si256((__m256i *)(buf + j * MR), c[j]);
        mxn_gemm_tile_store_s32(t, buf, 1, MR);
        return;
    }
    {
        /* v = fmaf((float)acc, scale, bias) (or mul + add), activation, then
         * float output, or float2int8(v * top_scale) */
        const __m256 s = _mm256_loadu_ps(t->scale_in), bs = _mm256_loadu_ps(t->bias);
        __m256 v[NR];
        for (j = 0; j < NR; j++) {
            const __m256 f = _mm256_cvtepi32_ps(c[j]);
            __m256 x = t->fused ? _mm256_fmadd_ps(f, s, bs) : _mm256_add_ps(_mm256_mul_ps(f, s), bs);
            v[j] = act_avx2(t->act, x);
        }
        if (t->out_i8) {
            const __m256 top = _mm256_set1_ps(t->top_scale);
            for (j = 0; j < NR; j++) v[j] = _mm256_castsi256_ps(float2int8_avx2(_mm256_mul_ps(v[j], top)));
            transpose8(v);
            for (j = 0; j < MR; j++) {
                /* 8 int32 in -127..127 -> 8 bytes */
                __m256i q = _mm256_castps_si256(v[j]);
                __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
                w = _mm_packs_epi16(w, w);
                _mm_storel_epi64((__m128i *)(t->out_i8 + (size_t)j * t->ldc), w);
            }
        } else {
            transpose8(v);
            for (j = 0; j < MR; j++) _mm256_storeu_ps(t->out_f32 + (size_t)j * t->ldc, v[j]);
        }
    }
}

/* The int8 micro-kernel body: ACC(c, a, b) adds the pairwise products of
 * a and b to c (exact int32). */
#define MXN_S8GEMM_BODY(ACC)                                                                          \
    __m256i c[NR];                                                                                    \
    int kp, j;                                                                                        \
    for (j = 0; j < NR; j++) c[j] = _mm256_setzero_si256();                                           \
    for (kp = 0; kp < K2; kp++) {                                                                     \
        const __m256i av = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + (size_t)kp * MR * 2))); \
        const int16_t *bk = b + (size_t)kp * NR * 2;                                                  \
        for (j = 0; j < NR; j++) c[j] = ACC(c[j], av, bcast_pair(bk + 2 * j));                        \
    }                                                                                                 \
    s8_epilogue(c, t);

#define ACC_MADD(c, x, y) _mm256_add_epi32((c), _mm256_madd_epi16((x), (y)))

AVX2 void mxn_s8gemm_avx2(int K2, const int8_t *a, const int16_t *b, const mxn_gemm_tile *t)
{
    MXN_S8GEMM_BODY(ACC_MADD)
}

AVX2 void mxn_pack_pairs_avx2(const int8_t *s0, const int8_t *s1, int16_t *d)
{
    const __m128i x = _mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)s0), _mm_loadl_epi64((const __m128i *)s1));
    _mm256_storeu_si256((__m256i *)d, _mm256_cvtepi8_epi16(x));
}

#endif
