/* ncnn's Pooling parameters and output geometry (see pool_common.h). */
#include "conv_common.h"
#include "pool_common.h"

int mxn_pool_params_load(mxn_pool_params *p, const mxn_paramdict *pd, mxn_error *err)
{
    const int kmax = 1 << 16;
    p->pooling_type = mxn_pd_int(pd, 0, 0);
    p->kernel_w = mxn_pd_int(pd, 1, 0);
    p->kernel_h = mxn_pd_int(pd, 11, p->kernel_w);
    p->stride_w = mxn_pd_int(pd, 2, 1);
    p->stride_h = mxn_pd_int(pd, 12, p->stride_w);
    p->pad_left = mxn_pd_int(pd, 3, 0);
    p->pad_right = mxn_pd_int(pd, 14, p->pad_left);
    p->pad_top = mxn_pd_int(pd, 13, p->pad_left);
    p->pad_bottom = mxn_pd_int(pd, 15, p->pad_top);
    p->global_pooling = mxn_pd_int(pd, 4, 0);
    p->pad_mode = mxn_pd_int(pd, 5, 0);
    p->avgpool_count_include_pad = mxn_pd_int(pd, 6, 0);
    p->adaptive_pooling = mxn_pd_int(pd, 7, 0);
    p->out_w = mxn_pd_int(pd, 8, 0);
    p->out_h = mxn_pd_int(pd, 18, p->out_w);

    if (p->pooling_type != 0 && p->pooling_type != 1)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT,
                              "pooling type (param 0) = %d not supported (0 max, 1 average)", p->pooling_type);
    if (p->global_pooling) return MXN_OK;
    if (p->adaptive_pooling) {
        if (p->out_w < 1 || p->out_h < 1 || p->out_w > kmax || p->out_h > kmax)
            return mxn_error_set(err, MXN_ERR_FORMAT,
                                  "adaptive pooling needs out_w (8) and out_h (18) in 1..%d, got %d, %d",
                                  kmax, p->out_w, p->out_h);
        return MXN_OK;
    }
    if (p->kernel_w < 1 || p->kernel_h < 1 || p->kernel_w > kmax || p->kernel_h > kmax)
        return mxn_error_set(err, MXN_ERR_FORMAT, "kernel %dx%d (params 11, 1) must be in 1..%d",
                              p->kernel_h, p->kernel_w, kmax);
    if (p->stride_w < 1 || p->stride_h < 1 || p->stride_w > kmax || p->stride_h > kmax)
        return mxn_error_set(err, MXN_ERR_FORMAT, "stride %dx%d (params 12, 2) must be in 1..%d",
                              p->stride_h, p->stride_w, kmax);
    if (p->pad_left < 0 || p->pad_right < 0 || p->pad_top < 0 || p->pad_bottom < 0 ||
        p->pad_left > kmax || p->pad_right > kmax || p->pad_top > kmax || p->pad_bottom > kmax)
        return mxn_error_set(err, MXN_ERR_FORMAT,
                              "pads left/right/top/bottom (3/14/13/15) = %d/%d/%d/%d must be in 0..%d",
                              p->pad_left, p->pad_right, p->pad_top, p->pad_bottom, kmax);
    if (p->pad_mode < 0 || p->pad_mode > 3)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT,
                              "pad_mode (param 5) = %d not supported (0 full, 1 valid, 2 same_upper, 3 same_lower)",
                              p->pad_mode);
    return MXN_OK;
}

int mxn_pool_geometry_get(const mxn_pool_params *p, int w, int h, mxn_pool_geometry *g, mxn_error *err)
{
    g->pl = p->pad_left;
    g->pr = p->pad_right;
    g->pt = p->pad_top;
    g->pb = p->pad_bottom;
    g->wtail = g->htail = 0;
    if (p->pad_mode == 0) {
        long long wrem = (long long)w + g->pl + g->pr - p->kernel_w;
        long long hrem = (long long)h + g->pt + g->pb - p->kernel_h;
        if (wrem >= 0 && wrem % p->stride_w) g->wtail = p->stride_w - (int)(wrem % p->stride_w);
        if (hrem >= 0 && hrem % p->stride_h) g->htail = p->stride_h - (int)(hrem % p->stride_h);
        g->pr += g->wtail;
        g->pb += g->htail;
    } else if (p->pad_mode == 2 || p->pad_mode == 3) {
        mxn_same_pads(w, h, p->kernel_w, p->kernel_h, p->stride_w, p->stride_h, p->pad_mode == 3,
                      &g->pl, &g->pr, &g->pt, &g->pb);
    }
    {
        const int pw = w + g->pl + g->pr, ph = h + g->pt + g->pb;
        if (pw < p->kernel_w || ph < p->kernel_h || pw < 1 || ph < 1)
            return mxn_error_set(err, MXN_ERR_SHAPE,
                                 "input %dx%d (padded %dx%d) is smaller than the %dx%d kernel",
                                 h, w, ph, pw, p->kernel_h, p->kernel_w);
        g->ow = (pw - p->kernel_w) / p->stride_w + 1;
        g->oh = (ph - p->kernel_h) / p->stride_h + 1;
    }
    return MXN_OK;
}
