/* The board-abstraction layer of nn_resnet: where frames come from and where
 * results go.  Two implementations, chosen at configure time:
 *   board_host.c     image files (PPM/PNG/JPEG) in, results on stdout - the
 *                    host / emu build, also cross-built and run under qemu;
 *   board_libmaix.c  libmaix's camera, image and display on the MaixII-Dock
 *                    (the awnn backend, Sipeed's libraries). */
#ifndef NN_RESNET_BOARD_H
#define NN_RESNET_BOARD_H

#include <stddef.h>
#include <stdint.h>

typedef struct board board;

typedef struct {
    int w, h;           /* the size asked for in board_open */
    uint8_t *rgb;       /* w*h*3 bytes, RGB888 HWC; owned by the board, valid until the next call */
    const char *name;   /* the image file, or "camera" */
} board_frame;

/* Open the frame source for frames of w x h RGB.  `sources`: image files on
 * the host (ignored by the camera build).  NULL + the reason in err. */
board *board_open(char **sources, int source_count, int w, int h, char *err, size_t errlen);

/* The next frame, resized to the board's w x h: 1, or 0 at the end of the
 * sources, or -1 with the reason in err. */
int board_next_frame(board *b, board_frame *frame, char *err, size_t errlen);

/* Show a frame with a line of text over it (no-op on the host, where main
 * prints the results). */
void board_show(board *b, const board_frame *frame, const char *text);

void board_close(board *b);

#endif
