/* strv: NULL-terminated vectors of strings, grown one formatted line at a
 * time (board reasons and actions, plan steps, configuration differences). */
#pragma once

#include <stddef.h>

#include "macro.h"

typedef struct Strv {
        char **v;   /* NULL-terminated once anything was added; NULL before */
        size_t n;
} Strv;

/* Appends a line.  Returns 0, or -ENOMEM (the vector is unchanged). */
int strv_addf(Strv *l, const char *fmt, ...) _printf_(2, 3);

/* Appends a line unless an equal one is there.  Returns 1 (added), 0
 * (already there) or -ENOMEM. */
int strv_addf_unique(Strv *l, const char *fmt, ...) _printf_(2, 3);

/* Hands the vector over (an empty one is { NULL }) and empties @l.
 * Returns NULL on ENOMEM only. */
char **strv_take(Strv *l);

/* Frees the lines and the vector and empties @l (for _cleanup_). */
void strv_done(Strv *l);

/* Frees a NULL-terminated vector; returns NULL. */
char **strv_free(char **v);
