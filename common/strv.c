/* strv: see strv.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"

static int strv_vaddf(Strv *l, bool unique, const char *fmt, va_list ap) {
        char *s, **nv;

        if (vasprintf(&s, fmt, ap) < 0)
                return -ENOMEM;
        for (size_t i = 0; unique && i < l->n; i++)
                if (strcmp(l->v[i], s) == 0) {
                        free(s);
                        return 0;
                }
        nv = realloc(l->v, (l->n + 2) * sizeof *nv);
        if (!nv) {
                free(s);
                return -ENOMEM;
        }
        l->v = nv;
        l->v[l->n++] = s;
        l->v[l->n] = NULL;
        return 1;
}

int strv_addf(Strv *l, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = strv_vaddf(l, false, fmt, ap);
        va_end(ap);
        return r < 0 ? r : 0;
}

int strv_addf_unique(Strv *l, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = strv_vaddf(l, true, fmt, ap);
        va_end(ap);
        return r;
}

char **strv_take(Strv *l) {
        char **v = l->v ? l->v : calloc(1, sizeof(char *));

        *l = (Strv) {};
        return v;
}

void strv_done(Strv *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i]);
        free(l->v);
        *l = (Strv) {};
}

char **strv_free(char **v) {
        for (char **p = v; p && *p; p++)
                free(*p);
        free(v);
        return NULL;
}
