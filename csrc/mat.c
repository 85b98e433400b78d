/* Dense C,H,W blobs with overflow-checked allocation. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mxn_core.h"

size_t mxn_dtype_size(mxn_dtype t)
{
    return t == MXN_I8 ? 1 : 4;
}

size_t mxn_mat_total(const mxn_mat *m)
{
    if (!m || m->dims <= 0 || !m->data) return 0;
    return (size_t)m->w * (size_t)m->h * (size_t)m->c;
}

int mxn_mat_alloc(mxn_mat *m, int dims, int w, int h, int c, mxn_dtype dtype, mxn_error *err)
{
    size_t total, bytes, esize;
    m->dims = 0;
    m->w = m->h = m->c = 0;
    m->dtype = dtype;
    m->data = NULL;
    m->view = 0;
    if (dims < 1 || dims > 3)
        return mxn_error_set(err, MXN_ERR_PARAM, "blob dims must be 1..3, got %d", dims);
    if (dtype != MXN_F32 && dtype != MXN_I8)
        return mxn_error_set(err, MXN_ERR_PARAM, "unknown blob dtype %d", (int)dtype);
    if (dims < 2) h = 1;
    if (dims < 3) c = 1;
    if (w <= 0 || h <= 0 || c <= 0)
        return mxn_error_set(err, MXN_ERR_SHAPE, "invalid blob shape w=%d h=%d c=%d", w, h, c);
    esize = mxn_dtype_size(dtype);
    total = (size_t)w;
    if ((size_t)h > SIZE_MAX / total) goto overflow;
    total *= (size_t)h;
    if ((size_t)c > SIZE_MAX / total) goto overflow;
    total *= (size_t)c;
    if (total > SIZE_MAX / esize) goto overflow;
    bytes = total * esize;
    /* keep element counts addressable by int-based loops in the layers */
    if (total > (size_t)INT32_MAX) goto overflow;
    m->data = malloc(bytes);
    if (!m->data)
        return mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory allocating %zu bytes for a %dx%dx%d blob",
                             bytes, c, h, w);
    m->dims = dims;
    m->w = w;
    m->h = h;
    m->c = c;
    return MXN_OK;
overflow:
    return mxn_error_set(err, MXN_ERR_SHAPE, "blob shape w=%d h=%d c=%d is too large", w, h, c);
}

int mxn_mat_alloc_like(mxn_mat *m, const mxn_mat *like, mxn_dtype dtype, mxn_error *err)
{
    return mxn_mat_alloc(m, like->dims, like->w, like->h, like->c, dtype, err);
}

int mxn_mat_copy(mxn_mat *dst, const mxn_mat *src, mxn_error *err)
{
    int rc = mxn_mat_alloc(dst, src->dims, src->w, src->h, src->c, src->dtype, err);
    if (rc) return rc;
    memcpy(dst->data, src->data, mxn_mat_total(src) * mxn_dtype_size(src->dtype));
    return MXN_OK;
}

void mxn_mat_view(mxn_mat *dst, const mxn_mat *src, int dims, int w, int h, int c)
{
    dst->dims = dims;
    dst->w = w;
    dst->h = h;
    dst->c = c;
    dst->dtype = src->dtype;
    dst->data = src->data;
    dst->view = 1;
}

void mxn_mat_free(mxn_mat *m)
{
    if (!m) return;
    if (!m->view) free(m->data);
    m->view = 0;
    m->data = NULL;
    m->dims = 0;
    m->w = m->h = m->c = 0;
}
