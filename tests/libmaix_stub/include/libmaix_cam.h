/* Test stub: the parts of libmaix's libmaix_cam.h that nn_resnet uses (same names). */
#ifndef STUB_LIBMAIX_CAM_H
#define STUB_LIBMAIX_CAM_H

#include "libmaix_err.h"
#include "libmaix_image.h"

void libmaix_camera_module_init(void);
void libmaix_camera_module_deinit(void);

typedef struct libmaix_cam {
    int width;
    int height;
    unsigned int fram_size;
    libmaix_err_t (*start_capture)(struct libmaix_cam *cam);
    libmaix_err_t (*capture)(struct libmaix_cam *cam, unsigned char *buf);
    libmaix_err_t (*capture_image)(struct libmaix_cam *cam, struct libmaix_image **img);
    void *reserved;
} libmaix_cam_t;

struct libmaix_cam *libmaix_cam_create(int n, int w, int h, int m, int f);
void libmaix_cam_destroy(struct libmaix_cam **cam);

#endif
