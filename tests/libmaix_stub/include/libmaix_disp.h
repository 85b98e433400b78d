/* Test stub: the parts of libmaix's libmaix_disp.h that nn_resnet uses (same names). */
#ifndef STUB_LIBMAIX_DISP_H
#define STUB_LIBMAIX_DISP_H

#include <stdint.h>
#include "libmaix_err.h"

struct libmaix_image;

typedef struct libmaix_disp {
    int width;
    int height;
    int bpp;
    libmaix_err_t (*draw)(struct libmaix_disp *disp, unsigned char *buf);
    libmaix_err_t (*draw_image)(struct libmaix_disp *disp, struct libmaix_image *img);
    void *reserved;
} libmaix_disp_t;

struct libmaix_disp *libmaix_disp_create(uint8_t fbiopan);
void libmaix_disp_destroy(struct libmaix_disp **disp);

#endif
