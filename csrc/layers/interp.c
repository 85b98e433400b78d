/* Interp (ncnn interp.cpp semantics), float32.
 *
 * params: 0 resize_type (1 nearest, 2 bilinear, 3 bicubic), 1 height_scale,
 * 2 width_scale, 3 out_h, 4 out_w, 5 dynamic_target_size (size from a second
 * bottom blob), 6 align_corner.
 *
 * Output size: out_w/out_h when both are given, else (int)(w * width_scale),
 * (int)(h * height_scale).  A 2-D blob is resized along w only; a 1-D blob
 * of n values becomes n channels of out_h x out_w filled with each value.
 *
 * Coordinates (these are what ONNX Resize does for PyTorch's exports):
 *  - nearest: src = min((int)(dst * s), size - 1) with s = in / (float)out
 *    when the output size is given, else 1 / scale ("asymmetric" + floor);
 *  - bilinear / bicubic: scale = (double)in / out (or (in-1)/(out-1) with
 *    align_corner); x = (float)((dst + 0.5) * scale - 0.5) ("half_pixel") or
 *    (float)(dst * scale) ("align_corners"); ncnn's border rules (clamp to
 *    the first/last pair for bilinear, fold weights onto the edge taps for
 *    bicubic with A = -0.75).
 * Bilinear/bicubic interpolate rows first, then columns, like ncnn. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "conv_common.h"

typedef struct {
    int resize_type;
    float height_scale, width_scale;
    int output_height, output_width;
    int dynamic_target_size;
    int align_corner;
} interp_layer;

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    interp_layer *ip = (interp_layer *)calloc(1, sizeof(*ip));
    if (!ip) return mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory");
    l->priv = ip;
    ip->resize_type = mxn_pd_int(pd, 0, 0);
    ip->height_scale = mxn_pd_float(pd, 1, 1.f);
    ip->width_scale = mxn_pd_float(pd, 2, 1.f);
    ip->output_height = mxn_pd_int(pd, 3, 0);
    ip->output_width = mxn_pd_int(pd, 4, 0);
    ip->dynamic_target_size = mxn_pd_int(pd, 5, 0);
    ip->align_corner = mxn_pd_int(pd, 6, 0);
    if (ip->resize_type < 1 || ip->resize_type > 3)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT,
                              "resize_type (param 0) = %d not supported (1 nearest, 2 bilinear, 3 bicubic)",
                              ip->resize_type);
    if (ip->output_height < 0 || ip->output_width < 0 || !(ip->height_scale > 0.f) ||
        !(ip->width_scale > 0.f) || ip->height_scale > 65536.f || ip->width_scale > 65536.f)
        return mxn_error_set(err, MXN_ERR_FORMAT,
                              "bad output size/scale: out_h %d out_w %d height_scale %g width_scale %g",
                              ip->output_height, ip->output_width, (double)ip->height_scale, (double)ip->width_scale);
    return MXN_OK;
}

/* source index and the two weights of every output position */
static void linear_coeffs(int in, int out, int align_corner, int *ofs, float *alpha)
{
    double scale = (double)in / out;
    int d;
    if (align_corner) scale = out > 1 ? (double)(in - 1) / (out - 1) : 0.0;
    for (d = 0; d < out; d++) {
        float f = align_corner ? (float)(d * scale) : (float)((d + 0.5) * scale - 0.5);
        int s = (int)floorf(f);
        f -= (float)s;
        if (s < 0) {
            s = 0;
            f = 0.f;
        }
        if (s >= in - 1) {
            s = in - 2;
            f = 1.f;
        }
        if (in == 1) { /* one source pixel: ncnn would read index -1 with weight 0 */
            s = 0;
            f = 0.f;
        }
        ofs[d] = s;
        alpha[2 * d] = 1.f - f;
        alpha[2 * d + 1] = f;
    }
}

static void cubic_weights(float f, float *c)
{
    const float A = -0.75f;
    float f0 = f + 1, f1 = f, f2 = 1 - f;
    c[0] = A * f0 * f0 * f0 - 5 * A * f0 * f0 + 8 * A * f0 - 4 * A;
    c[1] = (A + 2) * f1 * f1 * f1 - (A + 3) * f1 * f1 + 1;
    c[2] = (A + 2) * f2 * f2 * f2 - (A + 3) * f2 * f2 + 1;
    c[3] = 1.f - c[0] - c[1] - c[2];
}

/* ofs[d] is the tap at offset 0; taps are ofs-1 .. ofs+2, weights folded at
 * the borders as ncnn does.  Needs in >= 4 for ncnn's folding to stay inside
 * the row; smaller inputs use clamped taps instead (see tap()). */
static void cubic_coeffs(int in, int out, int align_corner, int *ofs, float *alpha)
{
    double scale = (double)in / out;
    int d;
    if (align_corner) scale = out > 1 ? (double)(in - 1) / (out - 1) : 0.0;
    for (d = 0; d < out; d++) {
        float f = align_corner ? (float)(d * scale) : (float)((d + 0.5) * scale - 0.5);
        float *a = alpha + 4 * d;
        int s = (int)floorf(f); /* as linear_coeffs: f is a float */
        f -= (float)s;
        cubic_weights(f, a);
        if (s <= -1) {
            s = 1;
            a[0] = 1.f - a[3];
            a[1] = a[3];
            a[2] = 0.f;
            a[3] = 0.f;
        }
        if (s == 0) {
            s = 1;
            a[0] = a[0] + a[1];
            a[1] = a[2];
            a[2] = a[3];
            a[3] = 0.f;
        }
        if (s == in - 2) {
            s = in - 3;
            a[3] = a[2] + a[3];
            a[2] = a[1];
            a[1] = a[0];
            a[0] = 0.f;
        }
        if (s >= in - 1) {
            s = in - 3;
            a[3] = 1.f - a[0];
            a[2] = a[0];
            a[1] = 0.f;
            a[0] = 0.f;
        }
        ofs[d] = s;
    }
}

/* index clamped into the row (only matters for inputs narrower than 4, where
 * ncnn itself would read outside the row) */
static int tap(int i, int n)
{
    return i < 0 ? 0 : (i >= n ? n - 1 : i);
}

/* resize one plane (h x w -> oh x ow); rows of `ntaps` taps then columns */
static void resize_plane(const float *src, int w, int h, float *dst, int ow, int oh, int ntaps,
                         const int *xofs, const float *alpha, const int *yofs, const float *beta,
                         float *rowbuf /* ntaps * ow */, int *rowsrc /* ntaps */)
{
    int dy, t;
    for (t = 0; t < ntaps; t++) rowsrc[t] = -1000;
    for (dy = 0; dy < oh; dy++) {
        const float *b = beta + (size_t)ntaps * dy;
        float *drow = dst + (size_t)dy * ow;
        int dx;
        /* horizontally resized source rows needed by this output row */
        for (t = 0; t < ntaps; t++) {
            int sy = ntaps == 2 ? yofs[dy] + t : yofs[dy] - 1 + t;
            float *r = rowbuf + (size_t)t * ow;
            sy = tap(sy, h);
            if (rowsrc[t] == sy) continue;
            rowsrc[t] = sy;
            {
                const float *srow = src + (size_t)sy * w;
                const float *a = alpha;
                for (dx = 0; dx < ow; dx++, a += ntaps) {
                    int sx = xofs[dx];
                    if (ntaps == 2) {
                        r[dx] = srow[sx] * a[0] + srow[tap(sx + 1, w)] * a[1];
                    } else {
                        r[dx] = srow[tap(sx - 1, w)] * a[0] + srow[tap(sx, w)] * a[1] +
                                srow[tap(sx + 1, w)] * a[2] + srow[tap(sx + 2, w)] * a[3];
                    }
                }
            }
        }
        if (ntaps == 2) {
            const float *r0 = rowbuf, *r1 = rowbuf + ow;
            for (dx = 0; dx < ow; dx++) drow[dx] = r0[dx] * b[0] + r1[dx] * b[1];
        } else {
            const float *r0 = rowbuf, *r1 = rowbuf + ow, *r2 = rowbuf + 2 * (size_t)ow,
                        *r3 = rowbuf + 3 * (size_t)ow;
            for (dx = 0; dx < ow; dx++)
                drow[dx] = r0[dx] * b[0] + r1[dx] * b[1] + r2[dx] * b[2] + r3[dx] * b[3];
        }
    }
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops,
                   const mxn_option *opt, mxn_error *err)
{
    const interp_layer *ip = (const interp_layer *)l->priv;
    const mxn_mat *in = &bottoms[0];
    mxn_mat *out = &tops[0];
    int w, h, c, ow, oh, q, rc, ntaps;
    int *xofs = NULL, *yofs = NULL, rowsrc[4];
    float *alpha = NULL, *beta = NULL, *rowbuf = NULL;
    (void)opt;

    if (!in->data || in->dims < 1) return mxn_error_set(err, MXN_ERR_SHAPE, "empty input blob");
    if (in->dtype != MXN_F32)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "int8 input blob: Interp runs in float32 only");
    w = in->w;
    h = in->dims >= 2 ? in->h : 1;
    c = in->dims == 3 ? in->c : 1;
    if (in->dims == 1) { /* n values -> n channels of 1x1 */
        c = in->w;
        w = 1;
        h = 1;
    }

    ow = ip->output_width;
    oh = ip->output_height;
    if (ow == 0 || oh == 0) {
        ow = (int)((float)w * ip->width_scale);
        oh = (int)((float)h * ip->height_scale);
    }
    if (ip->dynamic_target_size) {
        if (l->bottom_count < 2 || !bottoms[1].data)
            return mxn_error_set(err, MXN_ERR_SHAPE,
                                  "dynamic_target_size (param 5) needs a second input blob giving the size");
        ow = bottoms[1].w;
        oh = bottoms[1].h;
    }
    if (in->dims == 2) oh = h; /* 2-D: width only */
    if (ow < 1 || oh < 1 || ow > (1 << 20) || oh > (1 << 20))
        return mxn_error_set(err, MXN_ERR_SHAPE, "output size %dx%d out of range (input %dx%d)",
                              oh, ow, h, w);

    rc = mxn_mat_alloc(out, in->dims == 2 ? 2 : 3, ow, oh, c, MXN_F32, err);
    if (rc) return rc;
    if (in->dims == 1) {
        for (q = 0; q < c; q++) {
            float *d = mxn_mat_f32(out) + (size_t)q * ow * oh;
            size_t i, n = (size_t)ow * oh;
            for (i = 0; i < n; i++) d[i] = mxn_mat_f32(in)[q];
        }
        return MXN_OK;
    }
    if (ow == w && oh == h) {
        memcpy(out->data, in->data, sizeof(float) * mxn_mat_total(in));
        return MXN_OK;
    }
    if (in->dims == 2) { /* each row alone: h planes of one row (same memory layout) */
        c = h;
        h = 1;
        oh = 1;
    }

    if (ip->resize_type == 1) {
        const int size_given = ip->output_height || ip->dynamic_target_size;
        const float hs = size_given ? (float)h / (float)oh : 1.f / ip->height_scale;
        const float ws = (ip->output_width || ip->dynamic_target_size) ? (float)w / (float)ow
                                                                       : 1.f / ip->width_scale;
        xofs = (int *)malloc(sizeof(int) * (size_t)ow);
        if (!xofs) goto no_mem;
        for (q = 0; q < ow; q++) {
            int sx = (int)((float)q * ws);
            xofs[q] = sx < w - 1 ? sx : w - 1;
        }
        for (q = 0; q < c; q++) {
            const float *s = mxn_mat_f32(in) + (size_t)q * w * h;
            float *d = mxn_mat_f32(out) + (size_t)q * ow * oh;
            int y, x;
            for (y = 0; y < oh; y++) {
                int sy = (int)((float)y * hs);
                const float *srow;
                if (sy > h - 1) sy = h - 1;
                srow = s + (size_t)sy * w;
                for (x = 0; x < ow; x++) d[(size_t)y * ow + x] = srow[xofs[x]];
            }
        }
        free(xofs);
        return MXN_OK;
    }

    ntaps = ip->resize_type == 2 ? 2 : 4;
    xofs = (int *)malloc(sizeof(int) * (size_t)ow);
    yofs = (int *)malloc(sizeof(int) * (size_t)oh);
    alpha = (float *)malloc(sizeof(float) * (size_t)ntaps * ow);
    beta = (float *)malloc(sizeof(float) * (size_t)ntaps * oh);
    rowbuf = (float *)malloc(sizeof(float) * (size_t)ntaps * ow);
    if (!xofs || !yofs || !alpha || !beta || !rowbuf) goto no_mem;
    if (ntaps == 2) {
        linear_coeffs(w, ow, ip->align_corner, xofs, alpha);
        linear_coeffs(h, oh, ip->align_corner, yofs, beta);
    } else {
        cubic_coeffs(w, ow, ip->align_corner, xofs, alpha);
        cubic_coeffs(h, oh, ip->align_corner, yofs, beta);
    }
    for (q = 0; q < c; q++)
        resize_plane(mxn_mat_f32(in) + (size_t)q * w * h, w, h, mxn_mat_f32(out) + (size_t)q * ow * oh,
                     ow, oh, ntaps, xofs, alpha, yofs, beta, rowbuf, rowsrc);
    free(xofs);
    free(yofs);
    free(alpha);
    free(beta);
    free(rowbuf);
    return MXN_OK;

no_mem:
    free(xofs);
    free(yofs);
    free(alpha);
    free(beta);
    free(rowbuf);
    mxn_mat_free(out);
    return mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory");
}

const mxn_layer_ops mxn_layer_interp = {"Interp", load_param, NULL, forward, NULL};
