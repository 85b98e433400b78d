/* Helpers on numpy-style blob extents (mxn_blob_extents, layer_util.h) for the
 * layers that cut, split or reorder axes (Crop, Slice, Permute, Reduction). */
#ifndef MXN_BLOB_SHAPE_H
#define MXN_BLOB_SHAPE_H

#include "layer_util.h"

/* allocate `m` with `dims` numpy extents ext[0..dims-1] */
static inline int mxn_mat_alloc_extents(mxn_mat *m, int dims, const int ext[3], mxn_dtype dtype, mxn_error *err)
{
    if (dims == 3) return mxn_mat_alloc(m, 3, ext[2], ext[1], ext[0], dtype, err);
    if (dims == 2) return mxn_mat_alloc(m, 2, ext[1], ext[0], 1, dtype, err);
    return mxn_mat_alloc(m, 1, ext[0], 1, 1, dtype, err);
}

/* Copy the box starting at start[] with extents out[] (numpy order, `dims`
 * axes) of `src` (extents in[]) into the contiguous `dst`. */
static inline void mxn_copy_box(const unsigned char *src, const int in[3], unsigned char *dst, const int start[3],
                                const int out[3], size_t esize)
{
    int a, b;
    size_t row = (size_t)out[2] * esize;
    for (a = 0; a < out[0]; a++)
        for (b = 0; b < out[1]; b++) {
            const unsigned char *s =
                src + ((((size_t)(start[0] + a) * in[1]) + (size_t)(start[1] + b)) * in[2] + (size_t)start[2]) * esize;
            memcpy(dst, s, row);
            dst += row;
        }
}

/* The numpy extents padded to three axes at the front (a 2-D (H,W) blob is
 * (1,H,W)): for mxn_copy_box, which always walks three axes. */
static inline void mxn_extents3(int dims, const int ext[3], int out[3])
{
    int k, pad = 3 - dims;
    for (k = 0; k < 3; k++) out[k] = k < pad ? 1 : ext[k - pad];
}

#endif
