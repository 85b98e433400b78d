/* awnn models (the V831 NPU's own int8 format, awnn-format.md sections 4-9):
 * how the loader and the executor treat them.  The NPU arithmetic itself is
 * in npu_v831.c; the NPU layers in csrc/layers/awnn_*.c.
 *
 * An awnn .param is an ncnn .param whose every layer line ends with
 * `-23328=1,<device>` (param 28: 1 = NPU, 0 = CPU) and `-23329=<ntop>,<S>...`
 * (param 29: the scale of each top blob, int8 code = value * S).
 *  - device 0 layers are ordinary float ncnn layers (maixnn's float layers);
 *  - device 1 layers run the NPU emulation on int8 blobs (ops from
 *    mxn_awnn_find_ops): Convolution, InnerProduct, Pooling, ReLU, PReLU,
 *    BatchNorm, Eltwise, Quantize, and Split/Concat (byte copies);
 *  - at a boundary the consumer gets a converted copy: an NPU layer reading a
 *    float blob gets clamp(roundf(f * S), -127, 127), a CPU layer reading an
 *    int8 blob gets (float)q * (float)(1 / ((double)S + 1e-5)), S = the blob's
 *    scale from its producer's -23329 (npu_v831.h, 13.3.6).
 * A file is awnn when its layers carry -23328/-23329; then every layer must
 * carry both. */
#ifndef MXN_AWNN_H
#define MXN_AWNN_H

#include "mxn_net.h"

#define MXN_AWNN_DEVICE_PARAM 28 /* -23328 */
#define MXN_AWNN_SCALE_PARAM 29  /* -23329 */

/* NPU implementation of a layer type, NULL if none */
const mxn_layer_ops *mxn_awnn_find_ops(const char *type);

/* After a layer line's params are parsed, before its load_param: reads
 * -23328/-23329 into l->awnn_device / l->top_scales and picks the NPU ops for
 * a device-1 layer.  Errors say only what is wrong (the caller names the line). */
int mxn_awnn_layer_setup(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err);

/* After the whole .param: all layers awnn or none; fills net->awnn and
 * net->blob_scales. */
int mxn_awnn_net_finish(mxn_net *net);

/* Before a layer of an awnn net runs: replaces bottoms[k] by a converted copy
 * in converted[k] where the device changes (converted[k] stays empty
 * otherwise; the caller frees them all after the forward). */
int mxn_awnn_prepare_bottoms(const mxn_net *net, const mxn_layer *l, mxn_mat *bottoms, mxn_mat *converted,
                             mxn_error *err);

/* ---- helpers for the NPU layers ---- */

/* A tagged block of `count` int8 (tag 0x000D4B38) or int16 (tag 0x000D4438)
 * values, padded to 4 bytes (section 5).  *out is malloc'ed (int8_t* or
 * int16_t*); errors name `what`, the offset and what was found. */
int mxn_awnn_read_int8_block(mxn_modelbin *mb, size_t count, const char *what, int8_t **out, mxn_error *err);
int mxn_awnn_read_int16_block(mxn_modelbin *mb, size_t count, const char *what, int16_t **out, mxn_error *err);

/* An int parameter that must be a hardware shift (0..63), or fit int16 */
int mxn_awnn_shift_param(const mxn_paramdict *pd, int id, int def, const char *what, int32_t *out,
                         mxn_error *err);
int mxn_awnn_int16_param(const mxn_paramdict *pd, int id, int def, const char *what, int32_t *out,
                         mxn_error *err);
/* the output converter params 20 (enable), 21 (m, int16), 22 (e, 0..63) */
int mxn_awnn_out_cvt_params(const mxn_paramdict *pd, int def20, int def21, int *enabled, int32_t *m,
                            int32_t *e, mxn_error *err);

/* A one-input NPU layer that maps each int8 code alone (ReLU, Quantize): the output converter
 * settings and the function (one of npu_v831.h's) applied to every element. */
typedef struct {
    int enabled;
    int32_t m, e;
    int8_t (*map)(int8_t x, int enabled, int32_t m, int32_t e);
} mxn_awnn_pointwise;
int mxn_awnn_pointwise_forward(const mxn_awnn_pointwise *p, const mxn_mat *bottom, mxn_mat *top, mxn_error *err);

#endif
