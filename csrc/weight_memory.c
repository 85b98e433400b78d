/* How much heap a loaded net holds for its weights (mxn_net_weight_memory).
 *
 * Counted from what is really allocated, not from the .bin: most layers keep
 * the arrays they read (l->bin_bytes, counted by the .bin reader); the ones
 * that repack or derive arrays at load answer for themselves - Convolution and
 * ConvolutionDepthWise (GEMM panels, the original array dropped where they
 * exist; conv_common.c), InnerProduct (+ its int8 scale_in) and BatchNorm
 * (folded to two arrays). */
#include "mxn_net.h"
#include "layers/conv_common.h"

extern const mxn_layer_ops mxn_layer_convolution;
extern const mxn_layer_ops mxn_layer_convolutiondepthwise;
extern const mxn_layer_ops mxn_layer_innerproduct;
extern const mxn_layer_ops mxn_layer_batchnorm;

size_t mxn_batchnorm_weight_bytes(const mxn_layer *l);      /* batchnorm.c */

size_t mxn_layer_weight_bytes(const mxn_layer *l)
{
    if (!l->priv) return 0;
    if (l->ops == &mxn_layer_convolution || l->ops == &mxn_layer_convolutiondepthwise)
        return mxn_conv_weight_bytes((const mxn_conv_layer *)l->priv);
    if (l->ops == &mxn_layer_innerproduct) return mxn_innerproduct_weight_bytes(l);
    if (l->ops == &mxn_layer_batchnorm) return mxn_batchnorm_weight_bytes(l);
    return l->bin_bytes;
}

size_t mxn_net_layer_weight_memory(const mxn_net *net, int layer)
{
    if (!net || !net->param_loaded || !net->bin_loaded || layer < 0 || layer >= net->layer_count) return 0;
    return mxn_layer_weight_bytes(&net->layers[layer]);
}

size_t mxn_net_weight_memory(const mxn_net *net)
{
    size_t total = 0;
    int i;
    if (!net || !net->param_loaded || !net->bin_loaded) return 0;
    for (i = 0; i < net->layer_count; i++) total += mxn_layer_weight_bytes(&net->layers[i]);
    return total;
}
