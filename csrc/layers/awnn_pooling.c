/* Pooling on the V831 NPU (awnn model, device 1; awnn-format.md 7.5, 13.3.4, 13.4).
 * A PDP pass (max exact, average through NVDLA's truncated reciprocals,
 * npu_v831.c), then, if 20 != 0, an SDP output-converter pass (21, 22).
 * Output geometry as ncnn's pooling (pad modes 0-3, global -> 1-D blob).
 * [A] the NPU's handling of elements past the edge: max ignores them,
 * average sums the real elements and divides by the FULL kernel (13.3.4).
 * Average pooling with explicit padding is refused by the board (13.3.4), so
 * it is refused here at load. */
#include <stdlib.h>
#include "conv_common.h"
#include "layer_util.h"
#include "../awnn.h"
#include "../npu_v831.h"

typedef struct {
    int type, kernel_w, kernel_h, stride_w, stride_h, pad_left, pad_right, pad_top, pad_bottom, global, pad_mode;
    int enabled;
    int32_t m, e;
} awnn_pool;

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    awnn_pool *p;
    int rc;
    if ((rc = mxn_check_blob_counts(l, 1, 1, err))) return rc;
    if (!(p = (awnn_pool *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->type = mxn_pd_int(pd, 0, 0);
    p->kernel_w = mxn_pd_int(pd, 1, 0);
    p->kernel_h = mxn_pd_int(pd, 11, p->kernel_w);
    p->stride_w = mxn_pd_int(pd, 2, 1);
    p->stride_h = mxn_pd_int(pd, 12, p->stride_w);
    p->pad_left = mxn_pd_int(pd, 3, 0);
    p->pad_right = mxn_pd_int(pd, 14, p->pad_left);
    p->pad_top = mxn_pd_int(pd, 13, p->pad_left);
    p->pad_bottom = mxn_pd_int(pd, 15, p->pad_top);
    p->global = mxn_pd_int(pd, 4, 0) != 0;
    p->pad_mode = mxn_pd_int(pd, 5, 0);
    /* 7.5: 21 defaults to 1, 22 to 0 */
    if ((rc = mxn_awnn_out_cvt_params(pd, 1, 1, &p->enabled, &p->m, &p->e, err))) return rc;
    if (p->type != 0 && p->type != 1)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "pooling type (param 0) = %d not supported on the NPU "
                             "(0 max, 1 average)", p->type);
    if (mxn_pd_int(pd, 7, 0) != 0)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "adaptive pooling (param 7) is not an NPU operation");
    if (p->global) return MXN_OK;
    if (p->kernel_w < 1 || p->kernel_h < 1 || p->kernel_w > 1024 || p->kernel_h > 1024)
        return mxn_error_set(err, MXN_ERR_FORMAT, "kernel %dx%d must be in 1..1024", p->kernel_h, p->kernel_w);
    if (p->stride_w < 1 || p->stride_h < 1 || p->stride_w > 1024 || p->stride_h > 1024)
        return mxn_error_set(err, MXN_ERR_FORMAT, "stride %dx%d must be in 1..1024", p->stride_h, p->stride_w);
    if (p->pad_left < 0 || p->pad_right < 0 || p->pad_top < 0 || p->pad_bottom < 0 || p->pad_left > 1024 ||
        p->pad_right > 1024 || p->pad_top > 1024 || p->pad_bottom > 1024)
        return mxn_error_set(err, MXN_ERR_FORMAT, "pads %d/%d/%d/%d must be in 0..1024", p->pad_left, p->pad_right,
                             p->pad_top, p->pad_bottom);
    if (p->pad_mode < 0 || p->pad_mode > 3)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "pad_mode (param 5) = %d not supported", p->pad_mode);
    if (p->type == 1 && (p->pad_left || p->pad_right || p->pad_top || p->pad_bottom))
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT,
                             "average pooling with padding on the NPU: the board's runtime refuses it "
                             "(awnn-format.md 13.3.4); it belongs on the CPU (-23328=1,0)");
    return MXN_OK;
}

/* one output value over rows [y0, y1) x columns [x0, x1) of a plane (clipped to it) */
static int8_t pool_window(const awnn_pool *p, const int8_t *plane, int w, int y0, int y1, int x0, int x1, int kw,
                          int kh)
{
    int y, x;
    if (p->type == 0) {
        int m = -128; /* [A] elements outside the input take no part (a window has >= 1 inside) */
        for (y = y0; y < y1; y++)
            for (x = x0; x < x1; x++) m = plane[(size_t)y * w + x] > m ? plane[(size_t)y * w + x] : m;
        return (int8_t)m;
    } else {
        int32_t sum = 0; /* [C] 13.1 item 8: int16 on the PDP for windows <= 8x8 (cannot overflow there) */
        for (y = y0; y < y1; y++)
            for (x = x0; x < x1; x++) sum += plane[(size_t)y * w + x];
        return mxn_npu_avgpool(sum, kw, kh);
    }
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt, mxn_error *err)
{
    const awnn_pool *p = (const awnn_pool *)l->priv;
    const mxn_mat *in = &bottoms[0];
    int c, w, h, pl, pr, pt, pb, ow, oh, q, i, j, rc;
    int8_t *dst;
    (void)opt;
    if (in->dtype != MXN_I8 || in->dims < 2)
        return mxn_error_set(err, MXN_ERR_SHAPE, "expects a (c, h, w) int8 input, got %d-D", in->dims);
    c = in->dims == 3 ? in->c : 1;
    w = in->w;
    h = in->h;
    if (p->global) {
        /* [A] 13.6: the runtime refuses windows over 8; maixnn computes them with the
         * extended reciprocal (npu_v831.c) so the model can still be evaluated */
        if ((rc = mxn_mat_alloc(&tops[0], 1, c, 1, 1, MXN_I8, err))) return rc;
        for (q = 0; q < c; q++) {
            int8_t v = pool_window(p, mxn_mat_i8(in) + (size_t)q * w * h, w, 0, h, 0, w, w, h);
            mxn_mat_i8(&tops[0])[q] = mxn_npu_out_cvt(v, p->enabled, p->m, p->e);
        }
        return MXN_OK;
    }
    pl = p->pad_left;
    pr = p->pad_right;
    pt = p->pad_top;
    pb = p->pad_bottom;
    if (p->pad_mode == 0) { /* ncnn "full": extra tail so the last window fits */
        long long wrem = (long long)w + pl + pr - p->kernel_w, hrem = (long long)h + pt + pb - p->kernel_h;
        if (wrem >= 0 && wrem % p->stride_w) pr += p->stride_w - (int)(wrem % p->stride_w);
        if (hrem >= 0 && hrem % p->stride_h) pb += p->stride_h - (int)(hrem % p->stride_h);
    } else if (p->pad_mode == 2 || p->pad_mode == 3) {
        mxn_same_pads(w, h, p->kernel_w, p->kernel_h, p->stride_w, p->stride_h, p->pad_mode == 3, &pl, &pr, &pt, &pb);
    }
    if (w + pl + pr < p->kernel_w || h + pt + pb < p->kernel_h)
        return mxn_error_set(err, MXN_ERR_SHAPE, "input %dx%d is smaller than the %dx%d kernel", h, w, p->kernel_h,
                             p->kernel_w);
    ow = (w + pl + pr - p->kernel_w) / p->stride_w + 1;
    oh = (h + pt + pb - p->kernel_h) / p->stride_h + 1;
    if ((rc = mxn_mat_alloc(&tops[0], 3, ow, oh, c, MXN_I8, err))) return rc;
    dst = mxn_mat_i8(&tops[0]);
    for (q = 0; q < c; q++) {
        const int8_t *plane = mxn_mat_i8(in) + (size_t)q * w * h;
        for (i = 0; i < oh; i++) {
            int y0 = i * p->stride_h - pt, y1 = y0 + p->kernel_h;
            y0 = y0 < 0 ? 0 : y0;
            y1 = y1 > h ? h : y1;
            for (j = 0; j < ow; j++) {
                int x0 = j * p->stride_w - pl, x1 = x0 + p->kernel_w;
                int8_t v;
                x0 = x0 < 0 ? 0 : x0;
                x1 = x1 > w ? w : x1;
                v = pool_window(p, plane, w, y0, y1, x0, x1, p->kernel_w, p->kernel_h);
                /* 13.3.4: the requantize is a separate SDP pass after the PDP (two roundings) */
                dst[((size_t)q * oh + i) * ow + j] = mxn_npu_out_cvt(v, p->enabled, p->m, p->e);
            }
        }
    }
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_awnn_pooling = {"Pooling", load_param, NULL, forward, NULL};
