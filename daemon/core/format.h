/* A text formatted from the calling function's own printf-like arguments
 * (core, update and the adapters each had the va_start/vasprintf/va_end
 * lines). */
#pragma once

#include <stdarg.h>
#include <stdio.h>

/* In a function `f(…, const char *fmt, ...)`: ret = a new string (free()
 * it) formatted from fmt and the arguments after it, or NULL when out of
 * memory.  ret is an lvalue of type char *. */
#define FORMAT_ARGS(ret, fmt)                                   \
        do {                                                    \
                va_list _fa_ap;                                 \
                va_start(_fa_ap, fmt);                          \
                if (vasprintf(&(ret), (fmt), _fa_ap) < 0)       \
                        (ret) = NULL;                           \
                va_end(_fa_ap);                                 \
        } while (0)
