/* Deconvolution and DeconvolutionDepthWise (ncnn; transposed convolution),
 * float32 only - ncnn has no int8 deconvolution either.  Shared by
 * deconvolution.c and deconvolutiondepthwise.c. */
#ifndef MXN_DECONV_COMMON_H
#define MXN_DECONV_COMMON_H

#include "layer_util.h"

int mxn_deconv_load_param(mxn_layer *l, const mxn_paramdict *pd, int grouped, mxn_error *err);
int mxn_deconv_load_model(mxn_layer *l, mxn_modelbin *mb, mxn_error *err);
int mxn_deconv_forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                       mxn_error *err);
void mxn_deconv_destroy(mxn_layer *l);

#endif
