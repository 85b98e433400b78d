/* Winograd F(4,3) kernels (kernels.h, conv_winograd.h) for NEON (armv7 and
 * later).  The output transform is the portable one (its arithmetic
 * vectorises over the 8 output channels by itself).
 *
 * GEMM: 8 output channels in two registers x 4 tiles, vmla by lane, the
 * input channels summed in chunks and groups (kernels.h).
 * Input transform: vld4 de-interleaves a row's stride-4 columns, 4 tiles per
 * register, two halves of 4 tiles. */
#include "../kernels.h"

#if defined(__ARM_NEON) || defined(__ARM_NEON__)
#include <arm_neon.h>

#define OB 8

/* one chunk k = kc..ke-1 of 8 channels x 4 tiles into c[tile][half] */
static void wgemm_neon_chunk(int kc, int ke, const float *ub, const float *v, size_t v_ks, float32x4_t c[4][2])
{
    float32x4_t c00 = vdupq_n_f32(0.f), c01 = c00, c10 = c00, c11 = c00;
    float32x4_t c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    int k;
    for (k = kc; k < ke; k++) {
        /* v's row has slack past nt (conv_winograd.c), so 4 loads are in bounds */
        const float32x4_t x = vld1q_f32(v + (size_t)k * v_ks);
        const float32x4_t u0 = vld1q_f32(ub + (size_t)k * OB), u1 = vld1q_f32(ub + (size_t)k * OB + 4);
        const float32x2_t xl = vget_low_f32(x), xh = vget_high_f32(x);
        c00 = vmlaq_lane_f32(c00, u0, xl, 0);
        c01 = vmlaq_lane_f32(c01, u1, xl, 0);
        c10 = vmlaq_lane_f32(c10, u0, xl, 1);
        c11 = vmlaq_lane_f32(c11, u1, xl, 1);
        c20 = vmlaq_lane_f32(c20, u0, xh, 0);
        c21 = vmlaq_lane_f32(c21, u1, xh, 0);
        c30 = vmlaq_lane_f32(c30, u0, xh, 1);
        c31 = vmlaq_lane_f32(c31, u1, xh, 1);
    }
    c[0][0] = c00; c[0][1] = c01; c[1][0] = c10; c[1][1] = c11;
    c[2][0] = c20; c[2][1] = c21; c[3][0] = c30; c[3][1] = c31;
}

void mxn_wino_gemm_neon(int K, int nb, int nt, const float *u, size_t u_bs, const float *v, size_t v_ks, float *m,
                        size_t m_ts, size_t m_bs)
{
    int b, t, j, h, k0, kc;
    for (b = 0; b < nb; b++) {
        const float *ub = u + (size_t)b * u_bs;
        for (t = 0; t < nt; t += 4) {
            const int ntt = nt - t < 4 ? nt - t : 4;
            float32x4_t c[4][2], mid[4][2], tot[4][2];
            for (j = 0; j < 4; j++) tot[j][0] = tot[j][1] = vdupq_n_f32(0.f);
            for (k0 = 0; k0 < K; k0 += WINO_SUM_GROUP) {
                const int k1 = K - k0 < WINO_SUM_GROUP ? K : k0 + WINO_SUM_GROUP;
                for (j = 0; j < 4; j++) mid[j][0] = mid[j][1] = vdupq_n_f32(0.f);
                for (kc = k0; kc < k1; kc += WINO_SUM_CHUNK) {
                    wgemm_neon_chunk(kc, k1 - kc < WINO_SUM_CHUNK ? k1 : kc + WINO_SUM_CHUNK, ub, v + t, v_ks, c);
                    for (j = 0; j < 4; j++)
                        for (h = 0; h < 2; h++) mid[j][h] = vaddq_f32(mid[j][h], c[j][h]);
                }
                for (j = 0; j < 4; j++)
                    for (h = 0; h < 2; h++) tot[j][h] = vaddq_f32(tot[j][h], mid[j][h]);
            }
            for (j = 0; j < ntt; j++) {
                float *o = m + (size_t)b * m_bs + (size_t)(t + j) * m_ts;
                vst1q_f32(o, tot[j][0]);
                vst1q_f32(o + 4, tot[j][1]);
            }
        }
    }
}

/* one row of B^T (conv_winograd.c's BT_ROW) */
static void bt_row(const float32x4_t *d, float32x4_t *o)
{
    const float32x4_t d42 = vsubq_f32(d[4], d[2]), d31 = vsubq_f32(d[3], d[1]);
    o[0] = vaddq_f32(vaddq_f32(vsubq_f32(d[0], vmulq_n_f32(d[2], 2.f)), d[4]), vmulq_n_f32(d31, 1.5f));
    o[1] = vaddq_f32(vaddq_f32(vsubq_f32(d[4], d[1]), vmulq_n_f32(d[2], 0.5f)), vmulq_n_f32(d[3], 2.5f));
    o[2] = vaddq_f32(vsubq_f32(vaddq_f32(d[4], d[1]), vmulq_n_f32(d[2], 2.5f)), vmulq_n_f32(d[3], 0.5f));
    o[3] = vaddq_f32(d42, vmulq_n_f32(d31, 2.f));
    o[4] = vsubq_f32(d42, vmulq_n_f32(d31, 0.5f));
    o[5] = vaddq_f32(vaddq_f32(vsubq_f32(d[1], vmulq_n_f32(d[3], 2.f)), d[5]), vmulq_n_f32(d42, 1.5f));
}

void mxn_wino_in_neon(const float *src, int src_w, float *v, size_t v_ps)
{
    int half, r, j, i;
    for (half = 0; half < 2; half++) {
        float32x4_t h[6][6];
        for (r = 0; r < 6; r++) {
            const float *row = src + (size_t)r * src_w + 16 * half;
            const float32x4x4_t a = vld4q_f32(row), b = vld4q_f32(row + 4);
            float32x4_t d[6];
            d[0] = a.val[0];
            d[1] = a.val[1];
            d[2] = a.val[2];
            d[3] = a.val[3];
            d[4] = b.val[0];
            d[5] = b.val[1];
            bt_row(d, h[r]);
        }
        for (j = 0; j < 6; j++) {
            float32x4_t d[6], o[6];
            for (r = 0; r < 6; r++) d[r] = h[r][j];
            bt_row(d, o);
            for (i = 0; i < 6; i++) vst1q_f32(v + (size_t)(i * 6 + j) * v_ps + 4 * half, o[i]);
        }
    }
}

#endif
