/* Convolution (ncnn): float32 and int8; see conv_common.c for the semantics. */
#include "conv_common.h"

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    return mxn_conv_load_param(l, pd, 0, err);
}

const mxn_layer_ops mxn_layer_convolution = {"Convolution", load_param, mxn_conv_load_model,
                                             mxn_conv_forward, mxn_conv_destroy};
