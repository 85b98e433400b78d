/* Graph executor.
 *
 * A session owns the blob values of one run over an immutable net.  run()
 * computes only the layers the wanted blobs depend on, in file order (the
 * .param order is topological; the loader checked it).  Blobs given with
 * mxn_session_set_input stay until replaced or the session is destroyed; they
 * are never recomputed (so any blob, not only an Input top, can be fed).
 * Computed blobs that were asked for stay readable until the next run or
 * destroy; the other intermediate blobs are freed as soon as their last
 * consumer has run, which keeps peak memory near ncnn's light mode (the board
 * has 64 MB).  Ask for any intermediate blob you want to read in `wanted`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "awnn.h"
#include "mxn_net.h"
#include "kernels.h"
#include "thread_pool.h"

enum { BLOB_EMPTY = 0, BLOB_GIVEN = 1, BLOB_COMPUTED = 2 };

struct mxn_session {
    const mxn_net *net;
    /* the net's sizes when the session was created: the arrays below have
     * these lengths, so a session made before the .param was loaded must not
     * index them with the loaded net's blob numbers */
    int blob_count, layer_count;
    mxn_error err;
    mxn_option opt;
    mxn_mat *blobs;
    unsigned char *state;       /* BLOB_* per blob */
    unsigned char *wanted;      /* per blob, for the current run */
    unsigned char *needed;      /* per blob, scratch of run()'s backward pass */
    unsigned char *layer_needed;
    int *pending_uses;          /* needed consumers not yet run, per blob */
    mxn_mat *io;                /* scratch: bottoms then tops of the widest layer */
    mxn_mat *converted;         /* awnn: bottoms converted between CPU and NPU (awnn.h) */
    size_t blob_bytes;          /* bytes of the blobs held now (given and computed) */
    size_t peak_bytes;          /* the last run's peak: blobs + the running layer's scratch */
    /* views (Split, Flatten, Reshape, Noop tops share their bottom's data):
     * view_of[b] is the computed blob whose data view b shows (-1: b owns its
     * data); viewers[b] counts the live views of b; a blob released while
     * views of it live moves to held[b] until the last view goes */
    int *view_of;
    int *viewers;
    mxn_mat *held;
    double *layer_seconds;      /* per layer: wall time of its forward in the last run (0: not run) */
    size_t *layer_scratch;      /* per layer: its scratch bytes in the last run (0: not run) */
    /* the engine's threads (thread_pool.h): made by the first run with
     * num_threads > 1, remade when the count changes, gone with the session;
     * opt.pool points at it during a run */
    mxn_thread_pool *pool;
};

static size_t mat_bytes(const mxn_mat *m)
{
    return m->data ? mxn_mat_total(m) * mxn_dtype_size(m->dtype) : 0;
}

/* free a blob the session holds, keeping the byte count; a view frees
 * nothing itself, but may be the last one keeping its owner's data */
static void drop_blob(mxn_session *s, int b)
{
    mxn_mat *m = &s->blobs[b];
    if (m->view) {
        const int root = s->view_of[b];
        mxn_mat_free(m);
        s->view_of[b] = -1;
        if (root >= 0 && --s->viewers[root] == 0 && s->held[root].data) {
            s->blob_bytes -= mat_bytes(&s->held[root]);
            mxn_mat_free(&s->held[root]);
        }
        return;
    }
    if (s->viewers[b] > 0 && m->data) {
        s->held[b] = *m;   /* views still show it: keep the data, the blob is gone */
        memset(m, 0, sizeof(*m));
        return;
    }
    s->blob_bytes -= mat_bytes(m);
    mxn_mat_free(m);
}

/* a layer's top that is a view: of which computed blob's data?  A view of a
 * caller's input (or of anything else) becomes a copy, so that only computed
 * blobs - freed at fixed points of a run - have views. */
static int adopt_view(mxn_session *s, const mxn_layer *l, int top, mxn_mat *m)
{
    int j, root = -1;
    for (j = 0; j < l->bottom_count; j++) {
        const int b = l->bottoms[j];
        if (s->blobs[b].data == m->data) {
            root = s->view_of[b] >= 0 ? s->view_of[b] : b;
            break;
        }
    }
    if (root < 0 || !((s->state[root] == BLOB_COMPUTED && !s->blobs[root].view && s->blobs[root].data == m->data) ||
                      (s->held[root].data && s->held[root].data == m->data))) {
        mxn_mat copy;
        memset(&copy, 0, sizeof(copy));
        if (mxn_mat_copy(&copy, m, &s->err)) return s->err.code;
        *m = copy;
        return MXN_OK;
    }
    s->view_of[top] = root;
    s->viewers[root]++;
    return MXN_OK;
}

/* awnn: the bottoms this layer read converted between CPU and NPU form */
static void free_converted(mxn_session *s, const mxn_layer *l)
{
    int k;
    for (k = 0; k < l->bottom_count; k++) mxn_mat_free(&s->converted[k]);
}

double mxn_session_layer_seconds(const mxn_session *s, int layer)
{
    if (!s || layer < 0 || layer >= s->layer_count) return -1.0;
    return s->layer_seconds[layer];
}

size_t mxn_session_layer_scratch(const mxn_session *s, int layer)
{
    if (!s || layer < 0 || layer >= s->layer_count) return 0;
    return s->layer_scratch[layer];
}

size_t mxn_session_peak_memory(const mxn_session *s)
{
    return s ? s->peak_bytes : 0;
}

mxn_session *mxn_session_create(const mxn_net *net)
{
    mxn_session *s;
    int i, nb, nl, cap = 1;
    if (!net) return NULL;
    s = (mxn_session *)calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->net = net;
    s->opt.num_threads = 1;
    /* $MAIXNN_KERNELS or the best set: a bad value is reported by the first
     * set_input / run (this function has no error channel but NULL) */
    s->opt.kernels = mxn_kernel_set_default(&s->err);
    nb = s->blob_count = net->param_loaded ? net->blob_count : 0;
    nl = s->layer_count = net->param_loaded ? net->layer_count : 0;
    for (i = 0; i < nl; i++) {
        int n = net->layers[i].bottom_count + net->layers[i].top_count;
        if (n > cap) cap = n;
    }
    s->blobs = (mxn_mat *)calloc((size_t)(nb ? nb : 1), sizeof(mxn_mat));
    s->state = (unsigned char *)calloc((size_t)(nb ? nb : 1), 1);
    s->wanted = (unsigned char *)calloc((size_t)(nb ? nb : 1), 1);
    s->needed = (unsigned char *)calloc((size_t)(nb ? nb : 1), 1);
    s->pending_uses = (int *)calloc((size_t)(nb ? nb : 1), sizeof(int));
    s->layer_needed = (unsigned char *)calloc((size_t)(nl ? nl : 1), 1);
    s->io = (mxn_mat *)calloc((size_t)cap, sizeof(mxn_mat));
    s->converted = (mxn_mat *)calloc((size_t)cap, sizeof(mxn_mat));
    s->view_of = (int *)malloc(sizeof(int) * (size_t)(nb ? nb : 1));
    s->viewers = (int *)calloc((size_t)(nb ? nb : 1), sizeof(int));
    s->held = (mxn_mat *)calloc((size_t)(nb ? nb : 1), sizeof(mxn_mat));
    s->layer_seconds = (double *)calloc((size_t)(nl ? nl : 1), sizeof(double));
    s->layer_scratch = (size_t *)calloc((size_t)(nl ? nl : 1), sizeof(size_t));
    if (!s->blobs || !s->state || !s->wanted || !s->needed || !s->pending_uses || !s->layer_needed ||
        !s->layer_seconds || !s->layer_scratch || !s->io || !s->converted || !s->view_of || !s->viewers || !s->held) {
        mxn_session_destroy(s);
        return NULL;
    }
    for (i = 0; i < (nb ? nb : 1); i++) s->view_of[i] = -1;
    return s;
}

void mxn_session_destroy(mxn_session *s)
{
    int i;
    if (!s) return;
    mxn_thread_pool_destroy(s->pool);
    if (s->blobs)
        for (i = 0; i < s->blob_count; i++) mxn_mat_free(&s->blobs[i]);
    if (s->held)
        for (i = 0; i < s->blob_count; i++) mxn_mat_free(&s->held[i]);
    free(s->blobs);
    free(s->view_of);
    free(s->viewers);
    free(s->held);
    free(s->state);
    free(s->wanted);
    free(s->needed);
    free(s->pending_uses);
    free(s->layer_needed);
    free(s->layer_seconds);
    free(s->layer_scratch);
    free(s->io);
    free(s->converted);
    free(s);
}

const char *mxn_session_error(const mxn_session *s)
{
    return s ? s->err.msg : "no session (NULL)";
}

int mxn_session_set_num_threads(mxn_session *s, int n)
{
    if (!s) return MXN_ERR_PARAM;
    if (n < 1) return mxn_error_set(&s->err, MXN_ERR_PARAM, "number of threads must be >= 1, got %d", n);
    if (s->pool && mxn_thread_pool_threads(s->pool) != n) {
        mxn_thread_pool_destroy(s->pool);
        s->pool = NULL;
        s->opt.pool = NULL;
    }
    s->opt.num_threads = n;
    return MXN_OK;
}

int mxn_session_set_kernels(mxn_session *s, const char *name)
{
    const mxn_kernel_set *k;
    if (!s) return MXN_ERR_PARAM;
    k = mxn_kernel_set_find(name, &s->err);
    if (!k) return s->err.code;
    s->opt.kernels = k;
    return MXN_OK;
}

const char *mxn_session_kernels(const mxn_session *s)
{
    return s && s->opt.kernels ? s->opt.kernels->name : "";
}

int mxn_kernels_count(void)
{
    int i, n = 0, ok;
    for (i = 0; i < mxn_kernel_set_count(); i++)
        if (mxn_kernel_set_at(i, &ok) && ok) n++;
    return n;
}

const char *mxn_kernels_name(int i)
{
    int k, n = 0, ok;
    for (k = 0; k < mxn_kernel_set_count(); k++) {
        const mxn_kernel_set *ks = mxn_kernel_set_at(k, &ok);
        if (ok && n++ == i) return ks->name;
    }
    return NULL;
}

static int check_net_ready(mxn_session *s)
{
    if (!s->opt.kernels) {
        mxn_error e;
        mxn_kernel_set_default(&e);
        return mxn_error_set(&s->err, e.code, "%s (set by mxn_session_set_kernels)", e.msg);
    }
    if (!s->net->param_loaded)
        return mxn_error_set(&s->err, MXN_ERR_NOT_READY, "the net has no model loaded");
    if (s->blob_count != s->net->blob_count || s->layer_count != s->net->layer_count)
        return mxn_error_set(&s->err, MXN_ERR_NOT_READY,
                             "the session was created before the net's .param was loaded: create it afterwards");
    if (!s->net->bin_loaded) {
        /* a model whose layers read nothing from a .bin may run without one */
        int i;
        for (i = 0; i < s->net->layer_count; i++)
            if (s->net->layers[i].ops->load_model)
                return mxn_error_set(&s->err, MXN_ERR_NOT_READY,
                                     "the net's weights are not loaded (mxn_net_load_bin): layer '%s' (%s) needs them",
                                     s->net->layers[i].name, s->net->layers[i].type);
    }
    return MXN_OK;
}

static void shape_text(char *buf, size_t n, int v)
{
    if (v > 0) snprintf(buf, n, "%d", v);
    else snprintf(buf, n, "*");
}

int mxn_session_set_input(mxn_session *s, int blob, mxn_dtype dtype, const void *data, int dims, int w, int h,
                          int c)
{
    const mxn_net *net;
    mxn_mat m;
    int rc, i;
    if (!s) return MXN_ERR_PARAM;
    net = s->net;
    if ((rc = check_net_ready(s))) return rc;
    if (blob < 0 || blob >= net->blob_count)
        return mxn_error_set(&s->err, MXN_ERR_PARAM, "blob index %d out of range 0..%d", blob, net->blob_count - 1);
    if (!data) return mxn_error_set(&s->err, MXN_ERR_PARAM, "input '%s': NULL data", net->blob_names[blob]);
    if (dims < 1 || dims > 3)
        return mxn_error_set(&s->err, MXN_ERR_SHAPE, "input '%s': dims must be 1, 2 or 3, got %d",
                             net->blob_names[blob], dims);
    if (dims < 2) h = 1;
    if (dims < 3) c = 1;
    for (i = 0; i < net->input_count; i++) {
        const int *d = net->input_shapes[i];
        if (net->input_blobs[i] != blob) continue;
        if ((d[0] && d[0] != w) || (d[1] && d[1] != h) || (d[2] && d[2] != c)) {
            char ew[16], eh[16], ec[16];
            shape_text(ew, sizeof(ew), d[0]);
            shape_text(eh, sizeof(eh), d[1]);
            shape_text(ec, sizeof(ec), d[2]);
            return mxn_error_set(&s->err, MXN_ERR_SHAPE, "input '%s' expects c,h,w = %s,%s,%s, got %d,%d,%d",
                                 net->blob_names[blob], ec, eh, ew, c, h, w);
        }
    }
    rc = mxn_mat_alloc(&m, dims, w, h, c, dtype, &s->err);
    if (rc) return mxn_error_prefix(&s->err, "input '%s': ", net->blob_names[blob]);
    memcpy(m.data, data, mxn_mat_total(&m) * mxn_dtype_size(dtype));
    drop_blob(s, blob);
    s->blobs[blob] = m;
    s->blob_bytes += mat_bytes(&m);
    s->state[blob] = BLOB_GIVEN;
    return MXN_OK;
}

/* the per-layer times: wall time, a layer's threads included */
static double now_seconds(void)
{
    return (double)mxn_monotonic_ns() * 1e-9;
}

static void release_if_done(mxn_session *s, int b)
{
    if (s->state[b] == BLOB_COMPUTED && !s->wanted[b] && s->pending_uses[b] <= 0) {
        drop_blob(s, b);
        s->state[b] = BLOB_EMPTY;
    }
}

static int run_layer(mxn_session *s, int li)
{
    const mxn_net *net = s->net;
    const mxn_layer *l = &net->layers[li];
    mxn_mat *bottoms = s->io;
    mxn_mat *tops = s->io + l->bottom_count;
    int k, rc;

    for (k = 0; k < l->bottom_count; k++) {
        int b = l->bottoms[k];
        if (s->state[b] == BLOB_EMPTY)  /* cannot happen with a checked graph; guard anyway */
            return mxn_error_set(&s->err, MXN_ERR_NOT_READY, "layer '%s' (%s): bottom blob '%s' was not computed",
                                 l->name, l->type, net->blob_names[b]);
        bottoms[k] = s->blobs[b];
    }
    size_t scratch = 0, top_bytes = 0;

    memset(tops, 0, (size_t)l->top_count * sizeof(mxn_mat));
    memset(s->converted, 0, (size_t)l->bottom_count * sizeof(mxn_mat));
    s->opt.scratch_peak = &scratch;
    rc = net->awnn ? mxn_awnn_prepare_bottoms(net, l, bottoms, s->converted, &s->err) : MXN_OK;
    if (rc == MXN_OK) rc = l->ops->forward(l, bottoms, tops, &s->opt, &s->err);
    s->opt.scratch_peak = NULL;
    /* awnn: the bottoms converted between CPU and NPU form live through the forward */
    for (k = 0; k < l->bottom_count; k++) scratch += mat_bytes(&s->converted[k]);
    if (rc == MXN_OK) {
        for (k = 0; k < l->top_count; k++)
            if (!tops[k].data || tops[k].dims < 1 || tops[k].dims > 3 || tops[k].w < 1 || tops[k].h < 1 ||
                tops[k].c < 1) {
                rc = mxn_error_set(&s->err, MXN_ERR_NOT_IMPLEMENT, "produced no valid top %d ('%s')", k,
                                   net->blob_names[l->tops[k]]);
                break;
            }
    }
    if (rc) {
        for (k = 0; k < l->top_count; k++) mxn_mat_free(&tops[k]);
        free_converted(s, l);
        if (s->err.code != rc) mxn_error_set(&s->err, rc, "failed (code %d)", rc);
        return mxn_error_prefix(&s->err, "layer '%s' (%s): ", l->name, l->type);
    }
    for (k = 0; k < l->top_count; k++) {
        if (tops[k].view && s->state[l->tops[k]] != BLOB_GIVEN && adopt_view(s, l, l->tops[k], &tops[k])) {
            int j;
            for (j = 0; j < k; j++)   /* undo the views adopted so far */
                if (tops[j].view && s->view_of[l->tops[j]] >= 0) {
                    s->viewers[s->view_of[l->tops[j]]]--;
                    s->view_of[l->tops[j]] = -1;
                }
            for (j = 0; j < l->top_count; j++) mxn_mat_free(&tops[j]);
            free_converted(s, l);
            return mxn_error_prefix(&s->err, "layer '%s' (%s): ", l->name, l->type);
        }
        if (!tops[k].view) top_bytes += mat_bytes(&tops[k]);
    }
    /* only now: a view top of a converted bottom was made a copy by adopt_view */
    free_converted(s, l);
    s->layer_scratch[li] = scratch;
    if (s->blob_bytes + top_bytes + scratch > s->peak_bytes) s->peak_bytes = s->blob_bytes + top_bytes + scratch;
    for (k = 0; k < l->top_count; k++) {
        int b = l->tops[k];
        if (s->state[b] == BLOB_GIVEN) {
            mxn_mat_free(&tops[k]);  /* a value the caller set wins */
        } else {
            drop_blob(s, b);
            s->blobs[b] = tops[k];
            if (!tops[k].view) s->blob_bytes += mat_bytes(&tops[k]);
            s->state[b] = BLOB_COMPUTED;
        }
    }
    for (k = 0; k < l->bottom_count; k++) {
        int b = l->bottoms[k];
        s->pending_uses[b]--;
        release_if_done(s, b);
    }
    return MXN_OK;
}

int mxn_session_run(mxn_session *s, const int *wanted, int n)
{
    const mxn_net *net;
    int i, k, rc;
    if (!s) return MXN_ERR_PARAM;
    net = s->net;
    if ((rc = check_net_ready(s))) return rc;
    if (n < 0 || (n > 0 && !wanted))
        return mxn_error_set(&s->err, MXN_ERR_PARAM, "bad wanted list (n=%d)", n);
    for (k = 0; k < n; k++)
        if (wanted[k] < 0 || wanted[k] >= net->blob_count)
            return mxn_error_set(&s->err, MXN_ERR_PARAM, "wanted blob index %d out of range 0..%d", wanted[k],
                                 net->blob_count - 1);

    /* forget the previous run's results; keep what the caller gave */
    for (i = 0; i < net->blob_count; i++) {
        if (s->state[i] == BLOB_COMPUTED) {
            drop_blob(s, i);
            s->state[i] = BLOB_EMPTY;
        }
        s->wanted[i] = 0;
        s->pending_uses[i] = 0;
    }
    if (n == 0)
        for (k = 0; k < net->output_count; k++) s->wanted[net->output_blobs[k]] = 1;
    else
        for (k = 0; k < n; k++) s->wanted[wanted[k]] = 1;

    s->peak_bytes = s->blob_bytes;

    /* backwards: a layer runs if one of its tops is needed and not given */
    memcpy(s->needed, s->wanted, (size_t)net->blob_count);
    for (i = net->layer_count - 1; i >= 0; i--) {
        const mxn_layer *l = &net->layers[i];
        int run = 0;
        for (k = 0; k < l->top_count; k++)
            if (s->needed[l->tops[k]] && s->state[l->tops[k]] != BLOB_GIVEN) run = 1;
        s->layer_needed[i] = (unsigned char)run;
        if (!run) continue;
        if (strcmp(l->type, "Input") == 0) /* nothing to compute: its value must have been set */
            return mxn_error_set(&s->err, MXN_ERR_NOT_READY, "input '%s' has not been set (mxn_session_set_input)",
                                 net->blob_names[l->tops[0]]);
        for (k = 0; k < l->bottom_count; k++) {
            s->needed[l->bottoms[k]] = 1;
            s->pending_uses[l->bottoms[k]]++;
        }
    }

    if (s->opt.num_threads > 1 && !s->pool &&
        mxn_thread_pool_create(&s->pool, s->opt.num_threads, &s->err) != MXN_OK)
        return s->err.code;
    s->opt.pool = s->pool;
    mxn_thread_pool_wake(s->pool);
    for (i = 0; i < net->layer_count; i++) {
        s->layer_seconds[i] = 0.0;
        s->layer_scratch[i] = 0;
    }
    for (i = 0; i < net->layer_count; i++) {
        double t0;
        if (!s->layer_needed[i]) continue;
        t0 = now_seconds();
        rc = run_layer(s, i);
        s->layer_seconds[i] = now_seconds() - t0;
        if (rc) return rc;
    }
    return MXN_OK;
}

const void *mxn_session_blob(mxn_session *s, int blob, int *dims, int *w, int *h, int *c, int *dtype)
{
    const mxn_mat *m;
    if (!s) return NULL;
    if (blob < 0 || blob >= s->blob_count) { /* the arrays this session was created with */
        mxn_error_set(&s->err, MXN_ERR_PARAM, "blob index %d out of range", blob);
        return NULL;
    }
    if (s->state[blob] == BLOB_EMPTY) {
        mxn_error_set(&s->err, MXN_ERR_NOT_READY,
                      "blob '%s' is not available: the last run did not compute it or did not keep it "
                      "(list it in mxn_session_run's wanted blobs)",
                      s->net->blob_names[blob]);
        return NULL;
    }
    m = &s->blobs[blob];
    if (dims) *dims = m->dims;
    if (w) *w = m->w;
    if (h) *h = m->h;
    if (c) *c = m->c;
    if (dtype) *dtype = (int)m->dtype;
    return m->data;
}
