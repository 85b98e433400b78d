/* What the NPU Convolution and InnerProduct of an awnn model share: params
 * 19-27 (awnn-format.md 7.2/7.3, runtime defaults of 13.3.1) and the .bin
 * blocks (int8 weights in the NPU's layout, int16 bias, int16 Q10
 * multipliers).  Arithmetic: npu_v831.c. */
#ifndef MXN_AWNN_CONV_COMMON_H
#define MXN_AWNN_CONV_COMMON_H

#include "../awnn.h"
#include "../npu_v831.h"

typedef struct {
    int num_output;
    int weight_data_size;
    int bias_term;
    int first;                  /* 19: first-layer weight order (section 8) */
    mxn_npu_conv_epilogue ep;   /* 20-22, 24-27 */
    int8_t *weight;             /* Convolution: ncnn order; InnerProduct: the file's NPU order */
    int16_t *bias;              /* [num_output] or NULL */
    int16_t *mult;              /* [num_output] or NULL */
} mxn_awnn_conv_core;

/* params 5/1 (bias_term, by id), weight_data_size, 8, 9, 19-27 */
int mxn_awnn_conv_core_params(mxn_awnn_conv_core *c, const mxn_paramdict *pd, int bias_id, int wsize_id,
                              mxn_error *err);
/* weights (int8 block), bias (int16, if bias_term), multipliers (int16, if 25 == 1) */
int mxn_awnn_conv_core_load(mxn_awnn_conv_core *c, mxn_modelbin *mb, mxn_error *err);
void mxn_awnn_conv_core_free(mxn_awnn_conv_core *c);
/* out[o * plane + i] = the NPU's int8 output of accumulator acc[o * plane + i] */
void mxn_awnn_conv_core_epilogue(const mxn_awnn_conv_core *c, const int32_t *acc, size_t plane, int8_t *out);

#endif
