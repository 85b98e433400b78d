/* Maps ncnn layer type names to their implementations (a constant table). */
#include <string.h>
#include "../mxn_core.h"

#define MXN_LAYER(type_name, ident) extern const mxn_layer_ops mxn_layer_##ident;
#include "layer_list.h"
#undef MXN_LAYER

static const mxn_layer_ops *const all_layer_ops[] = {
#define MXN_LAYER(type_name, ident) &mxn_layer_##ident,
#include "layer_list.h"
#undef MXN_LAYER
};

const mxn_layer_ops *mxn_find_layer_ops(const char *type)
{
    size_t i;
    if (!type) return NULL;
    for (i = 0; i < sizeof(all_layer_ops) / sizeof(all_layer_ops[0]); i++)
        if (strcmp(all_layer_ops[i]->type, type) == 0) return all_layer_ops[i];
    return NULL;
}
