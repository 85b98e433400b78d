/* maixnn_libmaix.h - maixnn's additions to the libmaix nn API (emu backend
 * only; a program that must also build against Sipeed's libmaix does not
 * include this header). */
#ifndef MAIXNN_LIBMAIX_H
#define MAIXNN_LIBMAIX_H

#include <stddef.h>
#include "libmaix_nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The message of the last error `obj` returned ("" if none; a fixed text for
 * NULL).  Every error is also printed on stderr, as libmaix does. */
const char *maixnn_libmaix_error(const libmaix_nn_t *obj);

/* libmaix_mud_load_model with the reason of a failure written to `err`
 * (errlen bytes, always terminated) instead of stderr. */
libmaix_nn_t *maixnn_mud_load_model(const char *mud_path, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
