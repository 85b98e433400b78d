/* Test stub (tests/test_libmaix.py): the parts of libmaix's libmaix_image.h
 * that examples/nn_resnet/board_libmaix.c uses, written by maixnn to the
 * same names.  Not Sipeed's header. */
#ifndef STUB_LIBMAIX_IMAGE_H
#define STUB_LIBMAIX_IMAGE_H

#include <stdbool.h>
#include <stdint.h>
#include "libmaix_err.h"

typedef enum {
    LIBMAIX_IMAGE_MODE_INVALID = 0,
    LIBMAIX_IMAGE_MODE_BINARY,
    LIBMAIX_IMAGE_MODE_GRAY,
    LIBMAIX_IMAGE_MODE_RGB888,
    LIBMAIX_IMAGE_MODE_RGB565,
    LIBMAIX_IMAGE_MODE_RGBA8888,
    LIBMAIX_IMAGE_MODE_YUV420SP_NV21,
    LIBMAIX_IMAGE_MODE_YUV422_YUYV,
    LIBMAIX_IMAGE_MODE_BGR888,
} libmaix_image_mode_t;

typedef enum { LIBMAIX_IMAGE_LAYOUT_HWC = 0, LIBMAIX_IMAGE_LAYOUT_CHW = 1 } libmaix_image_layout_t;

typedef union {
    struct {
        uint8_t r, g, b, a;
    } rgb888;
} libmaix_image_color_t;

typedef struct libmaix_image {
    int width;
    int height;
    libmaix_image_mode_t mode;
    libmaix_image_layout_t layout;
    void *data;
    bool is_data_alloc;
    libmaix_err_t (*convert)(struct libmaix_image *obj, libmaix_image_mode_t mode, struct libmaix_image **new_img);
    libmaix_err_t (*draw_rectangle)(struct libmaix_image *obj, int x, int y, int w, int h,
                                    libmaix_image_color_t color, bool fill, int thickness);
    libmaix_err_t (*draw_string)(struct libmaix_image *obj, char *str, int x, int y, int size,
                                 libmaix_image_color_t color, libmaix_image_color_t *bg);
    libmaix_err_t (*resize)(struct libmaix_image *obj, int w, int h, struct libmaix_image **new_img);
} libmaix_image_t;

libmaix_err_t libmaix_image_module_init(void);
libmaix_err_t libmaix_image_module_deinit(void);
libmaix_image_t *libmaix_image_create(int w, int h, libmaix_image_mode_t mode, libmaix_image_layout_t layout,
                                      void *data, bool is_data_alloc);
void libmaix_image_destroy(libmaix_image_t **obj);

#endif
