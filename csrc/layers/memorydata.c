/* MemoryData (0=w 1=h 2=c, 21=load_type 1 raw float32 (default) / 0 tagged):
 * a constant blob read from the .bin.  The highest non-zero extent decides the
 * dims (c -> 3-D, h -> 2-D, w -> 1-D), as ncnn's memorydata.cpp. */
#include "layer_util.h"

typedef struct {
    int dims, w, h, c, load_type;
    mxn_mat data;
} memorydata_priv;

static void destroy(mxn_layer *l)
{
    memorydata_priv *p = (memorydata_priv *)l->priv;
    if (p) mxn_mat_free(&p->data);
    free(p);
    l->priv = NULL;
}

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    memorydata_priv *p;
    int rc = mxn_check_blob_counts(l, 0, 1, err);
    if (rc) return rc;
    if (!(p = (memorydata_priv *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->w = mxn_pd_int(pd, 0, 0);
    p->h = mxn_pd_int(pd, 1, 0);
    p->c = mxn_pd_int(pd, 2, 0);
    p->load_type = mxn_pd_int(pd, 21, 1);
    if (mxn_pd_int(pd, 11, 0) != 0)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "4-D MemoryData (11=d) is not supported");
    if (p->load_type != MXN_BIN_TAGGED && p->load_type != MXN_BIN_RAW_F32)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "MemoryData load_type (21=) %d is not supported",
                             p->load_type);
    p->dims = p->c ? 3 : p->h ? 2 : p->w ? 1 : 0;
    if (p->dims == 0)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "MemoryData without a shape (0=w 1=h 2=c) is not supported");
    if (p->w <= 0 || (p->dims >= 2 && p->h <= 0) || (p->dims == 3 && p->c <= 0))
        return mxn_error_set(err, MXN_ERR_FORMAT, "MemoryData shape w=%d h=%d c=%d is invalid", p->w, p->h, p->c);
    if (p->dims < 3) p->c = 1;
    if (p->dims < 2) p->h = 1;
    if ((size_t)p->w * (size_t)p->h > (size_t)0x7fffffff / (size_t)p->c)
        return mxn_error_set(err, MXN_ERR_FORMAT, "MemoryData shape w=%d h=%d c=%d is too large", p->w, p->h, p->c);
    return MXN_OK;
}

static int load_model(mxn_layer *l, mxn_modelbin *mb, mxn_error *err)
{
    memorydata_priv *p = (memorydata_priv *)l->priv;
    mxn_mat flat;
    int rc = mxn_modelbin_read_named(mb, (size_t)p->w * p->h * p->c, p->load_type, "data", &flat, err);
    if (rc) return rc;
    p->data = flat;
    p->data.dims = p->dims;
    p->data.w = p->w;
    p->data.h = p->h;
    p->data.c = p->c;
    return MXN_OK;
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const memorydata_priv *p = (const memorydata_priv *)l->priv;
    (void)bottoms; (void)opt;
    return mxn_mat_copy(&tops[0], &p->data, err);
}

const mxn_layer_ops mxn_layer_memorydata = {"MemoryData", load_param, load_model, forward, destroy};
