/* Messages of libmaix_err_t: one per code, every code. */
#include "libmaix_err.h"

char *libmaix_err_strs[] = {
    "no error",                          /* LIBMAIX_ERR_NONE */
    "parameter error",                   /* LIBMAIX_ERR_PARAM */
    "not enough memory",                 /* LIBMAIX_ERR_NO_MEM */
    "not implemented",                   /* LIBMAIX_ERR_NOT_IMPLEMENT */
    "not ready",                         /* LIBMAIX_ERR_NOT_READY */
    "not initialized",                   /* LIBMAIX_ERR_NOT_INIT */
    "not permitted",                     /* LIBMAIX_ERR_NOT_PERMIT */
    "execution failed",                  /* LIBMAIX_ERR_NOT_EXEC */
    "unknown error",                     /* LIBMAIX_ERR_UNKNOWN */
};

char *libmaix_get_err_msg(libmaix_err_t err)
{
    static char invalid[] = "invalid error code";
    int code = (int)err;
    if (code < 0 || code >= (int)(sizeof(libmaix_err_strs) / sizeof(libmaix_err_strs[0]))) return invalid;
    return libmaix_err_strs[code];
}
