/* The V831 NPU's integer arithmetic (see npu_v831.h for the sources and the
 * evidence markers).  Every step names its marker and the section of
 * /work/shared/reference/awnn-format.md it comes from. */
#include <math.h>
#include "npu_v831.h"

int64_t mxn_npu_rha(int64_t x, int s)
{
    /* [C] 13.1 item 5: ac_fixed AC_RND_INF = add one half of the last kept bit,
     * away from zero.  |x| < 2^62 here (int32 x int16 products at most), so
     * the unsigned addition cannot overflow. */
    uint64_t mag, half;
    if (s <= 0) return x;
    if (s > MXN_NPU_MAX_SHIFT) s = MXN_NPU_MAX_SHIFT; /* callers check at load; keep it defined */
    mag = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
    half = (uint64_t)1 << (s - 1);
    mag = (mag + half) >> s;
    return x < 0 ? -(int64_t)mag : (int64_t)mag;
}

int64_t mxn_npu_sat(int64_t x, int bits)
{
    const int64_t hi = ((int64_t)1 << (bits - 1)) - 1, lo = -((int64_t)1 << (bits - 1));
    return x > hi ? hi : (x < lo ? lo : x);
}

int8_t mxn_npu_out_cvt(int64_t x, int enabled, int32_t m, int32_t e)
{
    /* [C]+[D] 13.1 item 7 / 13.4 step 6: output converter C, offset 0
     * (13.3.2: sdp out_cvt.offset = 0), scale = param 21 (int16), shift =
     * param 22; param 20 == 0 programs scale 1, shift 0 [D].  sat17 after the
     * shift, then int8 saturation to [-128, 127] (not -127) [C]. */
    int64_t t;
    if (!enabled) {
        m = 1;
        e = 0;
    }
    t = mxn_npu_sat(mxn_npu_rha(x * (int64_t)m, (int)e), 17);
    return (int8_t)mxn_npu_sat(t, 8);
}

int8_t mxn_npu_conv_output(const mxn_npu_conv_epilogue *ep, int64_t acc, int16_t mult, int16_t bias)
{
    /* [C]+[D] 13.4 step 2: CACC truncate 0 (13.3.2), then saturation to int32. */
    int64_t v = mxn_npu_sat(acc, 32);
    /* [D] 13.4 step 3: X1 is off when 24 == 2 (the bias goes to Y). */
    /* [C]+[D]+[X] 13.4 step 4: X2 per-kernel multiplier (param 25 == 1), truncate 10,
     * rounded half away from zero, BEFORE the bias. */
    if (ep->has_mult) v = mxn_npu_sat(mxn_npu_rha(v * (int64_t)mult, 10), 32);
    /* [C]+[D]+[X] 13.4 step 5: Y ALU SUM, per-kernel int16 bias through the operand
     * converter {scale 26, truncate 27} (13.3.2 row "bias, 24 == 2"). */
    if (ep->has_bias) {
        int64_t b = mxn_npu_sat(mxn_npu_rha((int64_t)bias * ep->p26, (int)ep->p27), 32);
        v = mxn_npu_sat(v + b, 32);
    }
    /* [C]+[D] 13.4 step 6: output converter */
    return mxn_npu_out_cvt(v, ep->enabled, ep->m, ep->e);
}

int8_t mxn_npu_relu(int8_t x, int enabled, int32_t m, int32_t e)
{
    /* [A branch, C arithmetic, X programming] 13.4 "ReLU (23 = 1)": X2 ReLU only, then C. */
    return mxn_npu_out_cvt(x > 0 ? x : 0, enabled, m, e);
}

int8_t mxn_npu_prelu(int8_t x, int16_t slope_q, int enabled, int32_t m, int32_t e)
{
    /* [A/C, VV] 13.4 "Leaky / PReLU (23 = 2)": X2 in PReLU mode, truncate 10; a
     * non-negative x bypasses the multiplier and the shift. */
    int64_t t = x >= 0 ? (int64_t)x : mxn_npu_sat(mxn_npu_rha((int64_t)x * slope_q, 10), 32);
    return mxn_npu_out_cvt(t, enabled, m, e);
}

int8_t mxn_npu_batchnorm(int8_t x, int16_t a, int16_t b, int enabled, int32_t m, int32_t e)
{
    /* [A/C, X, VV] 13.4 "BatchNorm" / 13.3.5: X2 BOTH, ALU SUM with A (shift 0),
     * then MUL by B, truncate 7, on the interleaved {A, B} block. */
    int64_t t = mxn_npu_sat(mxn_npu_rha(((int64_t)x + a) * (int64_t)b, 7), 32);
    return mxn_npu_out_cvt(t, enabled, m, e);
}

int8_t mxn_npu_requantize(int8_t x, int enabled, int32_t m, int32_t e)
{
    /* [A, X] 13.4 "Quantize (_cvt)": output converter only. */
    return mxn_npu_out_cvt(x, enabled, m, e);
}

int8_t mxn_npu_eltwise(int prod, int8_t main, int8_t operand, int32_t p17, int32_t p18, int enabled,
                       int32_t m, int32_t e)
{
    /* [C]+[D]+[X] 13.3.3 / 13.4: the EW operand (bottom[p16]) through its converter
     * {scale 17, truncate 18}, then Y ALU SUM (or Y MUL with EW truncate 0 for
     * PROD, [C]+[D], not reached in the [X] runs) with the main input
     * bottom[1 - p16], then the output converter (21, 22). */
    int64_t o = mxn_npu_sat(mxn_npu_rha((int64_t)operand * p17, (int)p18), 32);
    int64_t s = prod ? mxn_npu_sat((int64_t)main * o, 32) : mxn_npu_sat((int64_t)main + o, 32);
    return mxn_npu_out_cvt(s, enabled, m, e);
}

int32_t mxn_npu_pdp_recip(int k)
{
    /* [C]+[D] 13.1 item 8: {0x10000, 0x8000, 0x5555, 0x4000, 0x3333, 0x2aaa,
     * 0x2492, 0x2000} for k = 1..8 = floor(65536 / k).  [A] k > 8: the runtime
     * refuses such windows (13.6); maixnn extends the same truncation. */
    return k >= 1 ? (int32_t)(65536 / k) : 0;
}

int8_t mxn_npu_avgpool(int32_t sum, int kw, int kh)
{
    /* [C] 13.1 item 8: two roundings through the truncated reciprocals, width
     * first.  [X] the runtime programs 0x5555 for 3x3, 0x8000 for 2x2. */
    int64_t t = mxn_npu_rha((int64_t)sum * mxn_npu_pdp_recip(kw), 16);
    int64_t out = mxn_npu_rha(t * mxn_npu_pdp_recip(kh), 16);
    return (int8_t)mxn_npu_sat(out, 8);
}

void mxn_npu_dequantize(const int8_t *q, size_t n, float scale, float *out)
{
    /* [D]+[X] 13.3.6 / 13.6: inv = (float)(1.0 / ((double)S + 1e-5)), y = (float)q * inv
     * (64/64 values bit-exact at the data crossing; q * (1/S) and q / S both 0/64). */
    const float inv = (float)(1.0 / ((double)scale + 1e-5));
    size_t i;
    for (i = 0; i < n; i++) out[i] = (float)q[i] * inv;
}

void mxn_npu_quantize(const float *f, size_t n, float scale, int8_t *out)
{
    /* [D]+[X] 13.3.6 / 13.6: q = clamp((int)roundf(x * S), -127, 127), half away
     * from zero, -127 not -128 (rint and -128 both fail the execution check).
     * NaN: cvtt gives INT_MIN, clamped to -127. */
    size_t i;
    for (i = 0; i < n; i++) {
        float r = roundf(f[i] * scale);
        out[i] = (int8_t)(r >= 127.f ? 127 : (!(r > -127.f) ? -127 : (int)r));
    }
}

void mxn_npu_ipu_to_ncnn(const int8_t *ipu, int kh, int kw, int ic, int n_out, int first, int8_t *ncnn)
{
    /* [V] section 8, cvt_weights_to_ipu_data, run backwards: the writer
     * appends q[o][c][r][s] in this loop order; read them back in the same order. */
    const size_t K = (size_t)kh * kw;
    size_t pos = 0;
    int og, cg, o, c, r, s;
    size_t k;
#define NCNN_AT(o_, c_, k_) ncnn[((size_t)(o_) * ic + (size_t)(c_)) * K + (k_)]
    for (og = 0; og < n_out; og += 8) {
        const int on = n_out - og < 8 ? n_out - og : 8;
        if (!first) {
            for (cg = 0; cg < ic; cg += 32) {
                const int cn = ic - cg < 32 ? ic - cg : 32;
                for (k = 0; k < K; k++)
                    for (o = 0; o < on; o++)
                        for (c = 0; c < cn; c++) NCNN_AT(og + o, cg + c, k) = ipu[pos++];
            }
        } else {
            for (r = 0; r < kh; r++)
                for (o = 0; o < on; o++)
                    for (s = 0; s < kw; s++)
                        for (c = 0; c < ic; c++) NCNN_AT(og + o, c, (size_t)r * kw + s) = ipu[pos++];
        }
    }
#undef NCNN_AT
}
