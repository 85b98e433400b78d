/* A program written only against libmaix's documented nn API (libmaix_nn.h,
 * libmaix_err.h, mud.h - no maixnn header): error codes and messages,
 * NULL and invalid arguments, the call sequence, forward's quantization and
 * layouts, destroy, .mud loading and its errors, feature_compare.
 * tests/test_libmaix.py builds it for the host (ASan/UBSan) and armv7 and
 * runs it on models it makes:
 *
 *   libmaix_api_test FLOAT.param FLOAT.bin INT8.param INT8.bin GOOD.mud
 *                    MID_BLOB W H BAD.mud...
 *
 * GOOD.mud describes the int8 model; MID_BLOB is a float 3-D blob of both
 * models; the models take W x H x 3 input "input0" and give "output0".
 * Prints one line per failed check and "libmaix_api_test: N checks, M failed";
 * exit status 1 if any failed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libmaix_err.h"
#include "libmaix_nn.h"
#include "mud.h"

static int checks, failures;

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        checks++;                                                         \
        if (!(cond)) {                                                    \
            failures++;                                                   \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);        \
            printf(__VA_ARGS__);                                          \
            printf("\n");                                                 \
        }                                                                 \
    } while (0)

#define OUT_N 1000

static char *in_names[] = {"input0"};
static char *out_names[] = {"output0"};

static libmaix_nn_opt_param_t make_opt(char **outputs)
{
    libmaix_nn_opt_param_t opt;
    memset(&opt, 0, sizeof(opt));
    opt.awnn.input_names = in_names;
    opt.awnn.output_names = outputs ? outputs : out_names;
    opt.awnn.input_num = 1;
    opt.awnn.output_num = 1;
    opt.awnn.mean[0] = opt.awnn.mean[1] = opt.awnn.mean[2] = 114.5f;
    opt.awnn.norm[0] = opt.awnn.norm[1] = opt.awnn.norm[2] = 0.0173f;
    return opt;
}

static libmaix_nn_t *load(const char *param, const char *bin, char **outputs, libmaix_err_t *rc)
{
    libmaix_nn_model_path_t path;
    libmaix_nn_opt_param_t opt = make_opt(outputs);
    libmaix_nn_t *nn = libmaix_nn_create();
    path.awnn.param_path = (char *)param;
    path.awnn.bin_path = (char *)bin;
    if (!nn) {
        *rc = LIBMAIX_ERR_NO_MEM;
        return NULL;
    }
    if ((*rc = nn->init(nn)) != LIBMAIX_ERR_NONE || (*rc = nn->load(nn, &path, &opt)) != LIBMAIX_ERR_NONE)
        libmaix_nn_destroy(&nn);
    return nn;
}

static libmaix_nn_layer_t layer(int w, int h, int c, libmaix_nn_dtype_t dtype, libmaix_nn_layout_t layout,
                                bool quantize, void *data, void *buff)
{
    libmaix_nn_layer_t l;
    memset(&l, 0, sizeof(l));
    l.w = w;
    l.h = h;
    l.c = c;
    l.dtype = dtype;
    l.layout = layout;
    l.need_quantization = quantize;
    l.data = data;
    l.buff_quantization = buff;
    return l;
}

static void test_errors(void)
{
    int i, j;
    for (i = LIBMAIX_ERR_NONE; i <= LIBMAIX_ERR_UNKNOWN; i++) {
        const char *m = libmaix_get_err_msg((libmaix_err_t)i);
        CHECK(m && m[0], "code %d has no message", i);
        for (j = 0; j < i && m; j++)
            CHECK(strcmp(m, libmaix_get_err_msg((libmaix_err_t)j)) != 0, "codes %d and %d share \"%s\"", i, j, m);
    }
    CHECK(LIBMAIX_ERR_NONE == 0 && LIBMAIX_ERR_PARAM == 1 && LIBMAIX_ERR_NO_MEM == 2 &&
          LIBMAIX_ERR_NOT_IMPLEMENT == 3 && LIBMAIX_ERR_NOT_READY == 4 && LIBMAIX_ERR_NOT_INIT == 5 &&
          LIBMAIX_ERR_NOT_PERMIT == 6 && LIBMAIX_ERR_NOT_EXEC == 7 && LIBMAIX_ERR_UNKNOWN == 8, "enum values");
    CHECK(LIBMAIX_NN_DTYPE_UINT8 == 0 && LIBMAIX_NN_DTYPE_INT8 == 1 && LIBMAIX_NN_DTYPE_FLOAT == 2 &&
          LIBMAIX_NN_LAYOUT_HWC == 0 && LIBMAIX_NN_LAYOUT_CHW == 1, "nn enum values");
    /* outside the table: a message, not a read past its end */
    CHECK(libmaix_get_err_msg((libmaix_err_t)9) != NULL, "code 9");
    CHECK(libmaix_get_err_msg((libmaix_err_t)-1) != NULL, "code -1");
}

static void test_sequence(const char *param, const char *bin)
{
    libmaix_nn_t *nn = libmaix_nn_create();
    libmaix_nn_model_path_t path, missing, nulls;
    libmaix_nn_opt_param_t opt = make_opt(NULL);
    char *bad_names[] = {"no_such_blob"};
    uint8_t img[4];
    float out[4];
    libmaix_nn_layer_t in = layer(2, 1, 2, LIBMAIX_NN_DTYPE_UINT8, LIBMAIX_NN_LAYOUT_HWC, true, img, img);
    libmaix_nn_layer_t o = layer(1, 1, 4, LIBMAIX_NN_DTYPE_FLOAT, LIBMAIX_NN_LAYOUT_HWC, false, out, NULL);

    CHECK(libmaix_nn_module_deinit() != LIBMAIX_ERR_NONE, "module_deinit without module_init");
    CHECK(nn != NULL, "create");
    if (!nn) return;
    CHECK(nn->init(nn) == LIBMAIX_ERR_NOT_INIT, "init before module_init");
    CHECK(libmaix_nn_module_init() == LIBMAIX_ERR_NONE, "module_init");
    CHECK(nn->load(nn, NULL, &opt) != LIBMAIX_ERR_NONE, "load before init");
    CHECK(nn->init(nn) == LIBMAIX_ERR_NONE, "init");
    CHECK(nn->forward(nn, &in, &o) == LIBMAIX_ERR_NOT_READY, "forward before load");
    CHECK(nn->init(NULL) == LIBMAIX_ERR_PARAM, "init(NULL)");
    CHECK(nn->deinit(NULL) == LIBMAIX_ERR_PARAM, "deinit(NULL)");
    CHECK(nn->forward(NULL, &in, &o) == LIBMAIX_ERR_PARAM, "forward(NULL)");
    CHECK(nn->load(NULL, NULL, NULL) == LIBMAIX_ERR_PARAM, "load(NULL)");
    CHECK(nn->load(nn, NULL, &opt) == LIBMAIX_ERR_PARAM, "load without path");
    memset(&nulls, 0, sizeof(nulls));
    CHECK(nn->load(nn, &nulls, &opt) == LIBMAIX_ERR_PARAM, "load with NULL file names");
    path.awnn.param_path = (char *)param;
    path.awnn.bin_path = (char *)bin;
    CHECK(nn->load(nn, &path, NULL) == LIBMAIX_ERR_PARAM, "load without opt");
    missing.awnn.param_path = "/nonexistent/model.param";
    missing.awnn.bin_path = "/nonexistent/model.bin";
    CHECK(nn->load(nn, &missing, &opt) == LIBMAIX_ERR_PARAM, "load of a missing file");
    missing.awnn.param_path = (char *)param;
    missing.awnn.bin_path = (char *)param;   /* a text file as weights */
    CHECK(nn->load(nn, &missing, &opt) != LIBMAIX_ERR_NONE, "load of a .param as .bin");
    opt.awnn.input_names = bad_names;
    CHECK(nn->load(nn, &path, &opt) == LIBMAIX_ERR_PARAM, "load with an unknown input name");
    opt = make_opt(bad_names);
    CHECK(nn->load(nn, &path, &opt) == LIBMAIX_ERR_PARAM, "load with an unknown output name");
    opt = make_opt(NULL);
    opt.awnn.encrypt = true;
    CHECK(nn->load(nn, &path, &opt) == LIBMAIX_ERR_NOT_IMPLEMENT, "encrypted model");
    opt = make_opt(NULL);
    CHECK(nn->forward(nn, &in, &o) == LIBMAIX_ERR_NOT_READY, "forward after failed loads");
    CHECK(nn->load(nn, &path, &opt) == LIBMAIX_ERR_NONE, "load");
    CHECK(nn->load(nn, &path, &opt) == LIBMAIX_ERR_NONE, "a second load replaces the model");
    CHECK(nn->forward(nn, NULL, &o) == LIBMAIX_ERR_PARAM, "forward(NULL inputs)");
    CHECK(nn->forward(nn, &in, NULL) == LIBMAIX_ERR_PARAM, "forward(NULL outputs)");
    CHECK(nn->forward(nn, &in, &o) == LIBMAIX_ERR_PARAM, "forward with a 2x1x2 input to a bigger model");
    CHECK(nn->deinit(nn) == LIBMAIX_ERR_NONE, "deinit");
    CHECK(nn->forward(nn, &in, &o) != LIBMAIX_ERR_NONE, "forward after deinit");
    CHECK(nn->deinit(nn) == LIBMAIX_ERR_NONE, "deinit twice");
    CHECK(nn->init(nn) == LIBMAIX_ERR_NONE, "init after deinit");
    CHECK(nn->load(nn, &path, &opt) == LIBMAIX_ERR_NONE, "load after deinit + init");
    libmaix_nn_destroy(&nn);               /* loaded: destroy deinits it (ASan: no leak) */
    CHECK(nn == NULL, "destroy sets the pointer to NULL");
    libmaix_nn_destroy(&nn);               /* NULL object: nothing */
    libmaix_nn_destroy(NULL);
    CHECK(libmaix_nn_module_deinit() == LIBMAIX_ERR_NONE, "module_deinit");
}

/* forward of the int8 model: the argument checks, quantization, layouts */
static void test_forward(const char *param, const char *bin, const char *mid, int w, int h, const char *fparam,
                         const char *fbin)
{
    size_t n = (size_t)w * h * 3, i;
    int x, y, ch, mw = 0, mh = 0, mc = 0;
    uint8_t *img = (uint8_t *)malloc(n), *img_chw = (uint8_t *)malloc(n);
    int8_t *q = (int8_t *)malloc(n), *q_chw = (int8_t *)malloc(n), *q2 = (int8_t *)malloc(n);
    float *out = (float *)malloc(OUT_N * sizeof(float)), *out2 = (float *)malloc(OUT_N * sizeof(float));
    float *mid_hwc = NULL, *mid_chw = NULL;
    char *mid_names[1];
    libmaix_err_t rc;
    libmaix_nn_t *nn, *fnn;
    libmaix_nn_layer_t in, o;
    if (!img || !img_chw || !q || !q_chw || !q2 || !out || !out2) {
        CHECK(0, "out of memory");
        goto end;
    }
    for (i = 0; i < n; i++) img[i] = (uint8_t)((i * 37u + (i / 7u) * 11u) & 0xff);
    for (ch = 0; ch < 3; ch++)
        for (y = 0; y < h; y++)
            for (x = 0; x < w; x++) img_chw[((size_t)ch * h + y) * w + x] = img[((size_t)y * w + x) * 3 + ch];
    libmaix_nn_module_init();
    nn = load(param, bin, NULL, &rc);
    CHECK(nn != NULL, "load int8 model: %s", libmaix_get_err_msg(rc));
    if (!nn) goto end;

    o = layer(1, 1, OUT_N, LIBMAIX_NN_DTYPE_FLOAT, LIBMAIX_NN_LAYOUT_HWC, false, out, NULL);
    in = layer(w, h, 3, LIBMAIX_NN_DTYPE_UINT8, LIBMAIX_NN_LAYOUT_HWC, true, img, NULL);
    CHECK(nn->forward(nn, &in, &o) == LIBMAIX_ERR_PARAM, "need_quantization without buff_quantization");
    in = layer(w, h, 3, LIBMAIX_NN_DTYPE_FLOAT, LIBMAIX_NN_LAYOUT_HWC, true, img, q);
    CHECK(nn->forward(nn, &in, &o) == LIBMAIX_ERR_PARAM, "need_quantization with FLOAT data");
    in = layer(w, h, 3, LIBMAIX_NN_DTYPE_UINT8, LIBMAIX_NN_LAYOUT_HWC, false, img, q);
    CHECK(nn->forward(nn, &in, &o) == LIBMAIX_ERR_PARAM, "UINT8 without need_quantization");
    in = layer(w, h, 3, LIBMAIX_NN_DTYPE_UINT8, LIBMAIX_NN_LAYOUT_HWC, true, NULL, q);
    CHECK(nn->forward(nn, &in, &o) == LIBMAIX_ERR_PARAM, "NULL input data");
    in = layer(w + 1, h, 3, LIBMAIX_NN_DTYPE_UINT8, LIBMAIX_NN_LAYOUT_HWC, true, img, q);
    CHECK(nn->forward(nn, &in, &o) == LIBMAIX_ERR_PARAM, "input of the wrong width");
    in = layer(w, h, 3, LIBMAIX_NN_DTYPE_UINT8, (libmaix_nn_layout_t)7, true, img, q);
    CHECK(nn->forward(nn, &in, &o) == LIBMAIX_ERR_PARAM, "unknown layout");
    in = layer(w, h, 3, LIBMAIX_NN_DTYPE_UINT8, LIBMAIX_NN_LAYOUT_HWC, true, img, q);
    o = layer(1, 1, OUT_N, LIBMAIX_NN_DTYPE_FLOAT, LIBMAIX_NN_LAYOUT_HWC, false, NULL, NULL);
    CHECK(nn->forward(nn, &in, &o) == LIBMAIX_ERR_PARAM, "NULL output data");
    o = layer(1, 1, OUT_N - 1, LIBMAIX_NN_DTYPE_FLOAT, LIBMAIX_NN_LAYOUT_HWC, false, out, NULL);
    CHECK(nn->forward(nn, &in, &o) == LIBMAIX_ERR_PARAM, "output buffer too small");
    o = layer(1, 1, OUT_N, LIBMAIX_NN_DTYPE_INT8, LIBMAIX_NN_LAYOUT_HWC, false, out, NULL);
    CHECK(nn->forward(nn, &in, &o) == LIBMAIX_ERR_PARAM, "INT8 output");

    /* the board's call: uint8 HWC, need_quantization; the output's dims come back */
    o = layer(10, 10, 10, LIBMAIX_NN_DTYPE_FLOAT, LIBMAIX_NN_LAYOUT_HWC, false, out, NULL);
    CHECK((rc = nn->forward(nn, &in, &o)) == LIBMAIX_ERR_NONE, "forward: %s", libmaix_get_err_msg(rc));
    CHECK(o.w == 1 && o.h == 1 && o.c == OUT_N, "output dims written back: %d %d %d", o.w, o.h, o.c);
    CHECK(in.dtype == LIBMAIX_NN_DTYPE_INT8, "the input is quantized (dtype %d)", (int)in.dtype);
    for (i = 0; i < OUT_N; i++) CHECK(isfinite(out[i]), "output %d is %g", (int)i, (double)out[i]);

    /* the same call again on the same layer (its dtype is now INT8) */
    in.data = img;
    in.buff_quantization = q2;
    o = layer(1, 1, OUT_N, LIBMAIX_NN_DTYPE_FLOAT, LIBMAIX_NN_LAYOUT_HWC, false, out2, NULL);
    CHECK(nn->forward(nn, &in, &o) == LIBMAIX_ERR_NONE, "second forward on the reused layer");
    CHECK(memcmp(q, q2, n) == 0 && memcmp(out, out2, OUT_N * sizeof(float)) == 0, "same result twice");

    /* already quantized: the int8 buffer fed as INT8 gives the same output */
    memset(out2, 0, OUT_N * sizeof(float));
    in = layer(w, h, 3, LIBMAIX_NN_DTYPE_INT8, LIBMAIX_NN_LAYOUT_HWC, false, q, NULL);
    CHECK(nn->forward(nn, &in, &o) == LIBMAIX_ERR_NONE, "INT8 input");
    CHECK(memcmp(out, out2, OUT_N * sizeof(float)) == 0, "INT8 input = need_quantization's result");

    /* CHW input: the same image transposed, the same quantized values (transposed) and output */
    memset(out2, 0, OUT_N * sizeof(float));
    in = layer(w, h, 3, LIBMAIX_NN_DTYPE_UINT8, LIBMAIX_NN_LAYOUT_CHW, true, img_chw, q_chw);
    CHECK(nn->forward(nn, &in, &o) == LIBMAIX_ERR_NONE, "CHW input");
    CHECK(memcmp(out, out2, OUT_N * sizeof(float)) == 0, "CHW input = HWC input");
    for (ch = 0; ch < 3; ch++)
        for (y = 0; y < h; y++)
            for (x = 0; x < w; x++)
                CHECK(q_chw[((size_t)ch * h + y) * w + x] == q[((size_t)y * w + x) * 3 + ch],
                      "CHW quantized buffer at %d,%d,%d", ch, y, x);
    libmaix_nn_destroy(&nn);

    /* input_num = output_num = 0 and no names: the model's own input and output */
    {
        libmaix_nn_model_path_t path;
        libmaix_nn_opt_param_t opt = make_opt(NULL);
        opt.awnn.input_names = opt.awnn.output_names = NULL;
        opt.awnn.input_num = opt.awnn.output_num = 0;
        path.awnn.param_path = (char *)param;
        path.awnn.bin_path = (char *)bin;
        nn = libmaix_nn_create();
        CHECK(nn && nn->init(nn) == LIBMAIX_ERR_NONE && nn->load(nn, &path, &opt) == LIBMAIX_ERR_NONE,
              "load without names");
        if (nn) {
            memset(out2, 0, OUT_N * sizeof(float));
            in = layer(w, h, 3, LIBMAIX_NN_DTYPE_UINT8, LIBMAIX_NN_LAYOUT_HWC, true, img, q2);
            o = layer(1, 1, OUT_N, LIBMAIX_NN_DTYPE_FLOAT, LIBMAIX_NN_LAYOUT_HWC, false, out2, NULL);
            CHECK(nn->forward(nn, &in, &o) == LIBMAIX_ERR_NONE, "forward without names");
            CHECK(memcmp(out, out2, OUT_N * sizeof(float)) == 0, "the model's own output = output0");
            libmaix_nn_destroy(&nn);
        }
    }

    /* an intermediate 3-D blob as output, in both layouts */
    mid_names[0] = (char *)mid;
    nn = load(param, bin, mid_names, &rc);
    CHECK(nn != NULL, "load with output %s: %s", mid, libmaix_get_err_msg(rc));
    if (nn) {
        size_t m;
        in = layer(w, h, 3, LIBMAIX_NN_DTYPE_UINT8, LIBMAIX_NN_LAYOUT_HWC, true, img, q2);
        mid_hwc = (float *)malloc(n * 64 * sizeof(float));
        mid_chw = (float *)malloc(n * 64 * sizeof(float));
        o = layer(w * 8, h * 8, 3, LIBMAIX_NN_DTYPE_FLOAT, LIBMAIX_NN_LAYOUT_HWC, false, mid_hwc, NULL);
        CHECK(mid_hwc && mid_chw && nn->forward(nn, &in, &o) == LIBMAIX_ERR_NONE, "forward to %s (HWC)", mid);
        mw = o.w;
        mh = o.h;
        mc = o.c;
        CHECK(mw > 1 && mh > 1 && mc > 1, "%s is 3-D: %d %d %d", mid, mw, mh, mc);
        o = layer(w * 8, h * 8, 3, LIBMAIX_NN_DTYPE_FLOAT, LIBMAIX_NN_LAYOUT_CHW, false, mid_chw, NULL);
        CHECK(mid_chw && nn->forward(nn, &in, &o) == LIBMAIX_ERR_NONE, "forward to %s (CHW)", mid);
        m = (size_t)mw * mh * mc;
        for (ch = 0; ch < mc && m; ch++)
            for (y = 0; y < mh; y++)
                for (x = 0; x < mw; x++)
                    CHECK(mid_chw[((size_t)ch * mh + y) * mw + x] == mid_hwc[((size_t)y * mw + x) * mc + ch],
                          "CHW output = transposed HWC output at %d,%d,%d", ch, y, x);
        libmaix_nn_destroy(&nn);
    }

    /* the float model: need_quantization normalises (nothing to quantize), INT8 input is refused */
    fnn = load(fparam, fbin, NULL, &rc);
    CHECK(fnn != NULL, "load float model: %s", libmaix_get_err_msg(rc));
    if (fnn) {
        in = layer(w, h, 3, LIBMAIX_NN_DTYPE_UINT8, LIBMAIX_NN_LAYOUT_HWC, true, img, q2);
        o = layer(1, 1, OUT_N, LIBMAIX_NN_DTYPE_FLOAT, LIBMAIX_NN_LAYOUT_HWC, false, out2, NULL);
        CHECK(fnn->forward(fnn, &in, &o) == LIBMAIX_ERR_NONE, "float model forward");
        CHECK(o.c == OUT_N, "float model output dims");
        in = layer(w, h, 3, LIBMAIX_NN_DTYPE_INT8, LIBMAIX_NN_LAYOUT_HWC, false, q, NULL);
        CHECK(fnn->forward(fnn, &in, &o) == LIBMAIX_ERR_PARAM, "INT8 input to a float model");
        libmaix_nn_destroy(&fnn);
    }
    libmaix_nn_module_deinit();
end:
    free(img);
    free(img_chw);
    free(q);
    free(q_chw);
    free(q2);
    free(out);
    free(out2);
    free(mid_hwc);
    free(mid_chw);
}

static void test_mud(const char *good, const char *param, const char *bin, int w, int h, char **bad, int bad_count)
{
    size_t n = (size_t)w * h * 3, i;
    uint8_t *img = (uint8_t *)malloc(n);
    int8_t *q = (int8_t *)malloc(n);
    float *a = (float *)calloc(OUT_N, sizeof(float)), *b = (float *)calloc(OUT_N, sizeof(float));
    libmaix_nn_t *nn;
    libmaix_err_t rc;
    int k;
    libmaix_nn_module_init();
    CHECK(libmaix_mud_load_model("/nonexistent/model.mud") == NULL, "a missing .mud gives NULL (no exit)");
    for (k = 0; k < bad_count; k++) {
        nn = libmaix_mud_load_model(bad[k]);
        CHECK(nn == NULL, "malformed .mud %s gives NULL", bad[k]);
        libmaix_nn_destroy(&nn);
    }
    nn = libmaix_mud_load_model((char *)good);
    CHECK(nn != NULL, "load %s", good);
    if (nn && img && q && a && b) {
        libmaix_nn_layer_t in = layer(w, h, 3, LIBMAIX_NN_DTYPE_UINT8, LIBMAIX_NN_LAYOUT_HWC, true, img, q);
        libmaix_nn_layer_t o = layer(1, 1, OUT_N, LIBMAIX_NN_DTYPE_FLOAT, LIBMAIX_NN_LAYOUT_HWC, false, a, NULL);
        libmaix_nn_t *direct;
        for (i = 0; i < n; i++) img[i] = (uint8_t)(i * 13u);
        CHECK(nn->forward(nn, &in, &o) == LIBMAIX_ERR_NONE, ".mud model forward");
        /* the same model from param/bin with the .mud's mean/norm (the test writes 114.5 / 0.0173) */
        direct = load(param, bin, NULL, &rc);
        CHECK(direct != NULL, "load param/bin");
        if (direct) {
            in = layer(w, h, 3, LIBMAIX_NN_DTYPE_UINT8, LIBMAIX_NN_LAYOUT_HWC, true, img, q);
            o = layer(1, 1, OUT_N, LIBMAIX_NN_DTYPE_FLOAT, LIBMAIX_NN_LAYOUT_HWC, false, b, NULL);
            CHECK(direct->forward(direct, &in, &o) == LIBMAIX_ERR_NONE, "param/bin forward");
            CHECK(memcmp(a, b, OUT_N * sizeof(float)) == 0, ".mud model = param/bin model");
            libmaix_nn_destroy(&direct);
        }
    }
    libmaix_nn_destroy(&nn);
    libmaix_nn_module_deinit();
    free(img);
    free(q);
    free(a);
    free(b);
}

static void test_feature_compare(void)
{
    int8_t a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 0, 0};
    float fa[4] = {1.f, 2.f, 3.f, 4.f}, fb[4] = {1.f, 0.f, 3.f, 0.f};
    CHECK(libmaix_nn_feature_compare_int8(a, a, 4) == 1.f, "int8 identical");
    CHECK(libmaix_nn_feature_compare_int8(a, b, 4) == 0.5f, "int8 half equal");
    CHECK(libmaix_nn_feature_compare_float(fa, fa, 4) == 1.f, "float identical");
    CHECK(libmaix_nn_feature_compare_float(fa, fb, 4) == 0.5f, "float half equal");
    CHECK(libmaix_nn_feature_compare_int8(NULL, a, 4) < 0.f, "int8 NULL");
    CHECK(libmaix_nn_feature_compare_float(fa, fb, 0) < 0.f, "float empty");
}

int main(int argc, char **argv)
{
    int w, h;
    if (argc < 9) {
        fprintf(stderr, "usage: libmaix_api_test FLOAT.param FLOAT.bin INT8.param INT8.bin GOOD.mud MID_BLOB W H "
                        "[BAD.mud...]\n");
        return 2;
    }
    w = atoi(argv[7]);
    h = atoi(argv[8]);
    test_errors();
    test_sequence(argv[3], argv[4]);
    test_forward(argv[3], argv[4], argv[6], w, h, argv[1], argv[2]);
    test_mud(argv[5], argv[3], argv[4], w, h, argv + 9, argc - 9);
    test_feature_compare();
    printf("libmaix_api_test: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
