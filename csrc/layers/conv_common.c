/* Convolution / ConvolutionDepthWise layer logic shared by convolution.c and
 * convolutiondepthwise.c: parameters, weights, padding, float32 and int8
 * forward.  The arithmetic itself lives in the kernels (csrc/kernels.h).
 *
 * Semantics follow ncnn's convolution.cpp / convolutiondepthwise.cpp:
 *  - pads 4/15/14/16 (pad_right defaults to pad_left, pad_top to pad_left,
 *    pad_bottom to pad_top); all four -233 = SAME_UPPER, -234 = SAME_LOWER;
 *    the border is filled with pad_value (param 18);
 *  - int8 inference happens when the weights in the .bin are int8 (and
 *    8=int8_scale_term is set); float weights with a scale term run in float,
 *    like ncnn;
 *  - int8: a float input is quantized with bottom_scale, an int8 input (the
 *    previous conv had 8=101/102) is used as is; the border is
 *    (signed char)pad_value like ncnn (a cast, not a quantization); int32
 *    accumulation; see mxn_conv_dequant_ref for the epilogue and
 *    csrc/x86/ncnn_host_compat.c for ncnn-x86's depthwise exception;
 *  - Convolution on a 1-D blob with a 1x1 kernel and w == weight_data_size /
 *    num_output behaves as InnerProduct (ncnn does this for flattened blobs,
 *    e.g. the squeeze-excite convs after a global pooling; ncnn calls the path
 *    deprecated and its int8 version is broken in the wheel - wrong shape and
 *    values - so converters should write InnerProduct there).  In int8 the
 *    InnerProduct arithmetic applies and the output is float even for 8=102.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "conv_common.h"
#include "../kernels.h"
#include "../thread_pool.h"

/* ---- parameters ----------------------------------------------------------- */

/* a positive int parameter no larger than `max` */
static int get_positive(const mxn_paramdict *pd, int id, int def, int max,
                        const char *what, int *out, mxn_error *err)
{
    int v = mxn_pd_int(pd, id, def);
    if (v < 1 || v > max)
        return mxn_error_set(err, MXN_ERR_FORMAT, "%s (param %d) = %d, expected 1..%d", what, id, v, max);
    *out = v;
    return MXN_OK;
}

int mxn_conv_load_param(mxn_layer *l, const mxn_paramdict *pd, int depthwise_layer, mxn_error *err)
{
    mxn_conv_layer *c;
    int rc;
    long long wsize;
    const int kmax = 1 << 16;

    c = (mxn_conv_layer *)calloc(1, sizeof(*c));
    if (!c) return mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory");
    l->priv = c;
    c->depthwise_layer = depthwise_layer;

    if ((rc = get_positive(pd, 0, 0, INT_MAX, "num_output", &c->num_output, err))) return rc;
    if ((rc = get_positive(pd, 1, 0, kmax, "kernel_w", &c->kernel_w, err))) return rc;
    if ((rc = get_positive(pd, 11, c->kernel_w, kmax, "kernel_h", &c->kernel_h, err))) return rc;
    if ((rc = get_positive(pd, 2, 1, kmax, "dilation_w", &c->dilation_w, err))) return rc;
    if ((rc = get_positive(pd, 12, c->dilation_w, kmax, "dilation_h", &c->dilation_h, err))) return rc;
    if ((rc = get_positive(pd, 3, 1, kmax, "stride_w", &c->stride_w, err))) return rc;
    if ((rc = get_positive(pd, 13, c->stride_w, kmax, "stride_h", &c->stride_h, err))) return rc;
    if ((long long)c->dilation_w * (c->kernel_w - 1) + 1 > kmax ||
        (long long)c->dilation_h * (c->kernel_h - 1) + 1 > kmax)
        return mxn_error_set(err, MXN_ERR_FORMAT, "dilated kernel extent exceeds %d", kmax);

    c->pad_left = mxn_pd_int(pd, 4, 0);
    c->pad_right = mxn_pd_int(pd, 15, c->pad_left);
    c->pad_top = mxn_pd_int(pd, 14, c->pad_left);
    c->pad_bottom = mxn_pd_int(pd, 16, c->pad_top);
    {
        int all_same_upper = c->pad_left == -233 && c->pad_right == -233 && c->pad_top == -233 &&
                             c->pad_bottom == -233;
        int all_same_lower = c->pad_left == -234 && c->pad_right == -234 && c->pad_top == -234 &&
                             c->pad_bottom == -234;
        int all_explicit = c->pad_left >= 0 && c->pad_right >= 0 && c->pad_top >= 0 && c->pad_bottom >= 0 &&
                           c->pad_left <= kmax && c->pad_right <= kmax && c->pad_top <= kmax &&
                           c->pad_bottom <= kmax;
        if (!all_same_upper && !all_same_lower && !all_explicit)
            return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT,
                                  "pads left/right/top/bottom = %d/%d/%d/%d not supported "
                                  "(each 0..%d, or all -233 SAME_UPPER, or all -234 SAME_LOWER)",
                                  c->pad_left, c->pad_right, c->pad_top, c->pad_bottom, kmax);
    }
    c->pad_value = mxn_pd_float(pd, 18, 0.f);
    c->bias_term = mxn_pd_int(pd, 5, 0);
    if ((rc = get_positive(pd, 6, 0, INT_MAX, "weight_data_size", &c->weight_data_size, err))) return rc;
    c->group = 1;
    if (depthwise_layer &&
        (rc = get_positive(pd, 7, 1, INT_MAX, "group", &c->group, err))) return rc;
    if (c->num_output % c->group != 0)
        return mxn_error_set(err, MXN_ERR_FORMAT, "num_output %d is not a multiple of group %d",
                              c->num_output, c->group);
    wsize = (long long)c->num_output * c->kernel_w * c->kernel_h;
    if (c->weight_data_size % wsize != 0)
        return mxn_error_set(err, MXN_ERR_FORMAT,
                              "weight_data_size %d is not a multiple of num_output*kernel_h*kernel_w = %lld",
                              c->weight_data_size, wsize);

    c->int8_scale_term = mxn_pd_int(pd, 8, 0);
    if (c->int8_scale_term != 0 && c->int8_scale_term != 1 && c->int8_scale_term != 2 &&
        c->int8_scale_term != 101 && c->int8_scale_term != 102)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT,
                              "int8_scale_term (param 8) = %d not supported (0, 1, 2, 101, 102)",
                              c->int8_scale_term);
    if (mxn_pd_int(pd, 19, 0) != 0)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT,
                              "dynamic_weight (param 19) is not supported: weights must be in the .bin");

    if ((rc = mxn_activation_parse(&c->act, pd, 9, 10, err))) return rc;
    return MXN_OK;
}

/* ---- weights -------------------------------------------------------------- */

int mxn_check_int8_scales(const float *weight_scales, size_t n, float bottom_scale, int has_top,
                          float top_scale, mxn_error *err)
{
    size_t i;
    if (!(bottom_scale > 0.f) || !isfinite(bottom_scale))
        return mxn_error_set(err, MXN_ERR_FORMAT, "int8 bottom scale %g is not a finite positive number",
                             (double)bottom_scale);
    if (has_top && (!(top_scale > 0.f) || !isfinite(top_scale)))
        return mxn_error_set(err, MXN_ERR_FORMAT, "int8 top scale %g is not a finite positive number",
                             (double)top_scale);
    for (i = 0; i < n; i++)
        if (!(weight_scales[i] >= 0.f) || !isfinite(weight_scales[i]))
            return mxn_error_set(err, MXN_ERR_FORMAT,
                                 "int8 weight scale %zu is %g, not a finite number >= 0", i,
                                 (double)weight_scales[i]);
    return MXN_OK;
}

/* The load-time preparation (ncnn's create_pipeline): the weights packed
 * once into the GEMM kernels' panels.  Pure depthwise convolutions (one
 * input and one output channel per group) keep the direct kernels. */
static int conv_prepare(mxn_conv_layer *c, mxn_error *err)
{
    const int maxk = c->kernel_w * c->kernel_h;
    const int out_g = c->num_output / c->group;
    const long long K = (long long)c->weight_data_size / c->group / out_g;
    int rc;
    if (c->weight_data_size % ((long long)c->group * out_g * maxk) != 0) return MXN_OK; /* refused at forward */
    if (K / maxk == 1 && out_g == 1) return MXN_OK;
    /* float 3x3 stride 1: Winograd F(4,3) instead of the GEMM panels */
    if (c->weight.dtype != MXN_I8 &&
        (rc = mxn_winograd_tile((int)(K / maxk), out_g, c->kernel_w, c->kernel_h, c->stride_w, c->stride_h,
                                c->dilation_w, c->dilation_h, c->group))) {
        if ((rc = mxn_winograd_prepare(&c->wino, rc, (int)(K / maxk), out_g, mxn_mat_f32(&c->weight),
                                       c->bias_term ? mxn_mat_f32(&c->bias) : NULL, err)))
            return rc;
        c->use_wino = 1;
        return MXN_OK;
    }
    if (c->weight.dtype == MXN_I8)
        rc = mxn_conv_gemm_prepare(&c->gemm, c->group, out_g, (int)K, NULL, mxn_mat_i8(&c->weight),
                                   c->bias_term ? mxn_mat_f32(&c->bias) : NULL, c->scale_in, err);
    else
        rc = mxn_conv_gemm_prepare(&c->gemm, c->group, out_g, (int)K, mxn_mat_f32(&c->weight), NULL,
                                   c->bias_term ? mxn_mat_f32(&c->bias) : NULL, NULL, err);
    if (rc) return rc;
    c->use_gemm = 1;
    /* each weight lives once: the panels hold them all (mxn_conv_weight_mat
     * unpacks them for the reference kernels); dtype still says int8 or float */
    {
        const mxn_dtype t = c->weight.dtype;
        mxn_mat_free(&c->weight);
        c->weight.dtype = t;
    }
    return MXN_OK;
}

int mxn_conv_weight_mat(const mxn_conv_layer *c, mxn_mat *w, mxn_error *err)
{
    int rc;
    if (c->weight.data) {
        mxn_mat_view(w, &c->weight, c->weight.dims, c->weight.w, c->weight.h, c->weight.c);
        return MXN_OK;
    }
    if ((rc = mxn_mat_alloc(w, 1, c->weight_data_size, 1, 1, c->weight.dtype, err))) return rc;
    if (c->weight.dtype == MXN_I8) mxn_conv_gemm_unpack(&c->gemm, NULL, mxn_mat_i8(w));
    else mxn_conv_gemm_unpack(&c->gemm, mxn_mat_f32(w), NULL);
    return MXN_OK;
}

size_t mxn_conv_weight_bytes(const mxn_conv_layer *c)
{
    size_t n = (c->weight.data ? mxn_mat_total(&c->weight) * mxn_dtype_size(c->weight.dtype) : 0) +
               mxn_mat_total(&c->bias) * sizeof(float) + mxn_mat_total(&c->weight_scales) * sizeof(float);
    if (c->scale_in) n += sizeof(float) * (size_t)c->num_output;
    return n + mxn_conv_gemm_bytes(&c->gemm) + mxn_winograd_bytes(&c->wino);
}

int mxn_conv_load_model(mxn_layer *l, mxn_modelbin *mb, mxn_error *err)
{
    mxn_conv_layer *c = (mxn_conv_layer *)l->priv;
    int rc, p;

    if ((rc = mxn_modelbin_read_named(mb, (size_t)c->weight_data_size, MXN_BIN_TAGGED, "weights", &c->weight, err)))
        return rc;
    if (c->bias_term &&
        (rc = mxn_modelbin_read_named(mb, (size_t)c->num_output, MXN_BIN_RAW_F32, "bias", &c->bias, err)))
        return rc;
    if (c->int8_scale_term) {
        size_t n = (size_t)c->num_output;
        if (c->depthwise_layer)
            n = (c->int8_scale_term == 1 || c->int8_scale_term == 101) ? (size_t)c->group : 1;
        if ((rc = mxn_modelbin_read_named(mb, n, MXN_BIN_RAW_F32, "int8 weight scales", &c->weight_scales, err)))
            return rc;
        if ((rc = mxn_modelbin_read_scalar(mb, "int8 bottom scale", &c->bottom_scale, err))) return rc;
        if (c->int8_scale_term > 100 && (rc = mxn_modelbin_read_scalar(mb, "int8 top scale", &c->top_scale, err)))
            return rc;
    }

    if (c->weight.dtype == MXN_I8) {
        const float *ws;
        int nws, out_g, host_rcp;
        if (!c->int8_scale_term)
            return mxn_error_set(err, MXN_ERR_FORMAT,
                                 "the .bin holds int8 weights but int8_scale_term (param 8) is 0");
        ws = mxn_mat_f32(&c->weight_scales);
        nws = (int)mxn_mat_total(&c->weight_scales);
        /* scales from a damaged .bin: refuse them here rather than emit inf/NaN */
        if ((rc = mxn_check_int8_scales(ws, (size_t)nws, c->bottom_scale, c->int8_scale_term > 100,
                                        c->top_scale, err)))
            return rc;
        out_g = c->num_output / c->group;
        /* ncnn-x86's int8 pack8 depthwise kernel: see csrc/x86/ncnn_host_compat.c */
        host_rcp = c->depthwise_layer && c->group == c->num_output &&
                   (long long)c->weight_data_size == (long long)c->num_output * c->kernel_w * c->kernel_h &&
                   c->group % 8 == 0 && mxn_ncnn_x86_rcp_depthwise();
        c->dequant_fused = !host_rcp;
        c->scale_in = (float *)malloc(sizeof(float) * (size_t)c->num_output);
        if (!c->scale_in) return mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory");
        for (p = 0; p < c->num_output; p++) {
            /* Convolution: one scale per output channel; depthwise: one per
             * group (8=1/101) or one for all (8=2/102). */
            int idx = !c->depthwise_layer ? p : (nws == 1 ? 0 : p / out_g);
            if (host_rcp)
                c->scale_in[p] = ws[idx] == 0.f ? 0.f : mxn_ncnn_x86_rcp(c->bottom_scale * ws[idx]);
            else
                c->scale_in[p] = mxn_int8_scale_in(c->bottom_scale, ws[idx]);
        }
    }
    return conv_prepare(c, err);
}

void mxn_conv_destroy(mxn_layer *l)
{
    mxn_conv_layer *c = (mxn_conv_layer *)l->priv;
    if (!c) return;
    mxn_mat_free(&c->weight);
    mxn_mat_free(&c->bias);
    mxn_mat_free(&c->weight_scales);
    free(c->scale_in);
    mxn_conv_gemm_free(&c->gemm);
    mxn_winograd_free(&c->wino);
    free(c);
    l->priv = NULL;
}

/* ---- fully connected (shared with InnerProduct) --------------------------- */

int mxn_fc_forward(const mxn_fc_params *fc, const mxn_mat *bottom, int rows,
                   mxn_mat *top, mxn_error *err)
{
    const int int8 = fc->weight->dtype == MXN_I8;
    int rc, r;
    int8_t *q = NULL;
    int32_t *acc = NULL;

    if (rows == 1) rc = mxn_mat_alloc(top, 1, fc->num_output, 1, 1, MXN_F32, err);
    else rc = mxn_mat_alloc(top, 2, fc->num_output, rows, 1, MXN_F32, err);
    if (rc) return rc;

    if (!int8) {
        const float *x = mxn_mat_f32(bottom);
        mxn_note_scratch(fc->opt, fc->held_scratch);
        if (bottom->dtype != MXN_F32) {
            mxn_mat_free(top);
            return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT,
                                  "int8 input blob but the layer has float weights");
        }
        for (r = 0; r < rows; r++) {
            float *o = mxn_mat_f32(top) + (size_t)r * fc->num_output;
            size_t i;
            if (fc->kernels && fc->kernels->fc_f32)
                fc->kernels->fc_f32(fc->num_input, fc->num_output, x + (size_t)r * fc->num_input,
                                    mxn_mat_f32(fc->weight), fc->bias, o);
            else
                mxn_innerproduct_f32_ref(fc->num_input, fc->num_output, x + (size_t)r * fc->num_input,
                                         mxn_mat_f32(fc->weight), fc->bias, o);
            if (fc->act->type)
                for (i = 0; i < (size_t)fc->num_output; i++) o[i] = mxn_activation_apply(fc->act, o[i]);
        }
        return MXN_OK;
    }

    mxn_note_scratch(fc->opt, fc->held_scratch + sizeof(int32_t) * (size_t)fc->num_output +
                                  (bottom->dtype == MXN_F32 ? (size_t)fc->num_input : 0));
    acc = (int32_t *)malloc(sizeof(int32_t) * (size_t)fc->num_output);
    if (bottom->dtype == MXN_F32) q = (int8_t *)malloc((size_t)fc->num_input);
    if (!acc || (bottom->dtype == MXN_F32 && !q)) {
        free(acc);
        free(q);
        mxn_mat_free(top);
        return mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory");
    }
    for (r = 0; r < rows; r++) {
        const int8_t *xq;
        if (bottom->dtype == MXN_F32) {
            mxn_quantize_f32_to_s8(mxn_mat_f32(bottom) + (size_t)r * fc->num_input, (size_t)fc->num_input,
                                   fc->bottom_scale, q);
            xq = q;
        } else {
            xq = mxn_mat_i8(bottom) + (size_t)r * fc->num_input;
        }
        if (fc->kernels && fc->kernels->fc_s8)
            fc->kernels->fc_s8(fc->num_input, fc->num_output, xq, mxn_mat_i8(fc->weight), acc);
        else
            mxn_innerproduct_s8_ref(fc->num_input, fc->num_output, xq, mxn_mat_i8(fc->weight), acc);
        mxn_innerproduct_dequant_ref(acc, fc->num_output, fc->scale_in, fc->bias, fc->act,
                                     mxn_mat_f32(top) + (size_t)r * fc->num_output);
    }
    free(acc);
    free(q);
    return MXN_OK;
}

/* ---- forward -------------------------------------------------------------- */

void mxn_same_pads(int w, int h, int extent_w, int extent_h, int stride_w, int stride_h, int lower,
                   int *pl, int *pr, int *pt, int *pb)
{
    int wpad = extent_w + (w - 1) / stride_w * stride_w - w;
    int hpad = extent_h + (h - 1) / stride_h * stride_h - h;
    /* kernel < stride can make a total negative.  When both are <= 0 ncnn
     * pads nothing; when only one is, ncnn hands a negative pad to its border
     * copy, which is undefined behaviour there (the wheel corrupts its heap).
     * maixnn pads nothing on such an axis. */
    if (wpad < 0) wpad = 0;
    if (hpad < 0) hpad = 0;
    if (lower) {
        *pl = wpad - wpad / 2;
        *pr = wpad / 2;
        *pt = hpad - hpad / 2;
        *pb = hpad / 2;
    } else {
        *pl = wpad / 2;
        *pr = wpad - wpad / 2;
        *pt = hpad / 2;
        *pb = hpad - hpad / 2;
    }
}

/* ---- the input's quantize and padding, split over the session's threads
 * (elementwise and per plane: the same bytes for any split) ---- */

/* below this many elements the other thread's wake-up costs more than it saves */
#define INPUT_PREP_GRAIN 32768

typedef struct {
    const mxn_option *opt;
    const float *in_f32;
    int8_t *out_i8;
    float scale;
} quantize_job;

static void quantize_range(void *ctx, size_t begin, size_t end)
{
    const quantize_job *j = (const quantize_job *)ctx;
    if (j->opt->kernels->quantize)
        j->opt->kernels->quantize(j->in_f32 + begin, end - begin, j->scale, j->out_i8 + begin);
    else
        mxn_quantize_f32_to_s8(j->in_f32 + begin, end - begin, j->scale, j->out_i8 + begin);
}

typedef struct {
    const void *in;
    void *out;
    int int8, h, w, pt, pb, pl, pr;
    float value_f32;
    int8_t value_i8;
} pad_job;

static void pad_range(void *ctx, size_t begin, size_t end)
{
    const pad_job *j = (const pad_job *)ctx;
    const size_t in_plane = (size_t)j->h * j->w;
    const size_t out_plane = (size_t)(j->h + j->pt + j->pb) * (size_t)(j->w + j->pl + j->pr);
    const int n = (int)(end - begin);
    if (j->int8)
        mxn_pad_planes_s8((const int8_t *)j->in + begin * in_plane, n, j->h, j->w, j->pt, j->pb, j->pl, j->pr,
                          j->value_i8, (int8_t *)j->out + begin * out_plane);
    else
        mxn_pad_planes_f32((const float *)j->in + begin * in_plane, n, j->h, j->w, j->pt, j->pb, j->pl, j->pr,
                           j->value_f32, (float *)j->out + begin * out_plane);
}

static void pad_input(const mxn_option *opt, const void *in, int int8, int c, int h, int w, int pt, int pb, int pl,
                      int pr, float value_f32, int8_t value_i8, void *out)
{
    pad_job j;
    const size_t plane = (size_t)h * w;
    j.in = in;
    j.out = out;
    j.int8 = int8;
    j.h = h;
    j.w = w;
    j.pt = pt;
    j.pb = pb;
    j.pl = pl;
    j.pr = pr;
    j.value_f32 = value_f32;
    j.value_i8 = value_i8;
    mxn_parallel_for(opt, (size_t)c, plane >= INPUT_PREP_GRAIN ? 1 : INPUT_PREP_GRAIN / (plane ? plane : 1), pad_range,
                     &j);
}

int mxn_conv_forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops,
                     const mxn_option *opt, mxn_error *err)
{
    const mxn_conv_layer *c = (const mxn_conv_layer *)l->priv;
    const mxn_mat *in = &bottoms[0];
    mxn_mat *out = &tops[0];
    const int int8 = c->weight.dtype == MXN_I8;   /* set even when the array was dropped */
    const int maxk = c->kernel_w * c->kernel_h;
    const int ext_w = c->dilation_w * (c->kernel_w - 1) + 1;
    const int ext_h = c->dilation_h * (c->kernel_h - 1) + 1;
    int in_c, in_h, in_w, expect_in_g;
    int pt, pb, pl, pr, pw, ph, out_w, out_h;
    long long padded_total;
    mxn_conv_shape s;
    /* scratch buffers, all freed at the two exits below */
    void *padded = NULL;
    int8_t *quantized = NULL;
    int32_t *acc = NULL;
    mxn_mat wref;                 /* the reference kernels' weights (mxn_conv_weight_mat) */
    size_t gemm_scratch = 0;
    int rc = MXN_OK;
    /* the session's kernel set: GEMM kernels when it has them, else the reference */
    const int gemm = c->use_gemm && (int8 ? opt->kernels->s8gemm != NULL || opt->kernels->u8gemm != NULL
                                          : opt->kernels->sgemm != NULL);

    memset(&wref, 0, sizeof(wref));
    if (!in->data || in->dims < 1)
        return mxn_error_set(err, MXN_ERR_SHAPE, "empty input blob");
    if (in->dtype == MXN_I8 && !int8)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT,
                              "int8 input blob but the layer has float weights");

    expect_in_g = (int)(c->weight_data_size / ((long long)c->num_output * maxk));

    /* ncnn: a 1x1 Convolution on a flattened blob is an InnerProduct */
    if (in->dims == 1 && !c->depthwise_layer && c->kernel_w == 1 && c->kernel_h == 1 &&
        in->w == expect_in_g) {
        mxn_fc_params fc;
        mxn_mat w;
        if ((rc = mxn_conv_weight_mat(c, &w, err))) return rc;
        fc.num_output = c->num_output;
        fc.num_input = in->w;
        fc.weight = &w;
        fc.bias = c->bias_term ? mxn_mat_f32(&c->bias) : NULL;
        fc.scale_in = c->scale_in;
        fc.bottom_scale = c->bottom_scale;
        fc.act = &c->act;
        fc.kernels = opt->kernels;
        fc.opt = opt;
        fc.held_scratch = w.view ? 0 : mxn_mat_total(&w) * mxn_dtype_size(w.dtype);
        rc = mxn_fc_forward(&fc, in, 1, out, err);
        mxn_mat_free(&w);
        return rc;
    }

    if (in->dims == 1)
        return mxn_error_set(err, MXN_ERR_SHAPE,
                              "1-D input blob of %d values: expected a (c, h, w) blob%s", in->w,
                              (!c->depthwise_layer && maxk == 1)
                                  ? " or exactly weight_data_size/num_output values" : "");
    in_w = in->w;
    in_h = in->h;
    in_c = in->dims == 3 ? in->c : 1;
    if (in_c % c->group != 0 || in_c / c->group != expect_in_g)
        return mxn_error_set(err, MXN_ERR_SHAPE,
                              "input has %d channels but the weights (weight_data_size %d = "
                              "num_output %d x %d x %dx%d kernel%s) expect %lld",
                              in_c, c->weight_data_size, c->num_output, expect_in_g, c->kernel_h,
                              c->kernel_w, c->group > 1 ? ", per group" : "",
                              (long long)expect_in_g * c->group);

    if (c->pad_left == -233 || c->pad_left == -234) {
        mxn_same_pads(in_w, in_h, ext_w, ext_h, c->stride_w, c->stride_h, c->pad_left == -234,
                      &pl, &pr, &pt, &pb);
    } else {
        pl = c->pad_left;
        pr = c->pad_right;
        pt = c->pad_top;
        pb = c->pad_bottom;
    }
    pw = in_w + pl + pr;
    ph = in_h + pt + pb;
    if (pw < ext_w || ph < ext_h || pw < 1 || ph < 1)
        return mxn_error_set(err, MXN_ERR_SHAPE,
                              "input %dx%d (padded %dx%d) is smaller than the %dx%d kernel extent",
                              in_h, in_w, ph, pw, ext_h, ext_w);
    out_w = (pw - ext_w) / c->stride_w + 1;
    out_h = (ph - ext_h) / c->stride_h + 1;
    padded_total = (long long)in_c * ph * pw;

    s.in_c = in_c;
    s.in_h = ph;
    s.in_w = pw;
    s.out_c = c->num_output;
    s.out_h = out_h;
    s.out_w = out_w;
    s.kernel_w = c->kernel_w;
    s.kernel_h = c->kernel_h;
    s.dilation_w = c->dilation_w;
    s.dilation_h = c->dilation_h;
    s.stride_w = c->stride_w;
    s.stride_h = c->stride_h;
    s.group = c->group;

    rc = mxn_mat_alloc(out, 3, out_w, out_h, c->num_output,
                       (int8 && c->int8_scale_term > 100) ? MXN_I8 : MXN_F32, err);
    if (rc) return rc;
    if (padded_total > (long long)(SIZE_MAX / 4)) {
        mxn_mat_free(out);
        return mxn_error_set(err, MXN_ERR_NO_MEM, "padded input too large");
    }
    /* the reference kernels read the weights in ncnn's order */
    if (!gemm && (rc = mxn_conv_weight_mat(c, &wref, err))) goto fail;

    if (!int8) {
        const float *src = mxn_mat_f32(in);
        if (c->use_wino && opt->kernels->wino_gemm) { /* pads itself */
            rc = mxn_winograd_run(&c->wino, src, in_h, in_w, pt, pb, pl, pr, c->pad_value, &c->act,
                                  mxn_mat_f32(out), opt->kernels, opt->num_threads, opt->pool, &gemm_scratch, err);
            if (rc) goto fail;
            goto done;
        }
        if (pl || pr || pt || pb) {
            padded = malloc(sizeof(float) * (size_t)padded_total);
            if (!padded) goto no_mem;
            pad_input(opt, src, 0, in_c, in_h, in_w, pt, pb, pl, pr, c->pad_value, 0, padded);
            src = (const float *)padded;
        }
        if (gemm) {
            mxn_conv_gemm_out o = {&c->act, 0.f, 1, mxn_mat_f32(out), NULL};
            rc = mxn_conv_gemm_run(&c->gemm, &s, src, &o, opt->kernels, opt->num_threads, opt->pool, &gemm_scratch, err);
            if (rc) goto fail;
        } else {
            mxn_conv2d_f32_ref(&s, src, mxn_mat_f32(&wref), c->bias_term ? mxn_mat_f32(&c->bias) : NULL,
                               mxn_mat_f32(out));
        }
        if (!gemm && c->act.type) {
            float *o = mxn_mat_f32(out);
            size_t i, n = mxn_mat_total(out);
            for (i = 0; i < n; i++) o[i] = mxn_activation_apply(&c->act, o[i]);
        }
    } else {
        const int8_t *src;
        size_t in_total = (size_t)in_c * in_h * in_w;
        /* ncnn quantizes first and pads the int8 blob afterwards with the
         * pad value cast, not quantized.  Only 0 is faithful to the float
         * model; the quantizer should avoid a nonzero pad_value in int8. */
        const int8_t qpad = mxn_pad_value_to_int8(c->pad_value);
        if (in->dtype == MXN_F32) {
            quantized = (int8_t *)malloc(in_total ? in_total : 1);
            if (!quantized) goto no_mem;
            {
                quantize_job j;
                j.opt = opt;
                j.in_f32 = mxn_mat_f32(in);
                j.out_i8 = quantized;
                j.scale = c->bottom_scale;
                mxn_parallel_for(opt, in_total, INPUT_PREP_GRAIN, quantize_range, &j);
            }
            src = quantized;
        } else {
            src = mxn_mat_i8(in);
        }
        if (pl || pr || pt || pb) {
            padded = malloc((size_t)padded_total);
            if (!padded) goto no_mem;
            pad_input(opt, src, 1, in_c, in_h, in_w, pt, pb, pl, pr, 0.f, qpad, padded);
            src = (const int8_t *)padded;
        }
        if (gemm) {
            mxn_conv_gemm_out o = {&c->act, c->top_scale, c->dequant_fused,
                                   out->dtype == MXN_F32 ? mxn_mat_f32(out) : NULL,
                                   out->dtype == MXN_I8 ? mxn_mat_i8(out) : NULL};
            rc = mxn_conv_gemm_run(&c->gemm, &s, src, &o, opt->kernels, opt->num_threads, opt->pool, &gemm_scratch, err);
            if (rc) goto fail;
            goto done;
        }
        acc = (int32_t *)malloc(sizeof(int32_t) * mxn_mat_total(out));
        if (!acc) goto no_mem;
        mxn_conv2d_s8_ref(&s, src, mxn_mat_i8(&wref), acc);
        mxn_conv_dequant_ref(acc, c->num_output, (size_t)out_w * out_h, c->scale_in,
                             c->bias_term ? mxn_mat_f32(&c->bias) : NULL, &c->act, c->top_scale,
                             c->dequant_fused, out->dtype == MXN_F32 ? mxn_mat_f32(out) : NULL,
                             out->dtype == MXN_I8 ? mxn_mat_i8(out) : NULL);
    }
done:
    /* what was held at once: the padded and quantized input copies, the
     * int32 accumulators or the GEMM's tiles, the unpacked reference weights */
    mxn_note_scratch(opt, (padded ? (size_t)padded_total * (int8 ? 1 : 4) : 0) +
                              (quantized ? (size_t)in_c * in_h * in_w : 0) +
                              (acc ? sizeof(int32_t) * mxn_mat_total(out) : 0) + gemm_scratch +
                              (wref.view ? 0 : mxn_mat_total(&wref) * mxn_dtype_size(wref.dtype)));
    free(padded);
    free(quantized);
    free(acc);
    mxn_mat_free(&wref);
    return MXN_OK;

no_mem:
    rc = mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory");
fail:
    free(padded);
    free(quantized);
    free(acc);
    mxn_mat_free(&wref);
    mxn_mat_free(out);
    return rc;
}
