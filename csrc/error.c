/* Error reporting: every failure carries a code and a message naming where it happened. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "mxn_core.h"

int mxn_error_set(mxn_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    if (!err) return code;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

int mxn_error_prefix(mxn_error *err, const char *fmt, ...)
{
    char prefix[256];
    char old[sizeof(err->msg)];
    size_t plen;
    va_list ap;
    if (!err) return MXN_ERR_PARAM;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    old[sizeof(old) - 1] = '\0';
    /* prefix first, then as much of the old message as fits */
    plen = strlen(prefix);
    if (plen >= sizeof(err->msg)) plen = sizeof(err->msg) - 1;
    memcpy(err->msg, prefix, plen);
    err->msg[plen] = '\0';
    strncat(err->msg, old, sizeof(err->msg) - 1 - plen);
    return err->code;
}
