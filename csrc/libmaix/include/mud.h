/* mud.h - libmaix's .mud model description loader, for maixnn's emulated backend.
 *
 * Written by maixnn to the interface of sipeed/libmaix's mud.h (the
 * function nn programs call), not copied from it.  A .mud file is INI text:
 *
 *   [basic]
 *   type = awnn
 *   param = model.param          (relative paths: to the .mud file's folder)
 *   bin = model.bin
 *   [inputs]
 *   input0 = h,w,c,meanR,meanG,meanB,normR,normG,normB   (or h,w,c,mean,norm; or h,w,c)
 *   [outputs]
 *   output0 = h,w,c
 */
#ifndef __LIBMAIX_MUD_H__
#define __LIBMAIX_MUD_H__

#include "libmaix_nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Create, init and load the model a .mud file describes.  NULL (and the
 * reason on stderr) when the file is missing or malformed or the model does
 * not load - upstream calls exit(0) or returns a half-loaded object.
 * Release with libmaix_nn_destroy(). */
libmaix_nn_t *libmaix_mud_load_model(char *mud_path);

#ifdef __cplusplus
}
#endif

#endif
