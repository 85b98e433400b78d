/* Winograd convolution F(4,3) / F(2,3) for float32 3x3, stride 1, dilation 1,
 * one group (the Winograd kernels in kernels.h).
 *
 * Each m x m block of outputs (a "tile", m = 4 or 2) is computed from the
 * n x n input patch around it (n = m + 2): V = B^T d B per input channel,
 * M = sum over input channels of U .* V (n*n independent GEMMs, one per
 * position of the tile), then Y = A^T M A (+ bias, activation).
 * U = G g G^T is computed once at load (ncnn's create_pipeline) in double
 * precision and stored in the GEMM's layout (np = n * n positions):
 *
 *   U [np][nb][in_c][8]        nb = ceil(out_c / 8) blocks of 8 output channels
 *   V [np][in_c][tbs]          one tile block of (up to) tb tiles, per forward
 *   M [nb][tbs][np][8]         GEMM output, read by the output transform
 *
 * The GEMM puts 8 output channels in the vector lanes and broadcasts V, so
 * that small planes (7x7: 4 tiles) still fill the registers.  Every tile's
 * arithmetic is the same whatever tile block, thread or register block it
 * falls in, so the result does not depend on the thread count.
 *
 * Which layers and which m (mxn_winograd_tile): see conv_winograd.c. */
#ifndef MXN_CONV_WINOGRAD_H
#define MXN_CONV_WINOGRAD_H

#include "kernels.h"
#include "thread_pool.h"

typedef struct {
    int m;                 /* output tile side: 4 = F(4,3) (6x6 tiles), 2 = F(2,3) (4x4) */
    int in_c, out_c;
    int nb;                /* ceil(out_c / 8) */
    float *u;              /* [36][nb][in_c][8], zero for the padding channels */
    float *bias;           /* [nb * 8], zero padded */
} mxn_winograd;

/* The output tile side m of F(m,3) for a float32 convolution of this shape
 * (4 or 2), or 0 when it does not take the Winograd path: 3x3, stride 1,
 * dilation 1, group 1, and enough channels (the rule is in conv_winograd.c). */
int mxn_winograd_tile(int in_c, int out_c, int kernel_w, int kernel_h, int stride_w, int stride_h,
                       int dilation_w, int dilation_h, int group);

/* Transform the weights [out_c][in_c][3][3] (and bias [out_c] or NULL).
 * On failure nothing stays allocated. */
int mxn_winograd_prepare(mxn_winograd *w, int m, int in_c, int out_c, const float *weight, const float *bias,
                         mxn_error *err);
void mxn_winograd_free(mxn_winograd *w);
/* bytes held by U and the padded bias */
size_t mxn_winograd_bytes(const mxn_winograd *w);

/* One forward of the UNPADDED input (in_c, in_h, in_w) with pads
 * top/bottom/left/right filled with pad_value; out is (out_c, out_h, out_w)
 * = (in_h + pt + pb - 2, in_w + pl + pr - 2).  k->wino_gemm must be set.
 * *scratch_bytes gets the scratch memory used. */
int mxn_winograd_run(const mxn_winograd *w, const float *in, int in_h, int in_w, int pt, int pb, int pl, int pr,
                     float pad_value, const mxn_activation *act, float *out, const mxn_kernel_set *k,
                     int num_threads, mxn_thread_pool *pool, size_t *scratch_bytes, mxn_error *err);

#endif
