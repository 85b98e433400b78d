/* Quantize on the V831 NPU: the `<split>_cvt` layer the converter inserts
 * after a Split whose tops have other scales (awnn-format.md 7.10, 13.4):
 * y = out_cvt(x) with 20-22 (defaults 1, 0, 0).  0= (the target scale) is
 * informational: the requantize is in 21/22. */
#include "layer_util.h"
#include "../awnn.h"
#include "../npu_v831.h"

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    mxn_awnn_pointwise *p;
    int rc;
    if ((rc = mxn_check_blob_counts(l, 1, 1, err))) return rc;
    if (!(p = (mxn_awnn_pointwise *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->map = mxn_npu_requantize;
    return mxn_awnn_out_cvt_params(pd, 1, 0, &p->enabled, &p->m, &p->e, err);
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt, mxn_error *err)
{
    (void)opt;
    return mxn_awnn_pointwise_forward((const mxn_awnn_pointwise *)l->priv, &bottoms[0], &tops[0], err);
}

const mxn_layer_ops mxn_layer_awnn_quantize = {"Quantize", load_param, NULL, forward, NULL};
