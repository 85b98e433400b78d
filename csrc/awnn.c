/* awnn models: device/scale annotations, NPU layer lookup, CPU<->NPU
 * conversions at run time, and the .bin/.param helpers of the NPU layers.
 * See awnn.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "awnn.h"
#include "npu_v831.h"

extern const mxn_layer_ops mxn_layer_awnn_convolution;
extern const mxn_layer_ops mxn_layer_awnn_innerproduct;
extern const mxn_layer_ops mxn_layer_awnn_pooling;
extern const mxn_layer_ops mxn_layer_awnn_relu;
extern const mxn_layer_ops mxn_layer_awnn_prelu;
extern const mxn_layer_ops mxn_layer_awnn_batchnorm;
extern const mxn_layer_ops mxn_layer_awnn_eltwise;
extern const mxn_layer_ops mxn_layer_awnn_quantize;
extern const mxn_layer_ops mxn_layer_split;  /* byte copies: the same on the NPU (13.4) */
extern const mxn_layer_ops mxn_layer_concat;

static const mxn_layer_ops *const npu_ops[] = {
    &mxn_layer_awnn_convolution, &mxn_layer_awnn_innerproduct, &mxn_layer_awnn_pooling,
    &mxn_layer_awnn_relu,        &mxn_layer_awnn_prelu,        &mxn_layer_awnn_batchnorm,
    &mxn_layer_awnn_eltwise,     &mxn_layer_awnn_quantize,     &mxn_layer_split,
    &mxn_layer_concat,
};

const mxn_layer_ops *mxn_awnn_find_ops(const char *type)
{
    size_t i;
    if (!type) return NULL;
    for (i = 0; i < sizeof(npu_ops) / sizeof(npu_ops[0]); i++)
        if (strcmp(npu_ops[i]->type, type) == 0) return npu_ops[i];
    return NULL;
}

int mxn_awnn_layer_setup(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    const int *dev;
    const float *scales;
    int ndev = mxn_pd_int_array(pd, MXN_AWNN_DEVICE_PARAM, &dev);
    int nscale = mxn_pd_float_array(pd, MXN_AWNN_SCALE_PARAM, &scales);
    int has_dev = mxn_pd_has(pd, MXN_AWNN_DEVICE_PARAM), has_scale = mxn_pd_has(pd, MXN_AWNN_SCALE_PARAM);
    int k;

    l->awnn_device = -1;
    if (!has_dev && !has_scale) {
        if (!l->ops)
            return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT,
                                 "layer type '%s' is not supported (as an NPU layer of an awnn model it would "
                                 "need -23328=1,1 and -23329 on its line)",
                                 l->type);
        return MXN_OK;
    }
    if (!has_dev)
        return mxn_error_set(err, MXN_ERR_FORMAT, "awnn layer has -23329 (top scales) but no -23328 (device)");
    if (!has_scale)
        return mxn_error_set(err, MXN_ERR_FORMAT, "awnn layer has -23328 (device) but no -23329 (top scales)");
    if (mxn_pd_has(pd, MXN_AWNN_DEVICE_PARAM) && pd->p[MXN_AWNN_DEVICE_PARAM].type != MXN_PARAM_ARRAY)
        return mxn_error_set(err, MXN_ERR_FORMAT, "-23328 (device) must be an array -23328=1,<0|1>");
    if (ndev < 1 || (dev[0] != 0 && dev[0] != 1))
        return mxn_error_set(err, MXN_ERR_FORMAT, "-23328 (device) must be 1,0 (CPU) or 1,1 (NPU), got %d value(s)%s%d",
                             ndev, ndev ? ", first " : "", ndev ? dev[0] : 0);
    if (pd->p[MXN_AWNN_SCALE_PARAM].type != MXN_PARAM_ARRAY || nscale != l->top_count)
        return mxn_error_set(err, MXN_ERR_FORMAT, "-23329 (top scales) has %d value(s), the layer has %d top(s)",
                             nscale, l->top_count);
    for (k = 0; k < nscale; k++)
        if (!isfinite(scales[k]) || !(scales[k] > 0.f))
            return mxn_error_set(err, MXN_ERR_FORMAT,
                                 "-23329 scale of top %d is %g: blob scales must be finite and > 0", k,
                                 (double)scales[k]);
    l->top_scales = (float *)malloc(sizeof(float) * (size_t)(nscale ? nscale : 1));
    if (!l->top_scales) return mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory");
    memcpy(l->top_scales, scales, sizeof(float) * (size_t)nscale);
    l->awnn_device = dev[0];
    if (dev[0] == 1) {
        if (strcmp(l->type, "Input") == 0)
            return mxn_error_set(err, MXN_ERR_FORMAT, "an Input layer cannot run on the NPU (-23328=1,1)");
        l->ops = mxn_awnn_find_ops(l->type);
        if (!l->ops)
            return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT,
                                 "layer type '%s' on the NPU (-23328=1,1) is not supported: the V831 runtime "
                                 "has no NPU form of it that maixnn emulates",
                                 l->type);
    } else if (!l->ops) {
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "layer type '%s' on the CPU (-23328=1,0) is not supported",
                             l->type);
    }
    return MXN_OK;
}

int mxn_awnn_net_finish(mxn_net *net)
{
    int i, k, annotated = 0;
    for (i = 0; i < net->layer_count; i++)
        if (net->layers[i].awnn_device >= 0) annotated++;
    if (annotated == 0) return MXN_OK;
    for (i = 0; i < net->layer_count; i++)
        if (net->layers[i].awnn_device < 0)
            return mxn_error_set(&net->err, MXN_ERR_FORMAT,
                                 "layer '%s' (%s) has no -23328/-23329 (device, top scales) while other layers "
                                 "have them: every layer of an awnn model needs both",
                                 net->layers[i].name, net->layers[i].type);
    net->blob_scales = (float *)calloc((size_t)net->blob_count, sizeof(float));
    if (!net->blob_scales) return mxn_error_set(&net->err, MXN_ERR_NO_MEM, "out of memory");
    for (i = 0; i < net->layer_count; i++)
        for (k = 0; k < net->layers[i].top_count; k++)
            net->blob_scales[net->layers[i].tops[k]] = net->layers[i].top_scales[k];
    net->awnn = 1;
    return MXN_OK;
}

int mxn_awnn_prepare_bottoms(const mxn_net *net, const mxn_layer *l, mxn_mat *bottoms, mxn_mat *converted,
                             mxn_error *err)
{
    int k, rc;
    for (k = 0; k < l->bottom_count; k++) {
        const int b = l->bottoms[k];
        const float scale = net->blob_scales[b];
        mxn_mat *m = &converted[k];
        memset(m, 0, sizeof(*m));
        if (l->awnn_device == 1 && bottoms[k].dtype == MXN_F32) {
            /* CPU -> NPU (13.4 "CPU layer boundary") */
            if ((rc = mxn_mat_alloc_like(m, &bottoms[k], MXN_I8, err))) return rc;
            mxn_npu_quantize(mxn_mat_f32(&bottoms[k]), mxn_mat_total(&bottoms[k]), scale, mxn_mat_i8(m));
            bottoms[k] = *m;
        } else if (l->awnn_device == 0 && bottoms[k].dtype == MXN_I8) {
            /* NPU -> CPU */
            if ((rc = mxn_mat_alloc_like(m, &bottoms[k], MXN_F32, err))) return rc;
            mxn_npu_dequantize(mxn_mat_i8(&bottoms[k]), mxn_mat_total(&bottoms[k]), scale, mxn_mat_f32(m));
            bottoms[k] = *m;
        }
    }
    return MXN_OK;
}

/* ---- blocks ---- */

#define AWNN_TAG_INT8 0x000D4B38u
#define AWNN_TAG_INT16 0x000D4438u

static int read_block(mxn_modelbin *mb, size_t count, size_t esize, uint32_t want_tag, const char *what, void **out,
                      mxn_error *err)
{
    const size_t start = mb->pos;
    size_t left = mb->pos <= mb->size ? mb->size - mb->pos : 0, bytes;
    uint32_t tag;
    const unsigned char *p;
    *out = NULL;
    if (count == 0 || count > (size_t)INT32_MAX)
        return mxn_error_set(err, MXN_ERR_FORMAT, "%s: invalid block size %zu", what, count);
    if (left < 4)
        return mxn_error_set(err, MXN_ERR_FORMAT,
                             ".bin truncated: %s needs a 4-byte block tag at byte offset %zu, only %zu left", what,
                             start, left);
    p = mb->data + mb->pos;
    tag = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
    if (tag != want_tag)
        return mxn_error_set(err, MXN_ERR_FORMAT,
                             "%s: block tag 0x%08X at byte offset %zu, expected the %s tag 0x%08X (a block of "
                             "another length before it, or not an awnn .bin?)",
                             what, (unsigned)tag, start, esize == 1 ? "int8" : "int16", (unsigned)want_tag);
    bytes = ((count * esize + 3u) & ~(size_t)3u);
    if (bytes > left - 4)
        return mxn_error_set(err, MXN_ERR_FORMAT,
                             ".bin truncated: %s block of %zu %s values needs %zu bytes after its tag at byte offset "
                             "%zu, only %zu left",
                             what, count, esize == 1 ? "int8" : "int16", bytes, start, left - 4);
    *out = malloc(count * esize);
    if (!*out) return mxn_error_set(err, MXN_ERR_NO_MEM, "%s: out of memory", what);
    if (esize == 1) {
        memcpy(*out, p + 4, count);
    } else {
        size_t i;
        int16_t *v = (int16_t *)*out;
        for (i = 0; i < count; i++) v[i] = (int16_t)(uint16_t)(p[4 + 2 * i] | (p[5 + 2 * i] << 8));
    }
    mb->pos += 4 + bytes;
    mb->values_read += count;
    mb->bytes_out += count * esize;
    return MXN_OK;
}

int mxn_awnn_read_int8_block(mxn_modelbin *mb, size_t count, const char *what, int8_t **out, mxn_error *err)
{
    void *p;
    int rc = read_block(mb, count, 1, AWNN_TAG_INT8, what, &p, err);
    *out = (int8_t *)p;
    return rc;
}

int mxn_awnn_read_int16_block(mxn_modelbin *mb, size_t count, const char *what, int16_t **out, mxn_error *err)
{
    void *p;
    int rc = read_block(mb, count, 2, AWNN_TAG_INT16, what, &p, err);
    *out = (int16_t *)p;
    return rc;
}

/* ---- params ---- */

int mxn_awnn_shift_param(const mxn_paramdict *pd, int id, int def, const char *what, int32_t *out,
                         mxn_error *err)
{
    int v = mxn_pd_int(pd, id, def);
    if (v < 0 || v > MXN_NPU_MAX_SHIFT)
        return mxn_error_set(err, MXN_ERR_FORMAT,
                             "%s (param %d) = %d is outside the NPU's 6-bit shift field 0..%d (a requantize "
                             "ratio the hardware cannot express; the converter writes a negative shift for a "
                             "ratio above 32767)",
                             what, id, v, MXN_NPU_MAX_SHIFT);
    *out = v;
    return MXN_OK;
}

int mxn_awnn_int16_param(const mxn_paramdict *pd, int id, int def, const char *what, int32_t *out,
                         mxn_error *err)
{
    int v = mxn_pd_int(pd, id, def);
    if (v < -32768 || v > 32767)
        return mxn_error_set(err, MXN_ERR_FORMAT, "%s (param %d) = %d does not fit the NPU's int16 field", what,
                             id, v);
    *out = v;
    return MXN_OK;
}

int mxn_awnn_out_cvt_params(const mxn_paramdict *pd, int def20, int def21, int *enabled, int32_t *m,
                            int32_t *e, mxn_error *err)
{
    int rc;
    *enabled = mxn_pd_int(pd, 20, def20) != 0;
    if ((rc = mxn_awnn_int16_param(pd, 21, def21, "output multiplier", m, err))) return rc;
    return mxn_awnn_shift_param(pd, 22, 0, "output shift", e, err);
}

int mxn_awnn_pointwise_forward(const mxn_awnn_pointwise *p, const mxn_mat *bottom, mxn_mat *top, mxn_error *err)
{
    size_t i, n = mxn_mat_total(bottom);
    int rc;
    if (bottom->dtype != MXN_I8) return mxn_error_set(err, MXN_ERR_SHAPE, "expects an int8 input");
    if ((rc = mxn_mat_alloc_like(top, bottom, MXN_I8, err))) return rc;
    for (i = 0; i < n; i++) mxn_mat_i8(top)[i] = p->map(mxn_mat_i8(bottom)[i], p->enabled, p->m, p->e);
    return MXN_OK;
}

/* ---- public queries (maixnn.h) ---- */

int mxn_net_is_awnn(const mxn_net *net) { return net && net->param_loaded && net->awnn; }

int mxn_net_layer_device(const mxn_net *net, int layer)
{
    if (!mxn_net_is_awnn(net) || layer < 0 || layer >= net->layer_count) return -1;
    return net->layers[layer].awnn_device;
}

int mxn_net_blob_scale(const mxn_net *net, int blob, void *scale_f32)
{
    if (!mxn_net_is_awnn(net) || blob < 0 || blob >= net->blob_count || !scale_f32) return MXN_ERR_PARAM;
    memcpy(scale_f32, &net->blob_scales[blob], sizeof(float));
    return MXN_OK;
}

int mxn_net_dequantize(const mxn_net *net, int blob, const void *codes_i8, size_t n, void *out_f32)
{
    float *out;
    if (!mxn_net_is_awnn(net) || blob < 0 || blob >= net->blob_count || (n && (!codes_i8 || !out_f32)))
        return MXN_ERR_PARAM;
    out = (float *)out_f32;
    mxn_npu_dequantize((const int8_t *)codes_i8, n, net->blob_scales[blob], out);
    return MXN_OK;
}
