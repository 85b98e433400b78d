/* libmaix_err.h - libmaix's error codes, for maixnn's libmaix-compatible layer.
 *
 * Written by maixnn to the interface of sipeed/libmaix's header of the same
 * name (same type, enumerator names and values), not copied from it.
 * Unlike upstream, whose message table has fewer strings than codes,
 * libmaix_get_err_msg() has a message for every code and a fixed text for a
 * value outside the enum: it never reads past the table. */
#ifndef __LIBMAIX_ERR_H__
#define __LIBMAIX_ERR_H__

#ifdef __cplusplus
extern "C" {
#endif

typedef enum
{
    LIBMAIX_ERR_NONE          = 0,
    LIBMAIX_ERR_PARAM         = 1,
    LIBMAIX_ERR_NO_MEM        = 2,
    LIBMAIX_ERR_NOT_IMPLEMENT = 3,
    LIBMAIX_ERR_NOT_READY     = 4,
    LIBMAIX_ERR_NOT_INIT      = 5,
    LIBMAIX_ERR_NOT_PERMIT    = 6,
    LIBMAIX_ERR_NOT_EXEC      = 7,
    LIBMAIX_ERR_UNKNOWN       = 8,
} libmaix_err_t;

/* One message per code, indexed by the code (LIBMAIX_ERR_UNKNOWN + 1 entries). */
extern char *libmaix_err_strs[];

/* The message of `err`; "invalid error code" for a value outside the enum. */
char *libmaix_get_err_msg(libmaix_err_t err);

#ifdef __cplusplus
}
#endif

#endif
