/* Noop: passes each bottom through to the matching top unchanged (a view, no copy). */
#include "layer_util.h"

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    (void)pd;
    if (l->bottom_count != l->top_count)
        return mxn_error_set(err, MXN_ERR_FORMAT, "Noop needs as many tops as bottoms, the line has %d and %d",
                             l->bottom_count, l->top_count);
    return MXN_OK;
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    int k;
    (void)opt; (void)err;
    for (k = 0; k < l->top_count; k++)
        mxn_mat_view(&tops[k], &bottoms[k], bottoms[k].dims, bottoms[k].w, bottoms[k].h, bottoms[k].c);
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_noop = {"Noop", load_param, NULL, forward, NULL};
