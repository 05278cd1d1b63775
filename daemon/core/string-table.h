/* Name tables of enums: one lookup in both directions for every
 * `static const char *const foo_table[_FOO_MAX]` (STYLE.md: enums get
 * foo_to_string()/foo_from_string()). */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <string.h>

/* The index of @s in @table (n entries, NULL entries never match), or
 * -EINVAL for NULL or a name not in it. */
static inline int string_table_lookup(const char *const *table, size_t n, const char *s) {
        for (size_t i = 0; s && i < n; i++)
                if (table[i] && strcmp(table[i], s) == 0)
                        return (int) i;
        return -EINVAL;
}

/* Defines name##_to_string(type) (NULL out of range) and
 * name##_from_string(const char *) (the value, or (type) -EINVAL, the
 * enum's _INVALID, for NULL or an unknown name) over @table of @max
 * entries. */
#define DEFINE_STRING_TABLE_LOOKUP(name, type, table, max)                          \
        const char *name##_to_string(type v) {                                      \
                return (unsigned) v < (unsigned) (max) ? (table)[v] : NULL;         \
        }                                                                           \
        type name##_from_string(const char *s) {                                    \
                return (type) string_table_lookup((table), (max), s);               \
        }
