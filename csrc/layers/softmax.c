/* Softmax (0=axis on ncnn dims, negative counts from the end; 1=fixbug0).
 * For a 3-D blob axis 0 = channels, 1 = rows, 2 = columns (the numpy axes of
 * (C,H,W)).  Like ncnn, a non-zero axis without 1=1 is refused: old converters
 * wrote axes ncnn used to interpret differently.  Numerically stable: the max
 * along the axis is subtracted before exp. */
#include <float.h>
#include <math.h>
#include "layer_util.h"

typedef struct {
    int axis;
} softmax_priv;

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    softmax_priv *p;
    int rc = mxn_check_blob_counts(l, 1, 1, err);
    if (rc) return rc;
    if (!(p = (softmax_priv *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->axis = mxn_pd_int(pd, 0, 0);
    if (mxn_pd_int(pd, 1, 0) == 0 && p->axis != 0)
        return mxn_error_set(err, MXN_ERR_FORMAT,
                             "Softmax axis %d without 1=1 (fixbug0): the .param is from an old converter, "
                             "regenerate it",
                             p->axis);
    return MXN_OK;
}

/* softmax over `n` values spaced `inner` apart, for `outer` x `inner` groups */
static void softmax_strided(const float *x, float *y, size_t outer, int n, size_t inner)
{
    size_t o, i;
    int k;
    for (o = 0; o < outer; o++) {
        for (i = 0; i < inner; i++) {
            const float *xs = x + (size_t)o * n * inner + i;
            float *ys = y + (size_t)o * n * inner + i;
            float m = -FLT_MAX, sum = 0.f;
            for (k = 0; k < n; k++)
                if (xs[(size_t)k * inner] > m) m = xs[(size_t)k * inner];
            for (k = 0; k < n; k++) {
                float e = expf(xs[(size_t)k * inner] - m);
                ys[(size_t)k * inner] = e;
                sum += e;
            }
            for (k = 0; k < n; k++) ys[(size_t)k * inner] /= sum;
        }
    }
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const softmax_priv *p = (const softmax_priv *)l->priv;
    const mxn_mat *a = &bottoms[0];
    int axis = p->axis, n, rc;
    size_t outer, inner;
    (void)opt;
    if ((rc = mxn_check_f32(l, a, 0, err))) return rc;
    if (axis < 0) axis += a->dims;
    if (axis < 0 || axis >= a->dims)
        return mxn_error_set(err, MXN_ERR_SHAPE, "axis %d is out of range for a %d-D blob", p->axis, a->dims);
    mxn_split_at_axis(a, axis, &outer, &n, &inner);
    if ((rc = mxn_mat_alloc_like(&tops[0], a, MXN_F32, err))) return rc;
    softmax_strided(mxn_mat_f32(a), mxn_mat_f32(&tops[0]), outer, n, inner);
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_softmax = {"Softmax", load_param, NULL, forward, NULL};
