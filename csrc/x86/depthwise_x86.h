/* Helpers shared by the x86 depthwise kernels (depthwise_sse2.c,
 * depthwise_avx2.c). */
#ifndef MXN_X86_DEPTHWISE_X86_H
#define MXN_X86_DEPTHWISE_X86_H

#include "../kernels.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))

/* two int8 taps as one pmaddwd operand (0 outside the kernel row) */
static inline int32_t dw_tap_pair(const int8_t *row, int kw, int a, int b)
{
    const int16_t wa = (int16_t)(a >= 0 && a < kw ? row[a] : 0), wb = (int16_t)(b >= 0 && b < kw ? row[b] : 0);
    return (int32_t)((uint32_t)(uint16_t)wa | ((uint32_t)(uint16_t)wb << 16));
}

#endif
#endif
