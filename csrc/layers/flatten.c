/* Flatten: any blob to 1-D (w = c*h*w), C,H,W order; float32 or int8. */
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
    int rc;
    (void)l; (void)opt;
    if ((rc = mxn_mat_alloc(&tops[0], 1, (int)mxn_mat_total(a), 1, 1, a->dtype, err))) return rc;
    memcpy(tops[0].data, a->data, mxn_mat_bytes(a));
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_flatten = {"Flatten", load_param, NULL, forward, NULL};
