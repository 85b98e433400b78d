/* nn_resnet's board layer on the host: frames from image files.
 *
 * Binary PPM (P6) is read here; PNG / JPEG / BMP through Debian's header-only
 * stb_image (libstb-dev) when it was found at configure time.  Frames are
 * resized to the model's input by nearest neighbour with
 * integer arithmetic (source pixel = dst * src_size / dst_size, rounded
 * down), so a test can reproduce it exactly. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"

#ifdef NN_RESNET_HAVE_STB
#include <stb_image.h>   /* the implementation is compiled in stb_image_impl.c */
#endif

struct board {
    char **sources;
    int count, next;
    int w, h;
    uint8_t *frame;      /* w*h*3 */
};

board *board_open(char **sources, int source_count, int w, int h, char *err, size_t errlen)
{
    board *b;
    if (source_count < 1) {
        snprintf(err, errlen, "no image files given (the host build reads frames from files)");
        return NULL;
    }
    if (w < 1 || h < 1 || (size_t)w > 16384 || (size_t)h > 16384) {
        snprintf(err, errlen, "frame size %dx%d out of range", w, h);
        return NULL;
    }
    b = (board *)calloc(1, sizeof(*b));
    if (b) b->frame = (uint8_t *)malloc((size_t)w * (size_t)h * 3);
    if (!b || !b->frame) {
        free(b);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    b->sources = sources;
    b->count = source_count;
    b->w = w;
    b->h = h;
    return b;
}

/* ---- binary PPM (P6, maxval 255) ---- */

static int ppm_token(FILE *f, long *value)
{
    int ch;
    long v = 0;
    int digits = 0;
    for (;;) {                                   /* whitespace and # comments */
        ch = fgetc(f);
        if (ch == '#') {
            while (ch != '\n' && ch != EOF) ch = fgetc(f);
        } else if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n') {
            break;
        }
    }
    while (ch >= '0' && ch <= '9') {
        if (v > 100000000L) return -1;
        v = v * 10 + (ch - '0');
        digits++;
        ch = fgetc(f);
    }
    if (!digits || (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n')) return -1;
    *value = v;
    return 0;
}

static uint8_t *read_ppm(const char *path, int *w, int *h, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    long pw, ph, maxval;
    uint8_t *pixels;
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fgetc(f) != 'P' || fgetc(f) != '6' || ppm_token(f, &pw) || ppm_token(f, &ph) || ppm_token(f, &maxval) ||
        pw < 1 || ph < 1 || pw > 16384 || ph > 16384 || maxval != 255) {
        fclose(f);
        snprintf(err, errlen, "%s: not a binary PPM (P6, maxval 255)", path);
        return NULL;
    }
    pixels = (uint8_t *)malloc((size_t)pw * (size_t)ph * 3);
    if (!pixels || fread(pixels, 3, (size_t)pw * (size_t)ph, f) != (size_t)pw * (size_t)ph) {
        snprintf(err, errlen, pixels ? "%s: truncated PPM" : "%s: out of memory", path);
        free(pixels);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *w = (int)pw;
    *h = (int)ph;
    return pixels;
}

/* PPM (P6) by the reader above, everything else by stb_image */
static uint8_t *load_image(const char *path, int *w, int *h, int *from_stb, char *err, size_t errlen)
{
    char magic[2] = {0, 0};
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fread(magic, 1, 2, f) != 2) magic[0] = 0;
    fclose(f);
    *from_stb = 0;
    if (magic[0] == 'P' && magic[1] == '6') return read_ppm(path, w, h, err, errlen);
#ifdef NN_RESNET_HAVE_STB
    {
        int n;
        uint8_t *pixels = stbi_load(path, w, h, &n, 3);
        if (!pixels) snprintf(err, errlen, "%s: cannot decode the image (%s)", path, stbi_failure_reason());
        *from_stb = 1;
        return pixels;
    }
#else
    snprintf(err, errlen, "%s: not a PPM (P6) file, and this build reads only PPM (stb_image.h was not found "
             "at configure time: apt-get install libstb-dev)", path);
    return NULL;
#endif
}

static void free_image(uint8_t *pixels, int from_stb)
{
#ifdef NN_RESNET_HAVE_STB
    if (from_stb) {
        stbi_image_free(pixels);
        return;
    }
#endif
    (void)from_stb;
    free(pixels);
}

int board_next_frame(board *b, board_frame *frame, char *err, size_t errlen)
{
    int sw, sh, x, y, from_stb;
    uint8_t *src;
    const char *path;
    if (b->next >= b->count) return 0;
    path = b->sources[b->next++];
    src = load_image(path, &sw, &sh, &from_stb, err, errlen);
    if (!src) return -1;
    for (y = 0; y < b->h; y++) {
        long sy = (long)y * sh / b->h;
        for (x = 0; x < b->w; x++) {
            long sx = (long)x * sw / b->w;
            memcpy(b->frame + ((size_t)y * b->w + x) * 3, src + ((size_t)sy * sw + sx) * 3, 3);
        }
    }
    free_image(src, from_stb);
    frame->w = b->w;
    frame->h = b->h;
    frame->rgb = b->frame;
    frame->name = path;
    return 1;
}

void board_show(board *b, const board_frame *frame, const char *text)
{
    (void)b;
    (void)frame;
    (void)text;
}

void board_close(board *b)
{
    if (!b) return;
    free(b->frame);
    free(b);
}
