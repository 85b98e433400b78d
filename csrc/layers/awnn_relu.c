/* ReLU on the V831 NPU (awnn model, device 1; awnn-format.md 7.6, 13.4):
 * 23 = 1, y = out_cvt(max(x, 0)).  Params 20-23 default to 1, 0, 0, 1 (section 9:
 * the converter's defaults are uninitialised; canonical files print every
 * nonzero value; a missing 23 is taken as the plain ReLU it is written for). */
#include "layer_util.h"
#include "../awnn.h"
#include "../npu_v831.h"

typedef struct {
    int enabled;
    int32_t m, e;
} awnn_relu;

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    awnn_relu *p;
    int rc, p23 = mxn_pd_int(pd, 23, 1);
    if ((rc = mxn_check_blob_counts(l, 1, 1, err))) return rc;
    if (!(p = (awnn_relu *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    if (p23 != 1)
        return mxn_error_set(err, MXN_ERR_FORMAT,
                             "param 23 = %d on an NPU ReLU: expected 1 (a leaky ReLU is written as PReLU with 23=2)",
                             p23);
    return mxn_awnn_out_cvt_params(pd, 1, 0, &p->enabled, &p->m, &p->e, err);
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt, mxn_error *err)
{
    const awnn_relu *p = (const awnn_relu *)l->priv;
    size_t i, n = mxn_mat_total(&bottoms[0]);
    int rc;
    (void)opt;
    if (bottoms[0].dtype != MXN_I8) return mxn_error_set(err, MXN_ERR_SHAPE, "expects an int8 input");
    if ((rc = mxn_mat_alloc_like(&tops[0], &bottoms[0], MXN_I8, err))) return rc;
    for (i = 0; i < n; i++)
        mxn_mat_i8(&tops[0])[i] = mxn_npu_relu(mxn_mat_i8(&bottoms[0])[i], p->enabled, p->m, p->e);
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_awnn_relu = {"ReLU", load_param, NULL, forward, NULL};
