/* libmaix_nn.h - libmaix's neural-network C API, for maixnn's emulated backend.
 *
 * Written by maixnn to the interface of sipeed/libmaix's
 * components/libmaix/include/libmaix_nn.h (same type, enumerator, field and
 * function names and values), not copied from it.  A program written against
 * libmaix's documented nn API compiles unchanged against this header and runs
 * on maixnn's engine (library libmaix_nn, CMake target maix_nn); built with
 * -DMAIXNN_LIBMAIX_BACKEND=awnn the same program links Sipeed's libraries.
 * What the emulator does, call by call: README.md, "libmaix C API and nn_resnet".
 * maixnn's own additions are in maixnn_libmaix.h, not here. */
#ifndef __LIBMAIX_NN_H__
#define __LIBMAIX_NN_H__

#include <stdbool.h>
#include <stdint.h>
#include "libmaix_err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum
{
    LIBMAIX_NN_DTYPE_UINT8 = 0,
    LIBMAIX_NN_DTYPE_INT8  = 1,
    LIBMAIX_NN_DTYPE_FLOAT = 2,
} libmaix_nn_dtype_t;

typedef enum
{
    LIBMAIX_NN_LAYOUT_HWC = 0,
    LIBMAIX_NN_LAYOUT_CHW = 1,
} libmaix_nn_layout_t;

/* Where the model is.  awnn: the .param and .bin files.  `normal` (older
 * libmaix) and `aipu` (newer) name the same single-file member. */
typedef union
{
    struct
    {
        char *param_path;
        char *bin_path;
    } awnn;
    struct
    {
        char *model_path;
        char *reserved;
    } normal;
    struct
    {
        char *model_path;
        char *reserved;
    } aipu;
} libmaix_nn_model_path_t;

/* One input or output feature map. */
typedef struct
{
    int w;
    int h;
    int c;
    libmaix_nn_dtype_t dtype;    /* input: UINT8 with need_quantization, INT8 already quantized;
                                    output: FLOAT */
    libmaix_nn_layout_t layout;
    bool need_quantization;      /* input only: quantize the UINT8 data for the int8 model */
    void *data;
    void *buff_quantization;     /* w*h*c bytes, required when need_quantization
                                    (LIBMAIX_ERR_PARAM when NULL) */
} libmaix_nn_layer_t;

/* Optional load parameters. */
typedef union
{
    struct
    {
        char **input_names;
        char **output_names;
        uint8_t input_num;       /* len(input_names) */
        uint8_t output_num;      /* len(output_names) */
        float mean[3];
        float norm[3];
        int *input_ids;          /* used when input_names is NULL */
        int *output_ids;         /* used when output_names is NULL */
        bool encrypt;
    } awnn;
    struct
    {
        char **input_names;
        char **output_names;
        uint8_t input_num;
        uint8_t output_num;
        float mean[3];
        float norm[3];
        int *input_ids;
        int *output_ids;
        bool encrypt;
        float scale[5];
    } aipu;
} libmaix_nn_opt_param_t;

typedef struct libmaix_nn
{
    void *config;

    libmaix_err_t (*init)(struct libmaix_nn *obj);
    libmaix_err_t (*deinit)(struct libmaix_nn *obj);
    libmaix_err_t (*load)(struct libmaix_nn *obj, const libmaix_nn_model_path_t *path,
                          libmaix_nn_opt_param_t *opt_param);
    /* inputs: opt_param's input_num layers; outputs: output_num layers whose
     * data (float, w*h*c values) must not be NULL; their w, h, c are set to
     * the model's. */
    libmaix_err_t (*forward)(struct libmaix_nn *obj, libmaix_nn_layer_t *inputs, libmaix_nn_layer_t *outputs);
} libmaix_nn_t;

libmaix_err_t libmaix_nn_module_init(void);
libmaix_err_t libmaix_nn_module_deinit(void);
libmaix_nn_t *libmaix_nn_create(void);
libmaix_nn_t *libmaix_nn_creat(void);       /* older libmaix's spelling of libmaix_nn_create */
void libmaix_nn_destroy(libmaix_nn_t **obj); /* deinit, free, *obj = NULL */

/* The fraction (0..1) of the len positions where a and b hold the same
 * value; -1 when a or b is NULL or len < 1. */
float libmaix_nn_feature_compare_int8(int8_t *a, int8_t *b, int len);
float libmaix_nn_feature_compare_float(float *a, float *b, int len);

#ifdef __cplusplus
}
#endif

#endif
