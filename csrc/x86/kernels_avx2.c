/* AVX2 + FMA kernels (kernels.h): the packed-GEMM convolution micro-kernels,
 * the depthwise row kernels and the input quantization.  Compiled for every
 * x86 build with per-function target attributes and only called when cpuid
 * reports AVX2 and FMA (kernel_select.c), so one library runs on any x86-64.
 * The AVX-512 VNNI int8 GEMM kernel is here too (its own target attribute).
 *
 * float32: 8 output channels x 8 columns, one ymm per channel row, FMA.
 * int8: vpmaddwd on sign-extended int16 - the 8 channels of a tap pair in
 * one register, each column's tap pair broadcast; 8 x 8 int32 accumulators
 * (one per column).  The epilogue is mxn_conv_dequant_ref's formula in
 * vector form: vfmadd gives fmaf's single rounding, the rest are the same
 * IEEE operations in the same order, so the int8 results are bit-identical. */
#include "../kernels.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#include <string.h>

#define MR MXN_GEMM_MR
#define NR 8
#define AVX2 __attribute__((target("avx2,fma")))

/* the activation for types 0..3 (operand order as mxn_activation_apply's
 * comparisons: NaN and -0 come out the same) */
static AVX2 __m256 act_avx2(const mxn_activation *a, __m256 v)
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

static AVX2 __m256i bcast_pair(const int16_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof(v));
    return _mm256_set1_epi32(v);
}

/* 8x8 transpose of 32-bit lanes: in[j] holds column j's 8 channels; out[r]
 * gets channel r's 8 columns */
static AVX2 void transpose8(__m256 *m)
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
static AVX2 __m256i float2int8_avx2(__m256 x)
{
    x = _mm256_add_ps(x, _mm256_or_ps(_mm256_and_ps(x, _mm256_set1_ps(-0.f)), _mm256_set1_ps(0.5f)));
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-127.f)), _mm256_set1_ps(127.f));
    return _mm256_cvttps_epi32(x);
}

AVX2 void mxn_quantize_avx2(const float *in, size_t n, float scale, int8_t *out)
{
    const __m256 s = _mm256_set1_ps(scale);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i a = float2int8_avx2(_mm256_mul_ps(_mm256_loadu_ps(in + i), s));
        __m256i b = float2int8_avx2(_mm256_mul_ps(_mm256_loadu_ps(in + i + 8), s));
        /* packs works within 128-bit lanes: a0 b0 a1 b1 -> reorder */
        __m256i w = _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8);
        __m128i q = _mm_packs_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
        _mm_storeu_si128((__m128i *)(out + i), q);
    }
    for (; i < n; i++) out[i] = mxn_float2int8(in[i] * scale);
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

/* AVX-512 VNNI (with VL, on 256-bit registers): vpdpwssd is vpmaddwd and the
 * add in one instruction - the same exact int32 sums. */
#define VNNI __attribute__((target("avx2,fma,avx512f,avx512vl,avx512vnni")))

VNNI void mxn_s8gemm_avx512vnni(int K2, const int8_t *a, const int16_t *b, const mxn_gemm_tile *t)
{
    MXN_S8GEMM_BODY(_mm256_dpwssd_epi32)
}

AVX2 void mxn_pack_pairs_avx2(const int8_t *s0, const int8_t *s1, int16_t *d)
{
    const __m128i x = _mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)s0), _mm_loadl_epi64((const __m128i *)s1));
    _mm256_storeu_si256((__m256i *)d, _mm256_cvtepi8_epi16(x));
}

/* ---- depthwise rows ---- */

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

/* ---- fully connected ---- */

static AVX2 float hsum8(__m256 v)
{
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 1));
    return _mm_cvtss_f32(x);
}

static AVX2 int32_t hsum8i(__m256i v)
{
    __m128i x = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0x4E));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0xB1));
    return _mm_cvtsi128_si32(x);
}

/* four output rows at a time share each load of the input */
AVX2 void mxn_fc_f32_avx2(int num_input, int num_output, const float *in, const float *weight, const float *bias,
                          float *out)
{
    int p = 0, i;
    for (; p + 4 <= num_output; p += 4) {
        const float *w0 = weight + (size_t)p * num_input, *w1 = w0 + num_input, *w2 = w1 + num_input,
                    *w3 = w2 + num_input;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        float s0, s1, s2, s3;
        for (i = 0; i + 8 <= num_input; i += 8) {
            const __m256 x = _mm256_loadu_ps(in + i);
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + i), x, a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + i), x, a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + i), x, a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + i), x, a3);
        }
        s0 = hsum8(a0);
        s1 = hsum8(a1);
        s2 = hsum8(a2);
        s3 = hsum8(a3);
        for (; i < num_input; i++) {
            s0 = fmaf(w0[i], in[i], s0);
            s1 = fmaf(w1[i], in[i], s1);
            s2 = fmaf(w2[i], in[i], s2);
            s3 = fmaf(w3[i], in[i], s3);
        }
        out[p] = (bias ? bias[p] : 0.f) + s0;
        out[p + 1] = (bias ? bias[p + 1] : 0.f) + s1;
        out[p + 2] = (bias ? bias[p + 2] : 0.f) + s2;
        out[p + 3] = (bias ? bias[p + 3] : 0.f) + s3;
    }
    for (; p < num_output; p++) {
        const float *w = weight + (size_t)p * num_input;
        __m256 a = _mm256_setzero_ps();
        float sum;
        for (i = 0; i + 8 <= num_input; i += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(in + i), a);
        sum = hsum8(a);
        for (; i < num_input; i++) sum = fmaf(w[i], in[i], sum);
        out[p] = (bias ? bias[p] : 0.f) + sum;
    }
}

/* exact int32 sums: 16 products per step through vpmaddwd */
AVX2 void mxn_fc_s8_avx2(int num_input, int num_output, const int8_t *in, const int8_t *weight, int32_t *acc)
{
    int p, i;
    for (p = 0; p < num_output; p++) {
        const int8_t *w = weight + (size_t)p * num_input;
        __m256i a = _mm256_setzero_si256();
        int32_t sum;
        for (i = 0; i + 16 <= num_input; i += 16) {
            const __m256i x = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(in + i)));
            const __m256i y = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + i)));
            a = _mm256_add_epi32(a, _mm256_madd_epi16(x, y));
        }
        sum = hsum8i(a);
        for (; i < num_input; i++) sum += (int32_t)w[i] * (int32_t)in[i];
        acc[p] = sum;
    }
}

#endif
