/* Shared implementation of Convolution and ConvolutionDepthWise (float32 and
 * ncnn-compatible int8), plus small helpers the compute layers share.
 * Error messages say only what is wrong: the loader and the executor prefix
 * them with the layer's name and type. */
#ifndef MXN_CONV_COMMON_H
#define MXN_CONV_COMMON_H

#include "../mxn_core.h"
#include "../conv_gemm.h"
#include "../conv_winograd.h"

typedef struct {
    int depthwise_layer;          /* 1 for ConvolutionDepthWise (reads param 7 group) */
    int num_output;
    int kernel_w, kernel_h;
    int dilation_w, dilation_h;
    int stride_w, stride_h;
    int pad_left, pad_right, pad_top, pad_bottom; /* all -233 = SAME_UPPER, all -234 = SAME_LOWER */
    float pad_value;
    int bias_term;
    int weight_data_size;
    int group;
    int int8_scale_term;          /* 0 float; 1/2 int8 with float output; 101/102 int8 output */
    mxn_activation act;

    /* F32, or I8 for an int8 model, [num_output][in/group][kh][kw].  Each
     * weight lives once: where a packed copy exists (use_gemm), the loaded
     * array is freed after packing (data NULL, dtype kept); read the weights
     * in this order through mxn_conv_weight_mat, never directly. */
    mxn_mat weight;
    mxn_mat bias;                 /* F32 [num_output] or empty */
    mxn_mat weight_scales;        /* F32 [num_output] (Convolution), [group] or [1] (depthwise) */
    float bottom_scale;
    float top_scale;
    float *scale_in;              /* [num_output]: 1 / (bottom_scale * weight_scale), int8 only */
    int dequant_fused;            /* int8 epilogue uses fmaf (0: ncnn-x86 depthwise rule) */
    int use_gemm;                 /* weights packed for the GEMM kernels (all but pure depthwise) */
    mxn_conv_gemm gemm;
    int use_wino;                 /* float 3x3 s1: Winograd weights instead of the GEMM panels */
    mxn_winograd wino;
} mxn_conv_layer;

int mxn_conv_load_param(mxn_layer *l, const mxn_paramdict *pd, int depthwise_layer, mxn_error *err);
int mxn_conv_load_model(mxn_layer *l, mxn_modelbin *mb, mxn_error *err);
int mxn_conv_forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops,
                     const mxn_option *opt, mxn_error *err);
void mxn_conv_destroy(mxn_layer *l);

/* The weights in ncnn's order [num_output][in/group][kh][kw] for the
 * reference kernels and the 1-D (InnerProduct) path: *w becomes a view of
 * the loaded array where the layer kept it, else a new array unpacked from the
 * packed copy (bit-identical).  Free it with mxn_mat_free after the forward;
 * a non-view *w is scratch memory (count it with mxn_note_scratch). */
int mxn_conv_weight_mat(const mxn_conv_layer *c, mxn_mat *w, mxn_error *err);
/* heap bytes of the layer's weights as held: arrays, packed copies, scales */
size_t mxn_conv_weight_bytes(const mxn_conv_layer *c);

/* Fully connected forward shared by InnerProduct and Convolution's ncnn
 * behaviour on flattened (1-D) blobs.  `x` is num_input values per row
 * (rows == 1 except for InnerProduct on a 2-D blob); F32 or I8 input. */
typedef struct {
    int num_output;
    int num_input;
    const mxn_mat *weight;        /* F32 or I8, [num_output][num_input] */
    const float *bias;            /* NULL when no bias */
    const float *scale_in;        /* int8 only: [num_output] */
    float bottom_scale;           /* int8 only */
    const mxn_activation *act;
    const mxn_kernel_set *kernels;  /* the session's: fc_f32 / fc_s8 when it has them */
    const mxn_option *opt;        /* the forward's: its scratch is noted there (may be NULL) */
    size_t held_scratch;          /* scratch bytes the caller holds during the call (noted with the FC's) */
} mxn_fc_params;

/* bottom_scale of an int8 InnerProduct (1), or 0 for a float one
 * (innerproduct.c; used by mxn_net_blob_int8_scale). */
int mxn_innerproduct_int8_bottom_scale(const mxn_layer *l, float *scale);
/* heap bytes of an InnerProduct's weights (innerproduct.c; mxn_net_weight_memory) */
size_t mxn_innerproduct_weight_bytes(const mxn_layer *l);

int mxn_fc_forward(const mxn_fc_params *fc, const mxn_mat *bottom, int rows,
                   mxn_mat *top, mxn_error *err);

/* ncnn's SAME_UPPER (lower = 0) / SAME_LOWER (lower = 1) padding for a
 * kernel extent: total = extent + (size-1)/stride*stride - size, the odd
 * pixel after (upper) or before (lower); a negative total (kernel < stride)
 * pads nothing, as ncnn does. */
void mxn_same_pads(int w, int h, int extent_w, int extent_h, int stride_w, int stride_h, int lower,
                   int *pl, int *pr, int *pt, int *pb);

/* scale_in[p] = 1.f / (bottom_scale * weight_scale[idx(p)]) in float32, 0 when the
 * weight scale is 0 (an all-zero weight row), as ncnn does. */
static inline float mxn_int8_scale_in(float bottom_scale, float weight_scale)
{
    return weight_scale == 0.f ? 0.f : 1.f / (bottom_scale * weight_scale);
}

/* An int8 layer's scales from the .bin must make sense before they are used:
 * bottom (and top, when requantizing) scales finite and > 0, weight scales
 * finite and >= 0 (0 = an all-zero weight row).  Anything else would turn
 * every output into inf/NaN or flip signs without a word. */
int mxn_check_int8_scales(const float *weight_scales, size_t n, float bottom_scale, int has_top,
                          float top_scale, mxn_error *err);

#endif
