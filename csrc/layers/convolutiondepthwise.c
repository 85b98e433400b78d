/* ConvolutionDepthWise (ncnn): a grouped convolution (param 7 group), not
 * only depthwise; weights [group][out/group][in/group][kh][kw]; int8 weight
 * scales per group (8=1/101) or one for all (8=2/102).  See conv_common.c. */
#include "conv_common.h"

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    return mxn_conv_load_param(l, pd, 1, err);
}

const mxn_layer_ops mxn_layer_convolutiondepthwise = {"ConvolutionDepthWise", load_param,
                                                      mxn_conv_load_model, mxn_conv_forward,
                                                      mxn_conv_destroy};
