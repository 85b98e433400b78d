/* NEON depthwise convolution (armv7 and later), one channel plane per call
 * (kernels.h mxn_dw_plane), tested against the reference under qemu-arm
 * (tests/test_arm.py).  Stride 1 runs over the flattened plane (16 positions
 * a step), stride 2 row by row with vld2 splitting even and odd columns (8
 * outputs a step).  float32: vmla; int8: vmovl + vmlal_n into exact int32
 * sums, then the requantize epilogue in vector form where neon_common.h
 * proves it bit-identical (int8 output), else the scalar reference. */
#include "../kernels.h"

#if defined(__ARM_NEON) || defined(__ARM_NEON__)
#include <arm_neon.h>
#include <string.h>
#include "neon_common.h"

#define INLINE static inline __attribute__((always_inline))

/* ---- float32 ---------------------------------------------------------- */

/* 4 sums: the activation (fp32 needs 1e-5, not bits: NEON's flushing is
 * fine) and the store of m <= 4 at position (y, x) */
INLINE void put_f32(const mxn_dw_plane *p, float32x4_t a, int m, int y, int x, int pitch)
{
    float buf[12];
    if (p->act->type <= 3) {
        a = mxn_neon_act(p->act, a);
        if (m == 4 && x + 4 <= p->out_w) {
            vst1q_f32(p->out_f32 + (size_t)y * p->out_w + x, a);
            return;
        }
        vst1q_f32(buf, a);
        mxn_dw_store(p, buf, sizeof(float), m, y, x, pitch);
        return;
    }
    vst1q_f32(buf, a);
    mxn_dw_finish_f32(p, buf, m, y, x, pitch);
}

INLINE void dw_f32_s1(const mxn_dw_plane *p, const int KW, const int KH)
{
    const float *in = (const float *)p->in, *w = (const float *)p->w;
    const int pitch = p->pitch, L = (p->out_h - 1) * pitch + p->out_w;
    int j, y = 0, x = 0, ky, kx, v;
    for (j = 0; j < L; j += 16) {
        float32x4_t a[4];
        a[0] = a[1] = a[2] = a[3] = vdupq_n_f32(p->bias);
        for (ky = 0; ky < KH; ky++) {
            const float *r = in + (size_t)ky * pitch + j;
            for (kx = 0; kx < KW; kx++) {
                const float wt = w[ky * KW + kx];
                a[0] = vmlaq_n_f32(a[0], vld1q_f32(r + kx), wt);
                a[1] = vmlaq_n_f32(a[1], vld1q_f32(r + kx + 4), wt);
                a[2] = vmlaq_n_f32(a[2], vld1q_f32(r + kx + 8), wt);
                a[3] = vmlaq_n_f32(a[3], vld1q_f32(r + kx + 12), wt);
            }
        }
        for (v = 0; v < 4 && j + 4 * v < L; v++) {
            put_f32(p, a[v], L - j - 4 * v < 4 ? L - j - 4 * v : 4, y, x, pitch);
            mxn_dw_step(&y, &x, 4, pitch);
        }
    }
}

INLINE void dw_f32_s2(const mxn_dw_plane *p, const int KW, const int KH)
{
    const float *in = (const float *)p->in, *w = (const float *)p->w;
    const int pitch = p->pitch, ow = p->out_w;
    int y, x0, ky, kx;
    for (y = 0; y < p->out_h; y++) {
        for (x0 = 0; x0 < ow; x0 += 8) {
            float32x4_t a0 = vdupq_n_f32(p->bias), a1 = a0;
            for (ky = 0; ky < KH; ky++) {
                const float *r = in + (size_t)(2 * y + ky) * pitch + 2 * x0;
                for (kx = 0; kx < KW; kx += 2) {
                    const float32x4x2_t l0 = vld2q_f32(r + kx), l1 = vld2q_f32(r + kx + 8);
                    const float w0 = w[ky * KW + kx];
                    a0 = vmlaq_n_f32(a0, l0.val[0], w0);
                    a1 = vmlaq_n_f32(a1, l1.val[0], w0);
                    if (kx + 1 < KW) {
                        const float w1 = w[ky * KW + kx + 1];
                        a0 = vmlaq_n_f32(a0, l0.val[1], w1);
                        a1 = vmlaq_n_f32(a1, l1.val[1], w1);
                    }
                }
            }
            put_f32(p, a0, ow - x0 < 4 ? ow - x0 : 4, y, x0, ow);
            if (x0 + 4 < ow) put_f32(p, a1, ow - x0 - 4 < 4 ? ow - x0 - 4 : 4, y, x0 + 4, ow);
        }
    }
}

void mxn_dw_f32_neon(const mxn_dw_plane *p)
{
    MXN_DW_DISPATCH(p, dw_f32_s1, dw_f32_s2);
}

/* ---- int8 ------------------------------------------------------------- */

/* 8 int32 sums: the vector requantize when it is exact (vec), else the
 * scalar reference; the store of m <= 8 */
INLINE void put_s32(const mxn_dw_plane *p, int32x4_t a0, int32x4_t a1, int m, int y, int x, int pitch, int vec)
{
    if (vec) {
        const int8x8_t q = mxn_neon_requant8(a0, a1, p->scale_in, p->bias, p->top_scale, p->fused, p->act);
        int8_t buf[48];
        if (m == 8 && x + 8 <= p->out_w) {
            vst1_s8(p->out_i8 + (size_t)y * p->out_w + x, q);
            return;
        }
        vst1_s8(buf, q);
        mxn_dw_store(p, buf, 1, m, y, x, pitch);
        return;
    }
    {
        int32_t buf[8];
        vst1q_s32(buf, a0);
        vst1q_s32(buf + 4, a1);
        mxn_dw_finish_s32(p, buf, m, y, x, pitch);
    }
}

static int requant_vec(const mxn_dw_plane *p)
{
    return p->out_i8 && mxn_neon_requant_exact(p->scale_in, p->bias, p->top_scale, p->fused, p->act);
}

INLINE void dw_s8_s1(const mxn_dw_plane *p, const int KW, const int KH)
{
    const int8_t *in = (const int8_t *)p->in, *w = (const int8_t *)p->w;
    const int pitch = p->pitch, vec = requant_vec(p), L = (p->out_h - 1) * pitch + p->out_w;
    int j, y = 0, x = 0, ky, kx;
    for (j = 0; j < L; j += 16) {
        int32x4_t a0 = vdupq_n_s32(0), a1 = a0, a2 = a0, a3 = a0;
        for (ky = 0; ky < KH; ky++) {
            const int8_t *r = in + (size_t)ky * pitch + j;
            for (kx = 0; kx < KW; kx++) {
                const int16_t wt = (int16_t)w[ky * KW + kx];
                const int16x8_t v0 = vmovl_s8(vld1_s8(r + kx)), v1 = vmovl_s8(vld1_s8(r + kx + 8));
                a0 = vmlal_n_s16(a0, vget_low_s16(v0), wt);
                a1 = vmlal_n_s16(a1, vget_high_s16(v0), wt);
                a2 = vmlal_n_s16(a2, vget_low_s16(v1), wt);
                a3 = vmlal_n_s16(a3, vget_high_s16(v1), wt);
            }
        }
        put_s32(p, a0, a1, L - j < 8 ? L - j : 8, y, x, pitch, vec);
        mxn_dw_step(&y, &x, 8, pitch);
        if (j + 8 < L) {
            put_s32(p, a2, a3, L - j - 8 < 8 ? L - j - 8 : 8, y, x, pitch, vec);
            mxn_dw_step(&y, &x, 8, pitch);
        }
    }
}

INLINE void dw_s8_s2(const mxn_dw_plane *p, const int KW, const int KH)
{
    const int8_t *in = (const int8_t *)p->in, *w = (const int8_t *)p->w;
    const int pitch = p->pitch, vec = requant_vec(p), ow = p->out_w;
    int y, x0, ky, kx;
    for (y = 0; y < p->out_h; y++) {
        for (x0 = 0; x0 < ow; x0 += 8) {
            int32x4_t a0 = vdupq_n_s32(0), a1 = a0;
            for (ky = 0; ky < KH; ky++) {
                const int8_t *r = in + (size_t)(2 * y + ky) * pitch + 2 * x0;
                for (kx = 0; kx < KW; kx += 2) {
                    const int8x8x2_t l = vld2_s8(r + kx); /* columns kx, kx + 2, ... and kx + 1, kx + 3, ... */
                    const int16x8_t e = vmovl_s8(l.val[0]);
                    const int16_t w0 = (int16_t)w[ky * KW + kx];
                    a0 = vmlal_n_s16(a0, vget_low_s16(e), w0);
                    a1 = vmlal_n_s16(a1, vget_high_s16(e), w0);
                    if (kx + 1 < KW) {
                        const int16x8_t o = vmovl_s8(l.val[1]);
                        const int16_t w1 = (int16_t)w[ky * KW + kx + 1];
                        a0 = vmlal_n_s16(a0, vget_low_s16(o), w1);
                        a1 = vmlal_n_s16(a1, vget_high_s16(o), w1);
                    }
                }
            }
            put_s32(p, a0, a1, ow - x0 < 8 ? ow - x0 : 8, y, x0, ow, vec);
        }
    }
}

void mxn_dw_s8_neon(const mxn_dw_plane *p)
{
    MXN_DW_DISPATCH(p, dw_s8_s1, dw_s8_s2);
}

#endif
