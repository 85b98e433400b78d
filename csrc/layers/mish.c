/* Mish: x * tanh(log(exp(x) + 1)) (ncnn's formula, softplus without a
 * large-x shortcut). */
#include <math.h>
#include "unary.h"

static float mish(float v)
{
    return v * tanhf(logf(expf(v) + 1.f));
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    (void)opt;
    return mxn_unary_forward(l, bottoms, tops, mish, err);
}

const mxn_layer_ops mxn_layer_mish = {"Mish", mxn_unary_load_param, NULL, forward, NULL};
