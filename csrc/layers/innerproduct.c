/* InnerProduct (ncnn): fully connected, float32 and int8.
 *
 * params: 0 num_output, 1 bias_term, 2 weight_data_size, 8 int8_scale_term,
 *         9/10 fused activation.
 * Input: any blob, flattened C,H,W; the output is 1-D (w = num_output).  Like
 * ncnn, a 2-D blob whose rows have exactly num_input values is treated as
 * `h` rows (output (num_output, h)).
 * int8 (the .bin holds int8 weights): the input is quantized with
 * bottom_scale (an int8 input blob is used as is), int32 accumulation, then
 * v = bias + acc * (1 / (bottom_scale * weight_scale)) with two roundings as
 * ncnn's innerproduct int8 path; the output is always float. */
#include <limits.h>
#include <stdlib.h>
#include "conv_common.h"
#include "../kernels.h"

typedef struct {
    int num_output, bias_term, weight_data_size, int8_scale_term;
    mxn_activation act;
    mxn_mat weight, bias, weight_scales;
    float bottom_scale;
    float *scale_in;
} ip_layer;

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    ip_layer *ip = (ip_layer *)calloc(1, sizeof(*ip));
    int rc;
    if (!ip) return mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory");
    l->priv = ip;
    ip->num_output = mxn_pd_int(pd, 0, 0);
    ip->bias_term = mxn_pd_int(pd, 1, 0);
    ip->weight_data_size = mxn_pd_int(pd, 2, 0);
    ip->int8_scale_term = mxn_pd_int(pd, 8, 0);
    if (ip->num_output < 1)
        return mxn_error_set(err, MXN_ERR_FORMAT, "num_output (param 0) = %d, expected >= 1",
                              ip->num_output);
    if (ip->weight_data_size < 1 || ip->weight_data_size % ip->num_output != 0)
        return mxn_error_set(err, MXN_ERR_FORMAT,
                              "weight_data_size (param 2) = %d is not a positive multiple of num_output %d",
                              ip->weight_data_size, ip->num_output);
    if (ip->int8_scale_term < 0)
        return mxn_error_set(err, MXN_ERR_FORMAT, "int8_scale_term (param 8) = %d is negative",
                              ip->int8_scale_term);
    if ((rc = mxn_activation_parse(&ip->act, pd, 9, 10, err))) return rc;
    return MXN_OK;
}

static int load_model(mxn_layer *l, mxn_modelbin *mb, mxn_error *err)
{
    ip_layer *ip = (ip_layer *)l->priv;
    int rc, p;
    if ((rc = mxn_modelbin_read_named(mb, (size_t)ip->weight_data_size, MXN_BIN_TAGGED, "weights", &ip->weight, err)))
        return rc;
    if (ip->bias_term &&
        (rc = mxn_modelbin_read_named(mb, (size_t)ip->num_output, MXN_BIN_RAW_F32, "bias", &ip->bias, err)))
        return rc;
    if (ip->int8_scale_term) {
        if ((rc = mxn_modelbin_read_named(mb, (size_t)ip->num_output, MXN_BIN_RAW_F32, "int8 weight scales",
                                          &ip->weight_scales, err)))
            return rc;
        if ((rc = mxn_modelbin_read_scalar(mb, "int8 bottom scale", &ip->bottom_scale, err))) return rc;
    }
    if (ip->weight.dtype == MXN_I8) {
        if (!ip->int8_scale_term)
            return mxn_error_set(err, MXN_ERR_FORMAT,
                                  "the .bin holds int8 weights but int8_scale_term (param 8) is 0");
        if ((rc = mxn_check_int8_scales(mxn_mat_f32(&ip->weight_scales), (size_t)ip->num_output,
                                        ip->bottom_scale, 0, 0.f, err)))
            return rc;
        ip->scale_in = (float *)malloc(sizeof(float) * (size_t)ip->num_output);
        if (!ip->scale_in) return mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory");
        for (p = 0; p < ip->num_output; p++)
            ip->scale_in[p] = mxn_int8_scale_in(ip->bottom_scale, mxn_mat_f32(&ip->weight_scales)[p]);
    }
    return MXN_OK;
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops,
                   const mxn_option *opt, mxn_error *err)
{
    const ip_layer *ip = (const ip_layer *)l->priv;
    const mxn_mat *in = &bottoms[0];
    const int num_input = ip->weight_data_size / ip->num_output;
    size_t total = mxn_mat_total(in);
    mxn_fc_params fc;
    int rows = 1;

    if (!in->data || total == 0) return mxn_error_set(err, MXN_ERR_SHAPE, "empty input blob");
    if (in->dims == 2 && in->w == num_input && in->h > 1) {
        rows = in->h;
    } else if (total != (size_t)num_input) {
        return mxn_error_set(err, MXN_ERR_SHAPE,
                              "input blob (dims %d: w %d h %d c %d) has %zu values, the weights "
                              "(weight_data_size %d / num_output %d) expect %d",
                              in->dims, in->w, in->h, in->c, total, ip->weight_data_size,
                              ip->num_output, num_input);
    }
    fc.num_output = ip->num_output;
    fc.num_input = num_input;
    fc.weight = &ip->weight;
    fc.bias = ip->bias_term ? mxn_mat_f32(&ip->bias) : NULL;
    fc.scale_in = ip->scale_in;
    fc.bottom_scale = ip->bottom_scale;
    fc.act = &ip->act;
    fc.kernels = opt->kernels;
    fc.opt = opt;
    fc.held_scratch = 0;
    return mxn_fc_forward(&fc, in, rows, &tops[0], err);
}

static void destroy(mxn_layer *l)
{
    ip_layer *ip = (ip_layer *)l->priv;
    if (!ip) return;
    mxn_mat_free(&ip->weight);
    mxn_mat_free(&ip->bias);
    mxn_mat_free(&ip->weight_scales);
    free(ip->scale_in);
    free(ip);
    l->priv = NULL;
}

const mxn_layer_ops mxn_layer_innerproduct = {"InnerProduct", load_param, load_model, forward, destroy};

/* The int8 input scale (bottom_scale) of an InnerProduct layer, for
 * mxn_net_blob_int8_scale (csrc/int8_scale.c): 1 and *scale for an int8
 * layer, 0 for a float one. */
int mxn_innerproduct_int8_bottom_scale(const mxn_layer *l, float *scale)
{
    const ip_layer *ip = (const ip_layer *)l->priv;
    if (!ip || !ip->int8_scale_term) return 0;
    *scale = ip->bottom_scale;
    return 1;
}

/* Heap bytes of the layer's weights (mxn_net_weight_memory): the arrays it
 * read plus the int8 scale_in derived from them. */
size_t mxn_innerproduct_weight_bytes(const mxn_layer *l)
{
    const ip_layer *ip = (const ip_layer *)l->priv;
    if (!ip) return 0;
    return mxn_mat_total(&ip->weight) * mxn_dtype_size(ip->weight.dtype) +
           (mxn_mat_total(&ip->bias) + mxn_mat_total(&ip->weight_scales)) * sizeof(float) +
           (ip->scale_in ? sizeof(float) * (size_t)ip->num_output : 0);
}
