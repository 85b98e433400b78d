/* The per-element gamma/beta pair of LayerNorm and GroupNorm (both raw
 * float32 arrays of n values in the .bin, gamma first). */
#ifndef MXN_NORM_AFFINE_H
#define MXN_NORM_AFFINE_H

#include "layer_util.h"

typedef struct {
    mxn_mat gamma, beta;
} mxn_norm_affine;

static inline int mxn_norm_affine_load(mxn_norm_affine *a, mxn_modelbin *mb, size_t n, mxn_error *err)
{
    int rc = mxn_modelbin_read_named(mb, n, MXN_BIN_RAW_F32, "gamma", &a->gamma, err);
    if (rc) return rc;
    return mxn_modelbin_read_named(mb, n, MXN_BIN_RAW_F32, "beta", &a->beta, err);
}

static inline void mxn_norm_affine_free(mxn_norm_affine *a)
{
    mxn_mat_free(&a->gamma);
    mxn_mat_free(&a->beta);
}

#endif
