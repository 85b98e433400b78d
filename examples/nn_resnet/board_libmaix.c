/* nn_resnet's board layer on the MaixII-Dock: libmaix's camera, image and
 * display (Sipeed's prebuilt libraries; built with the awnn backend only).
 * Frames: the camera at the model's input size, converted to RGB888 and
 * resized by libmaix when the camera gives something else; results: the top
 * class drawn on the frame, shown on the display. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "board.h"
#include "libmaix_cam.h"
#include "libmaix_disp.h"
#include "libmaix_image.h"

#define CAPTURE_TRIES 500     /* x 20 ms: a camera silent for 10 s is an error */

struct board {
    int w, h;
    struct libmaix_cam *cam;
    struct libmaix_disp *disp;
    libmaix_image_t *converted;   /* RGB888 copy when the camera gives another mode (ours) */
    libmaix_image_t *resized;     /* w x h copy when the camera gives another size (ours) */
    libmaix_image_t *shown;       /* the frame last returned (the camera's or ours) */
};

static void sleep_ms(long ms)
{
    struct timespec t;
    t.tv_sec = ms / 1000;
    t.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&t, NULL);
}

board *board_open(char **sources, int source_count, int w, int h, char *err, size_t errlen)
{
    board *b;
    libmaix_err_t rc;
    (void)sources;
    if (source_count > 0) fprintf(stderr, "nn_resnet: the board build reads the camera; image files are ignored\n");
    b = (board *)calloc(1, sizeof(*b));
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    b->w = w;
    b->h = h;
    libmaix_image_module_init();
    libmaix_camera_module_init();
    b->disp = libmaix_disp_create(0);
    if (!b->disp) fprintf(stderr, "nn_resnet: no display (libmaix_disp_create failed): results on stdout only\n");
    b->cam = libmaix_cam_create(0, w, h, 1, 0);
    if (!b->cam) {
        snprintf(err, errlen, "libmaix_cam_create(0, %d, %d) failed: no camera", w, h);
        board_close(b);
        return NULL;
    }
    rc = b->cam->start_capture(b->cam);
    if (rc != LIBMAIX_ERR_NONE) {
        snprintf(err, errlen, "camera start_capture failed: %s", libmaix_get_err_msg(rc));
        board_close(b);
        return NULL;
    }
    return b;
}

int board_next_frame(board *b, board_frame *frame, char *err, size_t errlen)
{
    libmaix_image_t *img = NULL;
    libmaix_err_t rc = LIBMAIX_ERR_NOT_READY;
    int tries;
    for (tries = 0; tries < CAPTURE_TRIES; tries++) {
        rc = b->cam->capture_image(b->cam, &img);
        if (rc != LIBMAIX_ERR_NOT_READY) break;
        sleep_ms(20);                     /* no frame yet: let the CPU go */
    }
    if (rc != LIBMAIX_ERR_NONE || !img) {
        snprintf(err, errlen, "camera capture failed: %s",
                 rc == LIBMAIX_ERR_NONE ? "no image" : libmaix_get_err_msg(rc));
        return -1;
    }
    if (img->mode != LIBMAIX_IMAGE_MODE_RGB888) {
        rc = img->convert(img, LIBMAIX_IMAGE_MODE_RGB888, &b->converted);
        if (rc != LIBMAIX_ERR_NONE || !b->converted) {
            snprintf(err, errlen, "converting the camera's image (mode %d) to RGB888 failed: %s", (int)img->mode,
                     libmaix_get_err_msg(rc));
            return -1;
        }
        img = b->converted;
    }
    if (img->width != b->w || img->height != b->h) {
        rc = img->resize(img, b->w, b->h, &b->resized);
        if (rc != LIBMAIX_ERR_NONE || !b->resized) {
            snprintf(err, errlen, "resizing the camera's %dx%d image to %dx%d failed: %s", img->width,
                     img->height, b->w, b->h, libmaix_get_err_msg(rc));
            return -1;
        }
        img = b->resized;
    }
    b->shown = img;
    frame->w = b->w;
    frame->h = b->h;
    frame->rgb = (uint8_t *)img->data;
    frame->name = "camera";
    return 1;
}

void board_show(board *b, const board_frame *frame, const char *text)
{
    libmaix_image_color_t red, black;
    (void)frame;
    if (!b->disp || !b->shown) return;
    memset(&red, 0, sizeof(red));
    memset(&black, 0, sizeof(black));
    red.rgb888.r = 255;
    b->shown->draw_string(b->shown, (char *)text, 4, 4, 16, red, &black);
    b->disp->draw_image(b->disp, b->shown);
}

void board_close(board *b)
{
    if (!b) return;
    if (b->converted) libmaix_image_destroy(&b->converted);
    if (b->resized) libmaix_image_destroy(&b->resized);
    if (b->cam) libmaix_cam_destroy(&b->cam);
    if (b->disp) libmaix_disp_destroy(&b->disp);
    libmaix_camera_module_deinit();
    libmaix_image_module_deinit();
    free(b);
}
