/* ReLU on the V831 NPU (awnn model, device 1; awnn-format.md 7.6, 13.4):
 * 23 = 1, y = out_cvt(max(x, 0)).  Params 20-23 default to 1, 0, 0, 1 (section 9:
 * the converter's defaults are uninitialised; canonical files print every
 * nonzero value; a missing 23 is taken as the plain ReLU it is written for). */
#include "layer_util.h"
#include "../awnn.h"
#include "../npu_v831.h"

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    mxn_awnn_pointwise *p;
    int rc, p23 = mxn_pd_int(pd, 23, 1);
    if ((rc = mxn_check_blob_counts(l, 1, 1, err))) return rc;
    if (!(p = (mxn_awnn_pointwise *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    if (p23 != 1)
        return mxn_error_set(err, MXN_ERR_FORMAT,
                             "param 23 = %d on an NPU ReLU: expected 1 (a leaky ReLU is written as PReLU with 23=2)",
                             p23);
    p->map = mxn_npu_relu;
    return mxn_awnn_out_cvt_params(pd, 1, 0, &p->enabled, &p->m, &p->e, err);
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt, mxn_error *err)
{
    (void)opt;
    return mxn_awnn_pointwise_forward((const mxn_awnn_pointwise *)l->priv, &bottoms[0], &tops[0], err);
}

const mxn_layer_ops mxn_layer_awnn_relu = {"ReLU", load_param, NULL, forward, NULL};
