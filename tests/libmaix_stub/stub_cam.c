/* Test stub of libmaix_cam.so: a camera that is not ready on the first call,
 * then gives BGR888 frames of twice the asked size (so nn_resnet's board
 * layer has to convert and resize). */
#include <stdio.h>
#include <stdlib.h>
#include "libmaix_cam.h"

typedef struct {
    libmaix_cam_t cam;
    libmaix_image_t *img;
    int calls;
} stub_cam;

void libmaix_camera_module_init(void) {}
void libmaix_camera_module_deinit(void) {}

static libmaix_err_t start_capture(libmaix_cam_t *cam) { return cam ? LIBMAIX_ERR_NONE : LIBMAIX_ERR_PARAM; }

static libmaix_err_t capture_image(libmaix_cam_t *cam, libmaix_image_t **img)
{
    stub_cam *s = (stub_cam *)cam;
    size_t i, n;
    if (s->calls++ == 0) return LIBMAIX_ERR_NOT_READY;
    n = (size_t)s->img->width * s->img->height * 3;
    for (i = 0; i < n; i++) ((unsigned char *)s->img->data)[i] = (unsigned char)(i * 7 + (size_t)s->calls);
    *img = s->img;
    return LIBMAIX_ERR_NONE;
}

libmaix_cam_t *libmaix_cam_create(int n, int w, int h, int m, int f)
{
    stub_cam *s = (stub_cam *)calloc(1, sizeof(*s));
    (void)n; (void)m; (void)f;
    if (!s) return NULL;
    s->img = libmaix_image_create(2 * w, 2 * h, LIBMAIX_IMAGE_MODE_BGR888, LIBMAIX_IMAGE_LAYOUT_HWC, NULL, true);
    s->cam.width = w;
    s->cam.height = h;
    s->cam.start_capture = start_capture;
    s->cam.capture_image = capture_image;
    printf("stub: camera %dx%d\n", w, h);
    return &s->cam;
}

void libmaix_cam_destroy(libmaix_cam_t **cam)
{
    stub_cam *s;
    if (!cam || !*cam) return;
    s = (stub_cam *)*cam;
    libmaix_image_destroy(&s->img);
    free(s);
    *cam = NULL;
}
