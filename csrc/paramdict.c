/* Parsing of the `id=value` / `-233NN=n,v,...` tokens of a .param layer line.
 *
 * ncnn semantics kept on purpose (checked against the ncnn wheel):
 *  - a value is a float iff its text contains '.', 'e' or 'E'; otherwise an int;
 *  - reading an int parameter as float converts it (0=2 gives 2.0f); reading a
 *    float parameter as int gives the default, as if it were absent;
 *  - an array takes the type of its LAST element and keeps every element's raw
 *    32 bits: read as floats, an int array converts each element, a float array
 *    reinterprets the bits (so a mixed "1,2.0" reads 1 as the float 1.4e-45);
 *    read as ints (mxn_pd_int_array) the raw bits are returned;
 *  - values are parsed strictly: trailing garbage, ints outside int32 and
 *    floats outside float range are refused (as the wheel does).
 * Stricter than ncnn: a token longer than the 15 characters ncnn reads is an
 * error naming the layer line (ncnn would split it silently). */
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "mxn_core.h"

#define MXN_MAX_TOKEN_CHARS 15

void mxn_paramdict_init(mxn_paramdict *pd)
{
    memset(pd, 0, sizeof(*pd));
}

static void param_clear(mxn_param *p)
{
    free(p->ia);
    free(p->fa);
    memset(p, 0, sizeof(*p));
}

void mxn_paramdict_free(mxn_paramdict *pd)
{
    int i;
    if (!pd) return;
    for (i = 0; i < MXN_MAX_PARAM_ID; i++) param_clear(&pd->p[i]);
}

static int is_digit(char ch) { return ch >= '0' && ch <= '9'; }

static int text_is_float(const char *s)
{
    for (; *s; s++)
        if (*s == '.' || *s == 'e' || *s == 'E') return 1;
    return 0;
}

static int parse_int_text(const char *s, int *out)
{
    char *end;
    long v;
    if (!*s) return -1;
    if (!(is_digit(*s) || ((*s == '-' || *s == '+') && is_digit(s[1])))) return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end != '\0' || v < INT_MIN || v > INT_MAX) return -1;
    *out = (int)v;
    return 0;
}

/* Strict decimal float syntax, [+-]digits[.digits][(e|E)[+-]digits] (".5" and
 * "3." too), converted with correct rounding like the ncnn wheel's reader
 * (checked: 10+ decimals, 1e-50 -> 0, 1e39 refused, trailing garbage refused). */
static int parse_float_text(const char *s, float *out)
{
    const char *p = s;
    char buf[64];
    size_t k, n;
    const char *point;
    double v;
    int digits = 0;
    if (*p == '+' || *p == '-') p++;
    while (is_digit(*p)) { p++; digits++; }
    if (*p == '.') {
        p++;
        while (is_digit(*p)) { p++; digits++; }
    }
    if (!digits) return -1;
    if (*p == 'e' || *p == 'E') {
        int edigits = 0;
        p++;
        if (*p == '+' || *p == '-') p++;
        while (is_digit(*p)) { p++; edigits++; }
        if (!edigits) return -1;
    }
    if (*p != '\0') return -1;
    /* strtod reads the locale's decimal point: hand it that character */
    n = strlen(s);
    if (n >= sizeof(buf)) return -1;
    point = localeconv()->decimal_point;
    for (k = 0; k < n; k++) buf[k] = (s[k] == '.' && point && point[0]) ? point[0] : s[k];
    buf[n] = '\0';
    v = strtod(buf, NULL);
    *out = (float)v;
    if (!isfinite(*out)) return -1;
    return 0;
}

/* one value token -> the shared 32 bits of ncnn's int/float union */
static int parse_value(const char *text, size_t len, int *ival, float *fval, int *is_float,
                       const char *where, const char *token, mxn_error *err)
{
    char buf[MXN_MAX_TOKEN_CHARS + 1];
    if (len == 0)
        return mxn_error_set(err, MXN_ERR_FORMAT, "%s: parameter '%s' has an empty value", where, token);
    if (len > MXN_MAX_TOKEN_CHARS)
        return mxn_error_set(err, MXN_ERR_FORMAT,
                             "%s: value '%.*s' in parameter '%.40s' is %zu characters long; ncnn reads at most %d",
                             where, (int)(len > 40 ? 40 : len), text, token, len, MXN_MAX_TOKEN_CHARS);
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (text_is_float(buf)) {
        float f;
        if (parse_float_text(buf, &f))
            return mxn_error_set(err, MXN_ERR_FORMAT, "%s: bad float value '%s' in parameter '%.40s'",
                                 where, buf, token);
        *fval = f;
        memcpy(ival, &f, sizeof(f));
        *is_float = 1;
    } else {
        int i;
        if (parse_int_text(buf, &i))
            return mxn_error_set(err, MXN_ERR_FORMAT, "%s: bad integer value '%s' in parameter '%.40s'",
                                 where, buf, token);
        *ival = i;
        memcpy(fval, &i, sizeof(i)); /* raw bits; callers decide how to read them */
        *is_float = 0;
    }
    return MXN_OK;
}

static int parse_token(mxn_paramdict *pd, const char *tok, const char *where, mxn_error *err)
{
    const char *eq = strchr(tok, '=');
    char idbuf[16];
    size_t idlen;
    int id, is_array = 0, is_float = 0, rc;
    mxn_param *p;

    if (!eq || eq == tok)
        return mxn_error_set(err, MXN_ERR_FORMAT, "%s: parameter '%.60s' is not id=value", where, tok);
    idlen = (size_t)(eq - tok);
    if (idlen >= sizeof(idbuf))
        return mxn_error_set(err, MXN_ERR_FORMAT, "%s: bad parameter id in '%.60s'", where, tok);
    memcpy(idbuf, tok, idlen);
    idbuf[idlen] = '\0';
    if (parse_int_text(idbuf, &id))
        return mxn_error_set(err, MXN_ERR_FORMAT, "%s: bad parameter id in '%.60s'", where, tok);
    if (id <= -23300) {
        is_array = 1;
        id = -(id + 23300); /* not -id - 23300: -INT_MIN overflows (found by fuzz_param) */
    }
    if (id < 0 || id >= MXN_MAX_PARAM_ID)
        return mxn_error_set(err, MXN_ERR_FORMAT, "%s: parameter id %d in '%.60s' is outside 0..%d",
                             where, id, tok, MXN_MAX_PARAM_ID - 1);
    p = &pd->p[id];
    param_clear(p);

    if (!is_array) {
        int iv;
        float fv;
        rc = parse_value(eq + 1, strlen(eq + 1), &iv, &fv, &is_float, where, tok, err);
        if (rc) return rc;
        p->type = is_float ? MXN_PARAM_FLOAT : MXN_PARAM_INT;
        p->i = iv;
        p->f = is_float ? fv : (float)iv;
        return MXN_OK;
    } else {
        const char *s = eq + 1;
        const char *comma = strchr(s, ',');
        size_t lenlen = comma ? (size_t)(comma - s) : strlen(s);
        char lenbuf[16];
        int n, j;
        if (lenlen == 0 || lenlen >= sizeof(lenbuf))
            return mxn_error_set(err, MXN_ERR_FORMAT, "%s: bad array length in '%.60s'", where, tok);
        memcpy(lenbuf, s, lenlen);
        lenbuf[lenlen] = '\0';
        if (parse_int_text(lenbuf, &n) || n < 0)
            return mxn_error_set(err, MXN_ERR_FORMAT, "%s: bad array length in '%.60s'", where, tok);
        /* every element needs at least 2 characters (",v"), so the token length bounds n */
        if ((size_t)n > strlen(s) / 2 + 1)
            return mxn_error_set(err, MXN_ERR_FORMAT, "%s: array '%.60s' declares %d values but has fewer",
                                 where, tok, n);
        p->type = MXN_PARAM_ARRAY;
        p->n = n;
        if (n > 0) {
            p->ia = (int *)malloc((size_t)n * sizeof(int));
            p->fa = (float *)malloc((size_t)n * sizeof(float));
            if (!p->ia || !p->fa) {
                param_clear(p);
                return mxn_error_set(err, MXN_ERR_NO_MEM, "%s: out of memory for array parameter %d", where, id);
            }
        }
        s += lenlen;
        for (j = 0; j < n; j++) {
            const char *v;
            size_t vlen;
            if (*s != ',') {
                param_clear(p);
                return mxn_error_set(err, MXN_ERR_FORMAT, "%s: array '%.60s' declares %d values, has %d",
                                     where, tok, n, j);
            }
            v = s + 1;
            vlen = strcspn(v, ",");
            rc = parse_value(v, vlen, &p->ia[j], &p->fa[j], &is_float, where, tok, err);
            if (rc) {
                param_clear(p);
                return rc;
            }
            s = v + vlen;
        }
        if (*s != '\0') {
            param_clear(p);
            return mxn_error_set(err, MXN_ERR_FORMAT, "%s: array '%.60s' has more values than the %d it declares",
                                 where, tok, n);
        }
        /* ia holds every element's raw bits; fa the floats ncnn reads: an
         * array whose last element is an int converts, a float array
         * reinterprets */
        if (n > 0 && !is_float)
            for (j = 0; j < n; j++) p->fa[j] = (float)p->ia[j];
        return MXN_OK;
    }
}

int mxn_paramdict_parse(mxn_paramdict *pd, const char *const *tokens, int ntokens,
                        const char *where, mxn_error *err)
{
    int k, rc;
    for (k = 0; k < ntokens; k++) {
        rc = parse_token(pd, tokens[k], where ? where : "param", err);
        if (rc) return rc;
    }
    return MXN_OK;
}

int mxn_pd_has(const mxn_paramdict *pd, int id)
{
    return id >= 0 && id < MXN_MAX_PARAM_ID && pd->p[id].type != MXN_PARAM_NONE;
}

int mxn_pd_int(const mxn_paramdict *pd, int id, int def)
{
    if (id < 0 || id >= MXN_MAX_PARAM_ID) return def;
    if (pd->p[id].type == MXN_PARAM_INT) return pd->p[id].i;
    return def; /* a float token in an int slot is ignored, as in ncnn */
}

float mxn_pd_float(const mxn_paramdict *pd, int id, float def)
{
    if (id < 0 || id >= MXN_MAX_PARAM_ID) return def;
    if (pd->p[id].type == MXN_PARAM_INT || pd->p[id].type == MXN_PARAM_FLOAT) return pd->p[id].f;
    return def;
}

int mxn_pd_float_array(const mxn_paramdict *pd, int id, const float **values)
{
    *values = NULL;
    if (id < 0 || id >= MXN_MAX_PARAM_ID || pd->p[id].type != MXN_PARAM_ARRAY) return 0;
    *values = pd->p[id].fa;
    return pd->p[id].n;
}

int mxn_pd_int_array(const mxn_paramdict *pd, int id, const int **values)
{
    *values = NULL;
    if (id < 0 || id >= MXN_MAX_PARAM_ID || pd->p[id].type != MXN_PARAM_ARRAY) return 0;
    *values = pd->p[id].ia;
    return pd->p[id].n;
}
