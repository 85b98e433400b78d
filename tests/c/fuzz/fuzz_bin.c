/* libFuzzer harness: arbitrary bytes as the .bin of a fixed, valid .param
 * (the file named by MAIXNN_FUZZ_PARAM; tests/hostile_corpus.py writes one
 * that uses every layer type with weights).  When it loads, a forward runs:
 * garbage weights must give numbers or an error, never a crash. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_common.h"

static char *g_param_text;   /* read once, lives for the whole process */
static size_t g_param_len;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *path = getenv("MAIXNN_FUZZ_PARAM");
    FILE *f;
    long n;
    (void)argc;
    (void)argv;
    if (!path) {
        fprintf(stderr, "fuzz_bin: set MAIXNN_FUZZ_PARAM to a valid .param file "
                        "(python tests/hostile_corpus.py seeds DIR writes DIR/fixed.param)\n");
        exit(2);
    }
    f = fopen(path, "rb");
    if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "fuzz_bin: cannot read %s\n", path);
        exit(2);
    }
    g_param_text = malloc((size_t)n + 1);
    if (!g_param_text || fread(g_param_text, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "fuzz_bin: cannot read %s\n", path);
        exit(2);
    }
    fclose(f);
    g_param_len = (size_t)n;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mxn_net *net = mxn_net_create();
    int status;
    if (!net)
        return 0;
    status = mxn_net_load_param_mem(net, g_param_text, g_param_len);
    if (status != 0) {
        fprintf(stderr, "fuzz_bin: the fixed .param does not load: %s\n", mxn_net_error(net));
        abort();
    }
    status = mxn_net_load_bin_mem(net, data, size);
    fuzz_require_message(status, mxn_net_error(net), "mxn_net_load_bin_mem");
    if (status == 0) {
        fuzz_query(net);
        fuzz_forward(net);
    }
    mxn_net_destroy(net);
    return 0;
}
