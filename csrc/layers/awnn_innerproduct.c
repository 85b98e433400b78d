/* InnerProduct on the V831 NPU (awnn model, device 1; awnn-format.md 7.3, 13.4).
 * The weight layout depends on the BOTTOM's shape (section 7.3): a (c,h,w)
 * bottom uses the convolution layout with a kh x kw = h x w kernel over c
 * channels; a 1-D bottom (h == 1 and c == 1) uses kh = kw = 1 over w
 * channels.  The loader does not know blob shapes, so the weights stay in
 * the file's order and are put in ncnn order at each forward (O(weights),
 * the cost of the product itself). */
#include <stdlib.h>
#include "awnn_conv_common.h"
#include "layer_util.h"
#include "../kernels.h"

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    mxn_awnn_conv_core *c;
    int rc;
    if ((rc = mxn_check_blob_counts(l, 1, 1, err))) return rc;
    if (!(c = (mxn_awnn_conv_core *)mxn_priv_alloc(l, sizeof(*c), err))) return err->code;
    return mxn_awnn_conv_core_params(c, pd, 1, 2, err);
}

static int load_model(mxn_layer *l, mxn_modelbin *mb, mxn_error *err)
{
    return mxn_awnn_conv_core_load((mxn_awnn_conv_core *)l->priv, mb, err);
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt, mxn_error *err)
{
    const mxn_awnn_conv_core *c = (const mxn_awnn_conv_core *)l->priv;
    const mxn_mat *in = &bottoms[0];
    const int K = c->weight_data_size / c->num_output;
    int kh, kw, ic, rc;
    int8_t *w;
    int32_t *acc;
    if (in->dtype != MXN_I8)
        return mxn_error_set(err, MXN_ERR_SHAPE, "expects an int8 input");
    if ((size_t)K != mxn_mat_total(in))
        return mxn_error_set(err, MXN_ERR_SHAPE, "input has %zu values, the weights expect %d", mxn_mat_total(in), K);
    if (in->h == 1 && in->c == 1) { /* 7.3: the 1-D exception */
        kh = kw = 1;
        ic = in->w;
    } else {
        kh = in->h;
        kw = in->w;
        ic = in->c;
    }
    w = (int8_t *)malloc((size_t)c->weight_data_size);
    acc = (int32_t *)malloc(sizeof(int32_t) * (size_t)c->num_output);
    if (!w || !acc || (rc = mxn_mat_alloc(&tops[0], 1, c->num_output, 1, 1, MXN_I8, err))) {
        free(w);
        free(acc);
        return w && acc ? err->code : mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory");
    }
    /* the weights in ncnn order (per forward: their layout depends on the input's shape) */
    mxn_note_scratch(opt, (size_t)c->weight_data_size + sizeof(int32_t) * (size_t)c->num_output);
    mxn_npu_ipu_to_ncnn(c->weight, kh, kw, ic, c->num_output, c->first, w);
    mxn_innerproduct_s8_ref(K, c->num_output, mxn_mat_i8(in), w, acc); /* exact integer sums */
    mxn_awnn_conv_core_epilogue(c, acc, 1, mxn_mat_i8(&tops[0]));
    free(w);
    free(acc);
    return MXN_OK;
}

static void destroy(mxn_layer *l)
{
    mxn_awnn_conv_core *c = (mxn_awnn_conv_core *)l->priv;
    if (c) mxn_awnn_conv_core_free(c);
    free(c);
    l->priv = NULL;
}

const mxn_layer_ops mxn_layer_awnn_innerproduct = {"InnerProduct", load_param, load_model, forward, destroy};
