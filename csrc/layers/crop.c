/* Crop, numpy-style slice form (9 starts, 10 ends, 11 axes: int arrays, axes
 * on ncnn dims - 0 = channels of a 3-D blob - negative from the end; all
 * axes in order when 11 is absent).  As in ncnn: start/end -233 mean the
 * axis' beginning/end, a negative start counts from the end, an end <= 0
 * counts from the end (so 0 means "to the end"), ends are clipped to the
 * extent.  The offset form (0..8: woffset.., outw..) and the reference-blob
 * form are not implemented: maixnn's converter writes the slice form (what
 * pnnx writes too).  float32 or int8, copied unchanged. */
#include "blob_shape.h"

#define CROP_UNSET (-233)

typedef struct {
    int n;
    int starts[3], ends[3], axes[3];
} crop_priv;

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    crop_priv *p;
    const int *starts, *ends, *axes;
    int ns, ne, na, k, rc = mxn_check_blob_counts(l, 1, 1, err);
    if (rc) return rc;
    if (!(p = (crop_priv *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    ns = mxn_pd_int_array(pd, 9, &starts);
    ne = mxn_pd_int_array(pd, 10, &ends);
    na = mxn_pd_int_array(pd, 11, &axes);
    if (ns == 0 || ne == 0)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT,
                             "Crop needs the slice form (9=starts 10=ends [11=axes]); the offset form (0..8) and "
                             "the reference-blob form are not supported");
    if (ns != ne || (na != 0 && na != ns) || ns > 3)
        return mxn_error_set(err, MXN_ERR_FORMAT, "Crop has %d starts, %d ends and %d axes (1..3 each, equal)", ns,
                             ne, na);
    p->n = ns;
    for (k = 0; k < ns; k++) {
        p->starts[k] = starts[k];
        p->ends[k] = ends[k];
        p->axes[k] = na ? axes[k] : k;
    }
    return MXN_OK;
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const crop_priv *p = (const crop_priv *)l->priv;
    const mxn_mat *a = &bottoms[0];
    int ext[3], start[3] = {0, 0, 0}, out[3], in3[3], start3[3], out3[3], dims, k, rc;
    (void)opt;
    dims = mxn_blob_extents(a, ext);
    for (k = 0; k < 3; k++) out[k] = ext[k];
    for (k = 0; k < p->n; k++) {
        int axis = p->axes[k] < 0 ? p->axes[k] + dims : p->axes[k];
        int s = p->starts[k], e = p->ends[k], n;
        if (axis < 0 || axis >= dims)
            return mxn_error_set(err, MXN_ERR_SHAPE, "Crop axis %d is out of range for a %d-D blob", p->axes[k],
                                 dims);
        n = ext[axis];
        if (s == CROP_UNSET) s = 0;
        if (e == CROP_UNSET) e = n;
        s = s >= 0 ? s : n + s;
        e = e > 0 ? e : n + e;
        if (e > n) e = n;
        if (s < 0 || s >= n || e <= s)
            return mxn_error_set(err, MXN_ERR_SHAPE, "Crop [%d:%d] on axis %d of extent %d is empty or out of range",
                                 p->starts[k], p->ends[k], axis, n);
        start[axis] = s;
        out[axis] = e - s;
    }
    if ((rc = mxn_mat_alloc_extents(&tops[0], dims, out, a->dtype, err))) return rc;
    mxn_extents3(dims, ext, in3);
    mxn_extents3(dims, start, start3);
    mxn_extents3(dims, out, out3);
    if (dims < 3) start3[0] = 0;
    if (dims < 2) start3[1] = 0;
    mxn_copy_box((const unsigned char *)a->data, in3, (unsigned char *)tops[0].data, start3, out3,
                 mxn_dtype_size(a->dtype));
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_crop = {"Crop", load_param, NULL, forward, NULL};
