/* Split: one blob to several consumers (float32 or int8): views of it, no copy. */
#include "layer_util.h"

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    (void)pd;
    return mxn_check_blob_counts(l, 1, -1, err);
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const mxn_mat *a = &bottoms[0];
    int k;
    (void)opt; (void)err;
    for (k = 0; k < l->top_count; k++) mxn_mat_view(&tops[k], a, a->dims, a->w, a->h, a->c);
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_split = {"Split", load_param, NULL, forward, NULL};
