/* ReLU: placeholder until implemented (forward reports NOT_IMPLEMENT). */
#include "../mxn_core.h"

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops,
                   const mxn_option *opt, mxn_error *err)
{
    (void)bottoms; (void)tops; (void)opt;
    return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "layer %s: ReLU is not implemented yet", l->name);
}

const mxn_layer_ops mxn_layer_relu = {"ReLU", NULL, NULL, forward, NULL};
