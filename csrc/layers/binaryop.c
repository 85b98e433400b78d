/* BinaryOp (0=op: 0 add, 1 sub, 2 mul, 3 div, 4 max, 5 min, 6 pow, 7 rsub,
 * 8 rdiv; 1=with_scalar, 2=b).
 *
 * Two bottoms broadcast the way ncnn does (checked against the ncnn wheel):
 * the operand with fewer dims is first given the other's dims --
 *   1-D (n) -> 2-D: (w=1, h=n) when n equals the other's h, else (w=n, h=1);
 *   1-D (n) -> 3-D: per channel (1,1,c=n) when n equals the other's c, else (w=n,1,1);
 *   2-D (w,h) -> 3-D: (w=1, h=w, c=h);
 * then every extent (w, h, c) must be equal or 1 on one side (numpy rules).
 * With with_scalar the single bottom is combined with b. */
#include <math.h>
#include "layer_util.h"

typedef struct {
    int op;
    int with_scalar;
    float b;
} binaryop_priv;

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    binaryop_priv *p;
    int rc;
    if (!(p = (binaryop_priv *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->op = mxn_pd_int(pd, 0, 0);
    p->with_scalar = mxn_pd_int(pd, 1, 0);
    p->b = mxn_pd_float(pd, 2, 0.f);
    if (p->op < 0 || p->op > 8)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "BinaryOp op %d is not supported (0..8)", p->op);
    rc = mxn_check_blob_counts(l, p->with_scalar ? 1 : 2, 1, err);
    return rc;
}

/* one output row: out[x] = op(a[x * as], b[x * bs]); the switch sits outside
 * the loops so each loop is a plain vectorisable kernel */
#define ROW_LOOP(expr)                                          \
    for (x = 0; x < n; x++) {                                   \
        const float va = a[x * as], vb = b[x * bs];             \
        out[x] = (expr);                                        \
    }

static void row_op(int op, const float *a, size_t as, const float *b, size_t bs, float *out, int n)
{
    int x;
    switch (op) {
    case 0: ROW_LOOP(va + vb) break;
    case 1: ROW_LOOP(va - vb) break;
    case 2: ROW_LOOP(va * vb) break;
    case 3: ROW_LOOP(va / vb) break;
    case 4: ROW_LOOP(va > vb ? va : vb) break;
    case 5: ROW_LOOP(va < vb ? va : vb) break;
    case 6: ROW_LOOP(powf(va, vb)) break;
    case 7: ROW_LOOP(vb - va) break;
    default: ROW_LOOP(vb / va) break;
    }
}

typedef struct {
    int dims, w, h, c;
} shape4;

static shape4 shape_of(const mxn_mat *m)
{
    shape4 s;
    s.dims = m->dims;
    s.w = m->w;
    s.h = m->h;
    s.c = m->c;
    return s;
}

/* give `s` (fewer dims) the dims of `other`, as ncnn does */
static shape4 expand_dims(shape4 s, const shape4 *other)
{
    shape4 r = s;
    if (s.dims >= other->dims) return r;
    r.dims = other->dims;
    if (s.dims == 1 && other->dims == 2) {
        if (s.w == other->h) { r.w = 1; r.h = s.w; }
        else { r.w = s.w; r.h = 1; }
        r.c = 1;
    } else if (s.dims == 1 && other->dims == 3) {
        if (s.w == other->c) { r.w = 1; r.h = 1; r.c = s.w; }
        else { r.w = s.w; r.h = 1; r.c = 1; }
    } else if (s.dims == 2 && other->dims == 3) {
        r.w = 1; r.h = s.w; r.c = s.h;
    }
    return r;
}

static int broadcast_extent(int a, int b, int *out)
{
    if (a == b || b == 1) { *out = a; return 0; }
    if (a == 1) { *out = b; return 0; }
    return -1;
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const binaryop_priv *p = (const binaryop_priv *)l->priv;
    const mxn_mat *a = &bottoms[0];
    int rc;
    (void)opt;
    if ((rc = mxn_check_f32(l, a, 0, err))) return rc;
    if (p->with_scalar) {
        const float *x = mxn_mat_f32(a);
        float *y;
        size_t i, n = mxn_mat_total(a);
        if ((rc = mxn_mat_alloc_like(&tops[0], a, MXN_F32, err))) return rc;
        y = mxn_mat_f32(&tops[0]);
        /* in rows of at most INT_MAX elements (a mat never holds more) */
        for (i = 0; i < n; i += 1u << 30) {
            size_t len = n - i < (1u << 30) ? n - i : (1u << 30);
            row_op(p->op, x + i, 1, &p->b, 0, y + i, (int)len);
        }
        return MXN_OK;
    } else {
        const mxn_mat *b = &bottoms[1];
        shape4 sa = shape_of(a), sb = shape_of(b), ea, eb;
        int ow, oh, oc, yy, q;
        size_t asx, asy, asc, bsx, bsy, bsc;
        const float *pa, *pb;
        float *out;
        if ((rc = mxn_check_f32(l, b, 1, err))) return rc;
        ea = expand_dims(sa, &sb);
        eb = expand_dims(sb, &sa);
        if (broadcast_extent(ea.w, eb.w, &ow) || broadcast_extent(ea.h, eb.h, &oh) ||
            broadcast_extent(ea.c, eb.c, &oc))
            return mxn_error_set(err, MXN_ERR_SHAPE,
                                 "cannot broadcast %d-D c,h,w = %d,%d,%d with %d-D c,h,w = %d,%d,%d", a->dims, a->c,
                                 a->h, a->w, b->dims, b->c, b->h, b->w);
        if ((rc = mxn_mat_alloc(&tops[0], ea.dims, ow, oh, oc, MXN_F32, err))) return rc;
        /* element strides, 0 along broadcast extents */
        asx = ea.w == 1 ? 0 : 1;
        asy = ea.h == 1 ? 0 : (size_t)ea.w;
        asc = ea.c == 1 ? 0 : (size_t)ea.w * ea.h;
        bsx = eb.w == 1 ? 0 : 1;
        bsy = eb.h == 1 ? 0 : (size_t)eb.w;
        bsc = eb.c == 1 ? 0 : (size_t)eb.w * eb.h;
        pa = mxn_mat_f32(a);
        pb = mxn_mat_f32(b);
        out = mxn_mat_f32(&tops[0]);
        for (q = 0; q < oc; q++)
            for (yy = 0; yy < oh; yy++) {
                const float *ra = pa + q * asc + yy * asy;
                const float *rb = pb + q * bsc + yy * bsy;
                row_op(p->op, ra, asx, rb, bsx, out, ow);
                out += ow;
            }
        return MXN_OK;
    }
}

const mxn_layer_ops mxn_layer_binaryop = {"BinaryOp", load_param, NULL, forward, NULL};
