/* Fused activations of Convolution/ConvolutionDepthWise/InnerProduct (params
 * 9 = type, 10 = float array), with ncnn's scalar formulas. */
#include <math.h>
#include "mxn_core.h"

int mxn_activation_parse(mxn_activation *a, const mxn_paramdict *pd, int type_id, int params_id,
                         mxn_error *err)
{
    const float *values = NULL;
    int n = mxn_pd_float_array(pd, params_id, &values);
    int needed;
    a->type = mxn_pd_int(pd, type_id, 0);
    a->p0 = 0.f;
    a->p1 = 0.f;
    switch (a->type) {
    case 0: case 1: case 4: case 5: needed = 0; break;
    case 2: needed = 1; break;
    case 3: case 6: needed = 2; break;
    default:
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "activation type %d (param %d) is not supported",
                             a->type, type_id);
    }
    if (n < needed)
        return mxn_error_set(err, MXN_ERR_FORMAT,
                             "activation type %d needs %d values in param %d, got %d",
                             a->type, needed, params_id, n);
    if (needed >= 1) a->p0 = values[0];
    if (needed >= 2) a->p1 = values[1];
    a->lower = 0.f;
    a->upper = 0.f;
    if (a->type == 6) {
        if (a->p0 == 0.f) return mxn_error_set(err, MXN_ERR_FORMAT, "hardswish activation alpha must not be 0");
        a->lower = -a->p1 / a->p0;
        a->upper = (1.f / a->p0) + a->lower;
    }
    return MXN_OK;
}

float mxn_activation_apply(const mxn_activation *a, float v)
{
    switch (a->type) {
    case 1:
        return v > 0.f ? v : 0.f;
    case 2:
        return v > 0.f ? v : v * a->p0;
    case 3:
        if (v < a->p0) v = a->p0;
        if (v > a->p1) v = a->p1;
        return v;
    case 4:
        /* ncnn clamps first so expf never overflows */
        if (v > 88.3762626647949f) v = 88.3762626647949f;
        if (v < -88.3762626647949f) v = -88.3762626647949f;
        return 1.f / (1.f + expf(-v));
    case 5:
        return v * tanhf(logf(expf(v) + 1.f));
    case 6:
        if (v < a->lower) return 0.f;
        if (v > a->upper) return v;
        return v * (v * a->p0 + a->p1);
    default:
        return v;
    }
}
