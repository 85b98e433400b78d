/* One loaded mxn_net shared by several threads, each with its own sessions
 * (the threading model maixnn.h documents): every result must be bit-identical
 * to the serial one, whatever number of engine threads each session uses
 * (mxn_session_set_num_threads).  Built with ThreadSanitizer (MAIXNN_TSAN=ON) this also
 * proves there is no data race in the loader's shared state or the layers'
 * forward (which must never write to the layer); with ASan it checks memory.
 *
 * usage: thread_test CORPUS_DIR     (runs every model of CORPUS_DIR/good)
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maixnn.h"

#define THREADS 4
#define INPUTS 6
#define ROUNDS 5
#define MAX_INPUT_VALUES (1 << 20)

typedef struct {
    const mxn_net *net;
    float *inputs[INPUTS];        /* per input index: the data for input 0 */
    int w, h, c;
    unsigned char *expected[INPUTS];
    size_t expected_bytes[INPUTS];
} shared_case;

typedef struct {
    shared_case *sc;
    int id;
    int failures;
    char message[300];
} worker_arg;

/* Run input k with `nthreads` engine threads and return a malloc'd copy of
 * output 0 (NULL + message on error). */
static unsigned char *run_one(const shared_case *sc, int k, int nthreads, size_t *bytes, char *message,
                              size_t msize)
{
    mxn_session *s = mxn_session_create(sc->net);
    int dims, w, h, c, dtype, status;
    const void *data;
    unsigned char *copy = NULL;
    if (!s) {
        snprintf(message, msize, "mxn_session_create failed");
        return NULL;
    }
    status = mxn_session_set_num_threads(s, nthreads);
    if (status == 0)
        status = mxn_session_set_input(s, mxn_net_input_blob(sc->net, 0), MXN_F32, sc->inputs[k], 3, sc->w, sc->h,
                                   sc->c);
    if (status == 0)
        status = mxn_session_run(s, NULL, 0);
    if (status != 0) {
        snprintf(message, msize, "%s", mxn_session_error(s));
        mxn_session_destroy(s);
        return NULL;
    }
    data = mxn_session_blob(s, mxn_net_output_blob(sc->net, 0), &dims, &w, &h, &c, &dtype);
    if (data) {
        *bytes = (size_t)w * (size_t)h * (size_t)c * (dtype == MXN_I8 ? 1u : 4u);
        copy = malloc(*bytes ? *bytes : 1);
        if (copy)
            memcpy(copy, data, *bytes);
    } else {
        snprintf(message, msize, "no output: %s", mxn_session_error(s));
    }
    /* the same session again with another thread count (its thread pool is
     * remade): the same bits */
    if (copy && nthreads > 1) {
        status = mxn_session_set_num_threads(s, nthreads == 2 ? 3 : nthreads - 1);
        if (status == 0)
            status = mxn_session_run(s, NULL, 0);
        data = status == 0 ? mxn_session_blob(s, mxn_net_output_blob(sc->net, 0), &dims, &w, &h, &c, &dtype) : NULL;
        if (!data || memcmp(data, copy, *bytes) != 0) {
            snprintf(message, msize, "%s", data ? "a second run with another thread count differs"
                                                : mxn_session_error(s));
            free(copy);
            copy = NULL;
        }
    }
    mxn_session_destroy(s);
    return copy;
}

static void *worker(void *p)
{
    worker_arg *a = (worker_arg *)p;
    const shared_case *sc = a->sc;
    for (int round = 0; round < ROUNDS; round++) {
        for (int j = 0; j < INPUTS; j++) {
            int k = (j + a->id + round) % INPUTS;   /* threads start at different inputs */
            size_t bytes = 0;
            char message[300] = "";
            /* sessions with their own engine threads too: any count gives the serial bits */
            unsigned char *got = run_one(sc, k, 1 + (a->id + round) % 3, &bytes, message, sizeof(message));
            /* read-only queries racing with the runs */
            (void)mxn_net_layer_name(sc->net, k % (mxn_net_layer_count(sc->net) + 1));
            (void)mxn_net_find_blob(sc->net, mxn_net_blob_name(sc->net, 0));
            if (!got || bytes != sc->expected_bytes[k] || memcmp(got, sc->expected[k], bytes) != 0) {
                if (!a->failures)
                    snprintf(a->message, sizeof(a->message), "thread %d input %d: %.250s", a->id, k,
                             got ? "result differs from the serial run" : message);
                a->failures++;
            }
            free(got);
        }
    }
    return NULL;
}

/* param == NULL: `bin` is the text of a .param that needs no weights */
static int test_model(const char *param, const char *bin, const char *name)
{
    shared_case sc;
    worker_arg args[THREADS];
    pthread_t threads[THREADS];
    mxn_net *net = mxn_net_create();
    int failures = 0, w = 0, h = 0, c = 0;
    size_t total;
    memset(&sc, 0, sizeof(sc));
    if (!net || (param ? mxn_net_load_param(net, param) != 0 || mxn_net_load_bin(net, bin) != 0
                       : mxn_net_load_param_mem(net, bin, strlen(bin)) != 0)) {
        printf("FAIL  %s: does not load: %s\n", name, net ? mxn_net_error(net) : "no memory");
        mxn_net_destroy(net);
        return 1;
    }
    if (mxn_net_input_count(net) != 1 || mxn_net_input_shape(net, 0, &w, &h, &c) != 0 || w <= 0 || h <= 0 ||
        c <= 0 || (size_t)w * (size_t)h * (size_t)c > MAX_INPUT_VALUES) {
        printf("skip  %s: not a single fixed-shape input\n", name);
        mxn_net_destroy(net);
        return 0;
    }
    sc.net = net;
    sc.w = w;
    sc.h = h;
    sc.c = c;
    total = (size_t)w * (size_t)h * (size_t)c;
    for (int k = 0; k < INPUTS; k++) {
        unsigned state = 777u + 31u * (unsigned)k;
        char message[300] = "";
        sc.inputs[k] = malloc(total * sizeof(float));
        if (!sc.inputs[k]) {
            failures++;
            continue;
        }
        for (size_t i = 0; i < total; i++) {
            state = state * 1664525u + 1013904223u;
            sc.inputs[k][i] = (float)((state >> 8) & 0xffff) / 8192.0f - 4.0f;
        }
        sc.expected[k] = run_one(&sc, k, 1, &sc.expected_bytes[k], message, sizeof(message));
        if (!sc.expected[k]) {
            printf("FAIL  %s: serial run of input %d: %s\n", name, k, message);
            failures++;
        }
    }
    if (!failures) {
        int started = 0;
        for (int t = 0; t < THREADS; t++) {
            args[t].sc = &sc;
            args[t].id = t;
            args[t].failures = 0;
            args[t].message[0] = '\0';
            if (pthread_create(&threads[t], NULL, worker, &args[t]) != 0) {
                printf("FAIL  %s: pthread_create\n", name);
                failures++;
                break;
            }
            started++;
        }
        for (int t = 0; t < started; t++)
            pthread_join(threads[t], NULL);
        for (int t = 0; t < started; t++) {
            if (args[t].failures) {
                printf("FAIL  %s: %d mismatching runs; first: %s\n", name, args[t].failures, args[t].message);
                failures++;
            }
        }
    }
    if (!failures)
        printf("ok    %s: %d threads x %d runs identical to the serial results\n", name, THREADS,
               ROUNDS * INPUTS);
    for (int k = 0; k < INPUTS; k++) {
        free(sc.inputs[k]);
        free(sc.expected[k]);
    }
    mxn_net_destroy(net);
    return failures ? 1 : 0;
}

/* The cheap layers big enough to be split over the session's thread pool
 * (Pooling max and average, BinaryOp, ReLU, Eltwise: csrc/thread_pool.c;
 * 64x64x64 = MXN_PARALLEL_MIN_WORK elements). */
static const char POOLED_LAYERS[] =
    "7767517\n"
    "7 9\n"
    "Input in 0 1 x 0=64 1=64 2=64\n"
    "Split sx 1 3 x x1 x2 x3\n"
    "Pooling pool 1 1 x1 p 0=0 1=3 2=1 3=1\n"
    "BinaryOp add 2 1 p x2 s 0=0\n"
    "ReLU relu 1 1 s r 0=0.1\n"
    "Eltwise elt 2 1 r x3 e 0=1\n"
    "Pooling avg 1 1 e y 0=1 1=2 2=2\n";

int main(int argc, char **argv)
{
    char dir[4096];
    DIR *d;
    struct dirent *e;
    int passed = 0, failed = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    snprintf(dir, sizeof(dir), "%s/good", argv[1]);
    d = opendir(dir);
    if (!d) {
        fprintf(stderr, "cannot open %s\n", dir);
        return 2;
    }
    while ((e = readdir(d)) != NULL) {
        char param[4500], bin[4500], name[300];
        size_t n = strlen(e->d_name);
        if (n < 7 || strcmp(e->d_name + n - 6, ".param") != 0)
            continue;
        snprintf(name, sizeof(name), "%.*s", (int)(n - 6), e->d_name);
        snprintf(param, sizeof(param), "%s/%s.param", dir, name);
        snprintf(bin, sizeof(bin), "%s/%s.bin", dir, name);
        if (test_model(param, bin, name))
            failed++;
        else
            passed++;
    }
    closedir(d);
    if (test_model(NULL, POOLED_LAYERS, "pooled_layers"))
        failed++;
    else
        passed++;
    printf("thread_test: %d passed, %d failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
