/* Test stub of libmaix_utils.so: the error messages. */
#include "libmaix_err.h"

char *libmaix_err_strs[] = {"stub: none", "stub: param", "stub: no mem", "stub: not implement", "stub: not ready",
                            "stub: not init", "stub: not permit", "stub: not exec", "stub: unknown"};

char *libmaix_get_err_msg(libmaix_err_t err)
{
    return (int)err >= 0 && (int)err <= 8 ? libmaix_err_strs[err] : "stub: invalid";
}
