/* The few places where the official ncnn runtime's arithmetic depends on the
 * CPU it runs on, reproduced so that maixnn agrees with the ncnn of the same
 * host (the oracle the tests compare against).
 *
 * ncnn's x86 build dequantizes a pure depthwise int8 convolution whose channel
 * count is a multiple of 8 (its int8 pack8 kernel) with the APPROXIMATE
 * reciprocal rcpps (about 12 bits; the exact table differs between Intel and
 * AMD, so only the instruction itself reproduces it) followed by a separate
 * multiply and add.  Everywhere else - other shapes, and ncnn's ARM build -
 * it uses 1.f / x and a fused multiply-add.  Measured against the wheel: the
 * exact formula differs there by up to 2.4e-4 relative and flips int8 values.
 *
 * This file is built for x86 targets only; csrc/arm/ncnn_host_compat.c holds
 * ncnn's ARM (and generic) behaviour.  Build with -DMAIXNN_NO_NCNN_X86_RCP to
 * use the exact ARM formula on x86 too, e.g. to reproduce on the PC what an
 * ARM build computes. */
#include "../kernels.h"

#ifndef MAIXNN_NO_NCNN_X86_RCP
#include <xmmintrin.h>

int mxn_ncnn_x86_rcp_depthwise(void)
{
    return 1;
}

float mxn_ncnn_x86_rcp(float x)
{
    return _mm_cvtss_f32(_mm_rcp_ss(_mm_set_ss(x)));
}

#else

int mxn_ncnn_x86_rcp_depthwise(void)
{
    return 0;
}

float mxn_ncnn_x86_rcp(float x)
{
    return 1.f / x;
}

#endif
