/* Quantize on the V831 NPU: the `<split>_cvt` layer the converter inserts
 * after a Split whose tops have other scales (awnn-format.md 7.10, 13.4):
 * y = out_cvt(x) with 20-22 (defaults 1, 0, 0).  0= (the target scale) is
 * informational: the requantize is in 21/22. */
#include "layer_util.h"
#include "../awnn.h"
#include "../npu_v831.h"

typedef struct {
    int enabled;
    int32_t m, e;
} awnn_quantize;

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    awnn_quantize *p;
    int rc;
    if ((rc = mxn_check_blob_counts(l, 1, 1, err))) return rc;
    if (!(p = (awnn_quantize *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    return mxn_awnn_out_cvt_params(pd, 1, 0, &p->enabled, &p->m, &p->e, err);
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt, mxn_error *err)
{
    const awnn_quantize *p = (const awnn_quantize *)l->priv;
    size_t i, n = mxn_mat_total(&bottoms[0]);
    int rc;
    (void)opt;
    if (bottoms[0].dtype != MXN_I8) return mxn_error_set(err, MXN_ERR_SHAPE, "expects an int8 input");
    if ((rc = mxn_mat_alloc_like(&tops[0], &bottoms[0], MXN_I8, err))) return rc;
    for (i = 0; i < n; i++)
        mxn_mat_i8(&tops[0])[i] = mxn_npu_requantize(mxn_mat_i8(&bottoms[0])[i], p->enabled, p->m, p->e);
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_awnn_quantize = {"Quantize", load_param, NULL, forward, NULL};
