#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* keep one harness execution cheap: the fuzzer wants thousands per second */
#define FUZZ_MAX_INPUT_VALUES 4096

void fuzz_require_message(int status, const char *message, const char *what)
{
    if (status != 0 && (message == NULL || message[0] == '\0')) {
        fprintf(stderr, "%s failed with status %d and an empty message\n", what, status);
        abort();
    }
}

void fuzz_query(const mxn_net *net)
{
    int layers = mxn_net_layer_count(net);
    int blobs = mxn_net_blob_count(net);
    volatile size_t sink = 0;
    for (int i = -1; i <= layers; i++) {
        const char *type = mxn_net_layer_type(net, i);
        const char *name = mxn_net_layer_name(net, i);
        int nb = mxn_net_layer_bottom_count(net, i);
        int nt = mxn_net_layer_top_count(net, i);
        if (type) sink += strlen(type);
        if (name) sink += strlen(name);
        sink += (size_t)mxn_net_layer_weight_count(net, i);
        for (int k = 0; k < nb; k++) sink += (size_t)mxn_net_layer_bottom(net, i, k);
        for (int k = 0; k < nt; k++) sink += (size_t)mxn_net_layer_top(net, i, k);
    }
    for (int b = -1; b <= blobs; b++) {
        const char *name = mxn_net_blob_name(net, b);
        if (name) {
            sink += strlen(name);
            if (mxn_net_find_blob(net, name) < 0)
                abort(); /* a listed blob name must be found again */
        }
    }
    for (int i = 0; i < mxn_net_input_count(net); i++) {
        int w, h, c;
        sink += (size_t)mxn_net_input_blob(net, i);
        if (mxn_net_input_shape(net, i, &w, &h, &c) == 0)
            sink += (size_t)w + (size_t)h + (size_t)c; /* ints: their sum may overflow */
    }
    for (int i = 0; i < mxn_net_output_count(net); i++)
        sink += (size_t)mxn_net_output_blob(net, i);
    (void)sink;
}

void fuzz_forward(const mxn_net *net)
{
    mxn_session *s = mxn_session_create(net);
    int status;
    if (!s)
        return;
    for (int i = 0; i < mxn_net_input_count(net); i++) {
        int w = 0, h = 0, c = 0;
        size_t total;
        float *x;
        if (mxn_net_input_shape(net, i, &w, &h, &c) != 0)
            w = h = c = 0;
        if (w <= 0) w = 5;
        if (h <= 0) h = 4;
        if (c <= 0) c = 3;
        if ((size_t)w > FUZZ_MAX_INPUT_VALUES || (size_t)h > FUZZ_MAX_INPUT_VALUES ||
            (size_t)c > FUZZ_MAX_INPUT_VALUES ||
            (size_t)w * (size_t)h * (size_t)c > FUZZ_MAX_INPUT_VALUES)
            continue;
        total = (size_t)w * (size_t)h * (size_t)c;
        x = malloc(total * sizeof(float));
        if (!x)
            continue;
        for (size_t k = 0; k < total; k++)
            x[k] = (float)((int)(k % 17) - 8) * 0.25f;
        status = mxn_session_set_input(s, mxn_net_input_blob(net, i), MXN_F32, x, 3, w, h, c);
        free(x);
        fuzz_require_message(status, mxn_session_error(s), "mxn_session_set_input");
    }
    status = mxn_session_run(s, NULL, 0);
    fuzz_require_message(status, mxn_session_error(s), "mxn_session_run");
    if (status == 0) {
        for (int i = 0; i < mxn_net_output_count(net); i++) {
            int dims = 0, w = 0, h = 0, c = 0, dtype = 0;
            const void *data = mxn_session_blob(s, mxn_net_output_blob(net, i), &dims, &w, &h, &c, &dtype);
            volatile unsigned char sink = 0;
            size_t bytes;
            if (!data)
                continue;
            if (w < 0 || h < 0 || c < 0)
                abort(); /* a computed blob cannot have a negative extent */
            bytes = (size_t)w * (size_t)h * (size_t)c * (dtype == MXN_I8 ? 1u : 4u);
            for (size_t k = 0; k < bytes; k++)
                sink ^= ((const unsigned char *)data)[k];
            (void)sink;
        }
    }
    mxn_session_destroy(s);
}
