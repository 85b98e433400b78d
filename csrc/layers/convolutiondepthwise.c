/* ConvolutionDepthWise (ncnn): a grouped convolution (param 7 group), not
 * only depthwise; weights [group][out/group][in/group][kh][kw]; int8 weight
 * scales per group (8=1/101) or one for all (8=2/102).  See conv_common.c.
 *
 * Its own forward for the pure depthwise case (group == channels ==
 * num_output) when the session's kernel set has depthwise row kernels
 * (kernels.h): one channel at a time, padded (and for stride 2 split into even
 * and odd columns, so that every tap reads a contiguous row) into a scratch
 * plane per thread, then the kernel per output row with the bias, the int8
 * epilogue and the activation fused.  Channels are spread over the session's
 * threads; the results do not depend on their number.  Everything else - other
 * group shapes, strides above 2, the reference kernel set - goes through the
 * shared convolution forward. */
#include <stdlib.h>
#include <string.h>
#include "conv_common.h"
#include "../kernels.h"

#define DW_MAX_TAPS 64

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
    int we;                      /* stride 2: width of the even-column half */
    int out_w, out_h;
    int workers;
} dw_ctx;

typedef struct {
    const dw_ctx *d;
    int id;
    void *plane;                 /* padded plane (float or int8) */
    void *split;                 /* stride 2: even columns then odd columns per row */
    int8_t *quantized;           /* int8 from a float input: one quantized plane */
} dw_worker;

/* copy one (h, w) plane into the padded plane, border = value */
#define DW_PAD(NAME, T)                                                                          \
    static void NAME(const T *src, int h, int w, int pl, int pt, int pw, int ph, T value, T *dst) \
    {                                                                                            \
        int y, x;                                                                                \
        for (y = 0; y < ph; y++) {                                                               \
            T *row = dst + (size_t)y * pw;                                                       \
            const int sy = y - pt;                                                               \
            if (sy < 0 || sy >= h) {                                                             \
                for (x = 0; x < pw; x++) row[x] = value;                                         \
                continue;                                                                        \
            }                                                                                    \
            for (x = 0; x < pl; x++) row[x] = value;                                             \
            memcpy(row + pl, src + (size_t)sy * w, sizeof(T) * (size_t)w);                       \
            for (x = pl + w; x < pw; x++) row[x] = value;                                        \
        }                                                                                        \
    }
DW_PAD(dw_pad_f32, float)
DW_PAD(dw_pad_s8, int8_t)

/* stride 2: row r of the padded plane -> even columns [0, we), odd columns [we, pw) */
#define DW_SPLIT(NAME, T)                                                                        \
    static void NAME(const T *plane, int pw, int ph, int we, T *dst)                             \
    {                                                                                            \
        int y, x;                                                                                \
        for (y = 0; y < ph; y++) {                                                               \
            const T *s = plane + (size_t)y * pw;                                                 \
            T *e = dst + (size_t)y * pw, *o = e + we;                                            \
            for (x = 0; x + 1 < pw; x += 2) {                                                    \
                e[x / 2] = s[x];                                                                 \
                o[x / 2] = s[x + 1];                                                             \
            }                                                                                    \
            if (x < pw) e[x / 2] = s[x];                                                         \
        }                                                                                        \
    }
DW_SPLIT(dw_split_f32, float)
DW_SPLIT(dw_split_s8, int8_t)

static void dw_channel(dw_worker *wk, int ch)
{
    const dw_ctx *d = wk->d;
    const mxn_conv_layer *c = d->c;
    const int in_w = d->in->w, in_h = d->in->h;
    const size_t in_plane = (size_t)in_w * in_h, out_plane = (size_t)d->out_w * d->out_h;
    const int taps = c->kernel_w * c->kernel_h;
    const int esize = d->int8 ? 1 : 4;
    const unsigned char *base;
    size_t offs[DW_MAX_TAPS];
    const void *src[DW_MAX_TAPS];
    mxn_dw_row r;
    int ky, kx, y, t;

    if (!d->int8) {
        dw_pad_f32(mxn_mat_f32(d->in) + (size_t)ch * in_plane, in_h, in_w, d->pl, d->pt, d->pw, d->ph,
                   c->pad_value, (float *)wk->plane);
    } else {
        const int8_t *s8;
        if (d->in->dtype == MXN_F32) {
            const float *f = mxn_mat_f32(d->in) + (size_t)ch * in_plane;
            if (d->opt->kernels->quantize) d->opt->kernels->quantize(f, in_plane, c->bottom_scale, wk->quantized);
            else mxn_quantize_f32_to_s8(f, in_plane, c->bottom_scale, wk->quantized);
            s8 = wk->quantized;
        } else {
            s8 = mxn_mat_i8(d->in) + (size_t)ch * in_plane;
        }
        dw_pad_s8(s8, in_h, in_w, d->pl, d->pt, d->pw, d->ph, mxn_pad_value_to_int8(c->pad_value),
                  (int8_t *)wk->plane);
    }
    base = (const unsigned char *)wk->plane;
    if (c->stride_w == 2) {
        if (d->int8) dw_split_s8((const int8_t *)wk->plane, d->pw, d->ph, d->we, (int8_t *)wk->split);
        else dw_split_f32((const float *)wk->plane, d->pw, d->ph, d->we, (float *)wk->split);
        base = (const unsigned char *)wk->split;
    }
    /* each tap's offset within its row: stride 1 the column, stride 2 the
     * column's place in the even or odd half */
    for (ky = 0, t = 0; ky < c->kernel_h; ky++)
        for (kx = 0; kx < c->kernel_w; kx++, t++) {
            const int col = kx * c->dilation_w;
            size_t o = c->stride_w == 2 ? (size_t)(col % 2 ? d->we + col / 2 : col / 2) : (size_t)col;
            offs[t] = (size_t)ky * c->dilation_h * d->pw + o;
        }

    r.bias = c->bias_term ? mxn_mat_f32(&c->bias)[ch] : 0.f;
    r.scale_in = d->int8 ? c->scale_in[ch] : 0.f;
    r.top_scale = c->top_scale;
    r.fused = c->dequant_fused;
    r.act = &c->act;
    for (y = 0; y < d->out_h; y++) {
        const size_t row0 = (size_t)y * c->stride_h * d->pw;
        for (t = 0; t < taps; t++) src[t] = base + (row0 + offs[t]) * (size_t)esize;
        r.out_f32 = d->out->dtype == MXN_F32 ? mxn_mat_f32(d->out) + (size_t)ch * out_plane + (size_t)y * d->out_w
                                             : NULL;
        r.out_i8 = d->out->dtype == MXN_I8 ? mxn_mat_i8(d->out) + (size_t)ch * out_plane + (size_t)y * d->out_w
                                           : NULL;
        if (d->int8)
            d->opt->kernels->dw_s8(d->out_w, taps, (const int8_t *const *)src, mxn_mat_i8(&c->weight) + (size_t)ch * taps,
                                   &r);
        else
            d->opt->kernels->dw_f32(d->out_w, taps, (const float *const *)src,
                                    mxn_mat_f32(&c->weight) + (size_t)ch * taps, &r);
    }
}

static void *dw_worker_main(void *arg)
{
    dw_worker *wk = (dw_worker *)arg;
    int ch;
    for (ch = wk->id; ch < wk->d->c->num_output; ch += wk->d->workers) dw_channel(wk, ch);
    return NULL;
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const mxn_conv_layer *c = (const mxn_conv_layer *)l->priv;
    const mxn_mat *in = &bottoms[0];
    const int int8 = c->weight.dtype == MXN_I8;
    const int taps = c->kernel_w * c->kernel_h;
    const int ext_w = c->dilation_w * (c->kernel_w - 1) + 1, ext_h = c->dilation_h * (c->kernel_h - 1) + 1;
    dw_ctx d;
    dw_worker *wk = NULL;
    size_t plane_bytes;
    int pl, pr, pt, pb, i, rc = MXN_OK;

    /* the fast path's conditions; anything else (and every error message) is the shared forward's */
    if (!in->data || in->dims != 3 || in->c != c->num_output || c->group != c->num_output ||
        (long long)c->weight_data_size != (long long)c->num_output * taps || taps > DW_MAX_TAPS ||
        (c->stride_w != 1 && c->stride_w != 2) || (in->dtype == MXN_I8 && !int8) ||
        !(int8 ? opt->kernels->dw_s8 != NULL : opt->kernels->dw_f32 != NULL))
        return mxn_conv_forward(l, bottoms, tops, opt, err);
    if (c->pad_left == -233 || c->pad_left == -234) {
        mxn_same_pads(in->w, in->h, ext_w, ext_h, c->stride_w, c->stride_h, c->pad_left == -234, &pl, &pr, &pt,
                      &pb);
    } else {
        pl = c->pad_left;
        pr = c->pad_right;
        pt = c->pad_top;
        pb = c->pad_bottom;
    }
    memset(&d, 0, sizeof(d));
    d.pw = in->w + pl + pr;
    d.ph = in->h + pt + pb;
    if (d.pw < ext_w || d.ph < ext_h || (long long)d.pw * d.ph > (1LL << 30))
        return mxn_conv_forward(l, bottoms, tops, opt, err);
    d.c = c;
    d.opt = opt;
    d.in = in;
    d.out = &tops[0];
    d.int8 = int8;
    d.pl = pl;
    d.pt = pt;
    d.we = (d.pw + 1) / 2;
    d.out_w = (d.pw - ext_w) / c->stride_w + 1;
    d.out_h = (d.ph - ext_h) / c->stride_h + 1;
    d.workers = opt->num_threads < c->num_output ? opt->num_threads : c->num_output;
    if (d.workers < 1) d.workers = 1;

    rc = mxn_mat_alloc(d.out, 3, d.out_w, d.out_h, c->num_output,
                       (int8 && c->int8_scale_term > 100) ? MXN_I8 : MXN_F32, err);
    if (rc) return rc;
    plane_bytes = (size_t)d.pw * d.ph * (int8 ? 1 : 4);
    wk = (dw_worker *)calloc((size_t)d.workers, sizeof(dw_worker));
    if (!wk) goto no_mem;
    for (i = 0; i < d.workers; i++) {
        wk[i].d = &d;
        wk[i].id = i;
        wk[i].plane = malloc(plane_bytes);
        if (c->stride_w == 2) wk[i].split = malloc(plane_bytes);
        if (int8 && in->dtype == MXN_F32) wk[i].quantized = (int8_t *)malloc((size_t)in->w * in->h);
        if (!wk[i].plane || (c->stride_w == 2 && !wk[i].split) || (int8 && in->dtype == MXN_F32 && !wk[i].quantized))
            goto no_mem;
    }
    mxn_note_scratch(opt, (size_t)d.workers * (plane_bytes * (c->stride_w == 2 ? 2 : 1) +
                                                (int8 && in->dtype == MXN_F32 ? (size_t)in->w * in->h : 0)));
    mxn_run_workers(opt->pool, d.workers, dw_worker_main, wk, sizeof(dw_worker));
    goto done;

no_mem:
    rc = mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory");
    mxn_mat_free(d.out);
done:
    if (wk)
        for (i = 0; i < d.workers; i++) {
            free(wk[i].plane);
            free(wk[i].split);
            free(wk[i].quantized);
        }
    free(wk);
    return rc;
}

const mxn_layer_ops mxn_layer_convolutiondepthwise = {"ConvolutionDepthWise", load_param,
                                                      mxn_conv_load_model, forward,
                                                      mxn_conv_destroy};
