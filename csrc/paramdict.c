/* Parsing of the `id=value` / `-233NN=n,v,...` tokens of a .param layer line.
 *
 * ncnn semantics kept on purpose:
 *  - a value is a float iff its text contains '.', 'e' or 'E'; otherwise an int;
 *  - ncnn keeps the scalar in a union of int and float, so reading a float
 *    parameter as int (or the other way round) gives the reinterpreted bits;
 *    mxn_param stores i and f as the same 32 bits to behave identically;
 *  - the float conversion follows ncnn's own digit-by-digit algorithm (double
 *    accumulation, then one rounding to float) so every value is bit-identical.
 * Stricter than ncnn: a token ncnn would read differently from its text (more
 * than 15 characters, trailing garbage, digit counts that overflow ncnn's
 * 32-bit accumulators, out-of-range ints) is an error naming the layer line. */
#include <errno.h>
#include <limits.h>
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

/* Same arithmetic as ncnn's text-to-float conversion; returns -1 on text it
 * would not read the way it is written. */
static int parse_float_text(const char *s, float *out)
{
    const char *p = s;
    int negative = 0, digits = 0;
    double v;
    unsigned long long ipart = 0;
    if (*p == '+' || *p == '-') {
        negative = (*p == '-');
        p++;
    }
    while (is_digit(*p)) {
        ipart = ipart * 10u + (unsigned)(*p - '0');
        if (ipart > 0xFFFFFFFFull) return -1; /* ncnn's uint32 accumulator would wrap */
        digits++;
        p++;
    }
    v = (double)ipart;
    if (*p == '.') {
        unsigned long long frac = 0, pow10 = 1;
        p++;
        while (is_digit(*p)) {
            frac = frac * 10u + (unsigned)(*p - '0');
            pow10 *= 10u;
            if (pow10 > 0xFFFFFFFFull) return -1; /* > 9 decimals: ncnn's uint32 would wrap */
            digits++;
            p++;
        }
        v += (double)frac / (double)pow10;
    }
    if (!digits) return -1;
    if (*p == 'e' || *p == 'E') {
        int positive = 1, edigits = 0;
        unsigned expon = 0;
        double scale = 1.0;
        p++;
        if (*p == '+' || *p == '-') {
            positive = (*p != '-');
            p++;
        }
        while (is_digit(*p)) {
            if (expon < 100000u) expon = expon * 10u + (unsigned)(*p - '0');
            edigits++;
            p++;
        }
        if (!edigits) return -1;
        if (expon > 400u) expon = 400u; /* beyond that the scale is inf either way */
        while (expon >= 8u) {
            scale *= 1e8;
            expon -= 8u;
        }
        while (expon > 0u) {
            scale *= 10.0;
            expon -= 1u;
        }
        v = positive ? v * scale : v / scale;
    }
    if (*p != '\0') return -1;
    *out = negative ? (float)-v : (float)v;
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
        memcpy(fval, &i, sizeof(i));
        *is_float = 0;
    }
    return MXN_OK;
}

static int parse_token(mxn_paramdict *pd, const char *tok, const char *where, mxn_error *err)
{
    const char *eq = strchr(tok, '=');
    char idbuf[16];
    size_t idlen;
    int id, is_array = 0, is_float, rc;
    mxn_param *p;

    if (!eq || eq == tok)
        return mxn_error_set(err, MXN_ERR_FORMAT, "%s: parameter '%.60s' is not id=value", where, tok);
    idlen = (size_t)(eq - tok);
    if (idlen >= sizeof(idbuf) || parse_int_text((memcpy(idbuf, tok, idlen), idbuf[idlen] = '\0', idbuf), &id))
        return mxn_error_set(err, MXN_ERR_FORMAT, "%s: bad parameter id in '%.60s'", where, tok);
    if (id <= -23300) {
        is_array = 1;
        id = -id - 23300;
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
        p->f = fv;
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
    if (pd->p[id].type == MXN_PARAM_INT || pd->p[id].type == MXN_PARAM_FLOAT) return pd->p[id].i;
    return def;
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
