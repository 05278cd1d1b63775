/* The method table: each method of vescd listed once.
 *
 * A Method row names one call a client can make: its D-Bus interface and
 * member with the in/out signatures and argument names (the D-Bus adapter
 * builds its vtables from them), its JSON socket name with the named
 * parameters, their types and ranges (the JSON adapter validates requests
 * against them), who may call it (anyone, admin, root: both adapters check
 * it before the handler runs, with the same outcome) and the errors it may
 * answer with besides the common ones.  A method that exists on one adapter
 * only leaves the other's name NULL.  Adding a method is one row here plus
 * one handler per adapter; tests/unit/docs/test-docs-sync.py walks the
 * table against the dbus/ XML files and docs/api-map.md.
 *
 * PURE: no sd-bus, libevent or jansson. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef enum MethodPrivilege {
        METHOD_ANYONE,  /* anyone who can reach the adapter */
        METHOD_ADMIN,   /* root or the admin group (PermissionDenied otherwise) */
        METHOD_ROOT,    /* root only */
        _METHOD_PRIVILEGE_MAX,
        _METHOD_PRIVILEGE_INVALID = -22, /* -EINVAL */
} MethodPrivilege;

typedef enum MethodParamType {
        METHOD_PARAM_UUID,      /* string: 24 hex digits (a controller), lower-cased */
        METHOD_PARAM_UUID_LIST, /* array of such strings, min..max entries */
        METHOD_PARAM_NAME_LIST, /* array of field names [a-z0-9_], min..max entries */
        METHOD_PARAM_NUMBER,    /* integer or real in [min, max] */
        METHOD_PARAM_INTEGER,   /* integer in [min, max] */
        METHOD_PARAM_BOOL,
        METHOD_PARAM_SET_ID,    /* string: 16 hex digits (an image set id), lower-cased */
        METHOD_PARAM_STRING,    /* printable ASCII string, min..max characters */
        METHOD_PARAM_BASE64,    /* standard padded base64, 0..max characters */
        METHOD_PARAM_OBJECT,    /* object of min..max members (checked by the handler) */
        METHOD_PARAM_WHICH,     /* "mcconf" or "appconf" */
        _METHOD_PARAM_TYPE_MAX,
} MethodParamType;

typedef struct MethodParam {
        const char *name;       /* snake_case; NULL ends the list */
        MethodParamType type;
        bool required;
        double min, max;        /* NUMBER/INTEGER: value bounds; lists, STRING, OBJECT: size bounds */
} MethodParam;

#define METHOD_PARAMS_MAX 16

/* Bounds shared by several rows. */
#define METHOD_RATE_MIN_HZ 0.1     /* telemetry.watch rate_hz */
#define METHOD_RATE_MAX_HZ 1000.0
#define METHOD_LIST_MAX 32         /* entries in a controllers/fields list */

typedef struct Method {
        /* D-Bus: interface without "org.vescd1." ("Manager", "Controller",
         * "Job") and member; NULL: no D-Bus method (JSON only). */
        const char *interface;
        const char *member;
        const char *in;         /* in signature, "" for none */
        const char *in_names;   /* the in arguments' names, each ended by \0 ("uuid\0") */
        const char *out;
        const char *out_names;
        /* JSON: the method name; NULL: D-Bus only. */
        const char *json;
        MethodPrivilege privilege;
        /* The errors (errors.h names, space-separated) it may answer with
         * besides PermissionDenied (from privilege), InvalidArgument and
         * Failed, which any method may. */
        const char *errors;
        MethodParam params[METHOD_PARAMS_MAX]; /* JSON parameters, ended by a NULL name */
} Method;

/* The table, and its size. */
const Method *method_table(size_t *ret_n);
/* The method of a D-Bus interface ("Controller" or "org.vescd1.Controller")
 * and member, or NULL. */
const Method *method_find_dbus(const char *interface, const char *member);
/* The method of a JSON name, or NULL. */
const Method *method_find_json(const char *name);
/* The parameter named, or NULL. */
const MethodParam *method_param(const Method *m, const char *name);
const char *method_privilege_to_string(MethodPrivilege p);
