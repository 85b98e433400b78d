/* libFuzzer harness: a whole small model in one input, the .param text, one
 * NUL byte, then the .bin bytes (tests/hostile_corpus.py writes seeds in this
 * form from real models), loaded and run. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t param_len = nul ? (size_t)(nul - data) : size;
    const uint8_t *bin = nul ? nul + 1 : data + size;
    size_t bin_len = nul ? size - param_len - 1 : 0;
    mxn_net *net = mxn_net_create();
    int status;
    if (!net)
        return 0;
    status = mxn_net_load_param_mem(net, (const char *)data, param_len);
    fuzz_require_message(status, mxn_net_error(net), "mxn_net_load_param_mem");
    if (status == 0) {
        status = mxn_net_load_bin_mem(net, bin, bin_len);
        fuzz_require_message(status, mxn_net_error(net), "mxn_net_load_bin_mem");
        if (status == 0)
            fuzz_forward(net);
    }
    mxn_net_destroy(net);
    return 0;
}
