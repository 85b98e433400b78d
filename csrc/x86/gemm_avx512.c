/* AVX-512 packed-GEMM convolution micro-kernels (kernels.h) of the
 * "avx512vnni" kernel set: AVX-512 F/BW/VL/DQ + VNNI, per-function target
 * attributes, only called where cpuid reports them (kernel_select.c).
 *
 * Both main kernels compute a tile of 8 output channels (one A panel) x 32
 * columns: the columns sit in the vector lanes (two zmm registers per
 * channel row, 16 accumulators), each channel's weight is broadcast from
 * memory as the FMA's / vpdpbusd's embedded-broadcast operand, so one step
 * costs 2 loads of B and 16 multiply-adds.  The accumulators are rows of the
 * output, so the epilogue stores them directly (masked for partial tiles):
 * no transpose.  The last, partial tile of a column tile is done the other
 * way round (16 channels in the lanes, columns broadcast: *_tail).
 *
 * float32: vfmadd231ps from the bias.
 * int8: vpdpbusd, 4 taps per lane, on the input + 128 (see u8gemm below).
 * The epilogue is mxn_conv_dequant_ref's formula in vector form (vfmadd =
 * fmaf's single rounding, the rest the same IEEE operations in the same
 * order): int8 results are bit-identical to the reference. */
#include "avx2_common.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))

#define AVX512 __attribute__((target("avx2,fma,avx512f,avx512vl,avx512bw,avx512dq")))
#define VNNI512 __attribute__((target("avx2,fma,avx512f,avx512vl,avx512bw,avx512dq,avx512vnni")))

#define MR MXN_GEMM_MR
#define NR 32

/* the activation for types 0..3, as act_avx2 (same comparisons) */
static inline AVX512 __m512 act_avx512(const mxn_activation *a, __m512 v)
{
    switch (a->type) {
    case 1: return _mm512_max_ps(v, _mm512_setzero_ps());
    case 2: {
        __mmask16 pos = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ);
        return _mm512_mask_blend_ps(pos, _mm512_mul_ps(v, _mm512_set1_ps(a->p0)), v);
    }
    case 3: return _mm512_min_ps(_mm512_set1_ps(a->p1), _mm512_max_ps(_mm512_set1_ps(a->p0), v));
    default: return v;
    }
}

/* mxn_float2int8 on 16 lanes (see float2int8_avx2) -> 16 bytes */
static inline AVX512 __m128i float2int8_avx512(__m512 x)
{
    x = _mm512_add_ps(x, _mm512_or_ps(_mm512_and_ps(x, _mm512_set1_ps(-0.f)), _mm512_set1_ps(0.5f)));
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-127.f)), _mm512_set1_ps(127.f));
    return _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(x));
}

static inline AVX512 __mmask16 cols_mask(int n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

/* ---- float32 ----------------------------------------------------------- */

#define FMA_ROW(r)                                                                                    \
    do {                                                                                              \
        const __m512 x = _mm512_set1_ps(ak[r]);                                                       \
        c##r##0 = _mm512_fmadd_ps(b0, x, c##r##0);                                                    \
        if (wide) c##r##1 = _mm512_fmadd_ps(b1, x, c##r##1);                                          \
    } while (0)

static inline AVX512 void sgemm_tile(int K, const float *a, const float *b, const mxn_gemm_tile *t, const int wide)
{
    __m512 c00 = _mm512_set1_ps(t->bias[0]), c01 = c00, c10 = _mm512_set1_ps(t->bias[1]), c11 = c10;
    __m512 c20 = _mm512_set1_ps(t->bias[2]), c21 = c20, c30 = _mm512_set1_ps(t->bias[3]), c31 = c30;
    __m512 c40 = _mm512_set1_ps(t->bias[4]), c41 = c40, c50 = _mm512_set1_ps(t->bias[5]), c51 = c50;
    __m512 c60 = _mm512_set1_ps(t->bias[6]), c61 = c60, c70 = _mm512_set1_ps(t->bias[7]), c71 = c70;
    __m512 v[MR][2];
    int k, r;
    for (k = 0; k < K; k++) {
        const float *ak = a + (size_t)k * MR;
        const __m512 b0 = _mm512_loadu_ps(b + (size_t)k * NR);
        const __m512 b1 = wide ? _mm512_loadu_ps(b + (size_t)k * NR + 16) : b0;
        FMA_ROW(0);
        FMA_ROW(1);
        FMA_ROW(2);
        FMA_ROW(3);
        FMA_ROW(4);
        FMA_ROW(5);
        FMA_ROW(6);
        FMA_ROW(7);
    }
    v[0][0] = c00; v[0][1] = c01; v[1][0] = c10; v[1][1] = c11;
    v[2][0] = c20; v[2][1] = c21; v[3][0] = c30; v[3][1] = c31;
    v[4][0] = c40; v[4][1] = c41; v[5][0] = c50; v[5][1] = c51;
    v[6][0] = c60; v[6][1] = c61; v[7][0] = c70; v[7][1] = c71;
    if (t->act->type > 3) {
        float buf[MR * NR];
        for (r = 0; r < MR; r++) {
            _mm512_storeu_ps(buf + r * NR, v[r][0]);
            _mm512_storeu_ps(buf + r * NR + 16, v[r][1]);
        }
        mxn_gemm_tile_store_f32(t, buf, NR, 1);
        return;
    }
    {
        const __mmask16 m0 = cols_mask(t->nr), m1 = cols_mask(t->nr - 16);
        for (r = 0; r < t->mr; r++) {
            float *o = t->out_f32 + (size_t)r * t->ldc;
            _mm512_mask_storeu_ps(o, m0, act_avx512(t->act, v[r][0]));
            if (wide) _mm512_mask_storeu_ps(o + 16, m1, act_avx512(t->act, v[r][1]));
        }
    }
}

AVX512 void mxn_sgemm_avx512(int K, const float *a, const float *b, const mxn_gemm_tile *t)
{
    if (t->nr > 16) sgemm_tile(K, a, b, t, 1);
    else sgemm_tile(K, a, b, t, 0);
}

/* ---- int8 --------------------------------------------------------------- */

/* the int8 tile's epilogue: c[r][h] holds channel r's columns 16h..16h+15 */
static inline AVX512 void s8_store(const int32_t *acc, const int32_t *corr, const mxn_gemm_tile *t, const int wide)
{
    /* the tile's fields in locals: the int8 stores could alias *t */
    const int mr = t->mr, nr = t->nr, fused = t->fused;
    const size_t ldc = t->ldc;
    int8_t *const out_i8 = t->out_i8;
    float *const out_f32 = t->out_f32;
    const __m512 top = _mm512_set1_ps(t->top_scale);
    const mxn_activation act = *t->act;
    int r, h;
    if (act.type > 3) {
        int32_t buf[MR * NR];
        for (r = 0; r < MR; r++)
            for (h = 0; h < NR; h++) buf[r * NR + h] = (int32_t)((uint32_t)acc[r * NR + h] - (uint32_t)corr[r]);
        mxn_gemm_tile_store_s32(t, buf, NR, 1);
        return;
    }
    for (r = 0; r < mr; r++) {
        const __m512 s = _mm512_set1_ps(t->scale_in[r]), bs = _mm512_set1_ps(t->bias[r]);
        const __m512i k = _mm512_set1_epi32(corr[r]);
        for (h = 0; h < 1 + wide; h++) {
            const int n = nr - 16 * h;
            const __m512 f = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_load_si512((const void *)(acc + r * NR + 16 * h)), k));
            __m512 v = fused ? _mm512_fmadd_ps(f, s, bs) : _mm512_add_ps(_mm512_mul_ps(f, s), bs);
            v = act_avx512(&act, v);
            if (out_i8) {
                const __m128i q = float2int8_avx512(_mm512_mul_ps(v, top));
                int8_t *o = out_i8 + (size_t)r * ldc + 16 * h;
                if (n >= 16) _mm_storeu_si128((__m128i *)o, q);
                else _mm_mask_storeu_epi8(o, cols_mask(n), q);
            } else {
                float *o = out_f32 + (size_t)r * ldc + 16 * h;
                if (n >= 16) _mm512_storeu_ps(o, v);
                else _mm512_mask_storeu_ps(o, cols_mask(n), v);
            }
        }
    }
}

/* ---- partial column tiles (kernels.h sgemm_tail / u8gemm_tail) ------------
 *
 * The other way round: 16 output channels (two A panels) in the lanes of one
 * register, each column's B value broadcast, one accumulator per column, so
 * a tile of n < 32 columns costs n multiply-adds per tap rather than 16 (the
 * columns are done in passes of at most TW).  The sums are the same chains
 * (bias, then tap by tap) as the full kernels', so the results are too; the
 * epilogue is the portable one (these tiles are few). */
#define TW 12
#define ALWAYS_INLINE __attribute__((always_inline))

static inline ALWAYS_INLINE AVX512 void stail_pass(int K, const float *a0, const float *a1, const float *b,
                                                   const float *bias, const int cw, float *buf)
{
    __m512 acc[TW];
    const __m512 b16 = _mm512_loadu_ps(bias);
    int k, j;
    for (j = 0; j < cw; j++) acc[j] = b16;
    for (k = 0; k < K; k++) {
        const __m512 av = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(a0 + (size_t)k * MR)),
                                             _mm256_loadu_ps(a1 + (size_t)k * MR), 1);
        const float *bk = b + (size_t)k * NR;
        for (j = 0; j < cw; j++) acc[j] = _mm512_fmadd_ps(_mm512_set1_ps(bk[j]), av, acc[j]);
    }
    for (j = 0; j < cw; j++) _mm512_storeu_ps(buf + j * 16, acc[j]);
}

AVX512 void mxn_sgemm_tail_avx512(int K, const float *a, const float *b, const mxn_gemm_tile *t)
{
    float buf[NR * 16], bias[16];
    const float *a1 = tail_panels_f32(K, a, t, bias);
    int j0;
    for (j0 = 0; j0 < t->nr; j0 += TW) {
        const int cw = t->nr - j0 < TW ? t->nr - j0 : TW;
        switch (cw) {
#define STAIL_CASE(n) \
        case n: stail_pass(K, a, a1, b + j0, bias, n, buf + j0 * 16); break;
        STAIL_CASE(1) STAIL_CASE(2) STAIL_CASE(3) STAIL_CASE(4) STAIL_CASE(5) STAIL_CASE(6)
        STAIL_CASE(7) STAIL_CASE(8) STAIL_CASE(9) STAIL_CASE(10) STAIL_CASE(11) default: STAIL_CASE(12)
#undef STAIL_CASE
        }
    }
    if (t->act->type > 3) {
        mxn_gemm_tile_store_f32(t, buf, 1, 16);
        return;
    }
    for (j0 = 0; j0 < t->nr; j0++) {
        float v[16];
        int r;
        _mm512_storeu_ps(v, act_avx512(t->act, _mm512_loadu_ps(buf + j0 * 16)));
        for (r = 0; r < t->mr; r++) t->out_f32[(size_t)r * t->ldc + j0] = v[r];
    }
}

/* the epilogue of a partial tile: buf[j * 16 + r] is channel r's sum of
 * column j; the vector formula of s8_store, one column at a time */
static AVX512 void s8tail_store(const mxn_gemm_tile *t, const int32_t *buf)
{
    float sc[16] = {0}, bi[16] = {0};
    int j, r;
    if (t->act->type > 3) {
        mxn_gemm_tile_store_s32(t, buf, 1, 16);
        return;
    }
    memcpy(sc, t->scale_in, sizeof(float) * (size_t)t->mr);
    memcpy(bi, t->bias, sizeof(float) * (size_t)t->mr);
    {
        const __m512 s = _mm512_loadu_ps(sc), bs = _mm512_loadu_ps(bi);
        for (j = 0; j < t->nr; j++) {
            const __m512 f = _mm512_cvtepi32_ps(_mm512_loadu_si512((const void *)(buf + j * 16)));
            __m512 v = t->fused ? _mm512_fmadd_ps(f, s, bs) : _mm512_add_ps(_mm512_mul_ps(f, s), bs);
            v = act_avx512(t->act, v);
            if (t->out_i8) {
                int8_t q[16];
                _mm_storeu_si128((__m128i *)q, float2int8_avx512(_mm512_mul_ps(v, _mm512_set1_ps(t->top_scale))));
                for (r = 0; r < t->mr; r++) t->out_i8[(size_t)r * t->ldc + j] = q[r];
            } else {
                float o[16];
                _mm512_storeu_ps(o, v);
                for (r = 0; r < t->mr; r++) t->out_f32[(size_t)r * t->ldc + j] = o[r];
            }
        }
    }
}

/* ---- B packing of one run of columns (kernels.h pack_run_*) -------------- */

static inline AVX512 __mmask32 mask32(int n)
{
    return n >= 32 ? (__mmask32)0xFFFFFFFFu : n <= 0 ? (__mmask32)0 : (__mmask32)((1u << n) - 1u);
}

static inline AVX512 __mmask64 mask64(int n)
{
    return n >= 64 ? (__mmask64)~0ull : n <= 0 ? (__mmask64)0 : (__mmask64)((1ull << n) - 1ull);
}

/* 16 floats at step 1 or 2 (the lanes past n are zero, never loaded) */
static inline AVX512 __m512 load16_step(const float *s, int step, int n)
{
    if (step == 1) return _mm512_maskz_loadu_ps(cols_mask(n), s);
    if (step == 2) {
        const __m512 lo = _mm512_maskz_loadu_ps(cols_mask(2 * n - 1), s);
        const __m512 hi = _mm512_maskz_loadu_ps(cols_mask(2 * n - 17), s + 16);
        const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
        return _mm512_permutex2var_ps(lo, even, hi);
    }
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), cols_mask(n),
                                    _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3,
                                                                        2, 1, 0),
                                                       _mm512_set1_epi32(step)),
                                    s, 4);
}

AVX512 void mxn_pack_run_f32_avx512(const float *in, const size_t *koff, int K, int step, int n, float *d,
                                    size_t ldd)
{
    const __mmask16 m0 = cols_mask(n), m1 = cols_mask(n - 16);
    int k;
    if (step == 1) {
        for (k = 0; k < K; k++) {
            const float *s = in + koff[k];
            float *o = d + (size_t)k * ldd;
            _mm512_mask_storeu_ps(o, m0, _mm512_maskz_loadu_ps(m0, s));
            if (n > 16) _mm512_mask_storeu_ps(o + 16, m1, _mm512_maskz_loadu_ps(m1, s + 16));
        }
        return;
    }
    for (k = 0; k < K; k++) {
        const float *s = in + koff[k];
        float *o = d + (size_t)k * ldd;
        _mm512_mask_storeu_ps(o, m0, load16_step(s, step, n));
        if (n > 16) _mm512_mask_storeu_ps(o + 16, m1, load16_step(s + (size_t)16 * step, step, n - 16));
    }
}

/* 32 bytes at step 1 or 2 (zero past n, never loaded) */
static inline AVX512 __m256i load32b_step(const int8_t *s, int step, int n)
{
    if (step == 1) return _mm256_maskz_loadu_epi8(mask32(n), s);
    if (step == 2) return _mm512_cvtepi16_epi8(_mm512_maskz_loadu_epi8(mask64(2 * n - 1), s));
    {
        int8_t t[32] = {0};
        int j;
        for (j = 0; j < n && j < 32; j++) t[j] = s[(size_t)j * step];
        return _mm256_loadu_si256((const __m256i *)t);
    }
}

/* ---- int8 by vpdpbusd (kernels.h u8gemm) ----------------------------------
 *
 * vpdpbusd multiplies unsigned bytes by signed bytes, four per 32-bit lane,
 * into exact int32 sums (no saturation): twice vpdpwssd's work per
 * instruction.  The B panel holds the input + 128 (so in 1..255), four taps of
 * a column per lane; the kernel sums each channel's weights on the way and
 * takes 128 * sum(w) off at the end, which gives exactly sum(w * x).  The
 * quads of A are built from the [K2][MR][2] panel: channel r's pairs of taps
 * 2q and 2q + 1, interleaved as 16-bit units. */

/* the quads of A rows (pairs) 2q and 2q + 1 of one panel: 8 x int32 */
static inline AVX512 __m256i a_quads(const int8_t *a, int K2, int q)
{
    const __m128i r0 = _mm_loadu_si128((const __m128i *)(a + (size_t)(2 * q) * MR * 2));
    const __m128i r1 = 2 * q + 1 < K2 ? _mm_loadu_si128((const __m128i *)(a + (size_t)(2 * q + 1) * MR * 2))
                                      : _mm_setzero_si128();
    return _mm256_set_m128i(_mm_unpackhi_epi16(r0, r1), _mm_unpacklo_epi16(r0, r1));
}

#define BUS_ROW(r)                                                                                    \
    do {                                                                                              \
        const __m512i x = _mm512_set1_epi32(ak[r]);                                                   \
        c##r##0 = _mm512_dpbusd_epi32(c##r##0, b0, x);                                                \
        if (wide) c##r##1 = _mm512_dpbusd_epi32(c##r##1, b1, x);                                      \
    } while (0)

/* kernels.h u8_quads: one A panel's taps as quads, and 128 x the weight sums */
VNNI512 void mxn_u8_quads_avx512vnni(int K2, const int8_t *a, int32_t *aq, int32_t *corr)
{
    const int K4 = (K2 + 1) / 2;
    const __m256i ones = _mm256_set1_epi8(1);
    __m256i wsum = _mm256_setzero_si256();
    int q;
    for (q = 0; q < K4; q++) {
        const __m256i x = a_quads(a, K2, q);
        wsum = _mm256_dpbusd_epi32(wsum, ones, x);
        _mm256_storeu_si256((__m256i *)(aq + (size_t)q * MR), x);
    }
    _mm256_storeu_si256((__m256i *)corr, _mm256_slli_epi32(wsum, 7));
}

static inline ALWAYS_INLINE VNNI512 void u8gemm_tile(int K4, const int32_t *aq, const int32_t *corr,
                                                     const uint8_t *b, const mxn_gemm_tile *t, const int wide)
{
    int32_t acc[MR * NR] __attribute__((aligned(64)));
    __m512i c00 = _mm512_setzero_si512(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m512i c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00;
    __m512i c70 = c00, c71 = c00;
    int q;
    for (q = 0; q < K4; q++) {
        const int32_t *ak = aq + (size_t)q * MR;
        const __m512i b0 = _mm512_loadu_si512((const void *)(b + (size_t)q * NR * 4));
        const __m512i b1 = wide ? _mm512_loadu_si512((const void *)(b + (size_t)q * NR * 4 + 64)) : b0;
        BUS_ROW(0);
        BUS_ROW(1);
        BUS_ROW(2);
        BUS_ROW(3);
        BUS_ROW(4);
        BUS_ROW(5);
        BUS_ROW(6);
        BUS_ROW(7);
    }
#define ACC_ROW(r)                                                                                    \
    _mm512_store_si512((void *)(acc + r * NR), c##r##0);                                              \
    _mm512_store_si512((void *)(acc + r * NR + 16), c##r##1);
    ACC_ROW(0) ACC_ROW(1) ACC_ROW(2) ACC_ROW(3) ACC_ROW(4) ACC_ROW(5) ACC_ROW(6) ACC_ROW(7)
#undef ACC_ROW
    s8_store(acc, corr, t, wide);
}

VNNI512 void mxn_u8gemm_avx512vnni(int K4, const int32_t *aq, const int32_t *corr, const uint8_t *b,
                                   const mxn_gemm_tile *t)
{
    if (t->nr > 16) u8gemm_tile(K4, aq, corr, b, t, 1);
    else u8gemm_tile(K4, aq, corr, b, t, 0);
}

static inline ALWAYS_INLINE VNNI512 void u8tail_pass(int K4, const int32_t *aq0, const int32_t *aq1,
                                                     const uint8_t *b, const int cw, int32_t *buf)
{
    __m512i acc[TW];
    int q, j;
    for (j = 0; j < cw; j++) acc[j] = _mm512_setzero_si512();
    for (q = 0; q < K4; q++) {
        const __m512i av = _mm512_inserti64x4(
            _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(aq0 + (size_t)q * MR))),
            _mm256_loadu_si256((const __m256i *)(aq1 + (size_t)q * MR)), 1);
        const uint8_t *bk = b + (size_t)q * NR * 4;
        for (j = 0; j < cw; j++) {
            int32_t quad;
            memcpy(&quad, bk + 4 * j, sizeof(quad));
            acc[j] = _mm512_dpbusd_epi32(acc[j], _mm512_set1_epi32(quad), av);
        }
    }
    for (j = 0; j < cw; j++) _mm512_storeu_si512((void *)(buf + j * 16), acc[j]);
}

VNNI512 void mxn_u8gemm_tail_avx512vnni(int K4, const int32_t *aq0, const int32_t *aq1, const int32_t *corr,
                                        const uint8_t *b, const mxn_gemm_tile *t)
{
    int32_t buf[NR * 16];
    int32_t c16[16] = {0};
    int j0;
    __m512i k;
    memcpy(c16, corr, sizeof(int32_t) * (t->mr > MR ? 16 : MR));
    k = _mm512_loadu_si512((const void *)c16);
    for (j0 = 0; j0 < t->nr; j0 += TW) {
        const int cw = t->nr - j0 < TW ? t->nr - j0 : TW;
        switch (cw) {
#define U8TAIL_CASE(n) \
        case n: u8tail_pass(K4, aq0, aq1, b + 4 * j0, n, buf + j0 * 16); break;
        U8TAIL_CASE(1) U8TAIL_CASE(2) U8TAIL_CASE(3) U8TAIL_CASE(4) U8TAIL_CASE(5) U8TAIL_CASE(6)
        U8TAIL_CASE(7) U8TAIL_CASE(8) U8TAIL_CASE(9) U8TAIL_CASE(10) U8TAIL_CASE(11) default: U8TAIL_CASE(12)
#undef U8TAIL_CASE
        }
    }
    for (j0 = 0; j0 < t->nr; j0++)
        _mm512_storeu_si512((void *)(buf + j0 * 16),
                            _mm512_sub_epi32(_mm512_loadu_si512((const void *)(buf + j0 * 16)), k));
    s8tail_store(t, buf);
}

/* quads of four taps' rows x[0..3] (32 columns) -> + 128, stored masked */
static inline AVX512 void store_quads(const __m256i *x, int n, uint8_t *d)
{
    const __m256i bias = _mm256_set1_epi8((char)0x80);
    /* byte interleave within 128-bit lanes: (s0 s1) and (s2 s3) pairs */
    const __m256i lo01 = _mm256_unpacklo_epi8(x[0], x[1]), hi01 = _mm256_unpackhi_epi8(x[0], x[1]);
    const __m256i lo23 = _mm256_unpacklo_epi8(x[2], x[3]), hi23 = _mm256_unpackhi_epi8(x[2], x[3]);
    /* quads: columns 0-3 | 16-19, 4-7 | 20-23, 8-11 | 24-27, 12-15 | 28-31 */
    const __m256i q0 = _mm256_xor_si256(_mm256_unpacklo_epi16(lo01, lo23), bias);
    const __m256i q1 = _mm256_xor_si256(_mm256_unpackhi_epi16(lo01, lo23), bias);
    const __m256i q2 = _mm256_xor_si256(_mm256_unpacklo_epi16(hi01, hi23), bias);
    const __m256i q3 = _mm256_xor_si256(_mm256_unpackhi_epi16(hi01, hi23), bias);
    /* columns 0-15 and 16-31 */
    const __m512i c0 = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_permute2x128_si256(q0, q1, 0x20)),
                                          _mm256_permute2x128_si256(q2, q3, 0x20), 1);
    const __m512i c1 = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_permute2x128_si256(q0, q1, 0x31)),
                                          _mm256_permute2x128_si256(q2, q3, 0x31), 1);
    _mm512_mask_storeu_epi32(d, cols_mask(n), c0);
    if (n > 16) _mm512_mask_storeu_epi32(d + 64, cols_mask(n - 16), c1);
}

/* kernels.h pack_run_u8: every quad of taps of one run of n <= 32 columns */
AVX512 void mxn_pack_run_u8_avx512(const int8_t *in, const size_t *koff, int K, int step, int n, uint8_t *d,
                                   size_t ldd)
{
    const int K4 = (K + 3) / 4;
    int q, i;
    __m256i x[4];
    if (step == 1) {
        const __mmask32 m = mask32(n);
        for (q = 0; q < K / 4; q++) {
            const size_t *ko = koff + 4 * q;
            x[0] = _mm256_maskz_loadu_epi8(m, in + ko[0]);
            x[1] = _mm256_maskz_loadu_epi8(m, in + ko[1]);
            x[2] = _mm256_maskz_loadu_epi8(m, in + ko[2]);
            x[3] = _mm256_maskz_loadu_epi8(m, in + ko[3]);
            store_quads(x, n, d + (size_t)q * ldd);
        }
    } else {
        for (q = 0; q < K / 4; q++) {
            for (i = 0; i < 4; i++) x[i] = load32b_step(in + koff[4 * q + i], step, n);
            store_quads(x, n, d + (size_t)q * ldd);
        }
    }
    for (q = K / 4; q < K4; q++) {
        for (i = 0; i < 4; i++)
            x[i] = 4 * q + i < K ? load32b_step(in + koff[4 * q + i], step, n) : _mm256_setzero_si256();
        store_quads(x, n, d + (size_t)q * ldd);
    }
}

#endif
