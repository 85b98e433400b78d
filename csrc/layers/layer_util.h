/* Small helpers shared by the simple layers (the files in csrc/layers/).  The loader and
 * the executor prefix every message with the layer's line, name and type, so
 * messages here say only what is wrong. */
#ifndef MXN_LAYER_UTIL_H
#define MXN_LAYER_UTIL_H

#include <stdlib.h>
#include <string.h>
#include "../mxn_core.h"

/* exact bottom/top counts; -1 = "at least one" */
static inline int mxn_check_blob_counts(const mxn_layer *l, int bottoms, int tops, mxn_error *err)
{
    if ((bottoms >= 0 && l->bottom_count != bottoms) || (bottoms < 0 && l->bottom_count < 1))
        return mxn_error_set(err, MXN_ERR_FORMAT, "%s takes %s%d bottom blob(s), the line has %d", l->type,
                             bottoms < 0 ? "at least " : "", bottoms < 0 ? 1 : bottoms, l->bottom_count);
    if ((tops >= 0 && l->top_count != tops) || (tops < 0 && l->top_count < 1))
        return mxn_error_set(err, MXN_ERR_FORMAT, "%s takes %s%d top blob(s), the line has %d", l->type,
                             tops < 0 ? "at least " : "", tops < 0 ? 1 : tops, l->top_count);
    return MXN_OK;
}

static inline int mxn_check_f32(const mxn_layer *l, const mxn_mat *m, int index, mxn_error *err)
{
    if (m->dtype != MXN_F32)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "%s needs a float32 input, bottom %d is int8", l->type,
                             index);
    return MXN_OK;
}

static inline size_t mxn_mat_bytes(const mxn_mat *m)
{
    return mxn_mat_total(m) * mxn_dtype_size(m->dtype);
}

/* A blob seen as numpy sees (C,H,W) / (H,W) / (W): the extents before `axis`
 * multiplied (outer), the extent at `axis` (n) and the extents after it
 * multiplied (inner).  The caller checked 0 <= axis < m->dims. */
/* ext[0..dims-1] = the numpy extents of a blob (outermost first); returns dims */
static inline int mxn_blob_extents(const mxn_mat *m, int ext[3])
{
    ext[0] = ext[1] = ext[2] = 1;
    if (m->dims == 3) {
        ext[0] = m->c; ext[1] = m->h; ext[2] = m->w;
    } else if (m->dims == 2) {
        ext[0] = m->h; ext[1] = m->w;
    } else {
        ext[0] = m->w;
    }
    return m->dims;
}

static inline void mxn_split_at_axis(const mxn_mat *m, int axis, size_t *outer, int *n, size_t *inner)
{
    int ext[3], k;
    mxn_blob_extents(m, ext);
    *outer = 1;
    *inner = 1;
    for (k = 0; k < axis; k++) *outer *= (size_t)ext[k];
    for (k = axis + 1; k < m->dims; k++) *inner *= (size_t)ext[k];
    *n = ext[axis];
}

/* The groups a per-channel parameter (BatchNorm, Scale) applies to, as ncnn
 * does: channels of a 3-D blob, rows of a 2-D blob, elements of a 1-D blob;
 * *inner gets the contiguous values per group. */
static inline int mxn_channel_groups(const mxn_mat *x, size_t *inner)
{
    if (x->dims == 3) {
        *inner = (size_t)x->w * x->h;
        return x->c;
    }
    *inner = x->dims == 2 ? (size_t)x->w : 1;
    return x->dims == 2 ? x->h : x->w;
}

/* allocate l->priv of `size` zeroed bytes */
static inline void *mxn_priv_alloc(mxn_layer *l, size_t size, mxn_error *err)
{
    l->priv = calloc(1, size);
    if (!l->priv) mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory");
    return l->priv;
}

/* The start of every element-wise float layer's forward (ReLU, Clip, Sigmoid,
 * HardSigmoid, HardSwish, Dropout): the input must be float32, the output is
 * allocated like it; hands out input, output and element count. */
static inline int mxn_elementwise_begin(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops,
                                        const float **x, float **y, size_t *n, mxn_error *err)
{
    int rc;
    if ((rc = mxn_check_f32(l, &bottoms[0], 0, err))) return rc;
    if ((rc = mxn_mat_alloc_like(&tops[0], &bottoms[0], MXN_F32, err))) return rc;
    *x = mxn_mat_f32(&bottoms[0]);
    *y = mxn_mat_f32(&tops[0]);
    *n = mxn_mat_total(&bottoms[0]);
    return MXN_OK;
}

/* HardSigmoid and HardSwish share their parameters (0=alpha 0.2, 1=beta 0.5)
 * and ncnn's explicit thresholds lower = -beta/alpha, upper = 1/alpha + lower. */
typedef struct {
    float alpha, beta, lower, upper;
} mxn_hardsigmoid_param;

static inline int mxn_hardsigmoid_param_load(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    mxn_hardsigmoid_param *p;
    int rc = mxn_check_blob_counts(l, 1, 1, err);
    if (rc) return rc;
    if (!(p = (mxn_hardsigmoid_param *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->alpha = mxn_pd_float(pd, 0, 0.2f);
    p->beta = mxn_pd_float(pd, 1, 0.5f);
    if (p->alpha == 0.f) return mxn_error_set(err, MXN_ERR_FORMAT, "%s alpha (0=) must not be 0", l->type);
    p->lower = -p->beta / p->alpha;
    p->upper = (1.f / p->alpha) + p->lower;
    return MXN_OK;
}

#endif
