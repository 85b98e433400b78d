/* Permute (0 order_type).  3-D blob (w,h,c): the output's (w,h,c) are the
 * input's 0 = w h c, 1 = h w c, 2 = w c h, 3 = c w h, 4 = h c w, 5 = c h w;
 * 2-D blob: 0 = as is, 1 = transposed.  float32 or int8. */
#include "blob_shape.h"

typedef struct {
    int order_type;
} permute_priv;

/* for each order type, which input numpy axis (0 c, 1 h, 2 w) becomes output
 * numpy axis 0, 1, 2 */
static const int perm3[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    permute_priv *p;
    int rc = mxn_check_blob_counts(l, 1, 1, err);
    if (rc) return rc;
    if (!(p = (permute_priv *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->order_type = mxn_pd_int(pd, 0, 0);
    if (p->order_type < 0 || p->order_type > 5)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "Permute order_type %d is not supported (0..5)",
                             p->order_type);
    return MXN_OK;
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const permute_priv *p = (const permute_priv *)l->priv;
    const mxn_mat *a = &bottoms[0];
    int ext[3], in3[3], out3[3], perm[3], dims, k, rc;
    size_t stride_in[3], stride[3], esize = mxn_dtype_size(a->dtype), i0, i1, i2;
    const unsigned char *src = (const unsigned char *)a->data;
    unsigned char *dst;
    (void)opt;
    dims = mxn_blob_extents(a, ext);
    if (dims == 1 || (dims == 2 && p->order_type > 1))
        return mxn_error_set(err, MXN_ERR_SHAPE, "Permute order_type %d on a %d-D blob", p->order_type, dims);
    mxn_extents3(dims, ext, in3);
    if (dims == 3) {
        for (k = 0; k < 3; k++) perm[k] = perm3[p->order_type][k];
    } else {
        perm[0] = 0;
        perm[1] = p->order_type ? 2 : 1;
        perm[2] = p->order_type ? 1 : 2;
    }
    for (k = 0; k < 3; k++) out3[k] = in3[perm[k]];
    stride_in[2] = 1;
    stride_in[1] = (size_t)in3[2];
    stride_in[0] = (size_t)in3[2] * in3[1];
    for (k = 0; k < 3; k++) stride[k] = stride_in[perm[k]] * esize;
    if (dims == 3) rc = mxn_mat_alloc(&tops[0], 3, out3[2], out3[1], out3[0], a->dtype, err);
    else rc = mxn_mat_alloc(&tops[0], 2, out3[2], out3[1], 1, a->dtype, err);
    if (rc) return rc;
    dst = (unsigned char *)tops[0].data;
    for (i0 = 0; i0 < (size_t)out3[0]; i0++)
        for (i1 = 0; i1 < (size_t)out3[1]; i1++)
            for (i2 = 0; i2 < (size_t)out3[2]; i2++) {
                memcpy(dst, src + i0 * stride[0] + i1 * stride[1] + i2 * stride[2], esize);
                dst += esize;
            }
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_permute = {"Permute", load_param, NULL, forward, NULL};
