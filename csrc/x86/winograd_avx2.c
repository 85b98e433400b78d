/* Winograd kernels (kernels.h, conv_winograd.h) for AVX2 + FMA: the batched
 * GEMM (F(4,3) and F(2,3)) and F(4,3)'s transforms; and the SSE2 GEMM.
 *
 * GEMM: 8 output channels in a register, each tile's transformed input
 * broadcast; register blocks of up to 3 channel blocks x 4 tiles (12
 * accumulators).  Every element is summed in the same order whatever the
 * blocking: FMA over chunks of WINO_SUM_CHUNK input channels, the chunks
 * added in groups of WINO_SUM_GROUP, the groups added (kernels.h).
 * Input transform: 8 tiles in the lanes; the stride-4 columns of a row come
 * from a 4x4 in-lane transpose of four half-loaded registers.
 * Output transform: 8 output channels in the lanes, transposed to rows of 4
 * pixels per channel for the stores; bias and activation fused. */
#include "avx2_common.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))

#define OB 8

#define ALWAYS_INLINE __attribute__((always_inline))

static inline ALWAYS_INLINE AVX2 void wgemm_blk(int K, const int NB, const int NT, const float *u, size_t u_bs,
                                                 const float *v, size_t v_ks, float *m, size_t m_ts, size_t m_bs,
                                                 const float *pf, size_t pf_step, int pf_n)
{
    __m256 acc[3][4], mid[3][4], tot[3][4];
    int b, t, k, k0, kc;
    for (b = 0; b < NB; b++)
        for (t = 0; t < NT; t++) tot[b][t] = _mm256_setzero_ps();
    for (k0 = 0; k0 < K; k0 += WINO_SUM_GROUP) {
        const int k1 = K - k0 < WINO_SUM_GROUP ? K : k0 + WINO_SUM_GROUP;
        for (b = 0; b < NB; b++)
            for (t = 0; t < NT; t++) mid[b][t] = _mm256_setzero_ps();
        for (kc = k0; kc < k1; kc += WINO_SUM_CHUNK) {
            const int ke = k1 - kc < WINO_SUM_CHUNK ? k1 : kc + WINO_SUM_CHUNK;
            for (b = 0; b < NB; b++)
                for (t = 0; t < NT; t++) acc[b][t] = _mm256_setzero_ps();
            for (k = kc; k < ke; k++) {
                __m256 ub[3];
                const float *vk = v + (size_t)k * v_ks;
                for (b = 0; b < NB; b++) ub[b] = _mm256_loadu_ps(u + (size_t)b * u_bs + (size_t)k * OB);
                for (b = 0; b < pf_n; b++)
                    _mm_prefetch((const char *)(pf + (size_t)b * pf_step + (size_t)k * OB), _MM_HINT_T1);
                for (t = 0; t < NT; t++) {
                    const __m256 x = _mm256_broadcast_ss(vk + t);
                    for (b = 0; b < NB; b++) acc[b][t] = _mm256_fmadd_ps(ub[b], x, acc[b][t]);
                }
            }
            for (b = 0; b < NB; b++)
                for (t = 0; t < NT; t++) mid[b][t] = _mm256_add_ps(mid[b][t], acc[b][t]);
        }
        for (b = 0; b < NB; b++)
            for (t = 0; t < NT; t++) tot[b][t] = _mm256_add_ps(tot[b][t], mid[b][t]);
    }
    for (b = 0; b < NB; b++)
        for (t = 0; t < NT; t++) _mm256_storeu_ps(m + (size_t)b * m_bs + (size_t)t * m_ts, tot[b][t]);
}

AVX2 void mxn_wino_gemm_avx2(int K, int nb, int nt, const float *u, size_t u_bs, const float *v, size_t v_ks,
                             float *m, size_t m_ts, size_t m_bs)
{
    const int ntg = (nt + 3) / 4;
    int b, t;
    for (b = 0; b < nb; b += 3) {
        const int nbb = nb - b < 3 ? nb - b : 3;
        /* the next channel group's U (48 KB for 512 input channels) is
         * fetched into L2 while this group computes: t-group tg takes the
         * next group's blocks tg, tg + ntg, ... */
        const int nb_next = nb - b - 3 < 0 ? 0 : (nb - b - 3 < 3 ? nb - b - 3 : 3);
        const float *ub = u + (size_t)b * u_bs;
        float *mb = m + (size_t)b * m_bs;
        for (t = 0; t < nt; t += 4) {
            const int ntt = nt - t < 4 ? nt - t : 4, tg = t / 4;
            const int pf_n = nb_next > tg ? (nb_next - tg + ntg - 1) / ntg : 0;
            const float *pf = pf_n ? u + (size_t)(b + 3 + tg) * u_bs : u;
            const float *vt = v + t;
            float *mt = mb + (size_t)t * m_ts;
#define WG(NB_, NT_) wgemm_blk(K, NB_, NT_, ub, u_bs, vt, v_ks, mt, m_ts, m_bs, pf, (size_t)ntg * u_bs, pf_n)
            switch (nbb * 4 + ntt) {
            case 3 * 4 + 4: WG(3, 4); break;
            case 3 * 4 + 3: WG(3, 3); break;
            case 3 * 4 + 2: WG(3, 2); break;
            case 3 * 4 + 1: WG(3, 1); break;
            case 2 * 4 + 4: WG(2, 4); break;
            case 2 * 4 + 3: WG(2, 3); break;
            case 2 * 4 + 2: WG(2, 2); break;
            case 2 * 4 + 1: WG(2, 1); break;
            case 1 * 4 + 4: WG(1, 4); break;
            case 1 * 4 + 3: WG(1, 3); break;
            case 1 * 4 + 2: WG(1, 2); break;
            default: WG(1, 1); break;
            }
#undef WG
        }
    }
}

/* the 4 x 4 floats at lo (lanes 0..3) and hi (lanes 4..7) */
static inline AVX2 __m256 load2(const float *lo, const float *hi)
{
    return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(lo)), _mm_loadu_ps(hi), 1);
}

/* one row of B^T: d[0..5] -> o[0..5] (conv_winograd.c's BT_ROW) */
#define BT_ROW(d, o)                                                                                         \
    do {                                                                                                     \
        const __m256 h_ = _mm256_set1_ps(0.5f), h3_ = _mm256_set1_ps(1.5f), f2_ = _mm256_set1_ps(2.f);      \
        const __m256 f5_ = _mm256_set1_ps(2.5f);                                                             \
        const __m256 d42_ = _mm256_sub_ps(d[4], d[2]), d31_ = _mm256_sub_ps(d[3], d[1]);                     \
        o[0] = _mm256_add_ps(_mm256_add_ps(_mm256_sub_ps(d[0], _mm256_mul_ps(f2_, d[2])), d[4]),             \
                             _mm256_mul_ps(h3_, d31_));                                                      \
        o[1] = _mm256_add_ps(_mm256_add_ps(_mm256_sub_ps(d[4], d[1]), _mm256_mul_ps(h_, d[2])),              \
                             _mm256_mul_ps(f5_, d[3]));                                                      \
        o[2] = _mm256_add_ps(_mm256_sub_ps(_mm256_add_ps(d[4], d[1]), _mm256_mul_ps(f5_, d[2])),             \
                             _mm256_mul_ps(h_, d[3]));                                                       \
        o[3] = _mm256_add_ps(d42_, _mm256_mul_ps(f2_, d31_));                                                \
        o[4] = _mm256_sub_ps(d42_, _mm256_mul_ps(h_, d31_));                                                 \
        o[5] = _mm256_add_ps(_mm256_add_ps(_mm256_sub_ps(d[1], _mm256_mul_ps(f2_, d[3])), d[5]),             \
                             _mm256_mul_ps(h3_, d42_));                                                      \
    } while (0)

AVX2 void mxn_wino_in_avx2(const float *src, int src_w, float *v, size_t v_ps)
{
    __m256 h[6][6];
    int r, j, i;
    for (r = 0; r < 6; r++) {
        const float *row = src + (size_t)r * src_w;
        /* a[k]: tile k's 4 columns in lanes 0..3, tile k+4's in lanes 4..7 */
        const __m256 a0 = load2(row, row + 16), a1 = load2(row + 4, row + 20);
        const __m256 a2 = load2(row + 8, row + 24), a3 = load2(row + 12, row + 28);
        const __m256 a4 = load2(row + 16, row + 32);
        const __m256 t0 = _mm256_unpacklo_ps(a0, a1), t1 = _mm256_unpackhi_ps(a0, a1);
        const __m256 t2 = _mm256_unpacklo_ps(a2, a3), t3 = _mm256_unpackhi_ps(a2, a3);
        const __m256 s0 = _mm256_unpacklo_ps(a1, a2), s2 = _mm256_unpacklo_ps(a3, a4);
        __m256 d[6];
        d[0] = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
        d[1] = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
        d[2] = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
        d[3] = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
        d[4] = _mm256_shuffle_ps(s0, s2, _MM_SHUFFLE(1, 0, 1, 0));
        d[5] = _mm256_shuffle_ps(s0, s2, _MM_SHUFFLE(3, 2, 3, 2));
        BT_ROW(d, h[r]);
    }
    for (j = 0; j < 6; j++) {
        __m256 d[6], o[6];
        for (r = 0; r < 6; r++) d[r] = h[r][j];
        BT_ROW(d, o);
        for (i = 0; i < 6; i++) _mm256_storeu_ps(v + (size_t)(i * 6 + j) * v_ps, o[i]);
    }
}

/* one column of A^T: m[0..5] -> o[0..3] (conv_winograd.c's AT_COL) */
#define AT_COL(m, o)                                                                                       \
    do {                                                                                                   \
        const __m256 s12 = _mm256_add_ps(m[1], m[2]), d12 = _mm256_sub_ps(m[1], m[2]);                     \
        o[0] = _mm256_add_ps(_mm256_add_ps(m[0], s12), _mm256_add_ps(m[3], m[4]));                         \
        o[1] = _mm256_add_ps(d12, _mm256_sub_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), m[3]),                 \
                                                _mm256_mul_ps(_mm256_set1_ps(2.f), m[4])));                \
        o[2] = _mm256_add_ps(s12, _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(0.25f), m[3]),                \
                                                _mm256_mul_ps(_mm256_set1_ps(4.f), m[4])));                \
        o[3] = _mm256_add_ps(_mm256_add_ps(d12, _mm256_sub_ps(_mm256_mul_ps(_mm256_set1_ps(0.125f), m[3]), \
                                                              _mm256_mul_ps(_mm256_set1_ps(8.f), m[4]))),  \
                             m[5]);                                                                        \
    } while (0)

AVX2 void mxn_wino_out_avx2(const float *m, const float *bias, const mxn_activation *act, float *out, size_t ldc,
                            int out_w, int rows, int cols, int noc)
{
    __m256 t[6][4], y[4][4];
    const __m256 bv = _mm256_loadu_ps(bias);
    int r, i, j, l;
    for (r = 0; r < 6; r++) {
        __m256 mm[6];
        for (j = 0; j < 6; j++) mm[j] = _mm256_loadu_ps(m + (size_t)(r * 6 + j) * OB);
        AT_COL(mm, t[r]);
    }
    for (j = 0; j < 4; j++) {
        __m256 mm[6], o[4];
        for (r = 0; r < 6; r++) mm[r] = t[r][j];
        AT_COL(mm, o);
        for (i = 0; i < 4; i++) y[i][j] = _mm256_add_ps(bv, o[i]);
    }
    if (rows == 4 && cols == 4 && noc == OB && act->type <= 3) {
        for (i = 0; i < 4; i++) {
            const __m256 x0 = act_avx2(act, y[i][0]), x1 = act_avx2(act, y[i][1]);
            const __m256 x2 = act_avx2(act, y[i][2]), x3 = act_avx2(act, y[i][3]);
            const __m256 t0 = _mm256_unpacklo_ps(x0, x1), t1 = _mm256_unpackhi_ps(x0, x1);
            const __m256 t2 = _mm256_unpacklo_ps(x2, x3), t3 = _mm256_unpackhi_ps(x2, x3);
            const __m256 r0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
            const __m256 r1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
            const __m256 r2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
            const __m256 r3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
            float *o = out + (size_t)i * out_w;
            _mm_storeu_ps(o, _mm256_castps256_ps128(r0));
            _mm_storeu_ps(o + ldc, _mm256_castps256_ps128(r1));
            _mm_storeu_ps(o + 2 * ldc, _mm256_castps256_ps128(r2));
            _mm_storeu_ps(o + 3 * ldc, _mm256_castps256_ps128(r3));
            _mm_storeu_ps(o + 4 * ldc, _mm256_extractf128_ps(r0, 1));
            _mm_storeu_ps(o + 5 * ldc, _mm256_extractf128_ps(r1, 1));
            _mm_storeu_ps(o + 6 * ldc, _mm256_extractf128_ps(r2, 1));
            _mm_storeu_ps(o + 7 * ldc, _mm256_extractf128_ps(r3, 1));
        }
        return;
    }
    {
        float buf[4][4][OB];
        for (i = 0; i < 4; i++)
            for (j = 0; j < 4; j++) _mm256_storeu_ps(buf[i][j], y[i][j]);
        for (l = 0; l < noc; l++)
            for (i = 0; i < rows; i++) {
                float *o = out + (size_t)l * ldc + (size_t)i * out_w;
                for (j = 0; j < cols; j++) o[j] = act->type ? mxn_activation_apply(act, buf[i][j][l]) : buf[i][j][l];
            }
    }
}

/* SSE2: one channel block (two registers) x up to 4 tiles, multiply + add */
static void sgemm_sse2_chunk(int kc, int ke, const float *ub, const float *v, size_t v_ks, int t, __m128 c[4][2])
{
    int k, j;
    for (j = 0; j < 4; j++) c[j][0] = c[j][1] = _mm_setzero_ps();
    for (k = kc; k < ke; k++) {
        const __m128 u0 = _mm_loadu_ps(ub + (size_t)k * OB), u1 = _mm_loadu_ps(ub + (size_t)k * OB + 4);
        const float *vk = v + (size_t)k * v_ks + t; /* v's rows have slack past nt */
        for (j = 0; j < 4; j++) {
            const __m128 x = _mm_set1_ps(vk[j]);
            c[j][0] = _mm_add_ps(c[j][0], _mm_mul_ps(u0, x));
            c[j][1] = _mm_add_ps(c[j][1], _mm_mul_ps(u1, x));
        }
    }
}

void mxn_wino_gemm_sse2(int K, int nb, int nt, const float *u, size_t u_bs, const float *v, size_t v_ks, float *m,
                        size_t m_ts, size_t m_bs)
{
    int b, t, j, h, k0, kc;
    for (b = 0; b < nb; b++) {
        const float *ub = u + (size_t)b * u_bs;
        for (t = 0; t < nt; t += 4) {
            const int ntt = nt - t < 4 ? nt - t : 4;
            __m128 c[4][2], mid[4][2], tot[4][2];
            for (j = 0; j < 4; j++) tot[j][0] = tot[j][1] = _mm_setzero_ps();
            for (k0 = 0; k0 < K; k0 += WINO_SUM_GROUP) {
                const int k1 = K - k0 < WINO_SUM_GROUP ? K : k0 + WINO_SUM_GROUP;
                for (j = 0; j < 4; j++) mid[j][0] = mid[j][1] = _mm_setzero_ps();
                for (kc = k0; kc < k1; kc += WINO_SUM_CHUNK) {
                    sgemm_sse2_chunk(kc, k1 - kc < WINO_SUM_CHUNK ? k1 : kc + WINO_SUM_CHUNK, ub, v, v_ks, t, c);
                    for (j = 0; j < 4; j++)
                        for (h = 0; h < 2; h++) mid[j][h] = _mm_add_ps(mid[j][h], c[j][h]);
                }
                for (j = 0; j < 4; j++)
                    for (h = 0; h < 2; h++) tot[j][h] = _mm_add_ps(tot[j][h], mid[j][h]);
            }
            for (j = 0; j < ntt; j++) {
                float *o = m + (size_t)b * m_bs + (size_t)(t + j) * m_ts;
                _mm_storeu_ps(o, tot[j][0]);
                _mm_storeu_ps(o + 4, tot[j][1]);
            }
        }
    }
}

#endif
