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
/* Heap bytes the loaded net holds for its weights: every array really
 * allocated (packed GEMM panels, the original arrays where no packed copy
 * replaces them, biases, int8 scales), for the whole net or one layer.  0
 * before mxn_net_load_bin succeeded or for a bad index. */
MXN_API size_t mxn_net_weight_memory(const mxn_net *net);
MXN_API size_t mxn_net_layer_weight_memory(const mxn_net *net, int layer);
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

/* ---- awnn models (the V831 NPU's own int8 format; csrc/awnn.h) ----
 * Layers with -23328=1,1 run the NPU emulation (csrc/npu_v831.c) on int8
 * blobs; their blobs hold int8 codes (value ~ code / scale). */
MXN_API int mxn_net_is_awnn(const mxn_net *net);                     /* 1 awnn, 0 otherwise */
MXN_API int mxn_net_layer_device(const mxn_net *net, int layer);     /* 1 NPU, 0 CPU, -1 not awnn */
/* The blob's scale S (its producer's -23329) written as one float to
 * *scale_f32; MXN_ERR_PARAM when the net is not awnn or the index is bad.
 * (Buffers are void * so that a binding without float types can pass them.) */
MXN_API int mxn_net_blob_scale(const mxn_net *net, int blob, void *scale_f32);
/* n int8 codes of `blob` to n floats with the board's NPU->CPU rule,
 * out = (float)q * (float)(1 / ((double)S + 1e-5)) */
MXN_API int mxn_net_dequantize(const mxn_net *net, int blob, const void *codes_i8, size_t n, void *out_f32);
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
/* Threads one forward may use (default 1).  Every result is bit-identical
 * for any count: the work is split by output tiles, never by a reduction. */
MXN_API int mxn_session_set_num_threads(mxn_session *s, int n);
/* The compute kernels ("kernel set") of this session: "ref" (the portable
 * reference that defines the results), "sse2", "avx2" (x86, chosen by cpuid),
 * "neon" (ARM builds), or "auto" = the best this CPU runs.  A new session
 * takes $MAIXNN_KERNELS when set, else "auto".  An unknown name or one the CPU
 * cannot run is an error.  int8 results are bit-identical for every set;
 * float32 results agree within 1e-5 relative (summation order differs). */
MXN_API int mxn_session_set_kernels(mxn_session *s, const char *name);
MXN_API const char *mxn_session_kernels(const mxn_session *s);     /* the set in use */
/* The kernel sets this build runs on this CPU, best first (i = 0..count-1). */
MXN_API int mxn_kernels_count(void);
MXN_API const char *mxn_kernels_name(int i);                       /* NULL when out of range */

/* Copy `data` (C,H,W contiguous; dims 1..3: w, then w,h, then w,h,c) into the
 * session as the value of blob `blob` (normally an Input layer's top). */
MXN_API int mxn_session_set_input(mxn_session *s, int blob, mxn_dtype dtype,
                          const void *data, int dims, int w, int h, int c);
/* Compute what is needed for the `n` blobs in `wanted` (all graph outputs when
 * n == 0).  Layers whose results are not needed are skipped. */
MXN_API int mxn_session_run(mxn_session *s, const int *wanted, int n);
/* The engine's heap high-water mark during the last mxn_session_run, in
 * bytes: the blobs held at once (inputs, intermediate results until their
 * last consumer ran, the wanted results) plus the running layer's scratch
 * buffers.  The net's weights are not included. */
MXN_API size_t mxn_session_peak_memory(const mxn_session *s);
/* Wall time in seconds that layer `layer` (0..layer count-1, file order) took
 * in the last mxn_session_run: 0 when it did not run, -1 for a bad index.
 * For profiling: which layers a net spends its time in. */
MXN_API double mxn_session_layer_seconds(const mxn_session *s, int layer);
/* The scratch bytes layer `layer` held besides its inputs and outputs in the
 * last mxn_session_run (padded/quantized input copies, GEMM tiles, weights
 * unpacked for the reference kernels): 0 when it did not run or used none.
 * With the blob sizes this gives mxn_session_peak_memory exactly (maixnn
 * info recomputes it so). */
MXN_API size_t mxn_session_layer_scratch(const mxn_session *s, int layer);
/* A computed blob: returns its data (NULL + error if not computed) and shape. */
MXN_API const void *mxn_session_blob(mxn_session *s, int blob, int *dims, int *w, int *h,
                             int *c, int *dtype);

#ifdef __cplusplus
}
#endif
#endif
