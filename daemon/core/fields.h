/* The field tables: each object's fields listed once.
 *
 * A Field names one property of an object (a Controller, the Manager):
 * its D-Bus name (CamelCase), its D-Bus type, the dirty bits after which it
 * may have changed, flags, and a getter.  The D-Bus adapter builds its
 * properties, their getters and PropertiesChanged from the table; the JSON
 * snapshot (render.h) is the same table with each name in snake_case
 * (field_snake(): "BusOffCount" <-> "bus_off_count"), so the two adapters
 * cannot drift apart.  Adding a field to an object is one row here.
 *
 * PURE: no sd-bus, libevent or jansson. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest D-Bus/JSON name, with its NUL. */
#define FIELD_NAME_MAX 64

typedef union FieldValue {
        uint64_t u;          /* y u t */
        int64_t x;           /* x */
        double d;            /* d */
        bool b;              /* b */
        const char *s;       /* s o */
        char *const *strv;   /* as ao (NULL-terminated; NULL = empty) */
} FieldValue;

typedef enum FieldFlags {
        FIELD_CONST = 1u << 0,        /* never changes while the object exists */
        FIELD_INVALIDATES = 1u << 1,  /* fast telemetry: PropertiesChanged names it without its value */
        FIELD_ON_REQUEST = 1u << 2,   /* counters: no change signal; read when asked */
        FIELD_OPTIONAL = 1u << 3,     /* the JSON snapshot omits it while the getter says absent */
        FIELD_OWNED_STRV = 1u << 4,   /* as/ao: the getter allocates the strv; the renderer frees it */
} FieldFlags;

typedef struct Field {
        const char *name;   /* D-Bus name ("FirmwareVersion"); JSON: field_snake() of it */
        const char *type;   /* D-Bus signature: y b u t x d s o as ao */
        uint64_t dirty;     /* the object's dirty bits after which it may have changed */
        unsigned flags;     /* FieldFlags */
        /* Reads the field of the object.  Returns false when it is absent
         * (never received): D-Bus then shows *ret as set (zero), JSON omits
         * FIELD_OPTIONAL fields. */
        bool (*get)(const void *object, FieldValue *ret);
} Field;

typedef struct FieldTable {
        const char *object;  /* "Controller", "Manager" */
        const Field *fields;
        size_t n;
} FieldTable;

/* A table over an array of Fields: FIELD_TABLE("Manager", manager_fields). */
#define FIELD_TABLE(obj, array) { .object = (obj), .fields = (array), .n = sizeof(array) / sizeof((array)[0]) }

/* A getter that is one expression of the object `o` (cast it with the
 * file's own macro), always present: FIELD_GETTER(get_id, u, CTL(o)->id). */
#define FIELD_GETTER(fn, member, expr)                                 \
        static bool fn(const void *o, FieldValue *ret) {               \
                ret->member = (expr);                                  \
                return true;                                           \
        }

/* The Controller's fields (object: const Controller *), in D-Bus order. */
extern const FieldTable controller_field_table;

/* The Manager's fields (object: Daemon *); dirty bits: DAEMON_CHANGED_*
 * (core/daemon.h).  Not pure: lives in fields-manager.c with the daemon. */
extern const FieldTable manager_field_table;

/* "BusOffCount" -> "bus_off_count" (the one CamelCase -> snake_case rule;
 * already snake_case names stay as they are).  Truncates to size. */
void field_snake(const char *camel, char *out, size_t size);
/* "bus_off_count" -> "BusOffCount" (the inverse on snake_case names). */
void field_camel(const char *snake, char *out, size_t size);

/* The field named (D-Bus or JSON name), or NULL. */
const Field *field_table_find(const FieldTable *t, const char *name);
/* The names (D-Bus) of the fields whose dirty bits meet mask and that emit a
 * change signal (not FIELD_CONST/FIELD_ON_REQUEST), into names[0..max-1],
 * NULL-terminated.  Returns how many. */
size_t field_table_changed(const FieldTable *t, uint64_t mask, const char **names, size_t max);
/* Frees a FIELD_OWNED_STRV value. */
void field_value_done(const Field *f, FieldValue *v);
