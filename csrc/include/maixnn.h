/* maixnn public C API: load ncnn .param/.bin models and run them on the CPU.
 *
 * Threading model: a loaded mxn_net is immutable, so any number of threads may
 * each run their own mxn_session over the same net at once.  A session is not
 * shareable between threads.
 *
 * Errors: every function that can fail returns an mxn_status (0 = ok) and keeps
 * a human-readable message in the object it was called on (mxn_net_error,
 * mxn_session_error).  Nothing is printed, nothing aborts.
 */
#ifndef MAIXNN_H
#define MAIXNN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* libmaixnn.so is compiled with hidden visibility: the functions marked
 * MXN_API are its whole ABI, the engine's internal mxn_* helpers stay
 * private (no clashes with other libraries, no accidental dependencies). */
#if defined(__GNUC__) && __GNUC__ >= 4
#define MXN_API __attribute__((visibility("default")))
#else
#define MXN_API
#endif

/* Numbered like libmaix's libmaix_err_t where they overlap, so the libmaix
 * compatible layer can pass them through unchanged. */
typedef enum {
    MXN_OK = 0,
    MXN_ERR_PARAM = 1,         /* bad argument from the caller */
    MXN_ERR_NO_MEM = 2,
    MXN_ERR_NOT_IMPLEMENT = 3, /* unsupported layer type / parameter */
    MXN_ERR_NOT_READY = 4,     /* e.g. forward before load, input not set */
    MXN_ERR_FORMAT = 9,        /* malformed .param/.bin */
    MXN_ERR_IO = 10,           /* file cannot be opened/read */
    MXN_ERR_SHAPE = 11         /* input/blob shape mismatch */
} mxn_status;

typedef enum { MXN_F32 = 0, MXN_I8 = 1 } mxn_dtype;

typedef struct mxn_net mxn_net;
typedef struct mxn_session mxn_session;

/* ---- model ---- */
MXN_API mxn_net *mxn_net_create(void);
MXN_API void mxn_net_destroy(mxn_net *net);                         /* NULL is fine */
MXN_API const char *mxn_net_error(const mxn_net *net);              /* last error message, "" if none */

/* A net loads one model, once: a second load_param is refused (NOT_READY), as
 * sessions may still point into the first; a failed load may be retried. */
MXN_API int mxn_net_load_param(mxn_net *net, const char *path);
MXN_API int mxn_net_load_param_mem(mxn_net *net, const char *text, size_t len);
MXN_API int mxn_net_load_bin(mxn_net *net, const char *path);      /* after load_param */
MXN_API int mxn_net_load_bin_mem(mxn_net *net, const void *data, size_t len);

MXN_API int mxn_net_layer_count(const mxn_net *net);
MXN_API const char *mxn_net_layer_type(const mxn_net *net, int layer);
MXN_API const char *mxn_net_layer_name(const mxn_net *net, int layer);
/* number of weight values (float or int8) the layer loaded from the .bin */
MXN_API long mxn_net_layer_weight_count(const mxn_net *net, int layer);
MXN_API int mxn_net_layer_bottom_count(const mxn_net *net, int layer);
MXN_API int mxn_net_layer_bottom(const mxn_net *net, int layer, int i);   /* blob index */
MXN_API int mxn_net_layer_top_count(const mxn_net *net, int layer);
MXN_API int mxn_net_layer_top(const mxn_net *net, int layer, int i);      /* blob index */

MXN_API int mxn_net_blob_count(const mxn_net *net);
MXN_API const char *mxn_net_blob_name(const mxn_net *net, int blob);
MXN_API int mxn_net_find_blob(const mxn_net *net, const char *name);     /* -1 if absent */
MXN_API int mxn_net_input_count(const mxn_net *net);
MXN_API int mxn_net_input_blob(const mxn_net *net, int i);
MXN_API int mxn_net_output_count(const mxn_net *net);
MXN_API int mxn_net_output_blob(const mxn_net *net, int i);
/* declared shape of an Input layer's top (0 where the .param leaves it open) */
MXN_API int mxn_net_input_shape(const mxn_net *net, int i, int *w, int *h, int *c);

/* The int8 scale at which the model's int8 layers read `blob`, written as
 * one float to *scale_f32: an input quantized as q = clamp(roundf(f * scale),
 * -127, 127) and set as MXN_I8 is exactly what they compute on (what the
 * V831 NPU does with a quantized input).  0 when only float layers read the
 * blob; an error (NOT_IMPLEMENT) when int8 layers read it with different
 * scales or int8 and float layers both read it.  Needs the weights loaded.
 * (ncnn int8 models: the readers' bottom_scale, through Split layers; an
 * awnn model's blobs carry their own scales.  void * so that a binding
 * without float types can pass it.) */
MXN_API int mxn_net_blob_int8_scale(mxn_net *net, int blob, void *scale_f32);

/* ---- execution ---- */
MXN_API mxn_session *mxn_session_create(const mxn_net *net);        /* NULL on out of memory */
MXN_API void mxn_session_destroy(mxn_session *s);                   /* NULL is fine */
MXN_API const char *mxn_session_error(const mxn_session *s);
MXN_API int mxn_session_set_num_threads(mxn_session *s, int n);     /* reserved, 1 today */

/* Copy `data` (C,H,W contiguous; dims 1..3: w, then w,h, then w,h,c) into the
 * session as the value of blob `blob` (normally an Input layer's top). */
MXN_API int mxn_session_set_input(mxn_session *s, int blob, mxn_dtype dtype,
                          const void *data, int dims, int w, int h, int c);
/* Compute what is needed for the `n` blobs in `wanted` (all graph outputs when
 * n == 0).  Layers whose results are not needed are skipped. */
MXN_API int mxn_session_run(mxn_session *s, const int *wanted, int n);
/* A computed blob: returns its data (NULL + error if not computed) and shape. */
MXN_API const void *mxn_session_blob(mxn_session *s, int blob, int *dims, int *w, int *h,
                             int *c, int *dtype);

#ifdef __cplusplus
}
#endif
#endif
