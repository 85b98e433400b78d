/* Pooling on the V831 NPU (awnn model, device 1; awnn-format.md 7.5, 13.3.4, 13.4).
 * A PDP pass (max exact, average through NVDLA's truncated reciprocals,
 * npu_v831.c), then, if 20 != 0, an SDP output-converter pass (21, 22).
 * Output geometry as ncnn's pooling (pad modes 0-3, global -> 1-D blob).
 * [A] the NPU's handling of elements past the edge: max ignores them,
 * average sums the real elements and divides by the FULL kernel (13.3.4).
 * Average pooling with explicit padding is refused by the board (13.3.4), so
 * it is refused here at load. */
#include <stdlib.h>
#include "pool_common.h"
#include "layer_util.h"
#include "../awnn.h"
#include "../npu_v831.h"

typedef struct {
    mxn_pool_params pool;
    int enabled;
    int32_t m, e;
} awnn_pool;

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    awnn_pool *p;
    const mxn_pool_params *q;
    int rc;
    if ((rc = mxn_check_blob_counts(l, 1, 1, err))) return rc;
    if (!(p = (awnn_pool *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    if ((rc = mxn_pool_params_load(&p->pool, pd, err))) return rc;
    /* 7.5: 21 defaults to 1, 22 to 0 */
    if ((rc = mxn_awnn_out_cvt_params(pd, 1, 1, &p->enabled, &p->m, &p->e, err))) return rc;
    q = &p->pool;
    if (q->adaptive_pooling)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "adaptive pooling (param 7) is not an NPU operation");
    if (!q->global_pooling && q->pooling_type == 1 && (q->pad_left || q->pad_right || q->pad_top || q->pad_bottom))
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT,
                             "average pooling with padding on the NPU: the board's runtime refuses it "
                             "(awnn-format.md 13.3.4); it belongs on the CPU (-23328=1,0)");
    return MXN_OK;
}

/* one output value over rows [y0, y1) x columns [x0, x1) of a plane (clipped to it) */
static int8_t pool_window(const mxn_pool_params *p, const int8_t *plane, int w, int y0, int y1, int x0, int x1, int kw,
                          int kh)
{
    int y, x;
    if (p->pooling_type == 0) {
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
    const mxn_pool_params *q = &p->pool;
    const mxn_mat *in = &bottoms[0];
    mxn_pool_geometry g;
    int c, w, h, ch, i, j, rc;
    int8_t *dst;
    (void)opt;
    if (in->dtype != MXN_I8 || in->dims < 2)
        return mxn_error_set(err, MXN_ERR_SHAPE, "expects a (c, h, w) int8 input, got %d-D", in->dims);
    c = in->dims == 3 ? in->c : 1;
    w = in->w;
    h = in->h;
    if (q->global_pooling) {
        /* [A] 13.6: the runtime refuses windows over 8; maixnn computes them with the
         * extended reciprocal (npu_v831.c) so the model can still be evaluated */
        if ((rc = mxn_mat_alloc(&tops[0], 1, c, 1, 1, MXN_I8, err))) return rc;
        for (ch = 0; ch < c; ch++) {
            int8_t v = pool_window(q, mxn_mat_i8(in) + (size_t)ch * w * h, w, 0, h, 0, w, w, h);
            mxn_mat_i8(&tops[0])[ch] = mxn_npu_out_cvt(v, p->enabled, p->m, p->e);
        }
        return MXN_OK;
    }
    if ((rc = mxn_pool_geometry_get(q, w, h, &g, err))) return rc;
    if ((rc = mxn_mat_alloc(&tops[0], 3, g.ow, g.oh, c, MXN_I8, err))) return rc;
    dst = mxn_mat_i8(&tops[0]);
    for (ch = 0; ch < c; ch++) {
        const int8_t *plane = mxn_mat_i8(in) + (size_t)ch * w * h;
        for (i = 0; i < g.oh; i++) {
            int y0 = i * q->stride_h - g.pt, y1 = y0 + q->kernel_h;
            y0 = y0 < 0 ? 0 : y0;
            y1 = y1 > h ? h : y1;
            for (j = 0; j < g.ow; j++) {
                int x0 = j * q->stride_w - g.pl, x1 = x0 + q->kernel_w;
                int8_t v;
                x0 = x0 < 0 ? 0 : x0;
                x1 = x1 > w ? w : x1;
                v = pool_window(q, plane, w, y0, y1, x0, x1, q->kernel_w, q->kernel_h);
                /* 13.3.4: the requantize is a separate SDP pass after the PDP (two roundings) */
                dst[((size_t)ch * g.oh + i) * g.ow + j] = mxn_npu_out_cvt(v, p->enabled, p->m, p->e);
            }
        }
    }
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_awnn_pooling = {"Pooling", load_param, NULL, forward, NULL};
