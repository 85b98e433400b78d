/* Deconvolution (ncnn): 0 num_output, 1 kernel_w, 11 kernel_h, 2 dilation_w,
 * 12 dilation_h, 3 stride_w, 13 stride_h, 4 pad_left, 15 pad_right, 14
 * pad_top, 16 pad_bottom, 18 output_pad_right, 19 output_pad_bottom, 5
 * bias_term, 6 weight_data_size, 9/10 fused activation; DeconvolutionDepthWise
 * adds 7 group.  Weights [group][out/group][in/group][kh][kw] (PyTorch's
 * ConvTranspose weight [in][out/group][kh][kw] regrouped), bias raw.
 *
 * Every input pixel scatters value * kernel into the full output of
 * (w - 1) * stride + dilation * (kernel - 1) + 1 (+ output_pad) pixels; the
 * pads are then cut from its borders (PyTorch's padding), bias and the
 * activation applied.  Output-size targets (20/21) and SAME pads (-233) are
 * not implemented. */
#include <math.h>
#include "deconv_common.h"

typedef struct {
    int num_output, kernel_w, kernel_h, dilation_w, dilation_h, stride_w, stride_h;
    int pad_left, pad_right, pad_top, pad_bottom, output_pad_right, output_pad_bottom;
    int bias_term, weight_data_size, group;
    mxn_activation act;
    mxn_mat weight, bias;
} deconv_priv;

void mxn_deconv_destroy(mxn_layer *l)
{
    deconv_priv *p = (deconv_priv *)l->priv;
    if (p) {
        mxn_mat_free(&p->weight);
        mxn_mat_free(&p->bias);
    }
    free(p);
    l->priv = NULL;
}

int mxn_deconv_load_param(mxn_layer *l, const mxn_paramdict *pd, int grouped, mxn_error *err)
{
    deconv_priv *p;
    int rc = mxn_check_blob_counts(l, 1, 1, err);
    if (rc) return rc;
    if (!(p = (deconv_priv *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->num_output = mxn_pd_int(pd, 0, 0);
    p->kernel_w = mxn_pd_int(pd, 1, 0);
    p->kernel_h = mxn_pd_int(pd, 11, p->kernel_w);
    p->dilation_w = mxn_pd_int(pd, 2, 1);
    p->dilation_h = mxn_pd_int(pd, 12, p->dilation_w);
    p->stride_w = mxn_pd_int(pd, 3, 1);
    p->stride_h = mxn_pd_int(pd, 13, p->stride_w);
    p->pad_left = mxn_pd_int(pd, 4, 0);
    p->pad_right = mxn_pd_int(pd, 15, p->pad_left);
    p->pad_top = mxn_pd_int(pd, 14, p->pad_left);
    p->pad_bottom = mxn_pd_int(pd, 16, p->pad_top);
    p->output_pad_right = mxn_pd_int(pd, 18, 0);
    p->output_pad_bottom = mxn_pd_int(pd, 19, p->output_pad_right);
    p->bias_term = mxn_pd_int(pd, 5, 0);
    p->weight_data_size = mxn_pd_int(pd, 6, 0);
    p->group = grouped ? mxn_pd_int(pd, 7, 1) : 1;
    if (mxn_pd_int(pd, 20, 0) > 0 || mxn_pd_int(pd, 21, 0) > 0)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "%s with an output size (20=/21=) is not supported",
                             l->type);
    if (mxn_pd_int(pd, 8, 0) != 0)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "%s has no int8 form (8=%d)", l->type, mxn_pd_int(pd, 8, 0));
    if (p->num_output <= 0 || p->kernel_w <= 0 || p->kernel_h <= 0 || p->dilation_w <= 0 || p->dilation_h <= 0 ||
        p->stride_w <= 0 || p->stride_h <= 0 || p->group <= 0 || p->num_output % p->group != 0 ||
        p->kernel_w > 1024 || p->kernel_h > 1024 || p->stride_w > 1024 || p->stride_h > 1024 ||
        p->dilation_w > 1024 || p->dilation_h > 1024)
        return mxn_error_set(err, MXN_ERR_FORMAT,
                             "%s: bad geometry num_output %d kernel %dx%d dilation %dx%d stride %dx%d group %d",
                             l->type, p->num_output, p->kernel_w, p->kernel_h, p->dilation_w, p->dilation_h,
                             p->stride_w, p->stride_h, p->group);
    if (p->pad_left < 0 || p->pad_right < 0 || p->pad_top < 0 || p->pad_bottom < 0 || p->output_pad_right < 0 ||
        p->output_pad_bottom < 0)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "%s with negative or SAME (-233) pads is not supported",
                             l->type);
    {
        long per = (long)p->kernel_w * p->kernel_h * p->num_output;
        if (p->weight_data_size <= 0 || p->weight_data_size % per != 0)
            return mxn_error_set(err, MXN_ERR_FORMAT, "%s weight_data_size %d is not a multiple of kw*kh*num_output %ld",
                                 l->type, p->weight_data_size, per);
    }
    return mxn_activation_parse(&p->act, pd, 9, 10, err);
}

int mxn_deconv_load_model(mxn_layer *l, mxn_modelbin *mb, mxn_error *err)
{
    deconv_priv *p = (deconv_priv *)l->priv;
    int rc;
    if ((rc = mxn_modelbin_read_named(mb, (size_t)p->weight_data_size, MXN_BIN_TAGGED, "weight", &p->weight, err)))
        return rc;
    if (p->weight.dtype != MXN_F32)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "%s has no int8 form (int8 weights)", l->type);
    if (p->bias_term)
        return mxn_modelbin_read_named(mb, (size_t)p->num_output, MXN_BIN_RAW_F32, "bias", &p->bias, err);
    return MXN_OK;
}

int mxn_deconv_forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                       mxn_error *err)
{
    const deconv_priv *p = (const deconv_priv *)l->priv;
    const mxn_mat *a = &bottoms[0];
    const int maxk = p->kernel_w * p->kernel_h;
    int in_per_group, out_per_group, full_w, full_h, out_w, out_h, c, g, rc, i, j, q, k;
    float *full;
    size_t plane;
    (void)opt;
    if ((rc = mxn_check_f32(l, a, 0, err))) return rc;
    if (a->dims != 3 || a->c % p->group != 0 ||
        (long)(a->c / p->group) * (p->num_output / p->group) * maxk * p->group != p->weight_data_size)
        return mxn_error_set(err, MXN_ERR_SHAPE, "%s input %d-D with %d channels does not fit %d weights "
                             "(group %d, %d outputs, kernel %dx%d)", l->type, a->dims, a->c, p->weight_data_size,
                             p->group, p->num_output, p->kernel_w, p->kernel_h);
    in_per_group = a->c / p->group;
    out_per_group = p->num_output / p->group;
    {
        long long fw = (long long)(a->w - 1) * p->stride_w + (long long)p->dilation_w * (p->kernel_w - 1) + 1 +
                       p->output_pad_right;
        long long fh = (long long)(a->h - 1) * p->stride_h + (long long)p->dilation_h * (p->kernel_h - 1) + 1 +
                       p->output_pad_bottom;
        if (fw > 0x7fffffff || fh > 0x7fffffff || fw * fh > ((long long)1 << 40))
            return mxn_error_set(err, MXN_ERR_SHAPE, "%s output %lldx%lld is too large", l->type, fw, fh);
        full_w = (int)fw;
        full_h = (int)fh;
    }
    out_w = full_w - p->pad_left - p->pad_right;
    out_h = full_h - p->pad_top - p->pad_bottom;
    if (out_w <= 0 || out_h <= 0)
        return mxn_error_set(err, MXN_ERR_SHAPE, "%s output would be %dx%d", l->type, out_w, out_h);
    if ((rc = mxn_mat_alloc(&tops[0], 3, out_w, out_h, p->num_output, MXN_F32, err))) return rc;
    plane = (size_t)full_w * full_h;
    if (!(full = (float *)malloc(plane * sizeof(float)))) return mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory");
    for (g = 0; g < p->group; g++) {
        for (c = 0; c < out_per_group; c++) {
            const int oc = g * out_per_group + c;
            const float *kbase = mxn_mat_f32(&p->weight) + (size_t)oc * in_per_group * maxk;
            const float bias = p->bias_term ? mxn_mat_f32(&p->bias)[oc] : 0.f;
            float *dst = mxn_mat_f32(&tops[0]) + (size_t)oc * out_w * out_h;
            memset(full, 0, plane * sizeof(float));
            for (i = 0; i < a->h; i++) {
                for (j = 0; j < a->w; j++) {
                    float *o = full + (size_t)i * p->stride_h * full_w + (size_t)j * p->stride_w;
                    const float *kp = kbase;
                    for (q = 0; q < in_per_group; q++) {
                        const float v = mxn_mat_f32(a)[((size_t)(g * in_per_group + q) * a->h + i) * a->w + j];
                        for (k = 0; k < maxk; k++) {
                            const int ky = k / p->kernel_w, kx = k % p->kernel_w;
                            o[(size_t)ky * p->dilation_h * full_w + (size_t)kx * p->dilation_w] += v * kp[k];
                        }
                        kp += maxk;
                    }
                }
            }
            for (i = 0; i < out_h; i++)
                for (j = 0; j < out_w; j++)
                    dst[(size_t)i * out_w + j] = mxn_activation_apply(
                        &p->act, full[(size_t)(i + p->pad_top) * full_w + j + p->pad_left] + bias);
        }
    }
    free(full);
    return MXN_OK;
}

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    return mxn_deconv_load_param(l, pd, 0, err);
}

const mxn_layer_ops mxn_layer_deconvolution = {"Deconvolution", load_param, mxn_deconv_load_model,
                                               mxn_deconv_forward, mxn_deconv_destroy};
