/* ncnn's ARM build (and its generic C++ code) dequantizes every int8
 * convolution with the exact reciprocal 1.f / x and a fused multiply-add; the
 * x86 build's exception lives in csrc/x86/ncnn_host_compat.c.  Built for every
 * target that is not x86. */
#include "../kernels.h"

int mxn_ncnn_x86_rcp_depthwise(void)
{
    return 0;
}

float mxn_ncnn_x86_rcp(float x)
{
    return 1.f / x;
}
