/* libmaix_mud_load_model: a model from a libmaix .mud (INI) description.
 * Errors return NULL with the reason (stderr, or the caller's buffer through
 * maixnn_mud_load_model); nothing exits, nothing half-loaded is returned. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maixnn_libmaix.h"
#include "mud.h"

#define MUD_MAX_IO 255    /* opt_param's input_num / output_num are uint8_t */
#define MUD_LINE 1024

typedef struct {
    char *type, *param, *bin;
    char *inputs[MUD_MAX_IO], *outputs[MUD_MAX_IO];
    int input_num, output_num;
    float mean[3], norm[3];
    int have_norm;
} mud_desc;

static void mud_free(mud_desc *d)
{
    int i;
    free(d->type);
    free(d->param);
    free(d->bin);
    for (i = 0; i < d->input_num; i++) free(d->inputs[i]);
    for (i = 0; i < d->output_num; i++) free(d->outputs[i]);
    memset(d, 0, sizeof(*d));
}

static int say(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static char *trim(char *s)
{
    char *e;
    while (isspace((unsigned char)*s)) s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

static char *dup_text(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = (char *)malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

/* comma-separated numbers -> values (at most `max`); the count, or -1 */
static int numbers(const char *text, float *values, int max)
{
    int n = 0;
    const char *p = text;
    for (;;) {
        char *end;
        double v;
        while (isspace((unsigned char)*p)) p++;
        if (!*p) return n;
        errno = 0;
        v = strtod(p, &end);
        if (end == p || errno == ERANGE || n >= max) return -1;
        values[n++] = (float)v;
        p = end;
        while (isspace((unsigned char)*p)) p++;
        if (*p == ',') p++;
        else if (*p) return -1;
    }
}

/* a path from the .mud: relative ones are relative to the .mud's folder */
static char *resolve(const char *mud_path, const char *value)
{
    const char *slash = strrchr(mud_path, '/');
    size_t dir = slash ? (size_t)(slash - mud_path) + 1 : 0;
    char *p;
    if (value[0] == '/' || dir == 0) return dup_text(value);
    p = (char *)malloc(dir + strlen(value) + 1);
    if (!p) return NULL;
    memcpy(p, mud_path, dir);
    strcpy(p + dir, value);
    return p;
}

static int parse(const char *path, mud_desc *d, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char line[MUD_LINE];
    char section[32] = "";
    int lineno = 0;
    if (!f) return say(err, errlen, "cannot open the .mud file %s: %s", path, strerror(errno));
    while (fgets(line, sizeof(line), f)) {
        char *s, *eq, *key, *value;
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            fclose(f);
            return say(err, errlen, "%s:%d: line longer than %d characters", path, lineno, MUD_LINE - 2);
        }
        s = trim(line);
        if (!*s || *s == ';' || *s == '#') continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (!close || close[1] || (size_t)(close - s - 1) >= sizeof(section)) {
                fclose(f);
                return say(err, errlen, "%s:%d: bad section header %s", path, lineno, s);
            }
            *close = '\0';
            snprintf(section, sizeof(section), "%s", trim(s + 1));
            continue;
        }
        eq = strchr(s, '=');
        if (!eq) {
            fclose(f);
            return say(err, errlen, "%s:%d: expected key = value, got %s", path, lineno, s);
        }
        *eq = '\0';
        key = trim(s);
        value = trim(eq + 1);
        if (strcmp(section, "basic") == 0) {
            char **slot = strcmp(key, "type") == 0 ? &d->type : strcmp(key, "param") == 0 ? &d->param
                        : strcmp(key, "bin") == 0 ? &d->bin : NULL;
            if (slot) {
                free(*slot);
                *slot = strcmp(key, "type") == 0 ? dup_text(value) : resolve(path, value);
                if (!*slot) {
                    fclose(f);
                    return say(err, errlen, "out of memory");
                }
            }
        } else if (strcmp(section, "inputs") == 0 || strcmp(section, "outputs") == 0) {
            int is_input = section[0] == 'i';
            float v[9];
            int n = numbers(value, v, 9);
            if (n < 3) {
                fclose(f);
                return say(err, errlen, "%s:%d: [%s] %s = %s: expected h,w,c%s", path, lineno, section, key, value,
                           is_input ? "[,means...,norms...]" : "");
            }
            if (is_input && d->input_num == 0) {
                int c = (int)v[2], k;
                if (n == 5) {
                    for (k = 0; k < 3; k++) {
                        d->mean[k] = v[3];
                        d->norm[k] = v[4];
                    }
                    d->have_norm = 1;
                } else if (n == 3 + 2 * c && c <= 3 && c >= 1) {
                    for (k = 0; k < 3; k++) {
                        d->mean[k] = v[3 + (k < c ? k : 0)];
                        d->norm[k] = v[3 + c + (k < c ? k : 0)];
                    }
                    d->have_norm = 1;
                } else if (n != 3) {
                    fclose(f);
                    return say(err, errlen, "%s:%d: [inputs] %s = %s: after h,w,c expected 1 or %d means then as "
                               "many norms", path, lineno, key, value, c);
                }
            }
            if ((is_input ? d->input_num : d->output_num) >= MUD_MAX_IO) {
                fclose(f);
                return say(err, errlen, "%s:%d: more than %d [%s]", path, lineno, MUD_MAX_IO, section);
            }
            if (is_input) d->inputs[d->input_num++] = dup_text(key);
            else d->outputs[d->output_num++] = dup_text(key);
            if (!(is_input ? d->inputs[d->input_num - 1] : d->outputs[d->output_num - 1])) {
                fclose(f);
                return say(err, errlen, "out of memory");
            }
        }
    }
    if (ferror(f)) {
        fclose(f);
        return say(err, errlen, "cannot read the .mud file %s", path);
    }
    fclose(f);
    if (!d->type || strcmp(d->type, "awnn") != 0)
        return say(err, errlen, "%s: [basic] type = %s: only awnn models are supported", path,
                   d->type ? d->type : "(missing)");
    if (!d->param || !d->bin) return say(err, errlen, "%s: [basic] needs param = <file> and bin = <file>", path);
    if (!d->input_num || !d->output_num)
        return say(err, errlen, "%s: [inputs] and [outputs] must each name at least one blob", path);
    return 0;
}

libmaix_nn_t *maixnn_mud_load_model(const char *mud_path, char *err, size_t errlen)
{
    mud_desc d;
    libmaix_nn_t *nn;
    libmaix_nn_model_path_t path;
    libmaix_nn_opt_param_t opt;
    libmaix_err_t rc;
    int k;
    if (err && errlen) err[0] = '\0';
    if (!mud_path) {
        say(err, errlen, "libmaix_mud_load_model: NULL path");
        return NULL;
    }
    memset(&d, 0, sizeof(d));
    if (parse(mud_path, &d, err, errlen)) {
        mud_free(&d);
        return NULL;
    }
    nn = libmaix_nn_create();
    if (!nn) {
        say(err, errlen, "out of memory");
        mud_free(&d);
        return NULL;
    }
    memset(&path, 0, sizeof(path));
    memset(&opt, 0, sizeof(opt));
    path.awnn.param_path = d.param;
    path.awnn.bin_path = d.bin;
    opt.awnn.input_names = d.inputs;
    opt.awnn.output_names = d.outputs;
    opt.awnn.input_num = (uint8_t)d.input_num;
    opt.awnn.output_num = (uint8_t)d.output_num;
    for (k = 0; k < 3; k++) {
        opt.awnn.mean[k] = d.have_norm ? d.mean[k] : 127.5f;
        opt.awnn.norm[k] = d.have_norm ? d.norm[k] : 0.0078125f;
    }
    if ((rc = nn->init(nn)) != LIBMAIX_ERR_NONE || (rc = nn->load(nn, &path, &opt)) != LIBMAIX_ERR_NONE) {
        say(err, errlen, "%s: %s", mud_path, maixnn_libmaix_error(nn));
        libmaix_nn_destroy(&nn);
    }
    mud_free(&d);
    return nn;
}

libmaix_nn_t *libmaix_mud_load_model(char *mud_path)
{
    char err[768];
    libmaix_nn_t *nn = maixnn_mud_load_model(mud_path, err, sizeof(err));
    if (!nn) fprintf(stderr, "libmaix_mud_load_model: %s\n", err);
    return nn;
}
