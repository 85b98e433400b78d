/* Eltwise on the V831 NPU (awnn model, device 1; awnn-format.md 7.9, 13.3.3, 13.4).
 * Exactly 2 bottoms; main = bottom[1 - p16], operand = bottom[p16] through
 * the converter (17, 18); SUM (0=1) or PROD (0=0); output converter (20-22).
 * MAX is refused by the board's runtime ("Eltwise MAX supported in
 * future..."), so it is refused at load.  The coeffs (param 1) are folded into
 * 17/18 by the converter and not read.  Defaults: 16-18, 21, 22 = 0 (the
 * converter's), 20 = 1. */
#include "layer_util.h"
#include "../awnn.h"
#include "../npu_v831.h"

typedef struct {
    int op, p16, enabled;
    int32_t p17, p18, m, e;
} awnn_eltwise;

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    awnn_eltwise *p;
    int rc;
    if ((rc = mxn_check_blob_counts(l, 2, 1, err)))
        return mxn_error_prefix(err, "the NPU's Eltwise has two inputs (awnn-format.md 7.9): ");
    if (!(p = (awnn_eltwise *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->op = mxn_pd_int(pd, 0, 0);
    if (p->op == 2)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT,
                             "Eltwise MAX on the NPU: the board's runtime refuses it (awnn-format.md 13.3.3)");
    if (p->op != 0 && p->op != 1)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "Eltwise op %d is not supported (0 prod, 1 sum)", p->op);
    p->p16 = mxn_pd_int(pd, 16, 0);
    if (p->p16 != 0 && p->p16 != 1)
        return mxn_error_set(err, MXN_ERR_FORMAT, "param 16 = %d, expected the index of an input (0 or 1)", p->p16);
    if ((rc = mxn_awnn_int16_param(pd, 17, 0, "operand multiplier", &p->p17, err))) return rc;
    if ((rc = mxn_awnn_shift_param(pd, 18, 0, "operand shift", &p->p18, err))) return rc;
    return mxn_awnn_out_cvt_params(pd, 1, 0, &p->enabled, &p->m, &p->e, err);
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt, mxn_error *err)
{
    const awnn_eltwise *p = (const awnn_eltwise *)l->priv;
    const mxn_mat *a = &bottoms[1 - p->p16], *b = &bottoms[p->p16];
    size_t i, n = mxn_mat_total(a);
    int rc;
    (void)opt;
    if (a->dtype != MXN_I8 || b->dtype != MXN_I8) return mxn_error_set(err, MXN_ERR_SHAPE, "expects int8 inputs");
    if (a->dims != b->dims || a->w != b->w || a->h != b->h || a->c != b->c)
        return mxn_error_set(err, MXN_ERR_SHAPE, "inputs differ in shape");
    if ((rc = mxn_mat_alloc_like(&tops[0], a, MXN_I8, err))) return rc;
    for (i = 0; i < n; i++)
        mxn_mat_i8(&tops[0])[i] = mxn_npu_eltwise(p->op == 0, mxn_mat_i8(a)[i], mxn_mat_i8(b)[i], p->p17, p->p18,
                                                  p->enabled, p->m, p->e);
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_awnn_eltwise = {"Eltwise", load_param, NULL, forward, NULL};
