/* Runs one model through maixnn's public C API and dumps blobs as raw files,
 * so that a build of the engine that Python cannot load (the armv7 build run
 * under qemu-arm by tests/test_arm.py) can be compared with the host engine.
 *
 * usage: run_model PARAM BIN INPUT_BLOB f32|i8 C H W INPUT.raw OUTDIR [-a | BLOB...]
 *
 *   INPUT.raw   the input values, C*H*W of them, C,H,W contiguous, native
 *               byte order (float32 for f32, int8 for i8)
 *   OUTDIR      existing directory; gets blob_<index>.raw per dumped blob and
 *               blobs.txt, one line per blob:
 *                   <index> <name> <f32|i8> <dims> <w> <h> <c>
 *               (file names use the blob index: ncnn blob names may contain '/')
 *   -a          dump every blob of the model; no BLOB -> the graph outputs
 *
 * Exit status 0 on success; otherwise 1 with the engine's message on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maixnn.h"

#define MAX_PATH_CHARS 4096

static int fail(const char *what, const char *detail)
{
    fprintf(stderr, "run_model: %s%s%s\n", what, detail && *detail ? ": " : "", detail ? detail : "");
    return 1;
}

/* Reads exactly `bytes` bytes of `path` into a new buffer (NULL on error, with
 * a message in `message`); a longer or shorter file is an error. */
static void *read_exact(const char *path, size_t bytes, char *message, size_t msize)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    size_t got;
    int extra;
    if (!f) {
        snprintf(message, msize, "cannot open %s", path);
        return NULL;
    }
    buf = (unsigned char *)malloc(bytes ? bytes : 1);
    if (!buf) {
        fclose(f);
        snprintf(message, msize, "out of memory for %lu input bytes", (unsigned long)bytes);
        return NULL;
    }
    got = fread(buf, 1, bytes, f);
    extra = fgetc(f);
    fclose(f);
    if (got != bytes || extra != EOF) {
        free(buf);
        snprintf(message, msize, "%s: expected exactly %lu bytes", path, (unsigned long)bytes);
        return NULL;
    }
    return buf;
}

static int parse_dim(const char *text, int *out)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || v < 1 || v > (1L << 24))
        return 0;
    *out = (int)v;
    return 1;
}

/* Writes blob `blob` as OUTDIR/blob_<blob>.raw and appends its line to the
 * manifest. */
static int dump_blob(mxn_session *s, const mxn_net *net, int blob, const char *outdir, FILE *manifest)
{
    char path[MAX_PATH_CHARS];
    int dims = 0, w = 0, h = 0, c = 0, dtype = 0;
    const void *data = mxn_session_blob(s, blob, &dims, &w, &h, &c, &dtype);
    size_t count, bytes;
    FILE *f;
    if (!data)
        return fail(mxn_net_blob_name(net, blob), mxn_session_error(s));
    count = (size_t)w * (size_t)(dims >= 2 ? h : 1) * (size_t)(dims >= 3 ? c : 1);
    bytes = count * (dtype == MXN_I8 ? 1u : 4u);
    if (snprintf(path, sizeof(path), "%s/blob_%d.raw", outdir, blob) >= (int)sizeof(path))
        return fail("output path too long", outdir);
    f = fopen(path, "wb");
    if (!f)
        return fail("cannot create", path);
    if (fwrite(data, 1, bytes, f) != bytes) {
        fclose(f);
        return fail("cannot write", path);
    }
    if (fclose(f) != 0)
        return fail("cannot write", path);
    fprintf(manifest, "%d %s %s %d %d %d %d\n", blob, mxn_net_blob_name(net, blob),
            dtype == MXN_I8 ? "i8" : "f32", dims, w, h, c);
    return 0;
}

int main(int argc, char **argv)
{
    mxn_net *net;
    mxn_session *s = NULL;
    int c, h, w, input_blob, status, i, n_wanted = 0, rc = 1, dump_all, named;
    int *wanted = NULL;
    mxn_dtype in_dtype;
    void *input = NULL;
    char message[MAX_PATH_CHARS + 64];
    char manifest_path[MAX_PATH_CHARS];
    FILE *manifest = NULL;

    if (argc < 10) {
        fprintf(stderr, "usage: run_model PARAM BIN INPUT_BLOB f32|i8 C H W INPUT.raw OUTDIR [-a | BLOB...]\n");
        return 2;
    }
    if (strcmp(argv[4], "f32") == 0)
        in_dtype = MXN_F32;
    else if (strcmp(argv[4], "i8") == 0)
        in_dtype = MXN_I8;
    else
        return fail("input dtype must be f32 or i8, got", argv[4]);
    if (!parse_dim(argv[5], &c) || !parse_dim(argv[6], &h) || !parse_dim(argv[7], &w))
        return fail("C H W must be integers in 1..16777216", NULL);

    net = mxn_net_create();
    if (!net)
        return fail("out of memory creating the net", NULL);
    if (mxn_net_load_param(net, argv[1]) != MXN_OK || mxn_net_load_bin(net, argv[2]) != MXN_OK) {
        fail("loading the model", mxn_net_error(net));
        goto done;
    }
    input_blob = mxn_net_find_blob(net, argv[3]);
    if (input_blob < 0) {
        fail("no such input blob", argv[3]);
        goto done;
    }
    input = read_exact(argv[8], (size_t)c * (size_t)h * (size_t)w * (in_dtype == MXN_I8 ? 1u : 4u), message,
                       sizeof(message));
    if (!input) {
        fail(message, NULL);
        goto done;
    }

    /* -a: every blob; BLOB...: those; nothing: the graph outputs */
    dump_all = argc > 10 && strcmp(argv[10], "-a") == 0;
    named = argc > 10 && !dump_all;
    n_wanted = dump_all ? mxn_net_blob_count(net) : named ? argc - 10 : mxn_net_output_count(net);
    wanted = (int *)malloc((size_t)(n_wanted > 0 ? n_wanted : 1) * sizeof(int));
    if (!wanted) {
        fail("out of memory", NULL);
        goto done;
    }
    for (i = 0; i < n_wanted; i++) {
        wanted[i] = dump_all ? i : named ? mxn_net_find_blob(net, argv[10 + i]) : mxn_net_output_blob(net, i);
        if (wanted[i] < 0) {
            fail("no such blob", named ? argv[10 + i] : "");
            goto done;
        }
    }

    s = mxn_session_create(net);
    if (!s) {
        fail("out of memory creating a session", NULL);
        goto done;
    }
    status = mxn_session_set_input(s, input_blob, in_dtype, input, 3, w, h, c);
    if (status == MXN_OK)
        status = mxn_session_run(s, wanted, n_wanted);
    if (status != MXN_OK) {
        fail("running", mxn_session_error(s));
        goto done;
    }

    if (snprintf(manifest_path, sizeof(manifest_path), "%s/blobs.txt", argv[9]) >= (int)sizeof(manifest_path)) {
        fail("output path too long", argv[9]);
        goto done;
    }
    manifest = fopen(manifest_path, "w");
    if (!manifest) {
        fail("cannot create", manifest_path);
        goto done;
    }
    for (i = 0; i < n_wanted; i++) {
        /* the input blob itself was not computed by a layer; it is not dumped */
        if (wanted[i] == input_blob)
            continue;
        if (dump_blob(s, net, wanted[i], argv[9], manifest) != 0)
            goto done;
    }
    if (fclose(manifest) != 0) {
        manifest = NULL;
        fail("cannot write", manifest_path);
        goto done;
    }
    manifest = NULL;
    rc = 0;

done:
    if (manifest)
        fclose(manifest);
    mxn_session_destroy(s);
    free(wanted);
    free(input);
    mxn_net_destroy(net);
    return rc;
}
