/* Helpers shared by the x86 depthwise kernels (depthwise_sse2.c,
 * depthwise_avx2.c; SSE2 only, so both can inline them).
 *
 * dw_store_i8 / dw_store_f32 put m finished outputs (buf, readable 16 bytes /
 * 8 floats past m) of consecutive positions starting at column x of row y
 * (rows of `pitch` positions, the first out_w real: kernels.h) into the
 * output plane.  Each row's piece is written with one full 16-byte / 8-float
 * store; the values it writes past the piece belong to positions that come
 * later in the plane, which the same or a later store of this channel
 * overwrites (the kernels go through a plane in order, and one thread owns a
 * plane).  Only at the end of the plane, where such a store would leave the
 * plane, is the piece copied exactly. */
#ifndef MXN_X86_DEPTHWISE_X86_H
#define MXN_X86_DEPTHWISE_X86_H

#include "../kernels.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <emmintrin.h>
#include <string.h>

static inline __attribute__((always_inline)) void dw_store_i8(const mxn_dw_plane *p, const int8_t *buf, int m,
                                                              int y, int x, int pitch)
{
    const size_t plane = (size_t)p->out_w * p->out_h;
    int off = 0;
    while (off < m) {
        if (x < p->out_w) {
            const size_t o = (size_t)y * p->out_w + x;
            const int n = p->out_w - x < m - off ? p->out_w - x : m - off;
            if (o + 16 <= plane)
                _mm_storeu_si128((__m128i *)(p->out_i8 + o), _mm_loadu_si128((const __m128i *)(buf + off)));
            else
                memcpy(p->out_i8 + o, buf + off, (size_t)n);
            off += n;
            x += n;
        } else {
            off += pitch - x;
            x = 0;
            y++;
        }
    }
}

static inline __attribute__((always_inline)) void dw_store_f32(const mxn_dw_plane *p, const float *buf, int m,
                                                               int y, int x, int pitch)
{
    const size_t plane = (size_t)p->out_w * p->out_h;
    int off = 0;
    while (off < m) {
        if (x < p->out_w) {
            const size_t o = (size_t)y * p->out_w + x;
            const int n = p->out_w - x < m - off ? p->out_w - x : m - off;
            if (o + 8 <= plane) {
                _mm_storeu_ps(p->out_f32 + o, _mm_loadu_ps(buf + off));
                _mm_storeu_ps(p->out_f32 + o + 4, _mm_loadu_ps(buf + off + 4));
            } else {
                memcpy(p->out_f32 + o, buf + off, sizeof(float) * (size_t)n);
            }
            off += n;
            x += n;
        } else {
            off += pitch - x;
            x = 0;
            y++;
        }
    }
}

/* advance a flattened position by n */
static inline __attribute__((always_inline)) void dw_step(int *y, int *x, int n, int pitch)
{
    *x += n;
    while (*x >= pitch) {
        *x -= pitch;
        (*y)++;
    }
}

/* two int8 taps as one pmaddwd operand (0 outside the kernel row) */
static inline int32_t dw_tap_pair(const int8_t *row, int kw, int a, int b)
{
    const int16_t wa = (int16_t)(a >= 0 && a < kw ? row[a] : 0), wb = (int16_t)(b >= 0 && b < kw ? row[b] : 0);
    return (int32_t)((uint32_t)(uint16_t)wa | ((uint32_t)(uint16_t)wb << 16));
}

#endif
#endif
