/* Test stub of Sipeed's libmaix_nn.so (tests/test_libmaix.py): libmaix's nn
 * symbol names with canned behaviour, so that the awnn backend's nn_resnet
 * links and runs without the vendor's binary.  forward checks the board's
 * calling convention (need_quantization, buff_quantization, float output
 * buffer) and writes 1000 canned scores, class 207 highest. */
#include <stdio.h>
#include <stdlib.h>
#include "libmaix_nn.h"
#include "mud.h"

static int loaded;

static libmaix_err_t init(libmaix_nn_t *obj) { return obj ? LIBMAIX_ERR_NONE : LIBMAIX_ERR_PARAM; }
static libmaix_err_t deinit(libmaix_nn_t *obj) { return obj ? LIBMAIX_ERR_NONE : LIBMAIX_ERR_PARAM; }

static libmaix_err_t load(libmaix_nn_t *obj, const libmaix_nn_model_path_t *path, libmaix_nn_opt_param_t *opt)
{
    if (!obj || !path || !opt || !path->awnn.param_path || !path->awnn.bin_path) return LIBMAIX_ERR_PARAM;
    printf("stub: load %s %s\n", path->awnn.param_path, path->awnn.bin_path);
    loaded = 1;
    return LIBMAIX_ERR_NONE;
}

static libmaix_err_t forward(libmaix_nn_t *obj, libmaix_nn_layer_t *in, libmaix_nn_layer_t *out)
{
    int i;
    float *o;
    if (!obj || !in || !out || !loaded) return LIBMAIX_ERR_NOT_READY;
    if (!in->need_quantization || !in->buff_quantization || !in->data || in->c != 3 || !out->data ||
        out->dtype != LIBMAIX_NN_DTYPE_FLOAT || out->w * out->h * out->c < 1000)
        return LIBMAIX_ERR_PARAM;
    o = (float *)out->data;
    for (i = 0; i < 1000; i++) o[i] = (float)(i % 10) * 0.01f;
    o[207] = 4.f;
    out->w = 1;
    out->h = 1;
    out->c = 1000;
    in->dtype = LIBMAIX_NN_DTYPE_INT8;
    printf("stub: forward %dx%dx%d\n", in->w, in->h, in->c);
    return LIBMAIX_ERR_NONE;
}

libmaix_err_t libmaix_nn_module_init(void) { return LIBMAIX_ERR_NONE; }
libmaix_err_t libmaix_nn_module_deinit(void) { return LIBMAIX_ERR_NONE; }

libmaix_nn_t *libmaix_nn_create(void)
{
    libmaix_nn_t *nn = (libmaix_nn_t *)calloc(1, sizeof(*nn));
    if (!nn) return NULL;
    nn->init = init;
    nn->deinit = deinit;
    nn->load = load;
    nn->forward = forward;
    return nn;
}

void libmaix_nn_destroy(libmaix_nn_t **obj)
{
    if (!obj || !*obj) return;
    free(*obj);
    *obj = NULL;
}

libmaix_nn_t *libmaix_mud_load_model(char *mud_path)
{
    (void)mud_path;
    return NULL;
}
