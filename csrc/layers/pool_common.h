/* ncnn's Pooling parameters and output geometry, shared by the float Pooling
 * (pooling.c) and the V831 NPU's (awnn_pooling.c).  See pooling.c for the
 * semantics. */
#ifndef MXN_POOL_COMMON_H
#define MXN_POOL_COMMON_H

#include "../mxn_core.h"

typedef struct {
    int pooling_type;
    int kernel_w, kernel_h, stride_w, stride_h;
    int pad_left, pad_right, pad_top, pad_bottom;
    int global_pooling, pad_mode, avgpool_count_include_pad;
    int adaptive_pooling, out_w, out_h;
} mxn_pool_params;

/* params 0 1 11 2 12 3 14 13 15 4 5 6 7 8 18, read and checked */
int mxn_pool_params_load(mxn_pool_params *p, const mxn_paramdict *pd, mxn_error *err);

/* A windowed (not global, not adaptive) pooling over a w x h input: the pads
 * actually applied (pl..pb, including pad_mode 0's tail and the SAME modes'
 * pads), the tail part of pr/pb (wtail/htail) and the output size.
 * MXN_ERR_SHAPE when the kernel does not fit. */
typedef struct {
    int pl, pr, pt, pb, wtail, htail, ow, oh;
} mxn_pool_geometry;
int mxn_pool_geometry_get(const mxn_pool_params *p, int w, int h, mxn_pool_geometry *g, mxn_error *err);

#endif
