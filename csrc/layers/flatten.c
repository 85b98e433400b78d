/* Flatten: any blob to 1-D (w = c*h*w), C,H,W order; float32 or int8 (a view, no copy). */
#include "layer_util.h"

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    (void)pd;
    return mxn_check_blob_counts(l, 1, 1, err);
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const mxn_mat *a = &bottoms[0];
    (void)l; (void)opt; (void)err;
    mxn_mat_view(&tops[0], a, 1, (int)mxn_mat_total(a), 1, 1);
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_flatten = {"Flatten", load_param, NULL, forward, NULL};
