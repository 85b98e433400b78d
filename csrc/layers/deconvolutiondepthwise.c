/* DeconvolutionDepthWise (ncnn): a grouped transposed convolution (param 7
 * group); see deconvolution.c. */
#include "deconv_common.h"

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    return mxn_deconv_load_param(l, pd, 1, err);
}

const mxn_layer_ops mxn_layer_deconvolutiondepthwise = {"DeconvolutionDepthWise", load_param,
                                                        mxn_deconv_load_model, mxn_deconv_forward,
                                                        mxn_deconv_destroy};
