/* Test stub of libmaix_image.so: RGB888/BGR888 images, nearest resize,
 * BGR->RGB convert, draw_string printing its text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "libmaix_image.h"

static libmaix_err_t convert(libmaix_image_t *obj, libmaix_image_mode_t mode, libmaix_image_t **new_img);
static libmaix_err_t resize(libmaix_image_t *obj, int w, int h, libmaix_image_t **new_img);

static libmaix_err_t draw_string(libmaix_image_t *obj, char *str, int x, int y, int size, libmaix_image_color_t color,
                                 libmaix_image_color_t *bg)
{
    (void)x; (void)y; (void)size; (void)color; (void)bg;
    printf("stub: draw_string on %dx%d: %s\n", obj->width, obj->height, str);
    return LIBMAIX_ERR_NONE;
}

libmaix_err_t libmaix_image_module_init(void) { return LIBMAIX_ERR_NONE; }
libmaix_err_t libmaix_image_module_deinit(void) { return LIBMAIX_ERR_NONE; }

libmaix_image_t *libmaix_image_create(int w, int h, libmaix_image_mode_t mode, libmaix_image_layout_t layout,
                                      void *data, bool is_data_alloc)
{
    libmaix_image_t *img = (libmaix_image_t *)calloc(1, sizeof(*img));
    if (!img) return NULL;
    img->width = w;
    img->height = h;
    img->mode = mode;
    img->layout = layout;
    img->data = data ? data : calloc((size_t)w * h, 3);
    img->is_data_alloc = data ? is_data_alloc : true;
    img->convert = convert;
    img->resize = resize;
    img->draw_string = draw_string;
    return img;
}

void libmaix_image_destroy(libmaix_image_t **obj)
{
    if (!obj || !*obj) return;
    if ((*obj)->is_data_alloc) free((*obj)->data);
    free(*obj);
    *obj = NULL;
}

static libmaix_image_t *target(libmaix_image_t **slot, int w, int h)
{
    if (*slot && ((*slot)->width != w || (*slot)->height != h)) libmaix_image_destroy(slot);
    if (!*slot) *slot = libmaix_image_create(w, h, LIBMAIX_IMAGE_MODE_RGB888, LIBMAIX_IMAGE_LAYOUT_HWC, NULL, true);
    return *slot;
}

static libmaix_err_t convert(libmaix_image_t *obj, libmaix_image_mode_t mode, libmaix_image_t **new_img)
{
    libmaix_image_t *t;
    size_t i, n = (size_t)obj->width * obj->height;
    const unsigned char *s = (const unsigned char *)obj->data;
    unsigned char *d;
    if (!new_img || mode != LIBMAIX_IMAGE_MODE_RGB888 || obj->mode != LIBMAIX_IMAGE_MODE_BGR888)
        return LIBMAIX_ERR_NOT_IMPLEMENT;
    if (!(t = target(new_img, obj->width, obj->height))) return LIBMAIX_ERR_NO_MEM;
    d = (unsigned char *)t->data;
    for (i = 0; i < n; i++) {
        d[3 * i] = s[3 * i + 2];
        d[3 * i + 1] = s[3 * i + 1];
        d[3 * i + 2] = s[3 * i];
    }
    printf("stub: convert BGR888 -> RGB888\n");
    return LIBMAIX_ERR_NONE;
}

static libmaix_err_t resize(libmaix_image_t *obj, int w, int h, libmaix_image_t **new_img)
{
    libmaix_image_t *t;
    int x, y;
    if (!new_img) return LIBMAIX_ERR_PARAM;
    if (!(t = target(new_img, w, h))) return LIBMAIX_ERR_NO_MEM;
    for (y = 0; y < h; y++)
        for (x = 0; x < w; x++)
            memcpy((unsigned char *)t->data + ((size_t)y * w + x) * 3,
                   (unsigned char *)obj->data + ((size_t)(y * obj->height / h) * obj->width + x * obj->width / w) * 3,
                   3);
    printf("stub: resize %dx%d -> %dx%d\n", obj->width, obj->height, w, h);
    return LIBMAIX_ERR_NONE;
}
