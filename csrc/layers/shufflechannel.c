/* ShuffleChannel (0 group, 1 reverse) on a 3-D blob: the channels seen as a
 * [group][c/group] matrix are transposed (reverse: seen as [c/group][group]),
 * ShuffleNet's channel shuffle.  float32 or int8. */
#include "layer_util.h"

typedef struct {
    int group, reverse;
} shufflechannel_priv;

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    shufflechannel_priv *p;
    int rc = mxn_check_blob_counts(l, 1, 1, err);
    if (rc) return rc;
    if (!(p = (shufflechannel_priv *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->group = mxn_pd_int(pd, 0, 1);
    p->reverse = mxn_pd_int(pd, 1, 0);
    if (p->group < 1) return mxn_error_set(err, MXN_ERR_FORMAT, "ShuffleChannel group (0=) is %d", p->group);
    return MXN_OK;
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const shufflechannel_priv *p = (const shufflechannel_priv *)l->priv;
    const mxn_mat *a = &bottoms[0];
    int rows, cols, i, j, rc;
    size_t plane;
    (void)opt;
    if (a->dims != 3 || a->c % p->group != 0)
        return mxn_error_set(err, MXN_ERR_SHAPE, "ShuffleChannel needs a 3-D blob with channels divisible by group "
                             "%d, got %d-D with %d channels", p->group, a->dims, a->c);
    rows = p->reverse ? a->c / p->group : p->group;
    cols = a->c / rows;
    if ((rc = mxn_mat_alloc_like(&tops[0], a, a->dtype, err))) return rc;
    plane = (size_t)a->w * a->h * mxn_dtype_size(a->dtype);
    for (i = 0; i < rows; i++)
        for (j = 0; j < cols; j++)
            memcpy((unsigned char *)tops[0].data + ((size_t)j * rows + i) * plane,
                   (const unsigned char *)a->data + ((size_t)i * cols + j) * plane, plane);
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_shufflechannel = {"ShuffleChannel", load_param, NULL, forward, NULL};
