/* The engine's one monotonic clock (per-layer times, the thread pool's
 * polling deadlines).
 *
 * On 32-bit musl 1.2 (the zig toolchains) clock_gettime is redirected to
 * __clock_gettime64, a symbol the V831's stock musl 1.1 does not have: a
 * library importing it would not load on the board (tests/test_toolchains.py
 * checks the imports).  There the clock is read with the kernel's 32-bit
 * clock_gettime system call (clock_gettime32 in musl 1.2's names) through
 * syscall(), which every musl exports. */
#define _DEFAULT_SOURCE 1 /* syscall() beside the build's _POSIX_C_SOURCE */
#include <time.h>
#include "mxn_core.h"

#if defined(_REDIR_TIME64) && _REDIR_TIME64
#include <sys/syscall.h>
#include <unistd.h>
#ifndef SYS_clock_gettime32
#define SYS_clock_gettime32 SYS_clock_gettime
#endif

long long mxn_monotonic_ns(void)
{
    struct {
        long tv_sec, tv_nsec;   /* the kernel's time32 timespec */
    } ts = {0, 0};
    if (syscall(SYS_clock_gettime32, CLOCK_MONOTONIC, &ts) != 0) return 0;
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
#else
long long mxn_monotonic_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 0;
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
#endif
