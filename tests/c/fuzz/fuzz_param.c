/* libFuzzer harness: arbitrary bytes as a .param text.  When it loads, the
 * queries run, then a .bin of zeros large enough for any sane model is tried
 * and, if that loads too, a forward. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned char zeros[4096];
    mxn_net *net = mxn_net_create();
    int status;
    if (!net)
        return 0;
    status = mxn_net_load_param_mem(net, (const char *)data, size);
    fuzz_require_message(status, mxn_net_error(net), "mxn_net_load_param_mem");
    if (status == 0) {
        fuzz_query(net);
        /* an empty .bin first (models without weights), then zeros: a zero tag
         * is float32, so zeros make a valid .bin for many parameter sets */
        status = mxn_net_load_bin_mem(net, zeros, 0);
        fuzz_require_message(status, mxn_net_error(net), "mxn_net_load_bin_mem");
        if (status != 0) {
            mxn_net_destroy(net);
            net = mxn_net_create();
            if (!net)
                return 0;
            if (mxn_net_load_param_mem(net, (const char *)data, size) != 0)
                abort(); /* loading the same text must give the same answer */
            status = mxn_net_load_bin_mem(net, zeros, sizeof(zeros));
            fuzz_require_message(status, mxn_net_error(net), "mxn_net_load_bin_mem");
        }
        if (status == 0)
            fuzz_forward(net);
    }
    mxn_net_destroy(net);
    return 0;
}
