/* Internal types shared by the loader, the executor and the layers. */
#ifndef MXN_CORE_H
#define MXN_CORE_H

#include <stddef.h>
#include <stdint.h>
#include "maixnn.h"

/* ---- errors ---- */
typedef struct {
    int code;
    char msg[512];
} mxn_error;

/* printf-style; stores code and message, returns code so callers can
 * `return mxn_error_set(err, MXN_ERR_FORMAT, "...", ...);` */
int mxn_error_set(mxn_error *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* prefix an existing message ("layer conv1: " + old message) */
int mxn_error_prefix(mxn_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- tensors ----
 * A blob is stored channel-major and contiguous: element (c, y, x) is at
 * data[(c * h + y) * w + x].  dims: 0 empty, 1 (w), 2 (w,h), 3 (w,h,c); unused
 * extents are 1.  No per-channel padding (unlike ncnn's cstep): simpler and the
 * arch kernels can repack internally. */
typedef struct {
    int dims;
    int w, h, c;
    mxn_dtype dtype;
    void *data;      /* owned by the mat (unless view); NULL when empty */
    int view;        /* 1: data belongs to another mat (mxn_mat_view); freeing this one frees nothing */
} mxn_mat;

/* allocate an uninitialised mat; overflow-checked; frees nothing in `m` first */
int mxn_mat_alloc(mxn_mat *m, int dims, int w, int h, int c, mxn_dtype dtype, mxn_error *err);
/* allocate with the same shape as `like` (dtype given) */
int mxn_mat_alloc_like(mxn_mat *m, const mxn_mat *like, mxn_dtype dtype, mxn_error *err);
int mxn_mat_copy(mxn_mat *dst, const mxn_mat *src, mxn_error *err);
void mxn_mat_free(mxn_mat *m);            /* leaves an empty mat */
/* dst shows src's data with the shape (dims, w, h, c) (same element count):
 * Split, Flatten, Reshape, Noop.  The session keeps src's data alive while
 * views of it exist (session.c). */
void mxn_mat_view(mxn_mat *dst, const mxn_mat *src, int dims, int w, int h, int c);
size_t mxn_mat_total(const mxn_mat *m);   /* w*h*c (0 when empty) */
size_t mxn_dtype_size(mxn_dtype t);
static inline float *mxn_mat_f32(const mxn_mat *m) { return (float *)m->data; }
static inline int8_t *mxn_mat_i8(const mxn_mat *m) { return (int8_t *)m->data; }

/* ---- .param parameters ----
 * ids 0..31.  A scalar token is float if it contains '.', 'e' or 'E' (ncnn's
 * rule).  As in ncnn: mxn_pd_float of an int token converts it, mxn_pd_int of
 * a float token returns the default; arrays (-233NN=n,...) keep every
 * element's raw bits in `ia`, and in `fa` the floats ncnn reads (converted
 * when the last element is an int, reinterpreted bits otherwise).  See
 * paramdict.c. */
#define MXN_MAX_PARAM_ID 32
enum { MXN_PARAM_NONE = 0, MXN_PARAM_INT, MXN_PARAM_FLOAT, MXN_PARAM_ARRAY };
typedef struct {
    int type;
    int i;
    float f;
    int n;            /* array length */
    int *ia;          /* array as ints (owned) */
    float *fa;        /* array as floats (owned) */
} mxn_param;
typedef struct {
    mxn_param p[MXN_MAX_PARAM_ID];
} mxn_paramdict;

void mxn_paramdict_init(mxn_paramdict *pd);
void mxn_paramdict_free(mxn_paramdict *pd);
/* parse the `id=value` tokens of one layer line; `where` names the line/layer for messages */
int mxn_paramdict_parse(mxn_paramdict *pd, const char *const *tokens, int ntokens,
                        const char *where, mxn_error *err);
int mxn_pd_has(const mxn_paramdict *pd, int id);
int mxn_pd_int(const mxn_paramdict *pd, int id, int def);
float mxn_pd_float(const mxn_paramdict *pd, int id, float def);
/* array param; returns element count (0 if absent) and sets *values (not owned) */
int mxn_pd_float_array(const mxn_paramdict *pd, int id, const float **values);
int mxn_pd_int_array(const mxn_paramdict *pd, int id, const int **values);

/* ---- .bin reader ---- */
typedef struct {
    const unsigned char *data;
    size_t size;
    size_t pos;
    size_t values_read;   /* values returned so far (for mxn_net_layer_weight_count) */
    size_t bytes_out;     /* heap bytes of the arrays returned so far (for mxn_net_weight_memory) */
} mxn_modelbin;

enum { MXN_BIN_TAGGED = 0, MXN_BIN_RAW_F32 = 1 };
/* Read `count` values into `out` as a 1-D mat (w = count).  Tagged arrays
 * (float32, float16, int8, codebook) give F32 except int8-tagged data, which
 * gives an I8 mat.  Advances pos, keeping ncnn's 4-byte alignment.  Errors
 * (MXN_ERR_FORMAT) name the byte offset; `out` stays empty on failure. */
int mxn_modelbin_read(mxn_modelbin *mb, size_t count, int type, mxn_mat *out, mxn_error *err);
/* the same, with "<what>: " (the array's name) before any error message */
int mxn_modelbin_read_named(mxn_modelbin *mb, size_t count, int type, const char *what, mxn_mat *out,
                            mxn_error *err);
/* one raw float32 value (an int8 layer's bottom/top scale) */
int mxn_modelbin_read_scalar(mxn_modelbin *mb, const char *what, float *out, mxn_error *err);

/* ---- execution options ---- */
typedef struct mxn_kernel_set mxn_kernel_set;   /* csrc/kernels.h */
typedef struct mxn_thread_pool mxn_thread_pool; /* csrc/thread_pool.h */
typedef struct {
    int num_threads;
    const mxn_kernel_set *kernels;   /* the session's kernel set (never NULL in a forward) */
    size_t *scratch_peak;            /* a forward records its largest scratch here (may be NULL) */
    mxn_thread_pool *pool;           /* the session's threads (NULL: num_threads 1); mxn_run_workers */
} mxn_option;

/* a layer's forward: "I hold `bytes` of scratch memory besides my tops" */
static inline void mxn_note_scratch(const mxn_option *opt, size_t bytes)
{
    if (opt && opt->scratch_peak && bytes > *opt->scratch_peak) *opt->scratch_peak = bytes;
}

/* ---- layers ----
 * One file per layer type under csrc/layers/, each defining a const
 * mxn_layer_ops listed in csrc/layers/layer_list.h.  A layer's forward never
 * modifies the layer (so one net serves many sessions at once) and allocates
 * its tops itself (they arrive empty). */
typedef struct mxn_layer mxn_layer;
typedef struct {
    const char *type;
    /* parse parameters into l->priv (allocate it here); optional */
    int (*load_param)(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err);
    /* read weights from the .bin into l->priv; optional */
    int (*load_model)(mxn_layer *l, mxn_modelbin *mb, mxn_error *err);
    int (*forward)(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops,
                   const mxn_option *opt, mxn_error *err);
    /* free everything l->priv owns and l->priv itself; optional (default: free(l->priv)) */
    void (*destroy)(mxn_layer *l);
} mxn_layer_ops;

struct mxn_layer {
    const mxn_layer_ops *ops;
    char *type;
    char *name;
    int bottom_count, top_count;
    int *bottoms, *tops;     /* blob indices */
    void *priv;              /* layer-owned state */
    long weight_count;       /* values read by load_model (for info) */
    size_t bin_bytes;        /* heap bytes of the arrays load_model read (mxn_layer_weight_bytes) */
    int awnn_device;         /* awnn models (awnn.h): 1 NPU, 0 CPU; -1 not an awnn layer */
    float *top_scales;       /* awnn: S of each top from -23329 (owned), else NULL */
};

const mxn_layer_ops *mxn_find_layer_ops(const char *type);

/* Heap bytes the layer holds for its weights now (net.c): the arrays it read
 * from the .bin (l->bin_bytes), or, for the layers that repack, free or
 * derive arrays at load (Convolution, ConvolutionDepthWise, InnerProduct,
 * BatchNorm), what they really keep. */
size_t mxn_layer_weight_bytes(const mxn_layer *l);

/* nanoseconds of a monotonic clock (clock.c; 0 if it cannot be read) */
long long mxn_monotonic_ns(void);

/* shared helpers for fused activations (Convolution/InnerProduct param 9/10) */
typedef struct {
    int type;        /* 0 none, 1 relu, 2 leakyrelu, 3 clip, 4 sigmoid, 5 mish, 6 hardswish */
    float p0, p1;
    float lower, upper; /* hardswish: ncnn's thresholds -p1/p0 and 1/p0 + lower, once per layer */
} mxn_activation;
int mxn_activation_parse(mxn_activation *a, const mxn_paramdict *pd, int type_id, int params_id,
                         mxn_error *err);
float mxn_activation_apply(const mxn_activation *a, float v);

#endif
