/* Compute kernels of the heavy layers (Convolution, ConvolutionDepthWise,
 * InnerProduct) and the int8 arithmetic they share.
 *
 * The portable reference implementation in csrc/kernels_ref.c (plain C99
 * loops, the innermost loop over contiguous memory so the compiler can
 * vectorise it) defines every result.  The fast kernels (packed GEMM,
 * depthwise rows, GEMV, quantize; below) come in kernel sets, one per
 * instruction set (csrc/x86/, csrc/arm/, chosen in kernel_select.c), and are
 * tested against the reference: the integer parts agree exactly and the int8
 * epilogues use the float formulas below unchanged (they are the formulas
 * that make maixnn agree with the official ncnn runtime), so int8 results are
 * bit-identical; float32 sums may be reordered (within 1e-5 relative).
 *
 * The kernels do no validation: the layer code checks shapes, sizes and
 * overflow before calling them.
 */
#ifndef MXN_KERNELS_H
#define MXN_KERNELS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "mxn_core.h"

/* ---- int8 helpers ---------------------------------------------------- */

/* ncnn's float2int8: round half away from zero, computed in float32 exactly
 * as ncnn does ((int)truncf(v + copysignf(0.5f, v))), clamped to [-127, 127].
 * NaN maps to -127 like ncnn's x86 path (cvttps gives INT_MIN, then the
 * clamp).  The clamp happens in float so that huge values never overflow the
 * int conversion. */
static inline int8_t mxn_float2int8(float v)
{
    float r = truncf(v + copysignf(0.5f, v));
    if (r >= 127.f) return 127;
    if (!(r > -127.f)) return -127; /* also NaN */
    return (int8_t)(int)r;
}

/* The border value of an int8 blob padded with the float pad value v:
 * ncnn converts it with a C++ cast to signed char (truncation, NOT a
 * quantization with the blob's scale; checked against the wheel), clamped
 * here so that out-of-range values and NaN stay defined. */
static inline int8_t mxn_pad_value_to_int8(float v)
{
    if (!(v == v)) return 0;
    if (v >= 127.f) return 127;
    if (v <= -128.f) return -128;
    return (int8_t)v;
}

/* ---- convolution geometry --------------------------------------------- */

/* One grouped 2-D convolution over an input that is ALREADY padded.
 * Input  (in_c, in_h, in_w)   channel-major contiguous.
 * Output (out_c, out_h, out_w) channel-major contiguous.
 * Weight [group][out_c/group][in_c/group][kernel_h][kernel_w]
 * (for group == 1 this is PyTorch's OIHW). */
typedef struct {
    int in_c, in_h, in_w;
    int out_c, out_h, out_w;
    int kernel_w, kernel_h;
    int dilation_w, dilation_h;
    int stride_w, stride_h;
    int group;
} mxn_conv_shape;

/* float32: out = bias (0 when bias is NULL) + sum(weight * in).  No activation. */
void mxn_conv2d_f32_ref(const mxn_conv_shape *s, const float *in, const float *weight,
                        const float *bias, float *out);

/* int8 x int8 -> int32 accumulators (exact). */
void mxn_conv2d_s8_ref(const mxn_conv_shape *s, const int8_t *in, const int8_t *weight,
                       int32_t *acc);

/* Fully connected: out[p] = bias[p] + sum_i weight[p*num_input + i] * in[i]. */
void mxn_innerproduct_f32_ref(int num_input, int num_output, const float *in,
                              const float *weight, const float *bias, float *out);
void mxn_innerproduct_s8_ref(int num_input, int num_output, const int8_t *in,
                             const int8_t *weight, int32_t *acc);

/* ---- int8 epilogues (these fix the float rounding; keep them exact) ----- */

/* Convolution / ConvolutionDepthWise.  For each of the `channels` planes of
 * `plane` accumulators:  v = fmaf((float)acc, scale_in[p], bias[p])  (one
 * rounding, as ncnn's x86/arm requantize/dequantize kernels fuse it; with
 * fused == 0: (float)acc * scale_in[p] + bias[p], two roundings, see
 * csrc/x86/ncnn_host_compat.c), then the activation, then either out_f32 = v, or
 * (out_i8 != NULL) out_i8 = float2int8(v * top_scale).  bias may be NULL (0). */
void mxn_conv_dequant_ref(const int32_t *acc, int channels, size_t plane,
                          const float *scale_in, const float *bias,
                          const mxn_activation *act, float top_scale, int fused,
                          float *out_f32, int8_t *out_i8);

/* InnerProduct: v = bias[p] + (float)acc * scale_in[p]  (two roundings, as
 * ncnn's innerproduct int8 path), then the activation; float output only. */
void mxn_innerproduct_dequant_ref(const int32_t *acc, int num_output, const float *scale_in,
                                  const float *bias, const mxn_activation *act, float *out);

/* Quantize n floats: q = float2int8(x * scale). */
void mxn_quantize_f32_to_s8(const float *in, size_t n, float scale, int8_t *out);

/* Copy `c` planes of (h, w) into (h + top + bottom, w + left + right) planes,
 * filling the border with `value`.  (A negative pad would crop that side;
 * the layers never pass one.) */
void mxn_pad_planes_f32(const float *in, int c, int h, int w, int top, int bottom, int left,
                        int right, float value, float *out);
void mxn_pad_planes_s8(const int8_t *in, int c, int h, int w, int top, int bottom, int left,
                       int right, int8_t value, int8_t *out);

/* ---- host-dependent ncnn behaviour (csrc/x86/ and csrc/arm/ncnn_host_compat.c) ----------- */

/* 1 when ncnn on this host dequantizes pure depthwise int8 convolutions with
 * channels % 8 == 0 using rcpps and a separate multiply + add (x86). */
int mxn_ncnn_x86_rcp_depthwise(void);
/* the host's rcpps(x) on x86, 1.f / x elsewhere */
float mxn_ncnn_x86_rcp(float x);

/* ---- fast kernels: packed GEMM convolution ------------------------------
 *
 * Convolution as C[M][N] = A[M][K] * B[K][N] per group: M output channels,
 * K = input channels x kernel taps, N = output pixels.  A (the weights) is
 * packed ONCE at load (mxn_conv_gemm_prepare, ncnn's create_pipeline) into
 * panels of MXN_GEMM_MR output channels; B (im2col of the input) is packed
 * per forward into tiles of nr columns that stay in cache, never the whole
 * matrix.  The panel layouts do not depend on the instruction set, so one
 * prepared net serves sessions that use different kernel sets:
 *
 *   float32: A panel [K][MR] floats      B panel [K][nr] floats
 *   int8:    A panel [K2][MR][2] int8    B panel [K2][nr][2] int16
 *            (K2 = ceil(K/2): pairs of taps, as pmaddwd / vmlal want them;
 *            an odd K is padded with a zero tap)
 *
 * A micro-kernel computes one MR x nr tile over all of K and writes it with
 * its epilogue (bias, int8 dequantize/requantize, activation) fused into the
 * output loop.  The int8 epilogue is exactly mxn_conv_dequant_ref's formula;
 * the float32 sums may be reassociated / fused (within 1e-5 relative). */
#define MXN_GEMM_MR 8

typedef struct {
    int mr, nr;               /* valid rows (output channels) and columns of this tile */
    size_t ldc;               /* distance between two output channels' planes */
    float *out_f32;           /* element (row 0, column 0) of the tile, or NULL */
    int8_t *out_i8;           /* int8 output (requantize), or NULL */
    const float *bias;        /* [MR] (zero padded) */
    const float *scale_in;    /* int8: [MR] */
    float top_scale;          /* int8 output only */
    int fused;                /* int8: fmaf(acc, scale, bias) (1) or acc * scale + bias (0) */
    const mxn_activation *act;
} mxn_gemm_tile;

typedef void (*mxn_sgemm_fn)(int K, const float *a, const float *b, const mxn_gemm_tile *t);
typedef void (*mxn_s8gemm_fn)(int K2, const int8_t *a, const int16_t *b, const mxn_gemm_tile *t);
/* nr_s8 pixels of two taps' rows interleaved into int16 pairs (d[2j] = s0[j],
 * d[2j+1] = s1[j]): the int8 B panel of consecutive pixels */
typedef void (*mxn_pack_pairs_fn)(const int8_t *s0, const int8_t *s1, int16_t *d);
/* mxn_quantize_f32_to_s8's exact arithmetic, vectorised */
typedef void (*mxn_quantize_fn)(const float *in, size_t n, float scale, int8_t *out);

/* One instruction set's kernels.  "ref" has no GEMM kernels (NULL): the
 * layers then use the portable reference above, the definition of the
 * result. */
/* ---- fast kernels: depthwise convolution ---------------------------------
 *
 * One channel plane of a pure depthwise convolution (one input and one
 * output channel per group), kernel kw x kh, the same stride 1 or 2 in both
 * directions, dilation 1:
 *   out[y][x] = epilogue(sum_{ky,kx} w[ky*kw + kx] * in[(y*s + ky) * pitch + x*s + kx])
 * over the PADDED input plane `in` (the layer pads; pitch = padded width).
 * float32 starts the sum at the bias; int8 sums exactly in int32 and ends
 * with mxn_conv_dequant_ref's epilogue (bit-identical), float32 or int8 out.
 * The kernel may read up to MXN_DW_SLACK elements past the last element a
 * tap needs (the layer's buffers have them), never write past the plane.
 * Stride 1 may run over the plane flattened (index j = y * pitch + x, one
 * long row; the columns x >= out_w are computed and dropped), see
 * mxn_dw_put. */
#define MXN_DW_SLACK 128
#define MXN_DW_MAX_K 15        /* the layer uses the kernels for kw, kh <= this */

typedef struct {
    const void *in;           /* padded plane (float or int8), row pitch `pitch` elements */
    int pitch;
    int kw, kh, stride;       /* stride 1 or 2 (both directions) */
    int out_w, out_h;
    const void *w;            /* kh * kw taps (float or int8) */
    float bias;
    float scale_in;           /* int8 */
    float top_scale;          /* int8 output */
    int fused;                /* int8: fmaf or mul + add, as mxn_gemm_tile */
    const mxn_activation *act;
    float *out_f32;           /* the channel's output plane (out_w x out_h), or NULL */
    int8_t *out_i8;
} mxn_dw_plane;

typedef void (*mxn_dw_f32_fn)(const mxn_dw_plane *p);
typedef void (*mxn_dw_s8_fn)(const mxn_dw_plane *p);

/* Helpers of the depthwise kernels.
 * mxn_dw_store puts m finished outputs (esize bytes each; buf readable
 * MXN_DW_STORE_BYTES past them) of consecutive positions starting at column
 * x (< pitch) of output row y, in rows of `pitch` positions of which the
 * first out_w are real (stride 1 flattened: pitch = the padded width; row by
 * row: pitch = out_w), into the channel's dense output plane.  Each row's
 * piece is written with one MXN_DW_STORE_BYTES copy (a vector move); what it
 * writes past the piece belongs to positions that come later in the plane,
 * which the same or a later store of this channel overwrites (the kernels go
 * through a plane in order, one thread owns a plane).  Only where such a copy
 * would leave the plane is the piece copied exactly.
 * mxn_dw_step advances a position by n.
 * mxn_dw_finish_s32 / _f32 (kernels_ref.c): the reference epilogue of m
 * int32 sums / m float sums (bias included), then mxn_dw_store.
 * MXN_DW_DISPATCH calls a kernel's stride 1 or 2 variant with the kernel size
 * as a constant for 3x3 and 5x5. */
#define MXN_DW_STORE_BYTES 32

static inline void mxn_dw_store(const mxn_dw_plane *p, const void *buf, size_t esize, int m, int y, int x,
                                int pitch)
{
    const size_t plane = (size_t)p->out_w * p->out_h;
    unsigned char *out = p->out_i8 ? (unsigned char *)p->out_i8 : (unsigned char *)p->out_f32;
    const unsigned char *b = (const unsigned char *)buf;
    int off = 0;
    while (off < m) {
        if (x < p->out_w) {
            const size_t o = (size_t)y * p->out_w + x;
            const int n = p->out_w - x < m - off ? p->out_w - x : m - off;
            if ((size_t)n * esize <= MXN_DW_STORE_BYTES && (o * esize + MXN_DW_STORE_BYTES <= plane * esize))
                memcpy(out + o * esize, b + (size_t)off * esize, MXN_DW_STORE_BYTES);
            else
                memcpy(out + o * esize, b + (size_t)off * esize, (size_t)n * esize);
            off += n;
            x += n;
        } else {
            off += pitch - x;
            x = 0;
            y++;
        }
    }
}

static inline void mxn_dw_step(int *y, int *x, int n, int pitch)
{
    *x += n;
    while (*x >= pitch) {
        *x -= pitch;
        (*y)++;
    }
}

void mxn_dw_finish_s32(const mxn_dw_plane *p, const int32_t *acc, int m, int y, int x, int pitch);
void mxn_dw_finish_f32(const mxn_dw_plane *p, const float *acc, int m, int y, int x, int pitch);

#define MXN_DW_DISPATCH(p, S1, S2)                                                               \
    do {                                                                                         \
        if ((p)->stride == 1) {                                                                  \
            if ((p)->kw == 3 && (p)->kh == 3) S1(p, 3, 3);                                       \
            else if ((p)->kw == 5 && (p)->kh == 5) S1(p, 5, 5);                                  \
            else S1(p, (p)->kw, (p)->kh);                                                        \
        } else {                                                                                 \
            if ((p)->kw == 3 && (p)->kh == 3) S2(p, 3, 3);                                       \
            else if ((p)->kw == 5 && (p)->kh == 5) S2(p, 5, 5);                                  \
            else S2(p, (p)->kw, (p)->kh);                                                        \
        }                                                                                        \
    } while (0)

struct mxn_kernel_set {
    const char *name;
    int nr_f32, nr_s8;        /* columns per tile of sgemm / s8gemm */
    mxn_sgemm_fn sgemm;
    mxn_s8gemm_fn s8gemm;
    mxn_pack_pairs_fn pack_pairs;
    mxn_quantize_fn quantize;     /* NULL: mxn_quantize_f32_to_s8 */
    mxn_dw_f32_fn dw_f32;         /* NULL: depthwise through the reference */
    mxn_dw_s8_fn dw_s8;
    /* fully connected (InnerProduct, GEMV): the signatures of
     * mxn_innerproduct_f32_ref / _s8_ref (float sums may be reordered; int8 exact) */
    void (*fc_f32)(int num_input, int num_output, const float *in, const float *weight, const float *bias,
                   float *out);
    void (*fc_s8)(int num_input, int num_output, const int8_t *in, const int8_t *weight, int32_t *acc);
    /* ---- GEMM B packing (conv_gemm.c; NULL: its portable loop) ----
     * n (1..nr) columns, input pixels `step` apart, of all K taps (tap k's
     * row at in + koff[k]): d[k * ldd + j] = in[koff[k] + j * step].  Only
     * those values are written. */
    void (*pack_run_f32)(const float *in, const size_t *koff, int K, int step, int n, float *d, size_t ldd);
    /* the partial micro-tile of a column tile (0 < t->nr < nr columns of a B
     * panel that is nr wide): TWO adjacent A panels per call, t->mr <= 2 * MR
     * (the second panel right after the first, t->bias / t->scale_in 2 * MR
     * long), so that narrow column tiles do not waste the vector lanes.  Same
     * results as sgemm.  NULL: sgemm does those tiles too. */
    mxn_sgemm_fn sgemm_tail;
    /* int8 on unsigned x signed bytes (vpdpbusd), used instead of s8gemm
     * (which may then be NULL) when set.  u8_quads turns one A panel into
     * quads, aq[q * MR + r] = channel r's taps 4q..4q+3 (four int8 in an
     * int32; K4 = ceil(K2 / 2) quads, the taps past K2 pairs 0), and corr[r]
     * = 128 * (sum of channel r's weights); the layer does that once per
     * panel and column tile.  The B panel is [K4][nr][4] uint8: the input +
     * 128 of four taps per column (a missing tap's byte is free: its weight
     * is 0); the kernels subtract corr, so the int32 sums and the epilogue
     * are exactly s8gemm's.  u8gemm_tail: the partial tiles, as sgemm_tail
     * (t->mr <= 2 * MR; aq1: the second panel's quads, corr 2 * MR long).
     * pack_run_u8 (required with u8gemm): n (1..nr) columns, pixels `step`
     * apart, of all K taps (tap k's row at in + koff[k]) ->
     * d[q * ldd + 4j + i] = in[koff[4q + i] + j * step] + 128 (q < ceil(K / 4);
     * only those bytes are written). */
    void (*u8_quads)(int K2, const int8_t *a, int32_t *aq, int32_t *corr);
    void (*u8gemm)(int K4, const int32_t *aq, const int32_t *corr, const uint8_t *b, const mxn_gemm_tile *t);
    void (*u8gemm_tail)(int K4, const int32_t *aq0, const int32_t *aq1, const int32_t *corr, const uint8_t *b,
                        const mxn_gemm_tile *t);
    void (*pack_run_u8)(const int8_t *in, const size_t *koff, int K, int step, int n, uint8_t *d, size_t ldd);
    /* the int16 pairs of the s8gemm B panel, as pack_run_f32: n (1..nr)
     * columns of all K taps -> d[kp * ldd + 2j + i] = in[koff[2kp + i] + j *
     * step] (0 for the missing tap of an odd K).  NULL: the portable loop. */
    void (*pack_run_s8)(const int8_t *in, const size_t *koff, int K, int step, int n, int16_t *d, size_t ldd);
    /* ---- Winograd F(4,3) (conv_winograd.h; layouts there) ----
     * wino_gemm: for b < nb blocks of 8 output channels and t < nt tiles,
     *   m[b*m_bs + t*m_ts + l] = sum_{k<K} u[b*u_bs + k*8 + l] * v[k*v_ks + t]  (l < 8),
     *   summed in chunks (WINO_SUM_CHUNK below; each element's order independent of nb, nt).
     *   NULL: no Winograd in this set (the layer runs the reference).
     * wino_in: the input transform V = B^T d B of 8 consecutive tiles of one
     *   tile row of one channel: src = the first tile's top-left input, rows
     *   src_w apart (reads 6 rows x 36 columns); v[p*v_ps + t] for p < 36, t < 8.
     * wino_out: the output transform of one tile and 8 channels: m [36][8],
     *   out (channel 0, tile's top-left), channels ldc apart, rows out_w apart;
     *   writes rows x cols (<= 4 x 4) of noc (<= 8) channels: A^T m A + bias,
     *   then the activation.  NULL transforms: the portable ones. */
    void (*wino_gemm)(int K, int nb, int nt, const float *u, size_t u_bs, const float *v, size_t v_ks, float *m,
                      size_t m_ts, size_t m_bs);
    void (*wino_in)(const float *src, int src_w, float *v, size_t v_ps);
    void (*wino_out)(const float *m, const float *bias, const mxn_activation *act, float *out, size_t ldc,
                     int out_w, int rows, int cols, int noc);
};

/* Kernel sets compiled in, best first; `supported` says whether this CPU runs them. */
int mxn_kernel_set_count(void);
const mxn_kernel_set *mxn_kernel_set_at(int i, int *supported);
/* By name ("auto" or NULL = the best this CPU runs); NULL + message when the
 * name is unknown or the CPU lacks the instructions. */
const mxn_kernel_set *mxn_kernel_set_find(const char *name, mxn_error *err);
/* The default of a new session: $MAIXNN_KERNELS when set, else "auto". */
const mxn_kernel_set *mxn_kernel_set_default(mxn_error *err);

/* The portable epilogue for one tile, element by element: the reference
 * formulas (used by the kernels for partial tiles and the rarer activations).
 * Accumulator (row r, column j) is acc[r * rs + j * cs]. */
void mxn_gemm_tile_store_f32(const mxn_gemm_tile *t, const float *acc, int rs, int cs);
void mxn_gemm_tile_store_s32(const mxn_gemm_tile *t, const int32_t *acc, int rs, int cs);

/* x86 kernels (csrc/x86/), NULL-free only where compiled in */
#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
#define MXN_HAVE_X86_KERNELS 1
void mxn_sgemm_sse2(int K, const float *a, const float *b, const mxn_gemm_tile *t);
void mxn_s8gemm_sse2(int K2, const int8_t *a, const int16_t *b, const mxn_gemm_tile *t);
void mxn_pack_pairs_sse2(const int8_t *s0, const int8_t *s1, int16_t *d);
void mxn_sgemm_avx2(int K, const float *a, const float *b, const mxn_gemm_tile *t);
void mxn_sgemm_tail_avx2(int K, const float *a, const float *b, const mxn_gemm_tile *t);
void mxn_pack_run_f32_avx2(const float *in, const size_t *koff, int K, int step, int n, float *d, size_t ldd);
void mxn_pack_run_s8_avx2(const int8_t *in, const size_t *koff, int K, int step, int n, int16_t *d, size_t ldd);
void mxn_s8gemm_avx2(int K2, const int8_t *a, const int16_t *b, const mxn_gemm_tile *t);
void mxn_pack_pairs_avx2(const int8_t *s0, const int8_t *s1, int16_t *d);
void mxn_quantize_avx2(const float *in, size_t n, float scale, int8_t *out);
void mxn_dw_f32_sse2(const mxn_dw_plane *p);
void mxn_dw_s8_sse2(const mxn_dw_plane *p);
void mxn_dw_f32_avx2(const mxn_dw_plane *p);
void mxn_dw_s8_avx2(const mxn_dw_plane *p);
void mxn_dw_s8_avx512vnni(const mxn_dw_plane *p);
void mxn_fc_f32_avx2(int num_input, int num_output, const float *in, const float *weight, const float *bias,
                     float *out);
void mxn_fc_s8_avx2(int num_input, int num_output, const int8_t *in, const int8_t *weight, int32_t *acc);
/* AVX-512 F/BW/VL/DQ (+ VNNI for int8): 8 x 32 tiles (csrc/x86/gemm_avx512.c) */
void mxn_sgemm_avx512(int K, const float *a, const float *b, const mxn_gemm_tile *t);
void mxn_pack_run_f32_avx512(const float *in, const size_t *koff, int K, int step, int n, float *d, size_t ldd);
void mxn_sgemm_tail_avx512(int K, const float *a, const float *b, const mxn_gemm_tile *t);
void mxn_u8_quads_avx512vnni(int K2, const int8_t *a, int32_t *aq, int32_t *corr);
void mxn_u8gemm_avx512vnni(int K4, const int32_t *aq, const int32_t *corr, const uint8_t *b, const mxn_gemm_tile *t);
void mxn_u8gemm_tail_avx512vnni(int K4, const int32_t *aq0, const int32_t *aq1, const int32_t *corr,
                                const uint8_t *b, const mxn_gemm_tile *t);
void mxn_pack_run_u8_avx512(const int8_t *in, const size_t *koff, int K, int step, int n, uint8_t *d,
                            size_t ldd);
#endif
#if defined(__ARM_NEON) || defined(__ARM_NEON__)
#define MXN_HAVE_NEON_KERNELS 1
void mxn_sgemm_neon(int K, const float *a, const float *b, const mxn_gemm_tile *t);
void mxn_s8gemm_neon(int K2, const int8_t *a, const int16_t *b, const mxn_gemm_tile *t);
void mxn_pack_pairs_neon(const int8_t *s0, const int8_t *s1, int16_t *d);
void mxn_pack_run_f32_neon(const float *in, const size_t *koff, int K, int step, int n, float *d, size_t ldd);
void mxn_dw_f32_neon(const mxn_dw_plane *p);
void mxn_dw_s8_neon(const mxn_dw_plane *p);
#endif

/* Winograd F(4,3) kernels (conv_winograd.c: portable transforms; csrc/x86, csrc/arm).
 * The GEMMs sum the input channels in three levels (chunks of WINO_SUM_CHUNK,
 * groups of WINO_SUM_GROUP, then the groups): F(4,3)'s output transform
 * magnifies rounding errors of M, and one running sum over 512 channels
 * would put the result past 1e-5 relative (measured 1.2e-5; 3 levels: ~5e-6). */
#define WINO_SUM_CHUNK 16
#define WINO_SUM_GROUP 128
void mxn_wino_in_c(const float *src, int src_w, float *v, size_t v_ps);
void mxn_wino_out_c(const float *m, const float *bias, const mxn_activation *act, float *out, size_t ldc, int out_w,
                    int rows, int cols, int noc);
#ifdef MXN_HAVE_X86_KERNELS
void mxn_wino_gemm_sse2(int K, int nb, int nt, const float *u, size_t u_bs, const float *v, size_t v_ks, float *m,
                        size_t m_ts, size_t m_bs);
void mxn_wino_gemm_avx2(int K, int nb, int nt, const float *u, size_t u_bs, const float *v, size_t v_ks, float *m,
                        size_t m_ts, size_t m_bs);
void mxn_wino_in_avx2(const float *src, int src_w, float *v, size_t v_ps);
void mxn_wino_out_avx2(const float *m, const float *bias, const mxn_activation *act, float *out, size_t ldc,
                       int out_w, int rows, int cols, int noc);
#endif
#ifdef MXN_HAVE_NEON_KERNELS
void mxn_wino_gemm_neon(int K, int nb, int nt, const float *u, size_t u_bs, const float *v, size_t v_ks, float *m,
                        size_t m_ts, size_t m_bs);
void mxn_wino_in_neon(const float *src, int src_w, float *v, size_t v_ps);
#endif

#endif
