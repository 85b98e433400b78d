/* Model loader: ncnn .param text (graph + parameters) and .bin (weights).
 *
 * .param layout: line 1 magic 7767517; line 2 "layer_count blob_count"; then one
 * layer per line: "Type name nbottom ntop bottom... top... id=value ...".
 * Checked here beyond what ncnn checks: the counts match the file exactly,
 * every blob is produced exactly once and only consumed after it is produced
 * (which rules out cycles and dangling names), every layer type is known, each
 * token is well formed, and the .bin is consumed to its last byte. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#endif
#include "awnn.h"

#define MXN_PARAM_MAGIC 7767517
#define MXN_MAX_NAME 255

mxn_net *mxn_net_create(void)
{
    return (mxn_net *)calloc(1, sizeof(mxn_net));
}

static void net_clear(mxn_net *net)
{
    int i;
    for (i = 0; i < net->layer_count && net->layers; i++) {
        mxn_layer *l = &net->layers[i];
        if (l->priv) {
            if (l->ops && l->ops->destroy) l->ops->destroy(l);
            else free(l->priv);
            l->priv = NULL;
        }
        free(l->type);
        free(l->name);
        free(l->bottoms);
        free(l->tops);
        free(l->top_scales);
    }
    free(net->layers);
    for (i = 0; i < net->blob_count && net->blob_names; i++) free(net->blob_names[i]);
    free(net->blob_names);
    free(net->blob_producer);
    free(net->blob_consumers);
    free(net->input_blobs);
    free(net->input_shapes);
    free(net->output_blobs);
    free(net->blob_scales);
    memset(net, 0, sizeof(*net));
}

void mxn_net_destroy(mxn_net *net)
{
    if (!net) return;
    net_clear(net);
    free(net);
}

const char *mxn_net_error(const mxn_net *net)
{
    return net ? net->err.msg : "no net (NULL)";
}

static char *dup_n(const char *s, size_t n)
{
    char *d = (char *)malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* ---------------------------------------------------------------- text helpers */

typedef struct {
    const char *text;
    size_t len;
    size_t pos;
    int lineno;          /* number of the line last returned */
} line_reader;

/* next non-blank line as [start, end); returns 0 at end of text */
static int next_line(line_reader *r, const char **start, size_t *len)
{
    while (r->pos < r->len) {
        const char *s = r->text + r->pos;
        size_t n = 0, k;
        int blank = 1;
        while (r->pos + n < r->len && s[n] != '\n') n++;
        r->pos += n + (r->pos + n < r->len ? 1 : 0);
        r->lineno++;
        for (k = 0; k < n; k++)
            if (s[k] != ' ' && s[k] != '\t' && s[k] != '\r') {
                blank = 0;
                break;
            }
        if (!blank) {
            *start = s;
            *len = n;
            return 1;
        }
    }
    return 0;
}

/* Split one line into NUL-terminated tokens in a private buffer. */
typedef struct {
    char *buf;
    char **tok;
    int count;
} token_list;

static void tokens_free(token_list *t)
{
    free(t->buf);
    free(t->tok);
    t->buf = NULL;
    t->tok = NULL;
    t->count = 0;
}

static int is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f'; }

static int tokenize(const char *s, size_t n, token_list *t)
{
    size_t i, cap = 0;
    int in_tok = 0;
    t->count = 0;
    t->buf = dup_n(s, n);
    if (!t->buf) return MXN_ERR_NO_MEM;
    for (i = 0; i < n; i++) {
        if (!is_space(s[i]) && !in_tok) cap++;
        in_tok = !is_space(s[i]);
    }
    t->tok = (char **)malloc((cap ? cap : 1) * sizeof(char *));
    if (!t->tok) {
        tokens_free(t);
        return MXN_ERR_NO_MEM;
    }
    in_tok = 0;
    for (i = 0; i < n; i++) {
        if (is_space(t->buf[i])) {
            t->buf[i] = '\0';
            in_tok = 0;
        } else if (!in_tok) {
            t->tok[t->count++] = &t->buf[i];
            in_tok = 1;
        }
    }
    return MXN_OK;
}

static int parse_count(const char *s, int *out)
{
    char *end;
    long v;
    if (!s || !*s) return -1;
    v = strtol(s, &end, 10);
    if (*end != '\0' || v < 0 || v > 100000000L) return -1;
    *out = (int)v;
    return 0;
}

/* ---------------------------------------------------------------- blob table */

static int find_blob(const mxn_net *net, const char *name, int count)
{
    int i;
    for (i = 0; i < count; i++)
        if (strcmp(net->blob_names[i], name) == 0) return i;
    return -1;
}

/* ---------------------------------------------------------------- .param */

static int parse_layer_line(mxn_net *net, int li, token_list *t, int lineno, int *blobs_seen)
{
    mxn_layer *l = &net->layers[li];
    mxn_error *err = &net->err;
    mxn_paramdict pd;
    char where[400];
    int nb, nt, k, rc;

    if (t->count < 4)
        return mxn_error_set(err, MXN_ERR_FORMAT,
                             "line %d: expected 'type name bottom_count top_count ...', got %d tokens",
                             lineno, t->count);
    if (strlen(t->tok[0]) > MXN_MAX_NAME || strlen(t->tok[1]) > MXN_MAX_NAME)
        return mxn_error_set(err, MXN_ERR_FORMAT, "line %d: layer type or name longer than %d characters",
                             lineno, MXN_MAX_NAME);
    l->type = dup_n(t->tok[0], strlen(t->tok[0]));
    l->name = dup_n(t->tok[1], strlen(t->tok[1]));
    if (!l->type || !l->name) return mxn_error_set(err, MXN_ERR_NO_MEM, "line %d: out of memory", lineno);
    snprintf(where, sizeof(where), "line %d: layer '%.150s' (%.100s)", lineno, l->name, l->type);

    if (parse_count(t->tok[2], &nb) || parse_count(t->tok[3], &nt))
        return mxn_error_set(err, MXN_ERR_FORMAT, "%s: bad bottom/top count '%s %s'", where, t->tok[2],
                             t->tok[3]);
    if (nb > t->count - 4 || nt > t->count - 4 - nb)
        return mxn_error_set(err, MXN_ERR_FORMAT, "%s: declares %d bottoms and %d tops but the line has %d names",
                             where, nb, nt, t->count - 4);

    l->ops = mxn_find_layer_ops(l->type);
    l->awnn_device = -1;
    if (!l->ops && !mxn_awnn_find_ops(l->type)) /* NPU-only types: awnn.c decides */
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "%s: layer type '%s' is not supported", where, l->type);

    l->bottom_count = nb;
    l->top_count = nt;
    l->bottoms = (int *)malloc((size_t)(nb ? nb : 1) * sizeof(int));
    l->tops = (int *)malloc((size_t)(nt ? nt : 1) * sizeof(int));
    if (!l->bottoms || !l->tops) return mxn_error_set(err, MXN_ERR_NO_MEM, "%s: out of memory", where);

    for (k = 0; k < nb; k++) {
        const char *bname = t->tok[4 + k];
        int b = find_blob(net, bname, *blobs_seen);
        if (b < 0)
            return mxn_error_set(err, MXN_ERR_FORMAT,
                                 "%s: bottom blob '%.100s' is not produced by any earlier layer", where, bname);
        l->bottoms[k] = b;
        net->blob_consumers[b]++;
    }
    for (k = 0; k < nt; k++) {
        const char *tname = t->tok[4 + nb + k];
        int b;
        if (strlen(tname) > MXN_MAX_NAME)
            return mxn_error_set(err, MXN_ERR_FORMAT, "%s: blob name longer than %d characters", where,
                                 MXN_MAX_NAME);
        b = find_blob(net, tname, *blobs_seen);
        if (b >= 0)
            return mxn_error_set(err, MXN_ERR_FORMAT,
                                 "%s: top blob '%.100s' is already produced by layer '%.100s'", where, tname,
                                 net->layers[net->blob_producer[b]].name);
        if (*blobs_seen >= net->blob_count)
            return mxn_error_set(err, MXN_ERR_FORMAT,
                                 "%s: more blobs than the %d declared on line 2", where, net->blob_count);
        b = (*blobs_seen)++;
        net->blob_names[b] = dup_n(tname, strlen(tname));
        if (!net->blob_names[b]) return mxn_error_set(err, MXN_ERR_NO_MEM, "%s: out of memory", where);
        net->blob_producer[b] = li;
        l->tops[k] = b;
    }

    mxn_paramdict_init(&pd);
    rc = mxn_paramdict_parse(&pd, (const char *const *)(t->tok + 4 + nb + nt), t->count - 4 - nb - nt,
                             where, err);
    if (rc == MXN_OK && strcmp(l->type, "Input") == 0) {
        if (nb != 0 || nt != 1) {
            rc = mxn_error_set(err, MXN_ERR_FORMAT, "%s: an Input layer has 0 bottoms and 1 top, not %d and %d",
                               where, nb, nt);
        } else {
            int idx = net->input_count;
            int w = mxn_pd_int(&pd, 0, 0), h = mxn_pd_int(&pd, 1, 0), c = mxn_pd_int(&pd, 2, 0);
            if (w < 0 || h < 0 || c < 0) {
                rc = mxn_error_set(err, MXN_ERR_FORMAT, "%s: negative input shape w=%d h=%d c=%d", where, w, h, c);
            } else {
                net->input_blobs[idx] = l->tops[0];
                net->input_shapes[idx][0] = w;
                net->input_shapes[idx][1] = h;
                net->input_shapes[idx][2] = c;
                net->input_count++;
            }
        }
    }
    if (rc == MXN_OK && (rc = mxn_awnn_layer_setup(l, &pd, err)))
        mxn_error_prefix(err, "%s: ", where);
    if (rc == MXN_OK && l->ops->load_param) {
        rc = l->ops->load_param(l, &pd, err);
        if (rc) mxn_error_prefix(err, "%s: ", where);
    }
    mxn_paramdict_free(&pd);
    return rc;
}

int mxn_net_load_param_mem(mxn_net *net, const char *text, size_t len)
{
    line_reader r;
    const char *line;
    size_t n;
    token_list t = {NULL, NULL, 0};
    int layer_count, blob_count, blobs_seen = 0, li, i, rc = MXN_OK;

    if (!net) return MXN_ERR_PARAM;
    /* Sessions keep pointers into the loaded graph: replacing it under them
     * would leave them dangling, so a loaded net is never reloaded. */
    if (net->param_loaded)
        return mxn_error_set(&net->err, MXN_ERR_NOT_READY,
                             "a .param is already loaded; create a new net to load another model");
    net_clear(net);
    if (!text && len) return mxn_error_set(&net->err, MXN_ERR_PARAM, "NULL .param text");
    if (memchr(text ? text : "", '\0', len))
        return mxn_error_set(&net->err, MXN_ERR_FORMAT, ".param contains a NUL byte: not a text .param file");
    r.text = text;
    r.len = len;
    r.pos = 0;
    r.lineno = 0;

    if (!next_line(&r, &line, &n))
        return mxn_error_set(&net->err, MXN_ERR_FORMAT, ".param is empty (magic number %d expected)",
                             MXN_PARAM_MAGIC);
    if ((rc = tokenize(line, n, &t))) return mxn_error_set(&net->err, rc, "out of memory");
    if (t.count != 1 || strcmp(t.tok[0], "7767517") != 0) {
        rc = mxn_error_set(&net->err, MXN_ERR_FORMAT, "line %d: bad magic '%.40s', expected %d (not an ncnn .param?)",
                           r.lineno, t.count ? t.tok[0] : "", MXN_PARAM_MAGIC);
        goto done;
    }
    tokens_free(&t);

    if (!next_line(&r, &line, &n)) {
        rc = mxn_error_set(&net->err, MXN_ERR_FORMAT, "line 2: 'layer_count blob_count' missing");
        goto done;
    }
    if ((rc = tokenize(line, n, &t))) {
        rc = mxn_error_set(&net->err, rc, "out of memory");
        goto done;
    }
    if (t.count != 2 || parse_count(t.tok[0], &layer_count) || parse_count(t.tok[1], &blob_count) ||
        layer_count <= 0 || blob_count <= 0) {
        rc = mxn_error_set(&net->err, MXN_ERR_FORMAT,
                           "line %d: expected positive 'layer_count blob_count'", r.lineno);
        goto done;
    }
    tokens_free(&t);
    /* every layer needs at least one line of >= 8 bytes ("T n 0 0\n"): reject absurd
     * counts before allocating for them */
    if ((size_t)layer_count > len / 8 + 1 || (size_t)blob_count > len / 2 + 1) {
        rc = mxn_error_set(&net->err, MXN_ERR_FORMAT,
                           "line 2: %d layers / %d blobs cannot fit in a %zu-byte .param", layer_count,
                           blob_count, len);
        goto done;
    }

    net->layers = (mxn_layer *)calloc((size_t)layer_count, sizeof(mxn_layer));
    net->blob_names = (char **)calloc((size_t)blob_count, sizeof(char *));
    net->blob_producer = (int *)calloc((size_t)blob_count, sizeof(int));
    net->blob_consumers = (int *)calloc((size_t)blob_count, sizeof(int));
    net->input_blobs = (int *)calloc((size_t)layer_count, sizeof(int));
    net->input_shapes = (int(*)[3])calloc((size_t)layer_count, sizeof(int[3]));
    net->layer_count = layer_count;
    net->blob_count = blob_count;
    if (!net->layers || !net->blob_names || !net->blob_producer || !net->blob_consumers || !net->input_blobs ||
        !net->input_shapes) {
        rc = mxn_error_set(&net->err, MXN_ERR_NO_MEM, "out of memory for %d layers", layer_count);
        goto done;
    }

    for (li = 0; li < layer_count; li++) {
        if (!next_line(&r, &line, &n)) {
            rc = mxn_error_set(&net->err, MXN_ERR_FORMAT, "line 2 declares %d layers, the file has %d",
                               layer_count, li);
            goto done;
        }
        if ((rc = tokenize(line, n, &t))) {
            rc = mxn_error_set(&net->err, rc, "out of memory");
            goto done;
        }
        rc = parse_layer_line(net, li, &t, r.lineno, &blobs_seen);
        tokens_free(&t);
        if (rc) goto done;
    }
    if (next_line(&r, &line, &n)) {
        rc = mxn_error_set(&net->err, MXN_ERR_FORMAT, "line %d: more layer lines than the %d declared on line 2",
                           r.lineno, layer_count);
        goto done;
    }
    if (blobs_seen != blob_count) {
        rc = mxn_error_set(&net->err, MXN_ERR_FORMAT, "line 2 declares %d blobs, the layers use %d", blob_count,
                           blobs_seen);
        goto done;
    }

    if ((rc = mxn_awnn_net_finish(net))) goto done;
    for (i = 0; i < blob_count; i++)
        if (net->blob_consumers[i] == 0) net->output_count++;
    net->output_blobs = (int *)malloc((size_t)(net->output_count ? net->output_count : 1) * sizeof(int));
    if (!net->output_blobs) {
        rc = mxn_error_set(&net->err, MXN_ERR_NO_MEM, "out of memory");
        goto done;
    }
    net->output_count = 0;
    for (i = 0; i < blob_count; i++)
        if (net->blob_consumers[i] == 0) net->output_blobs[net->output_count++] = i;
    net->param_loaded = 1;
    net->err.code = 0;
    net->err.msg[0] = '\0';

done:
    tokens_free(&t);
    if (rc) {
        mxn_error saved = net->err;
        net_clear(net);
        net->err = saved;
    }
    return rc;
}

/* Read a whole file.  Read in chunks until EOF rather than trusting
 * fseek/ftell: on a directory ftell reports LONG_MAX (which became an
 * "out of memory" error), on a pipe it fails; a read error is reported as an
 * I/O error with the reason. */
static int read_file(const char *path, unsigned char **data, size_t *len, mxn_error *err)
{
    FILE *f;
    unsigned char *buf = NULL;
    size_t cap = 0, used = 0;
    *data = NULL;
    *len = 0;
    if (!path) return mxn_error_set(err, MXN_ERR_PARAM, "NULL path");
    errno = 0;
    f = fopen(path, "rb");
    if (!f)
        return mxn_error_set(err, MXN_ERR_IO, "%s: cannot open: %s", path,
                             errno ? strerror(errno) : "unknown error");
    for (;;) {
        size_t got;
        if (cap - used < 2) { /* room for at least one byte plus the terminator */
            size_t ncap = cap ? cap * 2 : 65536;
            unsigned char *grown;
            if (ncap <= cap || ncap - 1 > (size_t)LONG_MAX) {
                free(buf);
                fclose(f);
                return mxn_error_set(err, MXN_ERR_IO, "%s: file too large", path);
            }
            grown = (unsigned char *)realloc(buf, ncap);
            if (!grown) {
                free(buf);
                fclose(f);
                return mxn_error_set(err, MXN_ERR_NO_MEM, "%s: out of memory after reading %zu bytes",
                                     path, used);
            }
            buf = grown;
            cap = ncap;
        }
        errno = 0;
        got = fread(buf + used, 1, cap - used - 1, f); /* keep one byte for the terminator */
        used += got;
        if (ferror(f)) {
            int e = errno;
            free(buf);
            fclose(f);
            return mxn_error_set(err, MXN_ERR_IO, "%s: cannot read: %s", path,
                                 e ? strerror(e) : "read error (is it a directory?)");
        }
        if (got == 0 || feof(f))
            break;
    }
    fclose(f);
    buf[used] = '\0';
    *data = buf;
    *len = used;
    return MXN_OK;
}

int mxn_net_load_param(mxn_net *net, const char *path)
{
    unsigned char *data;
    size_t len;
    int rc;
    if (!net) return MXN_ERR_PARAM;
    rc = read_file(path, &data, &len, &net->err);
    if (rc) return rc;
    rc = mxn_net_load_param_mem(net, (const char *)data, len);
    free(data);
    if (rc) mxn_error_prefix(&net->err, "%s: ", path);
    return rc;
}

/* ---------------------------------------------------------------- .bin */

int mxn_net_load_bin_mem(mxn_net *net, const void *data, size_t len)
{
    mxn_modelbin mb;
    int i, rc;
    if (!net) return MXN_ERR_PARAM;
    if (!net->param_loaded) return mxn_error_set(&net->err, MXN_ERR_NOT_READY, "load the .param before the .bin");
    if (net->bin_loaded)
        return mxn_error_set(&net->err, MXN_ERR_NOT_READY, "weights are already loaded; create a new net to reload");
    if (!data && len) return mxn_error_set(&net->err, MXN_ERR_PARAM, "NULL .bin data");
    memset(&mb, 0, sizeof(mb));
    mb.data = (const unsigned char *)data;
    mb.size = data ? len : 0;
    mb.pos = 0;
    for (i = 0; i < net->layer_count; i++) {
        mxn_layer *l = &net->layers[i];
        size_t before_values = mb.values_read, before_bytes = mb.bytes_out;
        if (!l->ops->load_model) continue;
        rc = l->ops->load_model(l, &mb, &net->err);
        if (rc) {
            mxn_error_prefix(&net->err, "layer '%s' (%s): ", l->name, l->type);
            return rc;
        }
        if (mb.pos > mb.size)
            return mxn_error_set(&net->err, MXN_ERR_FORMAT, "layer '%s' (%s): read past the end of the .bin",
                                 l->name, l->type);
        l->weight_count = (long)(mb.values_read - before_values);
        l->bin_bytes = mb.bytes_out - before_bytes;
    }
    if (mb.pos != mb.size)
        return mxn_error_set(&net->err, MXN_ERR_FORMAT,
                             ".bin has %zu bytes left over after the last layer's weights (at byte offset %zu of "
                             "%zu): it does not belong to this .param",
                             mb.size - mb.pos, mb.pos, mb.size);
    net->bin_loaded = 1;
    net->err.code = 0;
    net->err.msg[0] = '\0';
    return MXN_OK;
}

#if defined(__unix__) || defined(__APPLE__)
/* The .bin mapped read-only instead of read into the heap: its pages belong
 * to the page cache and go as they are consumed, so loading holds no second
 * heap copy of every weight (read_file's buffer rounds up to a power of two:
 * 64 MB for ResNet18's 47 MB) - what decides whether a model loads on the
 * 64 MB board.  Returns 0 when the file cannot be mapped (not a regular file,
 * empty, ...): the caller reads it instead, with its error messages. */
static int map_file(const char *path, void **data, size_t *len)
{
    void *p;
    off_t size;
    int fd;
    if (!path) return 0;
    fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    /* the size by lseek, not fstat: 32-bit musl 1.2 redirects fstat to
     * __fstat_time64, which the board's musl 1.1 lacks (a pipe or a
     * directory fails here or in mmap and is read instead) */
    size = lseek(fd, 0, SEEK_END);
    if (size <= 0 || (unsigned long long)size > (unsigned long long)SIZE_MAX) {
        close(fd);
        return 0;
    }
    p = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return 0;
    *data = p;
    *len = (size_t)size;
    return 1;
}
#endif

int mxn_net_load_bin(mxn_net *net, const char *path)
{
    unsigned char *data;
    size_t len;
    int rc;
    if (!net) return MXN_ERR_PARAM;
    if (!net->param_loaded) return mxn_error_set(&net->err, MXN_ERR_NOT_READY, "load the .param before the .bin");
#if defined(__unix__) || defined(__APPLE__)
    {
        void *mapped;
        if (map_file(path, &mapped, &len)) {
            rc = mxn_net_load_bin_mem(net, mapped, len);
            munmap(mapped, len);
            if (rc) mxn_error_prefix(&net->err, "%s: ", path);
            return rc;
        }
    }
#endif
    rc = read_file(path, &data, &len, &net->err);
    if (rc) return rc;
    rc = mxn_net_load_bin_mem(net, data, len);
    free(data);
    if (rc) mxn_error_prefix(&net->err, "%s: ", path);
    return rc;
}

/* ---------------------------------------------------------------- queries */

static const mxn_layer *layer_at(const mxn_net *net, int i)
{
    if (!net || i < 0 || i >= net->layer_count || !net->layers) return NULL;
    return &net->layers[i];
}

int mxn_net_layer_count(const mxn_net *net) { return net && net->param_loaded ? net->layer_count : 0; }

const char *mxn_net_layer_type(const mxn_net *net, int layer)
{
    const mxn_layer *l = layer_at(net, layer);
    return l ? l->type : NULL;
}

const char *mxn_net_layer_name(const mxn_net *net, int layer)
{
    const mxn_layer *l = layer_at(net, layer);
    return l ? l->name : NULL;
}

long mxn_net_layer_weight_count(const mxn_net *net, int layer)
{
    const mxn_layer *l = layer_at(net, layer);
    return l ? l->weight_count : -1;
}

int mxn_net_layer_bottom_count(const mxn_net *net, int layer)
{
    const mxn_layer *l = layer_at(net, layer);
    return l ? l->bottom_count : -1;
}

int mxn_net_layer_bottom(const mxn_net *net, int layer, int i)
{
    const mxn_layer *l = layer_at(net, layer);
    return l && i >= 0 && i < l->bottom_count ? l->bottoms[i] : -1;
}

int mxn_net_layer_top_count(const mxn_net *net, int layer)
{
    const mxn_layer *l = layer_at(net, layer);
    return l ? l->top_count : -1;
}

int mxn_net_layer_top(const mxn_net *net, int layer, int i)
{
    const mxn_layer *l = layer_at(net, layer);
    return l && i >= 0 && i < l->top_count ? l->tops[i] : -1;
}

int mxn_net_blob_count(const mxn_net *net) { return net && net->param_loaded ? net->blob_count : 0; }

const char *mxn_net_blob_name(const mxn_net *net, int blob)
{
    if (!net || !net->param_loaded || blob < 0 || blob >= net->blob_count) return NULL;
    return net->blob_names[blob];
}

int mxn_net_find_blob(const mxn_net *net, const char *name)
{
    if (!net || !net->param_loaded || !name) return -1;
    return find_blob(net, name, net->blob_count);
}

int mxn_net_input_count(const mxn_net *net) { return net && net->param_loaded ? net->input_count : 0; }

int mxn_net_input_blob(const mxn_net *net, int i)
{
    if (!net || !net->param_loaded || i < 0 || i >= net->input_count) return -1;
    return net->input_blobs[i];
}

int mxn_net_output_count(const mxn_net *net) { return net && net->param_loaded ? net->output_count : 0; }

int mxn_net_output_blob(const mxn_net *net, int i)
{
    if (!net || !net->param_loaded || i < 0 || i >= net->output_count) return -1;
    return net->output_blobs[i];
}

int mxn_net_input_shape(const mxn_net *net, int i, int *w, int *h, int *c)
{
    if (!net || !net->param_loaded || i < 0 || i >= net->input_count) return MXN_ERR_PARAM;
    if (w) *w = net->input_shapes[i][0];
    if (h) *h = net->input_shapes[i][1];
    if (c) *c = net->input_shapes[i][2];
    return MXN_OK;
}
