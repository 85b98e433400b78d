/* Test stub of libmaix_disp.so: a display that prints what it is given. */
#include <stdio.h>
#include <stdlib.h>
#include "libmaix_disp.h"
#include "libmaix_image.h"

static libmaix_err_t draw_image(libmaix_disp_t *disp, libmaix_image_t *img)
{
    (void)disp;
    printf("stub: display %dx%d mode %d\n", img->width, img->height, (int)img->mode);
    return LIBMAIX_ERR_NONE;
}

libmaix_disp_t *libmaix_disp_create(uint8_t fbiopan)
{
    libmaix_disp_t *d = (libmaix_disp_t *)calloc(1, sizeof(*d));
    (void)fbiopan;
    if (!d) return NULL;
    d->width = 240;
    d->height = 240;
    d->bpp = 4;
    d->draw_image = draw_image;
    return d;
}

void libmaix_disp_destroy(libmaix_disp_t **disp)
{
    if (!disp || !*disp) return;
    free(*disp);
    *disp = NULL;
}
