/* Padding (0 top, 1 bottom, 2 left, 3 right, 4 type: 0 constant, 1 replicate,
 * 2 reflect; 5 value; 6 per_channel_pad_data_size: per output channel
 * constants read from the .bin, used instead of 5 for 3-D blobs; 7 front,
 * 8 behind: channel padding of 3-D blobs).
 * Semantics checked against the ncnn wheel: 1-D blobs pad left/right, 2-D
 * add top/bottom, only 3-D blobs use front/behind and per-channel values;
 * reflect mirrors without repeating the edge, also along channels. */
#include <math.h>
#include "layer_util.h"
#include "../kernels.h"

typedef struct {
    int top, bottom, left, right, front, behind;
    int type;
    float value;
    int per_channel_size;
    mxn_mat per_channel;
} padding_priv;

static void destroy(mxn_layer *l)
{
    padding_priv *p = (padding_priv *)l->priv;
    if (p) mxn_mat_free(&p->per_channel);
    free(p);
    l->priv = NULL;
}

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    padding_priv *p;
    int rc = mxn_check_blob_counts(l, 1, 1, err);
    if (rc) return rc;
    if (!(p = (padding_priv *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->top = mxn_pd_int(pd, 0, 0);
    p->bottom = mxn_pd_int(pd, 1, 0);
    p->left = mxn_pd_int(pd, 2, 0);
    p->right = mxn_pd_int(pd, 3, 0);
    p->type = mxn_pd_int(pd, 4, 0);
    p->value = mxn_pd_float(pd, 5, 0.f);
    p->per_channel_size = mxn_pd_int(pd, 6, 0);
    p->front = mxn_pd_int(pd, 7, 0);
    p->behind = mxn_pd_int(pd, 8, 0);
    if (p->top < 0 || p->bottom < 0 || p->left < 0 || p->right < 0 || p->front < 0 || p->behind < 0)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT,
                             "negative padding (cropping) top=%d bottom=%d left=%d right=%d front=%d behind=%d "
                             "is not supported",
                             p->top, p->bottom, p->left, p->right, p->front, p->behind);
    if (p->top > 65536 || p->bottom > 65536 || p->left > 65536 || p->right > 65536 || p->front > 65536 ||
        p->behind > 65536)
        return mxn_error_set(err, MXN_ERR_FORMAT, "padding larger than 65536 is not plausible");
    if (p->type < 0 || p->type > 2)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "Padding type %d is not supported (0 constant, 1 replicate, "
                             "2 reflect)", p->type);
    if (p->per_channel_size < 0)
        return mxn_error_set(err, MXN_ERR_FORMAT, "per_channel_pad_data_size (6=) is negative: %d",
                             p->per_channel_size);
    return MXN_OK;
}

static int load_model(mxn_layer *l, mxn_modelbin *mb, mxn_error *err)
{
    padding_priv *p = (padding_priv *)l->priv;
    if (p->per_channel_size == 0) return MXN_OK;
    return mxn_modelbin_read_named(mb, (size_t)p->per_channel_size, MXN_BIN_RAW_F32, "per_channel_pad_data",
                                   &p->per_channel, err);
}

/* index of the source element for output coordinate i (may be outside 0..n-1) */
static int source_index(int i, int n, int type)
{
    if (i >= 0 && i < n) return i;
    if (type == 1) return i < 0 ? 0 : n - 1;
    /* reflect (the pad was checked to be < n) */
    return i < 0 ? -i : 2 * (n - 1) - i;
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const padding_priv *p = (const padding_priv *)l->priv;
    const mxn_mat *x = &bottoms[0];
    int top = p->top, bottom = p->bottom, front = p->front, behind = p->behind;
    int outw, outh, outc, q, yy, xx, rc;
    size_t esize = mxn_dtype_size(x->dtype);
    (void)opt;
    if (x->dims == 1) top = bottom = 0;
    if (x->dims < 3) front = behind = 0;
    if (p->type == 2 && (p->left >= x->w || p->right >= x->w || top >= x->h || bottom >= x->h ||
                         front >= x->c || behind >= x->c))
        return mxn_error_set(err, MXN_ERR_SHAPE, "reflect padding must be smaller than the input extent (input c,h,w = "
                             "%d,%d,%d)", x->c, x->h, x->w);
    if ((long long)x->w + p->left + p->right > 0x7fffffffLL || (long long)x->h + top + bottom > 0x7fffffffLL ||
        (long long)x->c + front + behind > 0x7fffffffLL)
        return mxn_error_set(err, MXN_ERR_SHAPE, "padded blob would be too large");
    outw = x->w + p->left + p->right;
    outh = x->h + top + bottom;
    outc = x->c + front + behind;
    if (x->dims == 3 && p->per_channel_size > 0 && p->per_channel_size < outc)
        return mxn_error_set(err, MXN_ERR_SHAPE, "has %d per-channel pad values for %d output channels",
                             p->per_channel_size, outc);
    if ((rc = mxn_mat_alloc(&tops[0], x->dims, outw, outh, outc, x->dtype, err))) return rc;

    for (q = 0; q < outc; q++) {
        float value = (x->dims == 3 && p->per_channel_size > 0) ? mxn_mat_f32(&p->per_channel)[q] : p->value;
        int8_t value_i8 = mxn_pad_value_to_int8(value);
        int in_channel = q - front >= 0 && q - front < x->c;
        int sq = source_index(q - front, x->c, p->type);
        for (yy = 0; yy < outh; yy++) {
            int sy = source_index(yy - top, x->h, p->type);
            int in_row = in_channel && yy - top >= 0 && yy - top < x->h;
            size_t out_off = ((size_t)q * outh + yy) * outw;
            for (xx = 0; xx < outw; xx++) {
                int inside = in_row && xx - p->left >= 0 && xx - p->left < x->w;
                if (p->type == 0 && !inside) {
                    if (x->dtype == MXN_I8) mxn_mat_i8(&tops[0])[out_off + xx] = value_i8;
                    else mxn_mat_f32(&tops[0])[out_off + xx] = value;
                } else {
                    int sx = source_index(xx - p->left, x->w, p->type);
                    size_t in_off = ((size_t)sq * x->h + sy) * x->w + sx;
                    memcpy((unsigned char *)tops[0].data + (out_off + xx) * esize,
                           (const unsigned char *)x->data + in_off * esize, esize);
                }
            }
        }
    }
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_padding = {"Padding", load_param, load_model, forward, destroy};
