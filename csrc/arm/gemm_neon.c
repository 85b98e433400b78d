/* NEON micro-kernels (armv7 and later) of the packed GEMM convolution
 * (kernels.h), chosen at build time.
 *
 * float32: 8 output channels x 4 columns, vmla by lane.
 * int8: vld2 splits a tap pair's 8 channels into the even and odd tap,
 * vmovl widens them to int16, vmlal_lane multiplies by each column's taps
 * into int32 (exact; the sum order is free).  ARMv7 NEON flushes denormals to
 * zero: a full tile with int8 output requantizes in vectors where
 * neon_common.h proves that bit-identical, everything else runs the portable
 * reference epilogue (VFP, IEEE).  (Depthwise: depthwise_neon.c.) */
#include "../kernels.h"

#if defined(__ARM_NEON) || defined(__ARM_NEON__)
#include <arm_neon.h>
#include <string.h>
#include "neon_common.h"

#define MR MXN_GEMM_MR
#define NR 4

void mxn_sgemm_neon(int K, const float *a, const float *b, const mxn_gemm_tile *t)
{
    float32x4_t c0 = vdupq_n_f32(t->bias[0]), c1 = vdupq_n_f32(t->bias[1]);
    float32x4_t c2 = vdupq_n_f32(t->bias[2]), c3 = vdupq_n_f32(t->bias[3]);
    float32x4_t c4 = vdupq_n_f32(t->bias[4]), c5 = vdupq_n_f32(t->bias[5]);
    float32x4_t c6 = vdupq_n_f32(t->bias[6]), c7 = vdupq_n_f32(t->bias[7]);
    float buf[MR * NR];
    int k;
    for (k = 0; k < K; k++) {
        const float32x4_t bv = vld1q_f32(b + (size_t)k * NR);
        const float32x4_t a0 = vld1q_f32(a + (size_t)k * MR), a1 = vld1q_f32(a + (size_t)k * MR + 4);
        c0 = vmlaq_lane_f32(c0, bv, vget_low_f32(a0), 0);
        c1 = vmlaq_lane_f32(c1, bv, vget_low_f32(a0), 1);
        c2 = vmlaq_lane_f32(c2, bv, vget_high_f32(a0), 0);
        c3 = vmlaq_lane_f32(c3, bv, vget_high_f32(a0), 1);
        c4 = vmlaq_lane_f32(c4, bv, vget_low_f32(a1), 0);
        c5 = vmlaq_lane_f32(c5, bv, vget_low_f32(a1), 1);
        c6 = vmlaq_lane_f32(c6, bv, vget_high_f32(a1), 0);
        c7 = vmlaq_lane_f32(c7, bv, vget_high_f32(a1), 1);
    }
    if (t->mr == MR && t->nr == NR && (t->act->type == 0 || t->act->type == 1)) {
        float *o = t->out_f32;
        const size_t ld = t->ldc;
        if (t->act->type == 1) {
            const float32x4_t z = vdupq_n_f32(0.f);
            c0 = vmaxq_f32(c0, z); c1 = vmaxq_f32(c1, z); c2 = vmaxq_f32(c2, z); c3 = vmaxq_f32(c3, z);
            c4 = vmaxq_f32(c4, z); c5 = vmaxq_f32(c5, z); c6 = vmaxq_f32(c6, z); c7 = vmaxq_f32(c7, z);
        }
        vst1q_f32(o, c0);
        vst1q_f32(o + ld, c1);
        vst1q_f32(o + 2 * ld, c2);
        vst1q_f32(o + 3 * ld, c3);
        vst1q_f32(o + 4 * ld, c4);
        vst1q_f32(o + 5 * ld, c5);
        vst1q_f32(o + 6 * ld, c6);
        vst1q_f32(o + 7 * ld, c7);
        return;
    }
    vst1q_f32(buf + 0 * NR, c0);
    vst1q_f32(buf + 1 * NR, c1);
    vst1q_f32(buf + 2 * NR, c2);
    vst1q_f32(buf + 3 * NR, c3);
    vst1q_f32(buf + 4 * NR, c4);
    vst1q_f32(buf + 5 * NR, c5);
    vst1q_f32(buf + 6 * NR, c6);
    vst1q_f32(buf + 7 * NR, c7);
    mxn_gemm_tile_store_f32(t, buf, NR, 1);
}

/* a full int8-output tile whose constants let the vector requantize give
 * the reference's codes (neon_common.h) */
static int requant_tile_exact(const mxn_gemm_tile *t)
{
    int r;
    if (!t->out_i8 || t->mr != MR || t->nr != NR) return 0;
    for (r = 0; r < MR; r++)
        if (!mxn_neon_requant_exact(t->scale_in[r], t->bias[r], t->top_scale, t->fused, t->act)) return 0;
    return 1;
}

void mxn_s8gemm_neon(int K2, const int8_t *a, const int16_t *b, const mxn_gemm_tile *t)
{
    /* cJL: column J, channels 0-3 (L=0) / 4-7 (L=1) */
    int32x4_t c00 = vdupq_n_s32(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
              c31 = c00;
    int32_t buf[NR * MR];
    int kp;
    for (kp = 0; kp < K2; kp++) {
        const int8x8x2_t av = vld2_s8(a + (size_t)kp * MR * 2);
        const int16x8_t e = vmovl_s8(av.val[0]), o = vmovl_s8(av.val[1]); /* taps 2kp, 2kp+1 */
        const int16x8_t bv = vld1q_s16(b + (size_t)kp * NR * 2);
        const int16x4_t b01 = vget_low_s16(bv), b23 = vget_high_s16(bv);
        const int16x4_t el = vget_low_s16(e), eh = vget_high_s16(e), ol = vget_low_s16(o), oh = vget_high_s16(o);
        c00 = vmlal_lane_s16(c00, el, b01, 0);
        c01 = vmlal_lane_s16(c01, eh, b01, 0);
        c00 = vmlal_lane_s16(c00, ol, b01, 1);
        c01 = vmlal_lane_s16(c01, oh, b01, 1);
        c10 = vmlal_lane_s16(c10, el, b01, 2);
        c11 = vmlal_lane_s16(c11, eh, b01, 2);
        c10 = vmlal_lane_s16(c10, ol, b01, 3);
        c11 = vmlal_lane_s16(c11, oh, b01, 3);
        c20 = vmlal_lane_s16(c20, el, b23, 0);
        c21 = vmlal_lane_s16(c21, eh, b23, 0);
        c20 = vmlal_lane_s16(c20, ol, b23, 1);
        c21 = vmlal_lane_s16(c21, oh, b23, 1);
        c30 = vmlal_lane_s16(c30, el, b23, 2);
        c31 = vmlal_lane_s16(c31, eh, b23, 2);
        c30 = vmlal_lane_s16(c30, ol, b23, 3);
        c31 = vmlal_lane_s16(c31, oh, b23, 3);
    }
    if (requant_tile_exact(t)) {
        /* int8 output of a full tile: the vector requantize (neon_common.h),
         * lanes = channels; codes[j][r] = column j of channel r */
        const float32x4_t s0 = vld1q_f32(t->scale_in), s1 = vld1q_f32(t->scale_in + 4);
        const float32x4_t b0 = vld1q_f32(t->bias), b1 = vld1q_f32(t->bias + 4), top = vdupq_n_f32(t->top_scale);
        int8_t codes[NR][MR];
        int r, j;
#define MXN_REQUANT_COLUMN(J, LO, HI)                                                                        \
    vst1_s8(codes[J], vqmovn_s16(vcombine_s16(vqmovn_s32(mxn_neon_requant4(LO, s0, b0, top, t->fused, t->act)), \
                                              vqmovn_s32(mxn_neon_requant4(HI, s1, b1, top, t->fused, t->act)))))
        MXN_REQUANT_COLUMN(0, c00, c01);
        MXN_REQUANT_COLUMN(1, c10, c11);
        MXN_REQUANT_COLUMN(2, c20, c21);
        MXN_REQUANT_COLUMN(3, c30, c31);
#undef MXN_REQUANT_COLUMN
        for (r = 0; r < MR; r++)
            for (j = 0; j < NR; j++) t->out_i8[(size_t)r * t->ldc + j] = codes[j][r];
        return;
    }
    vst1q_s32(buf + 0, c00);
    vst1q_s32(buf + 4, c01);
    vst1q_s32(buf + 8, c10);
    vst1q_s32(buf + 12, c11);
    vst1q_s32(buf + 16, c20);
    vst1q_s32(buf + 20, c21);
    vst1q_s32(buf + 24, c30);
    vst1q_s32(buf + 28, c31);
    mxn_gemm_tile_store_s32(t, buf, 1, MR);
}

/* kernels.h pack_run_f32: a full run of 4 consecutive pixels by one vector
 * copy per tap, anything else element by element */
void mxn_pack_run_f32_neon(const float *in, const size_t *koff, int K, int step, int n, float *d, size_t ldd)
{
    int k, j;
    if (step == 1 && n == NR) {
        for (k = 0; k < K; k++) vst1q_f32(d + (size_t)k * ldd, vld1q_f32(in + koff[k]));
        return;
    }
    for (k = 0; k < K; k++)
        for (j = 0; j < n; j++) d[(size_t)k * ldd + j] = in[koff[k] + (size_t)j * step];
}

void mxn_pack_pairs_neon(const int8_t *s0, const int8_t *s1, int16_t *d)
{
    /* 4 pixels: bytes s0[0] s1[0] s0[1] s1[1] ... widened */
    int32_t v0, v1;
    int8x8_t a, b;
    memcpy(&v0, s0, 4);
    memcpy(&v1, s1, 4);
    a = vreinterpret_s8_s32(vdup_n_s32(v0));
    b = vreinterpret_s8_s32(vdup_n_s32(v1));
    vst1q_s16(d, vmovl_s8(vzip_s8(a, b).val[0]));
}

#endif
