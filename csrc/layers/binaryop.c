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
#include "../thread_pool.h"

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

/* out[x] = op(a[x * AS], b[x * BS]) for x < n, AS and BS constants (0: the
 * operand is broadcast along the row, 1: it runs with it); the switch sits
 * outside the loops so each loop is a plain vectorisable kernel.  The
 * vectorised loops compute exactly the scalar expression of every element. */
#define ROW_LOOP(expr)                                          \
    for (x = 0; x < n; x++) {                                   \
        const float va = a[x * as], vb = b[x * bs];             \
        out[x] = (expr);                                        \
    }
#define ROW_FN(NAME, AS, BS)                                                                   \
    static void NAME(int op, const float *restrict a, const float *restrict b, float *restrict out, \
                     size_t n)                                                                 \
    {                                                                                          \
        const size_t as = AS, bs = BS;                                                         \
        size_t x;                                                                              \
        switch (op) {                                                                          \
        case 0: ROW_LOOP(va + vb) break;                                                       \
        case 1: ROW_LOOP(va - vb) break;                                                       \
        case 2: ROW_LOOP(va * vb) break;                                                       \
        case 3: ROW_LOOP(va / vb) break;                                                       \
        case 4: ROW_LOOP(va > vb ? va : vb) break;                                             \
        case 5: ROW_LOOP(va < vb ? va : vb) break;                                             \
        case 6: ROW_LOOP(powf(va, vb)) break;                                                  \
        case 7: ROW_LOOP(vb - va) break;                                                       \
        default: ROW_LOOP(vb / va) break;                                                      \
        }                                                                                      \
    }
ROW_FN(row_vv, 1, 1)
ROW_FN(row_vs, 1, 0)
ROW_FN(row_sv, 0, 1)
ROW_FN(row_ss, 0, 0)

static void row_op(int op, const float *a, size_t as, const float *b, size_t bs, float *out, size_t n)
{
    if (as && bs) row_vv(op, a, b, out, n);
    else if (as) row_vs(op, a, b, out, n);
    else if (bs) row_sv(op, a, b, out, n);
    else row_ss(op, a, b, out, n);
}

/* the work of one forward, split over threads by element (flat) or by row */
typedef struct {
    int op;
    const float *a, *b;
    float *out;
    size_t asx, bsx;             /* element strides along a row (0 or 1) */
    size_t asy, asc, bsy, bsc;   /* row and channel strides (rows mode) */
    int oh, ow;
} binop_run;

/* elements [begin, end) of a flat run (each operand dense or a scalar) */
static void flat_range(void *ctx, size_t begin, size_t end)
{
    const binop_run *r = (const binop_run *)ctx;
    row_op(r->op, r->a + begin * r->asx, r->asx, r->b + begin * r->bsx, r->bsx, r->out + begin, end - begin);
}

/* output rows [begin, end) of the (channel, row) range */
static void rows_range(void *ctx, size_t begin, size_t end)
{
    const binop_run *r = (const binop_run *)ctx;
    size_t u;
    for (u = begin; u < end; u++) {
        const size_t q = u / (size_t)r->oh, yy = u % (size_t)r->oh;
        row_op(r->op, r->a + q * r->asc + yy * r->asy, r->asx, r->b + q * r->bsc + yy * r->bsy, r->bsx,
               r->out + u * (size_t)r->ow, (size_t)r->ow);
    }
}

#define PARALLEL_MIN MXN_PARALLEL_MIN_WORK

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
    if ((rc = mxn_check_f32(l, a, 0, err))) return rc;
    if (p->with_scalar) {
        binop_run r;
        size_t n = mxn_mat_total(a);
        if ((rc = mxn_mat_alloc_like(&tops[0], a, MXN_F32, err))) return rc;
        memset(&r, 0, sizeof(r));
        r.op = p->op;
        r.a = mxn_mat_f32(a);
        r.b = &p->b;
        r.out = mxn_mat_f32(&tops[0]);
        r.asx = 1;
        if (n < PARALLEL_MIN) flat_range(&r, 0, n);
        else mxn_parallel_for(opt, n, 1024, flat_range, &r);
        return MXN_OK;
    } else {
        const mxn_mat *b = &bottoms[1];
        shape4 sa = shape_of(a), sb = shape_of(b), ea, eb;
        int ow, oh, oc;
        size_t n;
        binop_run r;
        if ((rc = mxn_check_f32(l, b, 1, err))) return rc;
        ea = expand_dims(sa, &sb);
        eb = expand_dims(sb, &sa);
        if (broadcast_extent(ea.w, eb.w, &ow) || broadcast_extent(ea.h, eb.h, &oh) ||
            broadcast_extent(ea.c, eb.c, &oc))
            return mxn_error_set(err, MXN_ERR_SHAPE,
                                 "cannot broadcast %d-D c,h,w = %d,%d,%d with %d-D c,h,w = %d,%d,%d", a->dims, a->c,
                                 a->h, a->w, b->dims, b->c, b->h, b->w);
        if ((rc = mxn_mat_alloc(&tops[0], ea.dims, ow, oh, oc, MXN_F32, err))) return rc;
        memset(&r, 0, sizeof(r));
        r.op = p->op;
        r.a = mxn_mat_f32(a);
        r.b = mxn_mat_f32(b);
        r.out = mxn_mat_f32(&tops[0]);
        r.ow = ow;
        r.oh = oh;
        /* element strides, 0 along broadcast extents */
        r.asx = ea.w == 1 ? 0 : 1;
        r.asy = ea.h == 1 ? 0 : (size_t)ea.w;
        r.asc = ea.c == 1 ? 0 : (size_t)ea.w * ea.h;
        r.bsx = eb.w == 1 ? 0 : 1;
        r.bsy = eb.h == 1 ? 0 : (size_t)eb.w;
        r.bsc = eb.c == 1 ? 0 : (size_t)eb.w * eb.h;
        n = (size_t)ow * oh * oc;
        if ((r.asx + r.asy + r.asc == 0 || (r.asx && r.asy == (size_t)ow && r.asc == (size_t)ow * oh)) &&
            (r.bsx + r.bsy + r.bsc == 0 || (r.bsx && r.bsy == (size_t)ow && r.bsc == (size_t)ow * oh))) {
            /* each operand dense (the output's shape) or one value: one flat row */
            if (n < PARALLEL_MIN) flat_range(&r, 0, n);
            else mxn_parallel_for(opt, n, 1024, flat_range, &r);
        } else if (n < PARALLEL_MIN) {
            rows_range(&r, 0, (size_t)oc * oh);
        } else {
            mxn_parallel_for(opt, (size_t)oc * oh, 1, rows_range, &r);
        }
        return MXN_OK;
    }
}

const mxn_layer_ops mxn_layer_binaryop = {"BinaryOp", load_param, NULL, forward, NULL};
