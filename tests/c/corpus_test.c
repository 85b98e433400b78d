/* Loads every model of one or more corpus directories through maixnn's public
 * C API and checks the outcome the directory promises:
 *
 *   <dir>/good/NAME.param + NAME.bin   must load, run, and give finite outputs,
 *                                      the same on a second run
 *   <dir>/bad/...                      loading or the first run must fail with
 *                                      a non-empty message
 *   <dir>/any/...                      may do either, but every failure has a
 *                                      message (bit-flipped files)
 *
 * plus API misuse on the first good model (out-of-range indices, NULL data,
 * wrong dims, running before setting inputs).  Crashes, out-of-bounds
 * accesses, undefined behaviour and leaks are caught when this is built with
 * -DMAIXNN_SANITIZE=ON (ASan + UBSan + LeakSanitizer).
 *
 * usage: corpus_test [-v] DIR...      exit 0 when every check passed
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maixnn.h"

/* inputs larger than this many values are not fed (the test would only be
 * measuring malloc); the run is still attempted without them */
#define MAX_INPUT_VALUES (1 << 22)

typedef struct {
    int passed, failed;
    int verbose;
} tally;

static void check(tally *t, int ok, const char *what, const char *name, const char *detail)
{
    if (ok) {
        t->passed++;
        if (t->verbose)
            printf("ok    %s %s%s%s\n", what, name, detail && *detail ? ": " : "", detail ? detail : "");
    } else {
        t->failed++;
        printf("FAIL  %s %s%s%s\n", what, name, detail && *detail ? ": " : "", detail ? detail : "");
    }
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted list of NAME for every NAME.param in dir; NULL-terminated, caller frees. */
static char **list_models(const char *dir, int *count)
{
    DIR *d = opendir(dir);
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    *count = 0;
    if (!d)
        return NULL;
    while ((e = readdir(d)) != NULL) {
        size_t len;
        char *stem;
        if (!has_suffix(e->d_name, ".param"))
            continue;
        if (n + 1 >= cap) {
            int ncap = cap ? cap * 2 : 64;
            char **grown = realloc(names, (size_t)ncap * sizeof(*names));
            if (!grown)
                break;
            names = grown;
            cap = ncap;
        }
        len = strlen(e->d_name) - strlen(".param");
        stem = malloc(len + 1);
        if (!stem)
            break;
        memcpy(stem, e->d_name, len);
        stem[len] = '\0';
        names[n++] = stem;
    }
    closedir(d);
    if (names) {
        qsort(names, (size_t)n, sizeof(*names), compare_names);
        names[n] = NULL;
    }
    *count = n;
    return names;
}

static void free_list(char **names)
{
    if (!names)
        return;
    for (char **p = names; *p; p++)
        free(*p);
    free(names);
}

/* outcome of load + run of one model */
typedef struct {
    int stage;            /* 0 ok, 1 load_param failed, 2 load_bin failed, 3 set_input, 4 run, 5 output */
    int status;
    char message[600];
    double checksum;      /* sum of all output values (good models) */
    int finite;           /* all outputs finite */
    long output_values;
} outcome;

static void fill_input(float *x, size_t n)
{
    /* deterministic values in [-2, 2) */
    unsigned state = 12345u;
    for (size_t i = 0; i < n; i++) {
        state = state * 1103515245u + 12345u;
        x[i] = (float)((state >> 9) & 0xffff) / 16384.0f - 2.0f;
    }
}

static void set_message(outcome *o, const char *msg)
{
    snprintf(o->message, sizeof(o->message), "%s", msg ? msg : "");
}

/* Runs every graph output once.  Returns 0 or the failing stage. */
static int run_once(mxn_net *net, outcome *o)
{
    mxn_session *s = mxn_session_create(net);
    int ninputs = mxn_net_input_count(net);
    o->checksum = 0.0;
    o->finite = 1;
    o->output_values = 0;
    if (!s) {
        o->stage = 4;
        o->status = MXN_ERR_NO_MEM;
        set_message(o, "mxn_session_create returned NULL");
        return o->stage;
    }
    for (int i = 0; i < ninputs; i++) {
        int w = 0, h = 0, c = 0, dims;
        size_t total;
        float *x;
        int blob = mxn_net_input_blob(net, i);
        if (mxn_net_input_shape(net, i, &w, &h, &c) != 0) {
            w = h = c = 0;
        }
        /* an open (0) extent gets a small default, as a camera frame would */
        if (w <= 0) w = 8;
        if (h <= 0) h = 8;
        if (c <= 0) c = 3;
        dims = 3;
        total = (size_t)w * (size_t)h;
        if (total > MAX_INPUT_VALUES || total * (size_t)c > MAX_INPUT_VALUES)
            continue; /* left unset: the run below must report it */
        total *= (size_t)c;
        x = malloc(total * sizeof(float));
        if (!x)
            continue;
        fill_input(x, total);
        o->status = mxn_session_set_input(s, blob, MXN_F32, x, dims, w, h, c);
        free(x);
        if (o->status != 0) {
            o->stage = 3;
            set_message(o, mxn_session_error(s));
            mxn_session_destroy(s);
            return o->stage;
        }
    }
    o->status = mxn_session_run(s, NULL, 0);
    if (o->status != 0) {
        o->stage = 4;
        set_message(o, mxn_session_error(s));
        mxn_session_destroy(s);
        return o->stage;
    }
    for (int i = 0; i < mxn_net_output_count(net); i++) {
        int dims = -1, w = -1, h = -1, c = -1, dtype = -1;
        int blob = mxn_net_output_blob(net, i);
        const void *data = mxn_session_blob(s, blob, &dims, &w, &h, &c, &dtype);
        size_t total;
        if (!data || dims < 1 || dims > 3 || w < 1 || h < 1 || c < 1) {
            o->stage = 5;
            o->status = -1;
            snprintf(o->message, sizeof(o->message), "output %d (blob %d): data %p dims %d w %d h %d c %d: %s",
                     i, blob, data, dims, w, h, c, mxn_session_error(s));
            mxn_session_destroy(s);
            return o->stage;
        }
        total = (size_t)w * (size_t)h * (size_t)c;
        o->output_values += (long)total;
        for (size_t k = 0; k < total; k++) {
            double v = dtype == MXN_I8 ? (double)((const signed char *)data)[k]
                                       : (double)((const float *)data)[k];
            if (!isfinite(v))
                o->finite = 0;
            else
                o->checksum += v;
        }
    }
    mxn_session_destroy(s);
    return 0;
}

static outcome load_and_run(const char *param_path, const char *bin_path, int runs, double *second_checksum)
{
    outcome o;
    mxn_net *net = mxn_net_create();
    memset(&o, 0, sizeof(o));
    if (!net) {
        o.stage = 1;
        o.status = MXN_ERR_NO_MEM;
        set_message(&o, "mxn_net_create returned NULL");
        return o;
    }
    o.status = mxn_net_load_param(net, param_path);
    if (o.status != 0) {
        o.stage = 1;
        set_message(&o, mxn_net_error(net));
        mxn_net_destroy(net);
        return o;
    }
    o.status = mxn_net_load_bin(net, bin_path);
    if (o.status != 0) {
        o.stage = 2;
        set_message(&o, mxn_net_error(net));
        mxn_net_destroy(net);
        return o;
    }
    if (run_once(net, &o) == 0 && runs > 1) {
        outcome again = o;
        if (run_once(net, &again) == 0)
            *second_checksum = again.checksum;
        else
            *second_checksum = NAN;
    }
    mxn_net_destroy(net);
    return o;
}

static const char *stage_name(int stage)
{
    static const char *const names[] = {"ok", "load_param", "load_bin", "set_input", "run", "output"};
    return stage >= 0 && stage <= 5 ? names[stage] : "?";
}

static void run_directory(tally *t, const char *root, const char *kind)
{
    char dir[4096];
    int count = 0;
    char **names;
    snprintf(dir, sizeof(dir), "%s/%s", root, kind);
    names = list_models(dir, &count);
    for (int i = 0; i < count; i++) {
        char param_path[4200], bin_path[4200], detail[900];
        double second = 0.0;
        outcome o;
        snprintf(param_path, sizeof(param_path), "%s/%s.param", dir, names[i]);
        snprintf(bin_path, sizeof(bin_path), "%s/%s.bin", dir, names[i]);
        o = load_and_run(param_path, bin_path, strcmp(kind, "good") == 0 ? 2 : 1, &second);
        snprintf(detail, sizeof(detail), "%s (status %d): %s", stage_name(o.stage), o.status, o.message);
        if (strcmp(kind, "good") == 0) {
            int ok = o.stage == 0 && o.finite && o.output_values > 0 && second == o.checksum;
            if (o.stage == 0 && !ok)
                snprintf(detail, sizeof(detail), "ran, but outputs %s (%ld values, checksum %.9g then %.9g)",
                         o.finite ? "finite" : "NOT finite", o.output_values, o.checksum, second);
            check(t, ok, kind, names[i], detail);
        } else if (strcmp(kind, "bad") == 0) {
            check(t, o.stage != 0 && o.status != 0 && o.message[0] != '\0', kind, names[i],
                  o.stage == 0 ? "loaded and ran without an error" : detail);
        } else {
            check(t, o.stage == 0 || (o.status != 0 && o.message[0] != '\0'), kind, names[i],
                  o.stage == 0 ? "loaded and ran" : detail);
        }
    }
    free_list(names);
}

/* Misuse of the API on a valid model: every call must fail cleanly (or
 * return the documented "absent" value), never touch memory it should not. */
static void api_misuse(tally *t, const char *root)
{
    char dir[4096], param_path[4200], bin_path[4200];
    int count = 0, status;
    char **names;
    mxn_net *net;
    mxn_session *s;
    float x[4] = {1, 2, 3, 4};
    int dims, w, h, c, dtype;

    snprintf(dir, sizeof(dir), "%s/good", root);
    names = list_models(dir, &count);
    if (count == 0) {
        free_list(names);
        return;
    }
    snprintf(param_path, sizeof(param_path), "%s/%s.param", dir, names[0]);
    snprintf(bin_path, sizeof(bin_path), "%s/%s.bin", dir, names[0]);
    free_list(names);

    mxn_net_destroy(NULL);
    mxn_session_destroy(NULL);

    net = mxn_net_create();
    if (!net) {
        check(t, 0, "api", "mxn_net_create", "returned NULL");
        return;
    }
    status = mxn_net_load_bin(net, bin_path);
    check(t, status != 0 && mxn_net_error(net)[0], "api", "load_bin before load_param", mxn_net_error(net));
    status = mxn_net_load_param(net, "/nonexistent/dir/model.param");
    check(t, status == MXN_ERR_IO && mxn_net_error(net)[0], "api", "load_param of a missing file",
          mxn_net_error(net));
    status = mxn_net_load_param_mem(net, NULL, 10);
    check(t, status != 0, "api", "load_param_mem(NULL)", mxn_net_error(net));
    mxn_net_destroy(net);

    /* a session created on an empty net: its arrays have no room for the
     * blobs of a model loaded afterwards (was a heap overflow under ASan) */
    net = mxn_net_create();
    s = net ? mxn_session_create(net) : NULL;
    if (s && mxn_net_load_param(net, param_path) == 0 && mxn_net_load_bin(net, bin_path) == 0) {
        status = mxn_session_set_input(s, mxn_net_input_blob(net, 0), MXN_F32, x, 1, 4, 1, 1);
        check(t, status == MXN_ERR_NOT_READY, "api", "set_input on a session created before load_param",
              mxn_session_error(s));
        status = mxn_session_run(s, NULL, 0);
        check(t, status == MXN_ERR_NOT_READY, "api", "run on a session created before load_param",
              mxn_session_error(s));
        check(t, mxn_session_blob(s, mxn_net_output_blob(net, 0), &dims, &w, &h, &c, &dtype) == NULL, "api",
              "blob on a session created before load_param", mxn_session_error(s));
    }
    mxn_session_destroy(s);
    mxn_net_destroy(net);

    net = mxn_net_create();
    if (!net)
        return;
    status = mxn_net_load_param(net, param_path);
    check(t, status == 0, "api", "load_param of the good model", mxn_net_error(net));
    status = status == 0 ? mxn_net_load_bin(net, bin_path) : status;
    check(t, status == 0, "api", "load_bin of the good model", mxn_net_error(net));
    if (status != 0) {
        mxn_net_destroy(net);
        return;
    }
    /* a second load on a loaded net is refused (sessions may point into it), and
     * the loaded model stays usable */
    status = mxn_net_load_param(net, param_path);
    check(t, status == MXN_ERR_NOT_READY && strstr(mxn_net_error(net), "already loaded") != NULL, "api",
          "second load_param on a loaded net refused", mxn_net_error(net));
    check(t, mxn_net_layer_count(net) > 0, "api", "model kept after a refused reload", "");

    check(t, mxn_net_layer_type(net, -1) == NULL && mxn_net_layer_type(net, 1 << 30) == NULL,
          "api", "layer_type out of range", "");
    check(t, mxn_net_layer_name(net, mxn_net_layer_count(net)) == NULL, "api", "layer_name out of range", "");
    check(t, mxn_net_blob_name(net, -5) == NULL && mxn_net_blob_name(net, mxn_net_blob_count(net)) == NULL,
          "api", "blob_name out of range", "");
    check(t, mxn_net_layer_bottom(net, 0, 99) < 0 && mxn_net_layer_top(net, -1, 0) < 0,
          "api", "layer_bottom/top out of range", "");
    check(t, mxn_net_find_blob(net, "no such blob") == -1, "api", "find_blob of a missing name", "");
    check(t, mxn_net_input_blob(net, 99) < 0 && mxn_net_output_blob(net, -1) < 0,
          "api", "input/output_blob out of range", "");
    w = h = c = 7;
    check(t, mxn_net_input_shape(net, 99, &w, &h, &c) != 0, "api", "input_shape out of range", "");
    /* awnn queries: NULL, out-of-range indices, and on this model (awnn or not) */
    {
        float scale = -1.f;
        signed char q[3] = {-128, 0, 127};
        float f[3] = {1.f, 1.f, 1.f};
        check(t, mxn_net_is_awnn(NULL) == 0 && mxn_net_layer_device(NULL, 0) == -1 &&
                     mxn_net_blob_scale(NULL, 0, &scale) != 0 && mxn_net_dequantize(NULL, 0, q, 3, f) != 0,
              "api", "awnn queries on NULL", "");
        check(t, mxn_net_layer_device(net, -1) == -1 && mxn_net_layer_device(net, 1 << 30) == -1 &&
                     mxn_net_blob_scale(net, -1, &scale) != 0 && mxn_net_blob_scale(net, 1 << 30, &scale) != 0 &&
                     mxn_net_blob_scale(net, 0, NULL) != 0 && mxn_net_dequantize(net, 0, NULL, 3, f) != 0 &&
                     mxn_net_dequantize(net, -1, q, 3, f) != 0 && scale == -1.f && f[0] == 1.f,
              "api", "awnn queries out of range or with NULL", "");
        if (mxn_net_is_awnn(net)) {
            check(t, mxn_net_blob_scale(net, 0, &scale) == 0 && scale > 0.f && mxn_net_dequantize(net, 0, q, 3, f) == 0 &&
                         f[0] == -128.f * (float)(1.0 / ((double)scale + 1e-5)) && f[1] == 0.f,
                  "api", "awnn blob_scale and dequantize", "");
        } else {
            check(t, mxn_net_layer_device(net, 0) == -1 && mxn_net_blob_scale(net, 0, &scale) != 0 &&
                         mxn_net_dequantize(net, 0, q, 3, f) != 0 && f[0] == 1.f,
                  "api", "awnn queries on a model that is not awnn", "");
        }
    }
    s = mxn_session_create(net);
    if (!s) {
        check(t, 0, "api", "mxn_session_create", "returned NULL");
        mxn_net_destroy(net);
        return;
    }
    status = mxn_session_run(s, NULL, 0);
    check(t, status == MXN_ERR_NOT_READY && mxn_session_error(s)[0], "api", "run before set_input",
          mxn_session_error(s));
    {
        int in = mxn_net_input_blob(net, 0);
        int bad_blobs[2] = {-1, 1 << 20};
        status = mxn_session_set_input(s, -1, MXN_F32, x, 1, 4, 1, 1);
        check(t, status != 0 && mxn_session_error(s)[0], "api", "set_input blob -1", mxn_session_error(s));
        status = mxn_session_set_input(s, 1 << 20, MXN_F32, x, 1, 4, 1, 1);
        check(t, status != 0, "api", "set_input blob out of range", mxn_session_error(s));
        status = mxn_session_set_input(s, in, MXN_F32, NULL, 1, 4, 1, 1);
        check(t, status != 0, "api", "set_input NULL data", mxn_session_error(s));
        status = mxn_session_set_input(s, in, MXN_F32, x, 0, 4, 1, 1);
        check(t, status != 0, "api", "set_input dims 0", mxn_session_error(s));
        status = mxn_session_set_input(s, in, MXN_F32, x, 4, 4, 1, 1);
        check(t, status != 0, "api", "set_input dims 4", mxn_session_error(s));
        status = mxn_session_set_input(s, in, MXN_F32, x, 3, -4, 1, 1);
        check(t, status != 0, "api", "set_input negative width", mxn_session_error(s));
        status = mxn_session_set_input(s, in, MXN_F32, x, 3, 0, 1, 1);
        check(t, status != 0, "api", "set_input zero width", mxn_session_error(s));
        status = mxn_session_set_input(s, in, (mxn_dtype)7, x, 1, 4, 1, 1);
        check(t, status != 0, "api", "set_input unknown dtype", mxn_session_error(s));
        status = mxn_session_set_input(s, in, MXN_F32, x, 3, 65536, 65536, 65536);
        check(t, status != 0, "api", "set_input with an overflowing shape", mxn_session_error(s));
        /* 4 values where the model declares more: must be refused (the shape check) */
        status = mxn_session_set_input(s, in, MXN_F32, x, 1, 4, 1, 1);
        if (status == 0)
            status = mxn_session_run(s, NULL, 0);
        check(t, status != 0 && mxn_session_error(s)[0], "api", "input smaller than declared",
              mxn_session_error(s));
        status = mxn_session_run(s, bad_blobs, 2);
        check(t, status != 0, "api", "run with wanted blobs out of range", mxn_session_error(s));
        status = mxn_session_run(s, NULL, -3);
        check(t, status != 0, "api", "run with n < 0", mxn_session_error(s));
    }
    check(t, mxn_session_blob(s, -1, &dims, &w, &h, &c, &dtype) == NULL, "api", "blob(-1)", "");
    check(t, mxn_session_blob(s, 1 << 20, &dims, &w, &h, &c, &dtype) == NULL, "api", "blob out of range", "");
    check(t, mxn_session_blob(s, mxn_net_output_blob(net, 0), &dims, &w, &h, &c, &dtype) == NULL,
          "api", "blob not computed", mxn_session_error(s));
    mxn_session_destroy(s);
    mxn_net_destroy(net);
}

int main(int argc, char **argv)
{
    tally t = {0, 0, 0};
    int ndirs = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0) {
            t.verbose = 1;
            continue;
        }
        ndirs++;
        run_directory(&t, argv[i], "good");
        run_directory(&t, argv[i], "bad");
        run_directory(&t, argv[i], "any");
        api_misuse(&t, argv[i]);
    }
    if (ndirs == 0) {
        fprintf(stderr, "usage: %s [-v] CORPUS_DIR...\n", argv[0]);
        return 2;
    }
    printf("corpus_test: %d passed, %d failed\n", t.passed, t.failed);
    return t.failed == 0 && t.passed > 0 ? 0 : 1;
}
