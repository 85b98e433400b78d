/* Shared pieces of the libFuzzer harnesses (see tests/c/CMakeLists.txt). */
#ifndef MAIXNN_FUZZ_COMMON_H
#define MAIXNN_FUZZ_COMMON_H

#include <stddef.h>
#include "maixnn.h"

/* Feed every input of a loaded net with deterministic values (declared shape,
 * small defaults for open extents, skipped when implausibly large), run all
 * outputs and read them back.  Any error is fine; what the fuzzer looks for
 * is a crash, a sanitizer report or a leak.  The blob data is read in full so
 * that ASan sees a too-short output buffer. */
void fuzz_forward(const mxn_net *net);

/* Every query of the public API on a loaded net, index by index. */
void fuzz_query(const mxn_net *net);

/* Abort (= a crash libFuzzer reports) when a failed call left no message:
 * the contract is a message on every failure. */
void fuzz_require_message(int status, const char *message, const char *what);

#endif
