/* nn_resnet: libmaix's ResNet classification example, rebuilt on the libmaix
 * nn API (libmaix_nn.h, mud.h) - runs on maixnn's engine (emu backend) or on
 * the V831 NPU through Sipeed's libmaix (awnn backend), unchanged.
 *
 *   nn_resnet (-m MODEL.mud | -p MODEL.param -b MODEL.bin) [options] [IMAGE...]
 *
 * Per frame: the frame (an image file on the host, the camera on the board)
 * at the model's input size -> forward with need_quantization (uint8 HWC) ->
 * softmax into a float buffer -> the top 5 with their labels and the
 * forward time, printed (and drawn on the board's display).
 */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "board.h"
#include "libmaix_nn.h"
#include "mud.h"

#define TOP_K 5

typedef struct {
    const char *mud, *param, *bin, *labels, *dump_dir;
    char *input_name, *output_name;
    int w, h, classes, frames;
    float mean, norm;
    char **sources;
    int source_count;
} options;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: nn_resnet (-m MODEL.mud | -p MODEL.param -b MODEL.bin) [options] [IMAGE...]\n"
            "  -m FILE       model described by a libmaix .mud file\n"
            "  -p/-b FILE    awnn (or maixnn ncnn) .param and .bin\n"
            "  -s WxH        model input size (default 224x224)\n"
            "  -c N          classes in the output (default 1000)\n"
            "  -l FILE       labels, one per line (default: none, class numbers only)\n"
            "  -i NAME       input blob (default input0; with -p/-b)\n"
            "  -o NAME       output blob (default output0; with -p/-b)\n"
            "  -M MEAN -N NORM  (u8 - MEAN) * NORM (default 127.5 and 1/127.5; with -p/-b)\n"
            "  -n N          stop after N frames (default: every image, or forever on the camera)\n"
            "  -d DIR        write each frame (N.frame.u8, RGB HWC), its quantized input (N.in.i8) and the\n"
            "                raw output before softmax (N.out.f32) to DIR, N = 0, 1, ...\n"
            "IMAGE: PPM/PNG/JPEG files on the host build (ignored with the board's camera)\n");
}

static int parse_size(const char *text, int *w, int *h)
{
    char tail;
    if (sscanf(text, "%dx%d%c", w, h, &tail) == 2 && *w > 0 && *h > 0) return 0;
    if (sscanf(text, "%d%c", w, &tail) == 1 && *w > 0) {
        *h = *w;
        return 0;
    }
    return -1;
}

static int parse_args(int argc, char **argv, options *o)
{
    int i;
    memset(o, 0, sizeof(*o));
    o->w = o->h = 224;
    o->classes = 1000;
    o->input_name = "input0";
    o->output_name = "output0";
    o->mean = 127.5f;
    o->norm = 0.00784313725490196f;
    o->frames = -1;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-' || !a[1]) break;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strlen(a) != 2 || !v) {
            fprintf(stderr, "nn_resnet: unknown option or missing value: %s\n", a);
            return -1;
        }
        i++;
        switch (a[1]) {
        case 'm': o->mud = v; break;
        case 'p': o->param = v; break;
        case 'b': o->bin = v; break;
        case 'l': o->labels = v; break;
        case 'd': o->dump_dir = v; break;
        case 'i': o->input_name = argv[i]; break;
        case 'o': o->output_name = argv[i]; break;
        case 'M': o->mean = strtof(v, NULL); break;
        case 'N': o->norm = strtof(v, NULL); break;
        case 'n': o->frames = atoi(v); break;
        case 'c':
            o->classes = atoi(v);
            if (o->classes < 1) {
                fprintf(stderr, "nn_resnet: -c %s: expected a positive count\n", v);
                return -1;
            }
            break;
        case 's':
            if (parse_size(v, &o->w, &o->h)) {
                fprintf(stderr, "nn_resnet: -s %s: expected WxH\n", v);
                return -1;
            }
            break;
        default:
            fprintf(stderr, "nn_resnet: unknown option %s\n", a);
            return -1;
        }
    }
    if (!o->mud == !(o->param && o->bin)) {
        fprintf(stderr, "nn_resnet: give a model: -m MODEL.mud, or -p MODEL.param -b MODEL.bin\n");
        return -1;
    }
    o->sources = argv + i;
    o->source_count = argc - i;
    return 0;
}

/* labels file -> an array of `count` strings (missing lines: NULL) */
static char **read_labels(const char *path, int count)
{
    FILE *f = fopen(path, "r");
    char line[512];
    char **labels;
    int n = 0;
    if (!f) {
        perror(path);
        return NULL;
    }
    labels = (char **)calloc((size_t)count, sizeof(char *));
    while (labels && n < count && fgets(line, sizeof(line), f)) {
        size_t len = strcspn(line, "\r\n");
        line[len] = '\0';
        labels[n] = (char *)malloc(len + 1);
        if (!labels[n]) break;
        memcpy(labels[n++], line, len + 1);
    }
    fclose(f);
    return labels;
}

static void free_labels(char **labels, int count)
{
    int i;
    if (!labels) return;
    for (i = 0; i < count; i++) free(labels[i]);
    free(labels);
}

/* softmax over n floats, in place (the probabilities are floats: upstream's
 * example declared this buffer int8_t, which truncated them) */
static void softmax(float *x, int n)
{
    float max = x[0], sum = 0.f;
    int i;
    for (i = 1; i < n; i++)
        if (x[i] > max) max = x[i];
    for (i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    for (i = 0; i < n; i++) x[i] /= sum;
}

/* indices of the k largest (ties: the lower index first) */
static void top_k(const float *p, int n, int *best, int k)
{
    int i, j;
    for (j = 0; j < k; j++) best[j] = -1;
    for (i = 0; i < n; i++) {
        for (j = 0; j < k; j++) {
            if (best[j] < 0 || p[i] > p[best[j]]) {
                memmove(best + j + 1, best + j, (size_t)(k - j - 1) * sizeof(int));
                best[j] = i;
                break;
            }
        }
    }
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int dump(const char *dir, int frame, const char *suffix, const void *data, size_t bytes)
{
    char path[1024];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%d.%s", dir, frame, suffix);
    f = fopen(path, "wb");
    if (!f || fwrite(data, 1, bytes, f) != bytes) {
        perror(path);
        if (f) fclose(f);
        return -1;
    }
    return fclose(f);
}

int main(int argc, char **argv)
{
    options o;
    libmaix_nn_t *nn = NULL;
    board *b = NULL;
    char **labels = NULL;
    float *probs = NULL;
    int8_t *quantized = NULL;
    char err[512];
    int status = 1, frame_no = 0;
    libmaix_err_t rc;

    if (parse_args(argc, argv, &o)) {
        usage(stderr);
        return 2;
    }
    libmaix_nn_module_init();
    if (o.mud) {
        nn = libmaix_mud_load_model((char *)o.mud);
        if (!nn) goto end;   /* the reason is on stderr */
    } else {
        char *inputs[1], *outputs[1];
        libmaix_nn_model_path_t path;
        libmaix_nn_opt_param_t opt;
        memset(&path, 0, sizeof(path));
        memset(&opt, 0, sizeof(opt));
        inputs[0] = o.input_name;
        outputs[0] = o.output_name;
        path.awnn.param_path = (char *)o.param;
        path.awnn.bin_path = (char *)o.bin;
        opt.awnn.input_names = inputs;
        opt.awnn.output_names = outputs;
        opt.awnn.input_num = 1;
        opt.awnn.output_num = 1;
        opt.awnn.mean[0] = opt.awnn.mean[1] = opt.awnn.mean[2] = o.mean;
        opt.awnn.norm[0] = opt.awnn.norm[1] = opt.awnn.norm[2] = o.norm;
        nn = libmaix_nn_create();
        if (!nn) {
            fprintf(stderr, "nn_resnet: libmaix_nn_create failed\n");
            goto end;
        }
        if ((rc = nn->init(nn)) != LIBMAIX_ERR_NONE || (rc = nn->load(nn, &path, &opt)) != LIBMAIX_ERR_NONE) {
            fprintf(stderr, "nn_resnet: loading %s failed: %s\n", o.param, libmaix_get_err_msg(rc));
            goto end;
        }
    }
    if (o.labels && !(labels = read_labels(o.labels, o.classes))) goto end;
    probs = (float *)malloc((size_t)o.classes * sizeof(float));
    quantized = (int8_t *)malloc((size_t)o.w * (size_t)o.h * 3);
    if (!probs || !quantized) {
        fprintf(stderr, "nn_resnet: out of memory\n");
        goto end;
    }
    b = board_open(o.sources, o.source_count, o.w, o.h, err, sizeof(err));
    if (!b) {
        fprintf(stderr, "nn_resnet: %s\n", err);
        goto end;
    }
    for (;;) {
        board_frame frame;
        libmaix_nn_layer_t input, output;
        int got, best[TOP_K] = {0}, k, n;
        double t0, ms;
        char text[160];
        if (o.frames >= 0 && frame_no >= o.frames) break;
        got = board_next_frame(b, &frame, err, sizeof(err));
        if (got == 0) break;
        if (got < 0) {
            fprintf(stderr, "nn_resnet: %s\n", err);
            goto end;
        }
        memset(&input, 0, sizeof(input));
        memset(&output, 0, sizeof(output));
        input.w = frame.w;
        input.h = frame.h;
        input.c = 3;
        input.dtype = LIBMAIX_NN_DTYPE_UINT8;
        input.layout = LIBMAIX_NN_LAYOUT_HWC;
        input.need_quantization = true;
        input.data = frame.rgb;
        input.buff_quantization = quantized;
        output.w = 1;
        output.h = 1;
        output.c = o.classes;
        output.dtype = LIBMAIX_NN_DTYPE_FLOAT;
        output.layout = LIBMAIX_NN_LAYOUT_HWC;
        output.data = probs;
        t0 = now_ms();
        rc = nn->forward(nn, &input, &output);
        ms = now_ms() - t0;
        if (rc != LIBMAIX_ERR_NONE) {
            fprintf(stderr, "nn_resnet: forward failed: %s\n", libmaix_get_err_msg(rc));
            goto end;
        }
        n = output.w * output.h * output.c;
        if (o.dump_dir) {
            if (dump(o.dump_dir, frame_no, "frame.u8", frame.rgb, (size_t)frame.w * frame.h * 3)) goto end;
            if (input.dtype == LIBMAIX_NN_DTYPE_INT8 &&
                dump(o.dump_dir, frame_no, "in.i8", quantized, (size_t)frame.w * frame.h * 3))
                goto end;
            if (dump(o.dump_dir, frame_no, "out.f32", probs, (size_t)n * sizeof(float))) goto end;
        }
        softmax(probs, n);
        top_k(probs, n, best, n < TOP_K ? n : TOP_K);
        printf("== %s\n", frame.name);
        printf("forward: %.3f ms\n", ms);
        for (k = 0; k < TOP_K && k < n; k++)
            printf("#%d class %d prob %.6f %s\n", k + 1, best[k], (double)probs[best[k]],
                   labels && best[k] < o.classes && labels[best[k]] ? labels[best[k]] : "");
        fflush(stdout);
        snprintf(text, sizeof(text), "%.2f: %s", (double)probs[best[0]],
                 labels && best[0] < o.classes && labels[best[0]] ? labels[best[0]] : "?");
        board_show(b, &frame, text);
        frame_no++;
    }
    status = 0;
end:
    board_close(b);
    libmaix_nn_destroy(&nn);
    libmaix_nn_module_deinit();
    free_labels(labels, o.classes);
    free(probs);
    free(quantized);
    return status;
}
