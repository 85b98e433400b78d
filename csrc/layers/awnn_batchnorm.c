/* BatchNorm on the V831 NPU (awnn model, device 1; awnn-format.md 7.8, 13.4):
 * one int16 block of interleaved A0,B0,A1,B1,...; y = out_cvt(rha((x + A) * B / 2^7)).
 * 20 defaults to 1 (section 9: MaixHub files may lack it), 21/22 to 0. */
#include <stdlib.h>
#include "layer_util.h"
#include "../awnn.h"
#include "../npu_v831.h"

typedef struct {
    int channels;
    int enabled;
    int32_t m, e;
    int16_t *ab;
} awnn_bn;

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    awnn_bn *p;
    int rc;
    if ((rc = mxn_check_blob_counts(l, 1, 1, err))) return rc;
    if (!(p = (awnn_bn *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->channels = mxn_pd_int(pd, 0, 0);
    if (p->channels < 1 || p->channels > (1 << 24))
        return mxn_error_set(err, MXN_ERR_FORMAT, "channels (param 0) = %d out of range", p->channels);
    return mxn_awnn_out_cvt_params(pd, 1, 0, &p->enabled, &p->m, &p->e, err);
}

static int load_model(mxn_layer *l, mxn_modelbin *mb, mxn_error *err)
{
    awnn_bn *p = (awnn_bn *)l->priv;
    return mxn_awnn_read_int16_block(mb, 2 * (size_t)p->channels, "int16 interleaved A,B", &p->ab, err);
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt, mxn_error *err)
{
    const awnn_bn *p = (const awnn_bn *)l->priv;
    size_t inner, i;
    int groups, g, rc;
    (void)opt;
    if (bottoms[0].dtype != MXN_I8) return mxn_error_set(err, MXN_ERR_SHAPE, "expects an int8 input");
    groups = mxn_channel_groups(&bottoms[0], &inner);
    if (groups != p->channels)
        return mxn_error_set(err, MXN_ERR_SHAPE, "input has %d channels, the layer %d", groups, p->channels);
    if ((rc = mxn_mat_alloc_like(&tops[0], &bottoms[0], MXN_I8, err))) return rc;
    for (g = 0; g < groups; g++) {
        const int8_t *x = mxn_mat_i8(&bottoms[0]) + (size_t)g * inner;
        int8_t *y = mxn_mat_i8(&tops[0]) + (size_t)g * inner;
        for (i = 0; i < inner; i++)
            y[i] = mxn_npu_batchnorm(x[i], p->ab[2 * g], p->ab[2 * g + 1], p->enabled, p->m, p->e);
    }
    return MXN_OK;
}

static void destroy(mxn_layer *l)
{
    awnn_bn *p = (awnn_bn *)l->priv;
    if (p) free(p->ab);
    free(p);
    l->priv = NULL;
}

const mxn_layer_ops mxn_layer_awnn_batchnorm = {"BatchNorm", load_param, load_model, forward, destroy};
