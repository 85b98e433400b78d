/* ConvolutionDepthWise (ncnn): a grouped convolution (param 7 group), not
 * only depthwise; weights [group][out/group][in/group][kh][kw]; int8 weight
 * scales per group (8=1/101) or one for all (8=2/102).  See conv_common.c.
 *
 * Its own forward for the pure depthwise case (group == channels ==
 * num_output, dilation 1, the same stride 1 or 2 both ways, kernels up to
 * MXN_DW_MAX_K) when the session's kernel set has depthwise kernels
 * (kernels.h mxn_dw_plane): one channel at a time, its plane padded into a
 * scratch plane per thread (int8 from a float input: quantized row by row
 * straight into it; no padding: the input plane itself, no copy, when the
 * blob holds MXN_DW_SLACK more elements after it), then one kernel call per
 * channel plane with the bias, the int8 epilogue and the activation fused.
 * Channels are spread over the session's threads; the results do not depend
 * on their number.  Everything else - other group shapes, strides, dilation,
 * the reference kernel set - goes through the shared convolution forward. */
#include <stdlib.h>
#include <string.h>
#include "conv_common.h"
#include "../kernels.h"

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    return mxn_conv_load_param(l, pd, 1, err);
}

typedef struct {
    const mxn_conv_layer *c;
    const mxn_option *opt;
    const mxn_mat *in;
    mxn_mat *out;
    int int8;
    int pl, pt, pw, ph;          /* left/top pad, padded width/height */
    int out_w, out_h;
    int direct;                  /* no padding, no quantize: planes may be read in place */
    int workers;
    int next_channel;            /* mxn_claim_item's counter */
} dw_ctx;

typedef struct {
    dw_ctx *d;                   /* shared; workers advance its next_channel */
    int id;
    void *plane;                 /* padded plane (float or int8) + MXN_DW_SLACK elements */
} dw_worker;

/* The padded plane: its border is filled with the pad value once per
 * forward (dw_fill_border); per channel only the input rows are copied in,
 * with fixed-size copies the compiler inlines (no library call per row:
 * MobileNet's 7x7 and 14x14 planes have many short rows). */
static void dw_copy_rows(const unsigned char *src, size_t row_bytes, int h, unsigned char *dst, size_t pitch_bytes)
{
    int y;
    for (y = 0; y < h; y++) {
        const unsigned char *s = src + (size_t)y * row_bytes;
        unsigned char *d = dst + (size_t)y * pitch_bytes;
        size_t x = 0;
        if (row_bytes >= 16) {
            for (; x + 16 <= row_bytes; x += 16) memcpy(d + x, s + x, 16);
            if (x < row_bytes) memcpy(d + row_bytes - 16, s + row_bytes - 16, 16);
        } else if (row_bytes >= 8) {
            memcpy(d, s, 8);
            memcpy(d + row_bytes - 8, s + row_bytes - 8, 8);
        } else {
            for (; x < row_bytes; x++) d[x] = s[x];
        }
    }
}

static void dw_fill_border(const dw_ctx *d, void *plane)
{
    const mxn_conv_layer *c = d->c;
    const int8_t v8 = mxn_pad_value_to_int8(c->pad_value);
    size_t i, n = (size_t)d->pw * d->ph;
    if (d->int8) memset(plane, v8, n);
    else
        for (i = 0; i < n; i++) ((float *)plane)[i] = c->pad_value;
}

static void dw_channel(dw_worker *wk, int ch)
{
    const dw_ctx *d = wk->d;
    const mxn_conv_layer *c = d->c;
    const int in_w = d->in->w, in_h = d->in->h;
    const size_t in_plane = (size_t)in_w * in_h, out_plane = (size_t)d->out_w * d->out_h;
    const size_t taps = (size_t)c->kernel_w * c->kernel_h;
    /* in place: the kernels' over-read must stay inside the blob */
    const int direct = d->direct && (size_t)(c->num_output - 1 - ch) * in_plane >= MXN_DW_SLACK;
    mxn_dw_plane p;

    memset(&p, 0, sizeof(p));
    if (!d->int8) {
        const float *src = mxn_mat_f32(d->in) + (size_t)ch * in_plane;
        if (direct) {
            p.in = src;
        } else {
            dw_copy_rows((const unsigned char *)src, sizeof(float) * (size_t)in_w, in_h,
                         (unsigned char *)((float *)wk->plane + (size_t)d->pt * d->pw + d->pl), sizeof(float) * (size_t)d->pw);
            p.in = wk->plane;
        }
        p.w = mxn_mat_f32(&c->weight) + (size_t)ch * taps;
    } else {
        int8_t *inner = (int8_t *)wk->plane + (size_t)d->pt * d->pw + d->pl;
        if (d->in->dtype == MXN_F32) {
            /* int8 from a float input: quantized row by row into place */
            const mxn_quantize_fn q = d->opt->kernels->quantize ? d->opt->kernels->quantize : mxn_quantize_f32_to_s8;
            const float *src = mxn_mat_f32(d->in) + (size_t)ch * in_plane;
            int y;
            for (y = 0; y < in_h; y++) q(src + (size_t)y * in_w, (size_t)in_w, c->bottom_scale, inner + (size_t)y * d->pw);
            p.in = wk->plane;
        } else if (direct) {
            p.in = mxn_mat_i8(d->in) + (size_t)ch * in_plane;
        } else {
            dw_copy_rows((const unsigned char *)(mxn_mat_i8(d->in) + (size_t)ch * in_plane), (size_t)in_w, in_h,
                         (unsigned char *)inner, (size_t)d->pw);
            p.in = wk->plane;
        }
        p.w = mxn_mat_i8(&c->weight) + (size_t)ch * taps;
        p.scale_in = c->scale_in[ch];
        p.top_scale = c->top_scale;
        p.fused = c->dequant_fused;
    }
    p.pitch = d->pw;
    p.kw = c->kernel_w;
    p.kh = c->kernel_h;
    p.stride = c->stride_w;
    p.out_w = d->out_w;
    p.out_h = d->out_h;
    p.bias = c->bias_term ? mxn_mat_f32(&c->bias)[ch] : 0.f;
    p.act = &c->act;
    if (d->out->dtype == MXN_F32) p.out_f32 = mxn_mat_f32(d->out) + (size_t)ch * out_plane;
    else p.out_i8 = mxn_mat_i8(d->out) + (size_t)ch * out_plane;
    if (d->int8) d->opt->kernels->dw_s8(&p);
    else d->opt->kernels->dw_f32(&p);
}

static void *dw_worker_main(void *arg)
{
    dw_worker *wk = (dw_worker *)arg;
    dw_ctx *d = wk->d;
    int ch;
    for (ch = mxn_claim_item(&d->next_channel); ch < d->c->num_output; ch = mxn_claim_item(&d->next_channel))
        dw_channel(wk, ch);
    return NULL;
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const mxn_conv_layer *c = (const mxn_conv_layer *)l->priv;
    const mxn_mat *in = &bottoms[0];
    const int int8 = c->weight.dtype == MXN_I8;
    const int taps = c->kernel_w * c->kernel_h;
    dw_ctx d;
    dw_worker *wk = NULL;
    size_t plane_elems, esize = int8 ? 1 : sizeof(float);
    int pl, pr, pt, pb, i, rc = MXN_OK;

    /* the fast path's conditions; anything else (and every error message) is the shared forward's */
    if (!in->data || in->dims != 3 || in->c != c->num_output || c->group != c->num_output ||
        (long long)c->weight_data_size != (long long)c->num_output * taps || c->kernel_w > MXN_DW_MAX_K ||
        c->kernel_h > MXN_DW_MAX_K || c->dilation_w != 1 || c->dilation_h != 1 || c->stride_w != c->stride_h ||
        (c->stride_w != 1 && c->stride_w != 2) || (in->dtype == MXN_I8 && !int8) ||
        !(int8 ? opt->kernels->dw_s8 != NULL : opt->kernels->dw_f32 != NULL))
        return mxn_conv_forward(l, bottoms, tops, opt, err);
    if (c->pad_left == -233 || c->pad_left == -234) {
        mxn_same_pads(in->w, in->h, c->kernel_w, c->kernel_h, c->stride_w, c->stride_h, c->pad_left == -234, &pl,
                      &pr, &pt, &pb);
    } else {
        pl = c->pad_left;
        pr = c->pad_right;
        pt = c->pad_top;
        pb = c->pad_bottom;
    }
    memset(&d, 0, sizeof(d));
    if (pl < 0 || pr < 0 || pt < 0 || pb < 0) return mxn_conv_forward(l, bottoms, tops, opt, err);
    d.pw = in->w + pl + pr;
    d.ph = in->h + pt + pb;
    if (d.pw < c->kernel_w || d.ph < c->kernel_h || (long long)d.pw * d.ph > (1LL << 30))
        return mxn_conv_forward(l, bottoms, tops, opt, err);
    d.c = c;
    d.opt = opt;
    d.in = in;
    d.out = &tops[0];
    d.int8 = int8;
    d.pl = pl;
    d.pt = pt;
    d.out_w = (d.pw - c->kernel_w) / c->stride_w + 1;
    d.out_h = (d.ph - c->kernel_h) / c->stride_h + 1;
    d.workers = opt->num_threads < c->num_output ? opt->num_threads : c->num_output;
    if (d.workers < 1) d.workers = 1;
    /* no padding and no quantize: the planes but the last few are read in
     * place (the kernels' over-read lands in the next planes) */
    d.direct = pl == 0 && pr == 0 && pt == 0 && pb == 0 && (in->dtype == MXN_I8) == (int8 != 0);

    rc = mxn_mat_alloc(d.out, 3, d.out_w, d.out_h, c->num_output,
                       (int8 && c->int8_scale_term > 100) ? MXN_I8 : MXN_F32, err);
    if (rc) return rc;
    plane_elems = (size_t)d.pw * d.ph + MXN_DW_SLACK;
    wk = (dw_worker *)calloc((size_t)d.workers, sizeof(dw_worker));
    if (!wk) goto no_mem;
    for (i = 0; i < d.workers; i++) {
        wk[i].d = &d;
        wk[i].id = i;
        /* zeroed: the slack the kernels may over-read is defined */
        wk[i].plane = calloc(plane_elems, esize);
        if (!wk[i].plane) goto no_mem;
        dw_fill_border(&d, wk[i].plane);
    }
    mxn_note_scratch(opt, (size_t)d.workers * plane_elems * esize);
    mxn_run_workers(opt->pool, d.workers, dw_worker_main, wk, sizeof(dw_worker));
    goto done;

no_mem:
    rc = mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory");
    mxn_mat_free(d.out);
done:
    if (wk)
        for (i = 0; i < d.workers; i++) free(wk[i].plane);
    free(wk);
    return rc;
}

const mxn_layer_ops mxn_layer_convolutiondepthwise = {"ConvolutionDepthWise", load_param,
                                                      mxn_conv_load_model, forward,
                                                      mxn_conv_destroy};
