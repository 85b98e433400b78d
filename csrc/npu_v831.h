/* The V831 NPU's integer arithmetic, as maixnn emulates it for awnn models.
 *
 * EVERYTHING the emulator assumes about what the NPU computes is in this
 * header and npu_v831.c: the awnn layers (csrc/layers/awnn_*.c) only move
 * data and call these functions, so a board measurement that disagrees with
 * a step corrects it here, in one place.
 *
 * Source: /work/shared/reference/awnn-format.md section 13 ("13.x" below),
 * with its evidence markers:
 *   [C]  read from NVIDIA's public NVDLA C model (nvdla/hw nv_small cmod);
 *   [D]  read from the disassembly of Sipeed's V831 runtime (libmaix_nn.so);
 *   [X]  observed by running that runtime with a fake NPU (register values);
 *   [VV] the runtime's programming replayed in NVDLA's C model equalled 13.4
 *        code for code (13.7);
 *   [A]  assumption (not measured on a board).
 * Nothing here was executed on a V831.
 *
 * Notation (13): rha(x / 2^s) rounds half away from zero; sat_n clamps to
 * [-2^(n-1), 2^(n-1) - 1]. */
#ifndef MXN_NPU_V831_H
#define MXN_NPU_V831_H

#include <stddef.h>
#include <stdint.h>

/* largest shift the hardware's 6-bit shift fields hold (13.1 items 5-7, 13.4) */
#define MXN_NPU_MAX_SHIFT 63

/* ---- primitives (13.1) ---- */

/* rha(x / 2^s) for 0 <= s <= 63: round half away from zero.  [C] NVDLA's
 * AC_RND_INF truncation (13.1 item 5), which is half away from zero. */
int64_t mxn_npu_rha(int64_t x, int s);
/* clamp to the signed `bits`-bit range (bits 8, 17, 32) */
int64_t mxn_npu_sat(int64_t x, int bits);

/* ---- SDP stages of a convolution / fully connected layer (13.4) ---- */

/* CACC output, X2 multiplier, Y bias and output converter C, in that order.
 *   acc       exact int32 sum of int8 x int8 products (CACC, truncate 0)
 *   mult      per-channel Q10 multiplier (param 25 == 1), or NULL
 *   bias      int16 bias code (param 24 == 2), or NULL
 *   p26, p27  the bias operand converter (scale, shift)
 *   m, e      output converter (params 21, 22); enabled == 0 gives 1, 0 */
typedef struct {
    int has_mult;
    int has_bias;
    int32_t p26, p27;
    int enabled;     /* param 20 */
    int32_t m, e;    /* params 21, 22 */
} mxn_npu_conv_epilogue;

int8_t mxn_npu_conv_output(const mxn_npu_conv_epilogue *ep, int64_t acc, int16_t mult, int16_t bias);

/* ---- output converter alone (13.4 step 6): y = sat8(sat17(rha(x * m / 2^e))),
 * with enabled == 0 meaning m = 1, e = 0 ---- */
int8_t mxn_npu_out_cvt(int64_t x, int enabled, int32_t m, int32_t e);

/* ---- pointwise layers (13.4, 13.6) ---- */
/* ReLU (23 = 1): y = out_cvt(max(x, 0)) */
int8_t mxn_npu_relu(int8_t x, int enabled, int32_t m, int32_t e);
/* leaky ReLU / PReLU (23 = 2): x >= 0 bypasses, x < 0: rha(x * slope_q / 2^10); then out_cvt */
int8_t mxn_npu_prelu(int8_t x, int16_t slope_q, int enabled, int32_t m, int32_t e);
/* BatchNorm: t = rha((x + A) * B / 2^7), then out_cvt */
int8_t mxn_npu_batchnorm(int8_t x, int16_t a, int16_t b, int enabled, int32_t m, int32_t e);
/* Quantize (Split's _cvt layer): out_cvt only */
int8_t mxn_npu_requantize(int8_t x, int enabled, int32_t m, int32_t e);

/* ---- Eltwise (13.3.3, 13.4): main = bottom[1 - p16], operand = bottom[p16] ---- */
/* SUM: s = sat32(main + sat32(rha(operand * p17 / 2^p18))); PROD: s = sat32(main * that); then out_cvt */
int8_t mxn_npu_eltwise(int prod, int8_t main, int8_t operand, int32_t p17, int32_t p18, int enabled,
                       int32_t m, int32_t e);

/* ---- average pooling (13.1 item 8, PDP) ---- */
/* NVDLA's truncated reciprocal of a window extent k: floor(2^16 / k) for k = 1..8 (the firmware's
 * table); k > 8 extends the same rule (the runtime refuses such windows: [A]). */
int32_t mxn_npu_pdp_recip(int k);
/* rha(rha(sum * recip(kw) / 2^16) * recip(kh) / 2^16), the sum of the window's int8 values */
int8_t mxn_npu_avgpool(int32_t sum, int kw, int kh);

/* ---- CPU <-> NPU boundaries (13.3.6, checked by execution in 13.6 [X]) ---- */
/* NPU -> CPU: f = (float)q * (float)(1 / ((double)S + 1e-5)) */
void mxn_npu_dequantize(const int8_t *q, size_t n, float scale, float *out);
/* CPU -> NPU: q = clamp(roundf(f * S), -127, 127) (NaN -> -127, like cvtt + clamp) */
void mxn_npu_quantize(const float *f, size_t n, float scale, int8_t *out);

/* ---- weight layout (section 8, [V]) ---- */
/* Undo cvt_weights_to_ipu_data: `ipu` holds n_out * ic * kh * kw int8 weights in the
 * NPU's order (first = param 19); writes them in ncnn order [o][c][r][s] to `ncnn`. */
void mxn_npu_ipu_to_ncnn(const int8_t *ipu, int kh, int kw, int ic, int n_out, int first, int8_t *ncnn);

#endif
