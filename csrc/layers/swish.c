/* Swish / SiLU: x / (1 + exp(-x)) (ncnn's formula). */
#include <math.h>
#include "unary.h"

static float swish(float v)
{
    return v / (1.f + expf(-v));
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    (void)opt;
    return mxn_unary_forward(l, bottoms, tops, swish, err);
}

const mxn_layer_ops mxn_layer_swish = {"Swish", mxn_unary_load_param, NULL, forward, NULL};
