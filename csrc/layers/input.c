/* Input: a graph input.  Its value comes from mxn_session_set_input, which also
 * checks the declared shape (0=w 1=h 2=c, recorded by the loader); the executor
 * never runs it. */
#include "layer_util.h"

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    (void)pd;
    return mxn_check_blob_counts(l, 0, 1, err);
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    (void)l; (void)bottoms; (void)tops; (void)opt;
    return mxn_error_set(err, MXN_ERR_NOT_READY, "input value was not set (mxn_session_set_input)");
}

const mxn_layer_ops mxn_layer_input = {"Input", load_param, NULL, forward, NULL};
