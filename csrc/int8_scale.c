/* mxn_net_blob_int8_scale: the int8 scale at which int8 layers read a blob.
 *
 * For callers that quantize an input themselves, as the V831 NPU does with
 * libmaix's need_quantization (csrc/libmaix): q = clamp(roundf(f * scale),
 * -127, 127) is then exactly what the int8 layers reading the blob compute
 * on, so q can be fed as an int8 input.  ncnn int8 models: the bottom_scale
 * of the int8 Convolution / ConvolutionDepthWise / InnerProduct layers that
 * read the blob (through Split layers, which copy it).  A model format whose
 * layers carry their scales elsewhere (awnn) answers here too. */
#include "mxn_net.h"
#include "layers/conv_common.h"
#include "maixnn.h"

extern const mxn_layer_ops mxn_layer_convolution;
extern const mxn_layer_ops mxn_layer_convolutiondepthwise;
extern const mxn_layer_ops mxn_layer_innerproduct;
extern const mxn_layer_ops mxn_layer_split;

typedef struct {
    int int8_layer, float_layer;   /* first layer of each kind found, -1 if none */
    float scale;
} scale_search;

/* Split layers only copy their input: the layers behind them read the same
 * values.  `depth` bounds Split chains (the loader rejects cycles anyway). */
static int visit(mxn_net *net, int blob, scale_search *s, int depth)
{
    int i, j;
    if (depth > net->layer_count)
        return mxn_error_set(&net->err, MXN_ERR_FORMAT, "blob %s: Split chain too deep", net->blob_names[blob]);
    for (i = 0; i < net->layer_count; i++) {
        const mxn_layer *l = &net->layers[i];
        int reads = 0;
        for (j = 0; j < l->bottom_count; j++) reads |= l->bottoms[j] == blob;
        if (!reads) continue;
        if (l->ops == &mxn_layer_split) {
            int rc;
            for (j = 0; j < l->top_count; j++)
                if ((rc = visit(net, l->tops[j], s, depth + 1))) return rc;
            continue;
        }
        {
            float scale = 0.f;
            int is_int8 = 0;
            if (l->ops == &mxn_layer_convolution || l->ops == &mxn_layer_convolutiondepthwise) {
                const mxn_conv_layer *c = (const mxn_conv_layer *)l->priv;
                if (c && c->int8_scale_term) {
                    is_int8 = 1;
                    scale = c->bottom_scale;
                }
            } else if (l->ops == &mxn_layer_innerproduct) {
                is_int8 = mxn_innerproduct_int8_bottom_scale(l, &scale);
            }
            if (!is_int8) {
                if (s->float_layer < 0) s->float_layer = i;
                continue;
            }
            if (s->int8_layer < 0) {
                s->int8_layer = i;
                s->scale = scale;
            } else if (scale != s->scale) {
                return mxn_error_set(&net->err, MXN_ERR_NOT_IMPLEMENT,
                                     "blob %s is read by int8 layers with different input scales: "
                                     "%s (%.9g) and %s (%.9g)", net->blob_names[blob],
                                     net->layers[s->int8_layer].name, (double)s->scale, l->name,
                                     (double)scale);
            }
        }
    }
    return MXN_OK;
}

int mxn_net_blob_int8_scale(mxn_net *net, int blob, void *scale_f32)
{
    scale_search s;
    float *scale = (float *)scale_f32;
    int rc;
    if (!net || !scale) return MXN_ERR_PARAM;
    *scale = 0.f;
    if (!net->bin_loaded)
        return mxn_error_set(&net->err, MXN_ERR_NOT_READY, "blob int8 scale: the model's weights are not loaded");
    if (blob < 0 || blob >= net->blob_count)
        return mxn_error_set(&net->err, MXN_ERR_PARAM, "blob int8 scale: no blob %d (the model has %d)", blob,
                             net->blob_count);
    s.int8_layer = s.float_layer = -1;
    s.scale = 0.f;
    if ((rc = visit(net, blob, &s, 0))) return rc;
    if (s.int8_layer >= 0 && s.float_layer >= 0)
        return mxn_error_set(&net->err, MXN_ERR_NOT_IMPLEMENT,
                             "blob %s is read by int8 layer %s and by float layer %s (%s): it has no single "
                             "int8 scale", net->blob_names[blob], net->layers[s.int8_layer].name,
                             net->layers[s.float_layer].name, net->layers[s.float_layer].type);
    *scale = s.scale;
    return MXN_OK;
}
