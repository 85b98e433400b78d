/* Convolution as packed GEMM (see "fast kernels" in kernels.h): the weights
 * packed once at load, the input packed per forward in cache-sized tiles, the
 * tiles spread over the session's threads. */
#ifndef MXN_CONV_GEMM_H
#define MXN_CONV_GEMM_H

#include "kernels.h"
#include "thread_pool.h"

typedef struct {
    int groups;
    int M;                 /* output channels per group */
    int K, K2;             /* input channels per group x kernel taps; K2 = ceil(K / 2) */
    int panels;            /* ceil(M / MXN_GEMM_MR) per group */
    float *a_f32;          /* [groups][panels][K][MR], or NULL (int8 net) */
    int8_t *a_s8;          /* [groups][panels][K2][MR][2], or NULL (float net) */
    float *bias;           /* [groups][panels][MR], zero padded */
    float *scale_in;       /* int8: [groups][panels][MR] */
} mxn_conv_gemm;

/* Pack a convolution's weights [groups][M][K] (float32 or int8), bias [groups*M]
 * (NULL = 0) and int8 scale_in [groups*M].  On failure nothing stays allocated. */
int mxn_conv_gemm_prepare(mxn_conv_gemm *g, int groups, int M, int K, const float *w_f32,
                          const int8_t *w_s8, const float *bias, const float *scale_in, mxn_error *err);
void mxn_conv_gemm_free(mxn_conv_gemm *g);
/* Heap bytes of the packed arrays. */
size_t mxn_conv_gemm_bytes(const mxn_conv_gemm *g);
/* The inverse of the packing: the weights back in [groups][M][K] order (float32
 * into w_f32 for a float net, int8 into w_s8 for an int8 one), bit for bit what
 * mxn_conv_gemm_prepare was given.  For the reference kernels, which read that
 * order (the layers drop their original array once it is packed). */
void mxn_conv_gemm_unpack(const mxn_conv_gemm *g, float *w_f32, int8_t *w_s8);

/* Epilogue parameters of one forward (the tile's other fields come from g). */
typedef struct {
    const mxn_activation *act;
    float top_scale;
    int fused;
    float *out_f32;        /* (groups*M, out_h, out_w), or NULL */
    int8_t *out_i8;        /* int8 requantized output, or NULL */
} mxn_conv_gemm_out;

/* One forward over an ALREADY padded input (s: the padded geometry; in is
 * float for a float net, int8 for an int8 net).  k->sgemm / k->s8gemm must
 * be set.  The tiles run on num_threads threads of `pool` (NULL: the caller
 * alone); results do not depend on num_threads.  *scratch_bytes gets the
 * bytes of scratch memory it used. */
int mxn_conv_gemm_run(const mxn_conv_gemm *g, const mxn_conv_shape *s, const void *in,
                      const mxn_conv_gemm_out *o, const mxn_kernel_set *k, int num_threads,
                      mxn_thread_pool *pool, size_t *scratch_bytes, mxn_error *err);

#endif
