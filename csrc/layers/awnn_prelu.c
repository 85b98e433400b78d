/* PReLU on the V831 NPU (awnn model, device 1; awnn-format.md 7.6, 7.7, 13.4):
 * leaky ReLU is written as PReLU without 0= (one slope); 0=num_slope gives
 * per-channel slopes.  Bin: one int16 block of Q10 slopes.  23 must be 2
 * (default 2), 20-22 default 1, 0, 0. */
#include <stdlib.h>
#include "layer_util.h"
#include "../awnn.h"
#include "../npu_v831.h"

typedef struct {
    int num_slope;
    int enabled;
    int32_t m, e;
    int16_t *slope;
} awnn_prelu;

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    awnn_prelu *p;
    int rc, p23 = mxn_pd_int(pd, 23, 2);
    if ((rc = mxn_check_blob_counts(l, 1, 1, err))) return rc;
    if (!(p = (awnn_prelu *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->num_slope = mxn_pd_int(pd, 0, 0);
    if (p->num_slope < 0 || p->num_slope > (1 << 24))
        return mxn_error_set(err, MXN_ERR_FORMAT, "num_slope (param 0) = %d out of range", p->num_slope);
    if (p->num_slope == 0) p->num_slope = 1; /* 7.6: leaky ReLU, one slope */
    if (p23 != 2)
        return mxn_error_set(err, MXN_ERR_FORMAT, "param 23 = %d on an NPU PReLU: expected 2 (slopes in the .bin)", p23);
    return mxn_awnn_out_cvt_params(pd, 1, 0, &p->enabled, &p->m, &p->e, err);
}

static int load_model(mxn_layer *l, mxn_modelbin *mb, mxn_error *err)
{
    awnn_prelu *p = (awnn_prelu *)l->priv;
    return mxn_awnn_read_int16_block(mb, (size_t)p->num_slope, "int16 Q10 slopes", &p->slope, err);
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt, mxn_error *err)
{
    const awnn_prelu *p = (const awnn_prelu *)l->priv;
    size_t inner, i;
    int groups, g, rc;
    (void)opt;
    if (bottoms[0].dtype != MXN_I8) return mxn_error_set(err, MXN_ERR_SHAPE, "expects an int8 input");
    groups = mxn_channel_groups(&bottoms[0], &inner);
    if (p->num_slope > 1 && p->num_slope != groups)
        return mxn_error_set(err, MXN_ERR_SHAPE, "%d slopes for %d channels", p->num_slope, groups);
    if ((rc = mxn_mat_alloc_like(&tops[0], &bottoms[0], MXN_I8, err))) return rc;
    for (g = 0; g < groups; g++) {
        const int16_t s = p->slope[p->num_slope > 1 ? g : 0];
        const int8_t *x = mxn_mat_i8(&bottoms[0]) + (size_t)g * inner;
        int8_t *y = mxn_mat_i8(&tops[0]) + (size_t)g * inner;
        for (i = 0; i < inner; i++) y[i] = mxn_npu_prelu(x[i], s, p->enabled, p->m, p->e);
    }
    return MXN_OK;
}

static void destroy(mxn_layer *l)
{
    awnn_prelu *p = (awnn_prelu *)l->priv;
    if (p) free(p->slope);
    free(p);
    l->priv = NULL;
}

const mxn_layer_ops mxn_layer_awnn_prelu = {"PReLU", load_param, load_model, forward, destroy};
