/* The loaded model, shared by net.c (loader) and session.c (executor). */
#ifndef MXN_NET_H
#define MXN_NET_H

#include "mxn_core.h"

struct mxn_net {
    mxn_error err;
    int layer_count;
    mxn_layer *layers;
    int blob_count;
    char **blob_names;
    int *blob_producer;       /* layer index that produces the blob */
    int *blob_consumers;      /* how many layer bottoms name the blob */
    int input_count;
    int *input_blobs;         /* tops of Input layers, in file order */
    int (*input_shapes)[3];   /* declared w, h, c (0 = open) */
    int output_count;
    int *output_blobs;        /* blobs no layer consumes, in blob order */
    int param_loaded;
    int bin_loaded;           /* weights loaded: sessions may run */
    int awnn;                 /* an awnn (V831 NPU) model: see awnn.h */
    float *blob_scales;       /* awnn: each blob's scale (its producer's -23329), else NULL */
};

#endif
