/* NEON depthwise convolution rows (armv7 and later; kernels.h mxn_dw_f32_fn /
 * mxn_dw_s8_fn), tested against the reference under qemu-arm (tests/test_arm.py). */
#include "../kernels.h"

#if defined(__ARM_NEON) || defined(__ARM_NEON__)
#include <arm_neon.h>
#include <string.h>

/* ---- depthwise rows: 8 columns at a time, the last ones from padded copies ---- */

void mxn_dw_f32_neon(int n, int taps, const float *const *src, const float *w, const mxn_dw_row *r)
{
    float buf[8], pad[8];
    int x = 0, t, j;
    for (; x < n; x += 8) {
        const int m = n - x < 8 ? n - x : 8;
        float32x4_t a0 = vdupq_n_f32(r->bias), a1 = a0;
        mxn_dw_row rr = *r;
        for (t = 0; t < taps; t++) {
            const float *p = src[t] + x;
            const float32x4_t wt = vdupq_n_f32(w[t]);
            if (m < 8) {
                for (j = 0; j < 8; j++) pad[j] = j < m ? p[j] : 0.f;
                p = pad;
            }
            a0 = vmlaq_f32(a0, wt, vld1q_f32(p));
            a1 = vmlaq_f32(a1, wt, vld1q_f32(p + 4));
        }
        vst1q_f32(buf, a0);
        vst1q_f32(buf + 4, a1);
        rr.out_f32 = r->out_f32 + x;
        mxn_dw_store_f32(buf, m, &rr);
    }
}

/* int32 sums exact (vmlal_s16), then the reference epilogue (VFP: no flush
 * of denormals to zero, unlike ARMv7 NEON float) */
void mxn_dw_s8_neon(int n, int taps, const int8_t *const *src, const int8_t *w, const mxn_dw_row *r)
{
    int32_t buf[8];
    int8_t pad[8];
    int x = 0, t, j;
    for (; x < n; x += 8) {
        const int m = n - x < 8 ? n - x : 8;
        int32x4_t a0 = vdupq_n_s32(0), a1 = a0;
        mxn_dw_row rr = *r;
        for (t = 0; t < taps; t++) {
            const int8_t *p = src[t] + x;
            int16x8_t v;
            if (m < 8) {
                for (j = 0; j < 8; j++) pad[j] = j < m ? p[j] : 0;
                p = pad;
            }
            v = vmovl_s8(vld1_s8(p));
            a0 = vmlal_n_s16(a0, vget_low_s16(v), (int16_t)w[t]);
            a1 = vmlal_n_s16(a1, vget_high_s16(v), (int16_t)w[t]);
        }
        vst1q_s32(buf, a0);
        vst1q_s32(buf + 4, a1);
        if (rr.out_i8) rr.out_i8 += x;
        else rr.out_f32 += x;
        mxn_dw_store_s32(buf, m, &rr);
    }
}

#endif
