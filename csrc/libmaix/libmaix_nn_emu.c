/* libmaix's nn API on maixnn's engine: the `emu` backend of libmaix_nn.
 *
 * The object's config holds everything one model needs (engine net and
 * session, the chosen input/output blobs, mean/norm, how each input reaches
 * the engine, a staging buffer and the last error message); the only
 * process-wide state is libmaix's module_init counter.
 *
 * Inputs with need_quantization are computed as the V831's awnn backend
 * does (libmaix-awnn.md): uint8 data, f = (u8 - mean[0]) * norm[0] for every
 * channel, q = clamp(roundf(f * S), -127, 127) into buff_quantization, where
 * S is the int8 scale at which the model's first int8 layers read the input
 * (mxn_net_blob_int8_scale).  q reaches the engine as int8; when the input
 * first goes through a Padding layer (per-channel normalisation folded by
 * maixnn quantize) it is fed as the float q / S instead, which the first
 * int8 layer quantizes back to exactly q (|q| <= 127, so the rounding error
 * of q / S * S is far below 0.5), padded values included - the same numbers
 * as maixnn.npu's padded int8 buffer.  Float models (not NPU models) take
 * (u8 - mean[c]) * norm[c] per channel, as maixnn.nn does.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libmaix_nn.h"
#include "maixnn.h"
#include "maixnn_libmaix.h"

/* awnn models (the V831's own format): the engine of branch awnn-emu adds
 * these to maixnn.h (an awnn input's scale is its Input layer's -23329,
 * graph outputs are int8 codes dequantized with the board's rule).
 * Referenced weakly so that this file also builds and runs against an engine
 * without them (then no model is awnn); once that branch is merged these
 * declarations may go, the calls stay.  tests/test_libmaix.py runs a golden
 * awnn model through this path as soon as the engine reads awnn. */
extern int mxn_net_is_awnn(const mxn_net *net) __attribute__((weak));
extern int mxn_net_blob_scale(const mxn_net *net, int blob, void *scale_f32) __attribute__((weak));
extern int mxn_net_dequantize(const mxn_net *net, int blob, const void *codes_i8, size_t n, void *out_f32)
    __attribute__((weak));

static int is_awnn(const mxn_net *net)
{
    return mxn_net_is_awnn && mxn_net_blob_scale && mxn_net_dequantize && mxn_net_is_awnn(net) == 1;
}

/* libmaix's libmaix_nn_module_init/deinit are process-wide by design (on the
 * board they open the NPU driver).  The emulator keeps only a count of
 * module_init calls, so init() can refuse an object while no module_init is
 * active, as the board does; call them from one thread, as with libmaix. */
static int module_init_count;

enum { FEED_FLOAT = 0, FEED_INT8 = 1, FEED_DEQUANT = 2, FEED_NO_NPU = 3 };

typedef struct {
    int blob;
    int w, h, c;          /* declared by the model's Input layer, 0 where open */
    int feed;             /* FEED_*: how a quantized input reaches the engine */
    float scale;          /* int8 input scale S (FEED_INT8, FEED_DEQUANT) */
    char why[300];        /* FEED_NO_NPU: why the model cannot take a quantized input */
} emu_input;

typedef struct {
    char msg[640];
    int inited;
    mxn_net *net;
    mxn_session *session;
    int input_num, output_num;
    emu_input *inputs;
    int *output_blobs;
    float mean[3], norm[3];
    void *staging;
    size_t staging_size;
    float *dequantized;           /* awnn outputs: the int8 codes as floats */
    size_t dequantized_size;
} emu_config;

static const float DEFAULT_MEAN = 127.5f, DEFAULT_NORM = 0.0078125f;

static libmaix_err_t fail(libmaix_nn_t *obj, libmaix_err_t code, const char *fmt, ...)
{
    emu_config *cfg = obj ? (emu_config *)obj->config : NULL;
    char text[sizeof(cfg->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (cfg) memcpy(cfg->msg, text, sizeof(text));
    fprintf(stderr, "libmaix_nn: %s (%s)\n", text, libmaix_get_err_msg(code));
    return code;
}

static libmaix_err_t from_engine(int status)
{
    switch (status) {
    case MXN_OK: return LIBMAIX_ERR_NONE;
    case MXN_ERR_NO_MEM: return LIBMAIX_ERR_NO_MEM;
    case MXN_ERR_NOT_IMPLEMENT: return LIBMAIX_ERR_NOT_IMPLEMENT;
    case MXN_ERR_NOT_READY: return LIBMAIX_ERR_NOT_READY;
    case MXN_ERR_PARAM:
    case MXN_ERR_FORMAT:
    case MXN_ERR_IO:
    case MXN_ERR_SHAPE: return LIBMAIX_ERR_PARAM;
    default: return LIBMAIX_ERR_NOT_EXEC;
    }
}

static emu_config *config_of(libmaix_nn_t *obj) { return obj ? (emu_config *)obj->config : NULL; }

static void release_model(emu_config *cfg)
{
    mxn_session_destroy(cfg->session);
    mxn_net_destroy(cfg->net);
    free(cfg->inputs);
    free(cfg->output_blobs);
    free(cfg->staging);
    free(cfg->dequantized);
    cfg->dequantized = NULL;
    cfg->dequantized_size = 0;
    cfg->session = NULL;
    cfg->net = NULL;
    cfg->inputs = NULL;
    cfg->output_blobs = NULL;
    cfg->staging = NULL;
    cfg->staging_size = 0;
    cfg->input_num = cfg->output_num = 0;
}

/* ---------------------------------------------------------------- module */

libmaix_err_t libmaix_nn_module_init(void)
{
    module_init_count++;
    return LIBMAIX_ERR_NONE;
}

libmaix_err_t libmaix_nn_module_deinit(void)
{
    if (module_init_count == 0) {
        fprintf(stderr, "libmaix_nn: module_deinit without module_init (%s)\n",
                libmaix_get_err_msg(LIBMAIX_ERR_NOT_INIT));
        return LIBMAIX_ERR_NOT_INIT;
    }
    module_init_count--;
    return LIBMAIX_ERR_NONE;
}

/* ---------------------------------------------------------------- init / deinit */

static libmaix_err_t emu_init(libmaix_nn_t *obj)
{
    emu_config *cfg = config_of(obj);
    if (!cfg) return fail(obj, LIBMAIX_ERR_PARAM, "init: NULL object");
    if (module_init_count == 0)
        return fail(obj, LIBMAIX_ERR_NOT_INIT, "init: call libmaix_nn_module_init() first");
    cfg->inited = 1;
    cfg->msg[0] = '\0';
    return LIBMAIX_ERR_NONE;
}

static libmaix_err_t emu_deinit(libmaix_nn_t *obj)
{
    emu_config *cfg = config_of(obj);
    if (!cfg) return fail(obj, LIBMAIX_ERR_PARAM, "deinit: NULL object");
    release_model(cfg);
    cfg->inited = 0;
    return LIBMAIX_ERR_NONE;
}

/* ---------------------------------------------------------------- load */

/* Which layers read `blob`: the count, and the first one in *first. */
static int readers(const mxn_net *net, int blob, int *first)
{
    int i, j, n = 0, layers = mxn_net_layer_count(net);
    *first = -1;
    for (i = 0; i < layers; i++) {
        int bottoms = mxn_net_layer_bottom_count(net, i);
        for (j = 0; j < bottoms; j++) {
            if (mxn_net_layer_bottom(net, i, j) == blob) {
                if (*first < 0) *first = i;
                n++;
                break;
            }
        }
    }
    return n;
}

/* How a quantized input reaches the engine (see the top of this file). */
static void choose_feed(mxn_net *net, emu_input *in)
{
    float s = 0.f;
    int first;
    in->feed = FEED_FLOAT;
    in->scale = 0.f;
    if (is_awnn(net)) {
        if (mxn_net_blob_scale(net, in->blob, &s) == MXN_OK && s > 0.f) {
            in->feed = FEED_INT8;
            in->scale = s;
        } else {
            in->feed = FEED_NO_NPU;
            snprintf(in->why, sizeof(in->why), "awnn input %s has no int8 scale", mxn_net_blob_name(net, in->blob));
        }
        return;
    }
    if (mxn_net_blob_int8_scale(net, in->blob, &s) != MXN_OK) {
        in->feed = FEED_NO_NPU;
        snprintf(in->why, sizeof(in->why), "%s", mxn_net_error(net));
        return;
    }
    if (s > 0.f) {
        in->feed = FEED_INT8;
        in->scale = s;
        return;
    }
    if (readers(net, in->blob, &first) == 1 && strcmp(mxn_net_layer_type(net, first), "Padding") == 0 &&
        mxn_net_layer_top_count(net, first) == 1) {
        int padded = mxn_net_layer_top(net, first, 0);
        if (mxn_net_blob_int8_scale(net, padded, &s) != MXN_OK) {
            in->feed = FEED_NO_NPU;
            snprintf(in->why, sizeof(in->why), "%s", mxn_net_error(net));
        } else if (s > 0.f) {
            in->feed = FEED_DEQUANT;
            in->scale = s;
        }
    }
}

static libmaix_err_t pick_blob(libmaix_nn_t *obj, const char *what, int i, char **names, int *ids, int *blob)
{
    emu_config *cfg = config_of(obj);
    int count = mxn_net_blob_count(cfg->net);
    if (names) {
        if (!names[i]) return fail(obj, LIBMAIX_ERR_PARAM, "load: %s_names[%d] is NULL", what, i);
        *blob = mxn_net_find_blob(cfg->net, names[i]);
        if (*blob < 0)
            return fail(obj, LIBMAIX_ERR_PARAM, "load: %s_names[%d] = \"%s\": the model has no blob of that name",
                        what, i, names[i]);
        return LIBMAIX_ERR_NONE;
    }
    if (ids) {
        if (ids[i] < 0 || ids[i] >= count)
            return fail(obj, LIBMAIX_ERR_PARAM, "load: %s_ids[%d] = %d: the model's blobs are 0..%d", what, i,
                        ids[i], count - 1);
        *blob = ids[i];
        return LIBMAIX_ERR_NONE;
    }
    *blob = strcmp(what, "input") == 0 ? mxn_net_input_blob(cfg->net, i) : mxn_net_output_blob(cfg->net, i);
    if (*blob < 0)
        return fail(obj, LIBMAIX_ERR_PARAM, "load: no names or ids given and the model has no %s %d", what, i);
    return LIBMAIX_ERR_NONE;
}

static libmaix_err_t emu_load(libmaix_nn_t *obj, const libmaix_nn_model_path_t *path, libmaix_nn_opt_param_t *opt)
{
    emu_config *cfg = config_of(obj);
    const char *param, *bin;
    int rc, i, k, in_num, out_num, npu_inputs = 0;
    libmaix_err_t err;
    if (!cfg) return fail(obj, LIBMAIX_ERR_PARAM, "load: NULL object");
    if (!cfg->inited) return fail(obj, LIBMAIX_ERR_NOT_INIT, "load: call init() first");
    if (!path || !path->awnn.param_path || !path->awnn.bin_path)
        return fail(obj, LIBMAIX_ERR_PARAM, "load: path->awnn.param_path and bin_path are required");
    if (!opt) return fail(obj, LIBMAIX_ERR_PARAM, "load: opt_param is required (input/output names, mean, norm)");
    if (opt->awnn.encrypt)
        return fail(obj, LIBMAIX_ERR_NOT_IMPLEMENT, "load: encrypted models are not supported by the emulator");
    param = path->awnn.param_path;
    bin = path->awnn.bin_path;
    release_model(cfg);                    /* a second load replaces the model */
    cfg->net = mxn_net_create();
    if (!cfg->net) return fail(obj, LIBMAIX_ERR_NO_MEM, "load: out of memory");
    if ((rc = mxn_net_load_param(cfg->net, param)) != MXN_OK ||
        (rc = mxn_net_load_bin(cfg->net, bin)) != MXN_OK) {
        err = fail(obj, from_engine(rc), "load %s / %s: %s", param, bin, mxn_net_error(cfg->net));
        release_model(cfg);
        return err;
    }
    /* input_num / output_num 0: the model's own inputs / outputs (names and ids ignored) */
    in_num = opt->awnn.input_num ? opt->awnn.input_num : mxn_net_input_count(cfg->net);
    out_num = opt->awnn.output_num ? opt->awnn.output_num : mxn_net_output_count(cfg->net);
    if (in_num < 1 || out_num < 1) {
        release_model(cfg);
        return fail(obj, LIBMAIX_ERR_PARAM, "load %s: no inputs or no outputs to use", param);
    }
    cfg->inputs = (emu_input *)calloc((size_t)in_num, sizeof(*cfg->inputs));
    cfg->output_blobs = (int *)calloc((size_t)out_num, sizeof(int));
    cfg->session = mxn_session_create(cfg->net);
    if (!cfg->inputs || !cfg->output_blobs || !cfg->session) {
        release_model(cfg);
        return fail(obj, LIBMAIX_ERR_NO_MEM, "load %s: out of memory", param);
    }
    cfg->input_num = in_num;
    cfg->output_num = out_num;
    for (i = 0; i < in_num; i++) {
        emu_input *in = &cfg->inputs[i];
        err = pick_blob(obj, "input", i, opt->awnn.input_num ? opt->awnn.input_names : NULL,
                        opt->awnn.input_num ? opt->awnn.input_ids : NULL, &in->blob);
        if (err != LIBMAIX_ERR_NONE) {
            release_model(cfg);
            return err;
        }
        for (k = 0; k < mxn_net_input_count(cfg->net); k++)
            if (mxn_net_input_blob(cfg->net, k) == in->blob) mxn_net_input_shape(cfg->net, k, &in->w, &in->h, &in->c);
        choose_feed(cfg->net, in);
        npu_inputs += in->feed == FEED_INT8 || in->feed == FEED_DEQUANT;
    }
    for (i = 0; i < out_num; i++) {
        err = pick_blob(obj, "output", i, opt->awnn.output_num ? opt->awnn.output_names : NULL,
                        opt->awnn.output_num ? opt->awnn.output_ids : NULL, &cfg->output_blobs[i]);
        if (err != LIBMAIX_ERR_NONE) {
            release_model(cfg);
            return err;
        }
    }
    for (i = 0; i < 3; i++) {
        cfg->mean[i] = opt->awnn.mean[i];
        cfg->norm[i] = opt->awnn.norm[i];
    }
    if (cfg->norm[0] == 0.f && cfg->norm[1] == 0.f && cfg->norm[2] == 0.f) {
        fprintf(stderr, "libmaix_nn: warning: norm is 0: using libmaix's defaults mean %g norm %g\n",
                (double)DEFAULT_MEAN, (double)DEFAULT_NORM);
        for (i = 0; i < 3; i++) {
            cfg->mean[i] = DEFAULT_MEAN;
            cfg->norm[i] = DEFAULT_NORM;
        }
    }
    if (npu_inputs && (cfg->mean[1] != cfg->mean[0] || cfg->mean[2] != cfg->mean[0] ||
                       cfg->norm[1] != cfg->norm[0] || cfg->norm[2] != cfg->norm[0]))
        fprintf(stderr, "libmaix_nn: warning: the V831 NPU applies ONE mean/norm to all channels: using "
                        "mean[0]=%g norm[0]=%g, ignoring mean (%g, %g, %g) norm (%g, %g, %g)\n",
                (double)cfg->mean[0], (double)cfg->norm[0], (double)cfg->mean[0], (double)cfg->mean[1],
                (double)cfg->mean[2], (double)cfg->norm[0], (double)cfg->norm[1], (double)cfg->norm[2]);
    cfg->msg[0] = '\0';
    return LIBMAIX_ERR_NONE;
}

/* ---------------------------------------------------------------- forward */

static void *staging(emu_config *cfg, size_t bytes)
{
    if (bytes > cfg->staging_size) {
        void *p = realloc(cfg->staging, bytes);
        if (!p) return NULL;
        cfg->staging = p;
        cfg->staging_size = bytes;
    }
    return cfg->staging;
}

/* element (ch, y, x) of a w*h*c buffer in `layout` */
static size_t at(int layout, int w, int h, int c, int ch, int y, int x)
{
    if (layout == LIBMAIX_NN_LAYOUT_CHW) return ((size_t)ch * (size_t)h + (size_t)y) * (size_t)w + (size_t)x;
    return ((size_t)y * (size_t)w + (size_t)x) * (size_t)c + (size_t)ch;
}

/* C's roundf, clamped to the NPU's int8 range */
static int8_t quantize(float v)
{
    float r = roundf(v);
    if (!(r > -127.f)) return -127;    /* NaN too */
    if (r > 127.f) return 127;
    return (int8_t)(int)r;
}

/* What reaches the engine, converted to CHW from the caller's layout. */
enum { STAGE_U8_NORMALISED, STAGE_I8, STAGE_I8_AS_FLOAT, STAGE_F32 };

static void *stage_chw(emu_config *cfg, int kind, const void *src, int layout, int w, int h, int c, float scale)
{
    size_t n = (size_t)w * (size_t)h * (size_t)c;
    void *buf = staging(cfg, kind == STAGE_I8 ? n : n * sizeof(float));
    float *f = (float *)buf;
    int8_t *i8 = (int8_t *)buf;
    int ch, y, x;
    if (!buf) return NULL;
    for (ch = 0; ch < c; ch++) {
        for (y = 0; y < h; y++) {
            for (x = 0; x < w; x++) {
                size_t from = at(layout, w, h, c, ch, y, x), to = ((size_t)ch * h + y) * w + x;
                switch (kind) {
                case STAGE_U8_NORMALISED:      /* float model: per-channel mean/norm */
                    f[to] = ((float)((const uint8_t *)src)[from] - cfg->mean[ch]) * cfg->norm[ch];
                    break;
                case STAGE_I8: i8[to] = ((const int8_t *)src)[from]; break;
                case STAGE_I8_AS_FLOAT: f[to] = (float)((const int8_t *)src)[from] / scale; break;
                default: f[to] = ((const float *)src)[from]; break;
                }
            }
        }
    }
    return buf;
}

static libmaix_err_t set_input(libmaix_nn_t *obj, const emu_input *in, libmaix_nn_layer_t *layer, int index)
{
    emu_config *cfg = config_of(obj);
    const char *name = mxn_net_blob_name(cfg->net, in->blob);
    int w = layer->w, h = layer->h, c = layer->c, rc, kind;
    int layout = layer->layout;
    const void *src = layer->data;
    void *buf;
    if (!layer->data) return fail(obj, LIBMAIX_ERR_PARAM, "forward: inputs[%d].data is NULL", index);
    if (w < 1 || h < 1 || c < 1)
        return fail(obj, LIBMAIX_ERR_PARAM, "forward: inputs[%d] (%s): w, h, c = %d, %d, %d", index, name, w, h, c);
    if ((in->w && in->w != w) || (in->h && in->h != h) || (in->c && in->c != c))
        return fail(obj, LIBMAIX_ERR_PARAM, "forward: inputs[%d] (%s) is %dx%dx%d (w, h, c), the model wants %dx%dx%d",
                    index, name, w, h, c, in->w, in->h, in->c);
    if (layout != LIBMAIX_NN_LAYOUT_HWC && layout != LIBMAIX_NN_LAYOUT_CHW)
        return fail(obj, LIBMAIX_ERR_PARAM, "forward: inputs[%d].layout = %d is neither HWC nor CHW", index, layout);
    if (layer->need_quantization) {
        if (layer->dtype != LIBMAIX_NN_DTYPE_UINT8 && layer->dtype != LIBMAIX_NN_DTYPE_INT8)
            return fail(obj, LIBMAIX_ERR_PARAM, "forward: inputs[%d] has need_quantization: its data must be uint8 "
                        "(dtype UINT8), got dtype %d", index, (int)layer->dtype);
        if (!layer->buff_quantization)
            return fail(obj, LIBMAIX_ERR_PARAM, "forward: inputs[%d] has need_quantization but buff_quantization is "
                        "NULL (give it w*h*c bytes)", index);
        if (in->feed == FEED_NO_NPU)
            return fail(obj, LIBMAIX_ERR_NOT_IMPLEMENT, "forward: inputs[%d] (%s) cannot be quantized for this "
                        "model: %s", index, name, in->why);
        if (in->feed == FEED_FLOAT) {
            if (c > 3)
                return fail(obj, LIBMAIX_ERR_NOT_IMPLEMENT, "forward: inputs[%d] has %d channels: mean/norm have 3",
                            index, c);
            kind = STAGE_U8_NORMALISED;
        } else {
            /* the NPU's input path, element by element in the caller's layout */
            const uint8_t *u8 = (const uint8_t *)layer->data;
            int8_t *q = (int8_t *)layer->buff_quantization;
            size_t j, n = (size_t)w * (size_t)h * (size_t)c;
            for (j = 0; j < n; j++) {
                float f = ((float)u8[j] - cfg->mean[0]) * cfg->norm[0];
                q[j] = quantize(f * in->scale);
            }
            layer->dtype = LIBMAIX_NN_DTYPE_INT8;   /* as the board: the input is now quantized */
            src = q;
            kind = in->feed == FEED_INT8 ? STAGE_I8 : STAGE_I8_AS_FLOAT;
        }
    } else if (layer->dtype == LIBMAIX_NN_DTYPE_INT8) {
        if (in->feed == FEED_FLOAT)
            return fail(obj, LIBMAIX_ERR_PARAM, "forward: inputs[%d] (%s) is INT8 but the model is float there: "
                        "give FLOAT data (or need_quantization with UINT8)", index, name);
        if (in->feed == FEED_NO_NPU)
            return fail(obj, LIBMAIX_ERR_NOT_IMPLEMENT, "forward: inputs[%d] (%s) cannot take int8 data: %s",
                        index, name, in->why);
        kind = in->feed == FEED_INT8 ? STAGE_I8 : STAGE_I8_AS_FLOAT;
    } else if (layer->dtype == LIBMAIX_NN_DTYPE_FLOAT) {
        kind = STAGE_F32;                            /* maixnn's addition: float data as it is */
    } else {
        return fail(obj, LIBMAIX_ERR_PARAM, "forward: inputs[%d] is %s without need_quantization: give INT8 "
                    "(already quantized) data or set need_quantization", index,
                    layer->dtype == LIBMAIX_NN_DTYPE_UINT8 ? "UINT8" : "of an unknown dtype");
    }
    buf = stage_chw(cfg, kind, src, layout, w, h, c, in->scale);
    if (!buf) return fail(obj, LIBMAIX_ERR_NO_MEM, "forward: out of memory");
    rc = mxn_session_set_input(cfg->session, in->blob, kind == STAGE_I8 ? MXN_I8 : MXN_F32, buf, 3, w, h, c);
    if (rc != MXN_OK)
        return fail(obj, from_engine(rc), "forward: inputs[%d] (%s): %s", index, name,
                    mxn_session_error(cfg->session));
    return LIBMAIX_ERR_NONE;
}

static libmaix_err_t get_output(libmaix_nn_t *obj, int index, libmaix_nn_layer_t *layer)
{
    emu_config *cfg = config_of(obj);
    int blob = cfg->output_blobs[index];
    const char *name = mxn_net_blob_name(cfg->net, blob);
    int dims = 0, w = 0, h = 0, c = 0, dtype = 0, ow, oh, oc, ch, y, x, rc;
    long declared, total;
    const void *data = mxn_session_blob(cfg->session, blob, &dims, &w, &h, &c, &dtype);
    float *out = (float *)layer->data;
    const float *src = (const float *)data;
    if (!data)
        return fail(obj, LIBMAIX_ERR_NOT_EXEC, "forward: output %s: %s", name, mxn_session_error(cfg->session));
    if (dims == 3) {
        ow = w; oh = h; oc = c;
    } else {
        ow = 1; oh = 1; oc = dims == 2 ? w * h : w;
    }
    total = (long)ow * oh * oc;
    if (dtype != MXN_F32) {
        if (!is_awnn(cfg->net))
            return fail(obj, LIBMAIX_ERR_NOT_IMPLEMENT, "forward: output %s is int8 in this model (a requantized "
                        "blob): fetch a float blob", name);
        /* the board's NPU->CPU conversion of the codes */
        if ((size_t)total > cfg->dequantized_size) {
            float *p = (float *)realloc(cfg->dequantized, (size_t)total * sizeof(float));
            if (!p) return fail(obj, LIBMAIX_ERR_NO_MEM, "forward: out of memory");
            cfg->dequantized = p;
            cfg->dequantized_size = (size_t)total;
        }
        if ((rc = mxn_net_dequantize(cfg->net, blob, data, (size_t)total, cfg->dequantized)) != MXN_OK)
            return fail(obj, from_engine(rc), "forward: output %s: %s", name, mxn_net_error(cfg->net));
        src = cfg->dequantized;
    }
    declared = (long)layer->w * layer->h * layer->c;
    if (layer->dtype != LIBMAIX_NN_DTYPE_FLOAT)
        return fail(obj, LIBMAIX_ERR_PARAM, "forward: outputs[%d].dtype must be FLOAT", index);
    if (layer->w < 1 || layer->h < 1 || layer->c < 1 || declared < total)
        return fail(obj, LIBMAIX_ERR_PARAM, "forward: outputs[%d] (%s) declares w, h, c = %d, %d, %d: the model's "
                    "output has %d, %d, %d (%ld floats)", index, name, layer->w, layer->h, layer->c, ow, oh, oc,
                    total);
    if (layer->layout != LIBMAIX_NN_LAYOUT_HWC && layer->layout != LIBMAIX_NN_LAYOUT_CHW)
        return fail(obj, LIBMAIX_ERR_PARAM, "forward: outputs[%d].layout = %d is neither HWC nor CHW", index,
                    (int)layer->layout);
    for (ch = 0; ch < oc; ch++)
        for (y = 0; y < oh; y++)
            for (x = 0; x < ow; x++)
                out[at(layer->layout, ow, oh, oc, ch, y, x)] = src[((size_t)ch * oh + y) * ow + x];
    layer->w = ow;
    layer->h = oh;
    layer->c = oc;
    return LIBMAIX_ERR_NONE;
}

static libmaix_err_t emu_forward(libmaix_nn_t *obj, libmaix_nn_layer_t *inputs, libmaix_nn_layer_t *outputs)
{
    emu_config *cfg = config_of(obj);
    libmaix_err_t err;
    int i, rc;
    if (!cfg) return fail(obj, LIBMAIX_ERR_PARAM, "forward: NULL object");
    if (!cfg->inited) return fail(obj, LIBMAIX_ERR_NOT_INIT, "forward: call init() and load() first");
    if (!cfg->session) return fail(obj, LIBMAIX_ERR_NOT_READY, "forward: no model loaded (call load() first)");
    if (!inputs || !outputs) return fail(obj, LIBMAIX_ERR_PARAM, "forward: inputs and outputs must not be NULL");
    for (i = 0; i < cfg->output_num; i++)
        if (!outputs[i].data) return fail(obj, LIBMAIX_ERR_PARAM, "forward: outputs[%d].data is NULL", i);
    for (i = 0; i < cfg->input_num; i++)
        if ((err = set_input(obj, &cfg->inputs[i], &inputs[i], i)) != LIBMAIX_ERR_NONE) return err;
    rc = mxn_session_run(cfg->session, cfg->output_blobs, cfg->output_num);
    if (rc != MXN_OK) return fail(obj, from_engine(rc), "forward: %s", mxn_session_error(cfg->session));
    for (i = 0; i < cfg->output_num; i++)
        if ((err = get_output(obj, i, &outputs[i])) != LIBMAIX_ERR_NONE) return err;
    cfg->msg[0] = '\0';
    return LIBMAIX_ERR_NONE;
}

/* ---------------------------------------------------------------- create / destroy */

libmaix_nn_t *libmaix_nn_create(void)
{
    libmaix_nn_t *obj = (libmaix_nn_t *)calloc(1, sizeof(*obj));
    emu_config *cfg = (emu_config *)calloc(1, sizeof(*cfg));
    if (!obj || !cfg) {
        free(obj);
        free(cfg);
        fprintf(stderr, "libmaix_nn: create: out of memory (%s)\n", libmaix_get_err_msg(LIBMAIX_ERR_NO_MEM));
        return NULL;
    }
    obj->config = cfg;
    obj->init = emu_init;
    obj->deinit = emu_deinit;
    obj->load = emu_load;
    obj->forward = emu_forward;
    return obj;
}

libmaix_nn_t *libmaix_nn_creat(void) { return libmaix_nn_create(); }

void libmaix_nn_destroy(libmaix_nn_t **obj)
{
    if (!obj || !*obj) return;
    if ((*obj)->config) {
        emu_deinit(*obj);
        free((*obj)->config);
    }
    free(*obj);
    *obj = NULL;
}

const char *maixnn_libmaix_error(const libmaix_nn_t *obj)
{
    const emu_config *cfg = obj ? (const emu_config *)obj->config : NULL;
    return cfg ? cfg->msg : "NULL libmaix_nn object";
}
