/* Convolution on the V831 NPU (awnn model, device 1; awnn-format.md 7.2, 13.4).
 * int8 input, int8 output.  The weights are stored in the NPU's order
 * (section 8, 19 = first-layer order or the 8x32 blocked order) and put back
 * in ncnn order at load; padding contributes 0 (13.4 step 1: pad value and
 * mean are 0).  The 19 = 1 path reads the input as an HWC picture on the
 * board; the arithmetic is the same [A, checked in 13.7 VV]. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "awnn_conv_common.h"
#include "conv_common.h"
#include "layer_util.h"
#include "../kernels.h"

typedef struct {
    mxn_awnn_conv_core core;
    int kernel_w, kernel_h, dilation_w, dilation_h, stride_w, stride_h;
    int pad_left, pad_right, pad_top, pad_bottom; /* all -233 / -234: SAME_UPPER / SAME_LOWER */
} awnn_conv;

static int positive(const mxn_paramdict *pd, int id, int def, const char *what, int *out, mxn_error *err)
{
    int v = mxn_pd_int(pd, id, def);
    if (v < 1 || v > (1 << 16))
        return mxn_error_set(err, MXN_ERR_FORMAT, "%s (param %d) = %d, expected 1..%d", what, id, v, 1 << 16);
    *out = v;
    return MXN_OK;
}

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    awnn_conv *c;
    int rc, same_upper, same_lower, explicit_pads;
    long long kk;
    if ((rc = mxn_check_blob_counts(l, 1, 1, err))) return rc;
    if (!(c = (awnn_conv *)mxn_priv_alloc(l, sizeof(*c), err))) return err->code;
    if ((rc = mxn_awnn_conv_core_params(&c->core, pd, 5, 6, err))) return rc;
    if ((rc = positive(pd, 1, 0, "kernel_w", &c->kernel_w, err))) return rc;
    if ((rc = positive(pd, 11, c->kernel_w, "kernel_h", &c->kernel_h, err))) return rc;
    if ((rc = positive(pd, 2, 1, "dilation_w", &c->dilation_w, err))) return rc;
    if ((rc = positive(pd, 12, c->dilation_w, "dilation_h", &c->dilation_h, err))) return rc;
    if ((rc = positive(pd, 3, 1, "stride_w", &c->stride_w, err))) return rc;
    if ((rc = positive(pd, 13, c->stride_w, "stride_h", &c->stride_h, err))) return rc;
    if ((long long)c->dilation_w * (c->kernel_w - 1) + 1 > (1 << 16) ||
        (long long)c->dilation_h * (c->kernel_h - 1) + 1 > (1 << 16))
        return mxn_error_set(err, MXN_ERR_FORMAT, "dilated kernel extent exceeds %d", 1 << 16);
    c->pad_left = mxn_pd_int(pd, 4, 0);
    c->pad_right = mxn_pd_int(pd, 15, c->pad_left);
    c->pad_top = mxn_pd_int(pd, 14, c->pad_left);
    c->pad_bottom = mxn_pd_int(pd, 16, c->pad_top);
    same_upper = c->pad_left == -233 && c->pad_right == -233 && c->pad_top == -233 && c->pad_bottom == -233;
    same_lower = c->pad_left == -234 && c->pad_right == -234 && c->pad_top == -234 && c->pad_bottom == -234;
    explicit_pads = c->pad_left >= 0 && c->pad_right >= 0 && c->pad_top >= 0 && c->pad_bottom >= 0 &&
                    c->pad_left <= (1 << 16) && c->pad_right <= (1 << 16) && c->pad_top <= (1 << 16) &&
                    c->pad_bottom <= (1 << 16);
    if (!same_upper && !same_lower && !explicit_pads)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT,
                             "pads left/right/top/bottom = %d/%d/%d/%d not supported", c->pad_left, c->pad_right,
                             c->pad_top, c->pad_bottom);
    kk = (long long)c->core.num_output * c->kernel_w * c->kernel_h;
    if (c->core.weight_data_size % kk)
        return mxn_error_set(err, MXN_ERR_FORMAT,
                             "weight_data_size %d is not a multiple of num_output*kernel_h*kernel_w = %lld",
                             c->core.weight_data_size, kk);
    return MXN_OK;
}

static int load_model(mxn_layer *l, mxn_modelbin *mb, mxn_error *err)
{
    awnn_conv *c = (awnn_conv *)l->priv;
    int8_t *ncnn;
    int rc, ic;
    if ((rc = mxn_awnn_conv_core_load(&c->core, mb, err))) return rc;
    /* section 8: undo the NPU layout once, here */
    ic = c->core.weight_data_size / (c->core.num_output * c->kernel_w * c->kernel_h);
    ncnn = (int8_t *)malloc((size_t)c->core.weight_data_size);
    if (!ncnn) return mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory");
    mxn_npu_ipu_to_ncnn(c->core.weight, c->kernel_h, c->kernel_w, ic, c->core.num_output, c->core.first, ncnn);
    free(c->core.weight);
    c->core.weight = ncnn;
    return MXN_OK;
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt, mxn_error *err)
{
    const awnn_conv *c = (const awnn_conv *)l->priv;
    const mxn_mat *in = &bottoms[0];
    const int ext_w = c->dilation_w * (c->kernel_w - 1) + 1, ext_h = c->dilation_h * (c->kernel_h - 1) + 1;
    int pl = c->pad_left, pr = c->pad_right, pt = c->pad_top, pb = c->pad_bottom, pw, ph, ow, oh, rc;
    const int ic = c->core.weight_data_size / (c->core.num_output * c->kernel_w * c->kernel_h);
    const int8_t *src;
    int8_t *padded = NULL;
    int32_t *acc;
    mxn_conv_shape s;
    if (in->dtype != MXN_I8 || in->dims != 3)
        return mxn_error_set(err, MXN_ERR_SHAPE, "expects a 3-D int8 input, got %d-D", in->dims);
    if (in->c != ic)
        return mxn_error_set(err, MXN_ERR_SHAPE, "input has %d channels, the weights expect %d", in->c, ic);
    if (pl < 0)
        mxn_same_pads(in->w, in->h, ext_w, ext_h, c->stride_w, c->stride_h, pl == -234, &pl, &pr, &pt, &pb);
    pw = in->w + pl + pr;
    ph = in->h + pt + pb;
    if (pw < ext_w || ph < ext_h)
        return mxn_error_set(err, MXN_ERR_SHAPE, "input %dx%d (padded %dx%d) is smaller than the %dx%d kernel", in->h,
                             in->w, ph, pw, ext_h, ext_w);
    ow = (pw - ext_w) / c->stride_w + 1;
    oh = (ph - ext_h) / c->stride_h + 1;
    src = mxn_mat_i8(in);
    if (pl || pr || pt || pb) {
        padded = (int8_t *)malloc((size_t)ic * pw * ph);
        if (!padded) return mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory");
        mxn_pad_planes_s8(src, ic, in->h, in->w, pt, pb, pl, pr, 0, padded); /* 13.4 step 1: padding is 0 */
        src = padded;
    }
    acc = (int32_t *)malloc(sizeof(int32_t) * (size_t)c->core.num_output * ow * oh);
    if (!acc || (rc = mxn_mat_alloc(&tops[0], 3, ow, oh, c->core.num_output, MXN_I8, err))) {
        free(padded);
        free(acc);
        return acc ? err->code : mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory");
    }
    s.in_c = ic;
    s.in_h = ph;
    s.in_w = pw;
    s.out_c = c->core.num_output;
    s.out_h = oh;
    s.out_w = ow;
    s.kernel_w = c->kernel_w;
    s.kernel_h = c->kernel_h;
    s.dilation_w = c->dilation_w;
    s.dilation_h = c->dilation_h;
    s.stride_w = c->stride_w;
    s.stride_h = c->stride_h;
    s.group = 1;
    mxn_note_scratch(opt, (padded ? (size_t)ic * pw * ph : 0) + sizeof(int32_t) * (size_t)c->core.num_output * ow * oh);
    mxn_conv2d_s8_ref(&s, src, c->core.weight, acc); /* 13.4 step 1: exact integer sum */
    mxn_awnn_conv_core_epilogue(&c->core, acc, (size_t)ow * oh, mxn_mat_i8(&tops[0]));
    free(padded);
    free(acc);
    return MXN_OK;
}

static void destroy(mxn_layer *l)
{
    awnn_conv *c = (awnn_conv *)l->priv;
    if (c) mxn_awnn_conv_core_free(&c->core);
    free(c);
    l->priv = NULL;
}

const mxn_layer_ops mxn_layer_awnn_convolution = {"Convolution", load_param, load_model, forward, destroy};
