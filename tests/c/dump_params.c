/* dump_params: every layer's parameters of a .param file, read through the C
 * loader's own parser (csrc/paramdict.c), so tests/test_param_readers.py can
 * check that Python's Layer.int_param / float_param / float_array read every
 * value exactly as the engine does.
 *
 *   dump_params model.param
 *
 * Output, one line per layer that has parameters, then one per parameter:
 *   L <layer index>
 *   P <id> <int as read with default -777> <float as read with default -777, %a>
 *     <array length> <array floats as read, %a ...>
 * Built by the test straight from paramdict.c + error.c (no library needed).
 * Exit 1 with the parser's message on a malformed line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mxn_core.h"

#define MAX_TOKENS 4096
#define LINE_MAX_BYTES (1 << 20)

static int split(char *line, char **tok)
{
    int n = 0;
    char *s = strtok(line, " \t\r\n\v\f");
    while (s && n < MAX_TOKENS) {
        tok[n++] = s;
        s = strtok(NULL, " \t\r\n\v\f");
    }
    return n;
}

int main(int argc, char **argv)
{
    FILE *f;
    char *line;
    char **tok;
    int lineno = 0, layer = -1, rc = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: dump_params model.param\n");
        return 2;
    }
    f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    line = malloc(LINE_MAX_BYTES);
    tok = malloc(sizeof(char *) * MAX_TOKENS);
    if (!line || !tok) {
        fclose(f);
        free(line);
        free(tok);
        return 2;
    }
    while (fgets(line, LINE_MAX_BYTES, f)) {
        int n, nb, nt, first, id;
        mxn_paramdict pd;
        mxn_error err;
        lineno++;
        if (strlen(line) + 1 < LINE_MAX_BYTES && !strchr(line, '\n') && !feof(f)) {
            /* fgets stopped early: a NUL byte inside the line (the loader refuses those) */
            fprintf(stderr, "line %d: NUL byte\n", lineno);
            rc = 1;
            break;
        }
        n = split(line, tok);
        if (lineno <= 2 || n < 4) continue; /* magic, counts, blank lines */
        layer++;
        nb = atoi(tok[2]);
        nt = atoi(tok[3]);
        first = 4 + nb + nt;
        if (nb < 0 || nt < 0 || first > n) continue;
        memset(&err, 0, sizeof err);
        mxn_paramdict_init(&pd);
        if (mxn_paramdict_parse(&pd, (const char *const *)(tok + first), n - first, "line", &err)) {
            fprintf(stderr, "line %d: %s\n", lineno, err.msg);
            mxn_paramdict_free(&pd);
            rc = 1;
            break;
        }
        printf("L %d\n", layer);
        for (id = 0; id < MXN_MAX_PARAM_ID; id++) {
            const float *fa;
            int k, count;
            if (!mxn_pd_has(&pd, id)) continue;
            count = mxn_pd_float_array(&pd, id, &fa);
            printf("P %d %d %a %d", id, mxn_pd_int(&pd, id, -777), (double)mxn_pd_float(&pd, id, -777.0f), count);
            for (k = 0; k < count; k++) printf(" %a", (double)fa[k]);
            printf("\n");
        }
        mxn_paramdict_free(&pd);
    }
    fclose(f);
    free(line);
    free(tok);
    return rc;
}
