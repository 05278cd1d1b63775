/* The method table (methods.h): every method of vescd, one row each.
 *
 * A row gives the D-Bus member (interface, member, signatures, argument
 * names), the JSON name and parameters, the privilege and the errors the
 * method may answer with.  The D-Bus adapter's vtables and privilege checks
 * and the JSON adapter's request validation and privilege checks come from
 * here; tests/unit/docs/test-docs-sync.py reads the rows (keep one
 * designated initializer per field, as below) and checks them against
 * the dbus/ XML files and docs/api-map.md.
 *
 * PURE: no sd-bus, libevent or jansson. */
#include <stdint.h>
#include <string.h>

#include "core/limits.h"
#include "core/methods.h"
#include "macro.h"

#define CONF_BASE64_MAX 16384

#define P_UUID(n) { .name = n, .type = METHOD_PARAM_UUID, .required = true }
#define P_UUIDS(n) { .name = n, .type = METHOD_PARAM_UUID_LIST, .min = 1, .max = METHOD_LIST_MAX }
#define P_NAMES(n) { .name = n, .type = METHOD_PARAM_NAME_LIST, .min = 1, .max = METHOD_LIST_MAX }
#define P_NUM(n, lo, hi) { .name = n, .type = METHOD_PARAM_NUMBER, .min = lo, .max = hi }
#define P_BOOL(n) { .name = n, .type = METHOD_PARAM_BOOL }
#define P_SET { .name = "set", .type = METHOD_PARAM_SET_ID, .required = true }
#define P_WHICH { .name = "which", .type = METHOD_PARAM_WHICH, .required = true }
#define P_JOB { .name = "job", .type = METHOD_PARAM_INTEGER, .required = true, .min = 1, .max = INT32_MAX }
#define P_LIMIT(f, n, lo, hi) P_NUM(n, lo, hi),

/* The errors of a call that talks to a controller. */
#define E_TALK "NoSuchController Busy Offline Timeout NotReady ProtocolError QueueFull IoError"

static const Method methods[] = {
        /* ------------------------------------------------ the Manager */
        { .json = "manager.get", .privilege = METHOD_ANYONE, .errors = "" },
        { .json = "controllers.list", .privilege = METHOD_ANYONE, .errors = "" },
        { .interface = "Manager", .member = "Scan", .in = "", .in_names = "", .out = "", .out_names = "",
          .json = "controllers.scan", .privilege = METHOD_ANYONE, .errors = "Busy" },
        { .interface = "Manager", .member = "GetBoard", .in = "", .in_names = "", .out = "a{sv}", .out_names = "board\0",
          .json = "board.get", .privilege = METHOD_ANYONE, .errors = "" },
        { .interface = "Manager", .member = "ForgetController", .in = "s", .in_names = "uuid\0", .out = "",
          .out_names = "", .json = "board.forget", .privilege = METHOD_ADMIN, .errors = "NoSuchController",
          .params = { P_UUID("uuid") } },

        /* ------------------------------------------- the controllers */
        { .json = "controller.get", .privilege = METHOD_ANYONE, .errors = "NoSuchController",
          .params = { P_UUID("uuid") } },
        { .interface = "Controller", .member = "GetValues", .in = "", .in_names = "", .out = "a{sv}", .out_names = "values\0",
          .json = "controller.get_values", .privilege = METHOD_ANYONE, .errors = E_TALK,
          .params = { P_UUID("uuid") } },
        { .interface = "Controller", .member = "Reboot", .in = "", .in_names = "", .out = "", .out_names = "",
          .json = "controller.reboot", .privilege = METHOD_ADMIN, .errors = E_TALK,
          .params = { P_UUID("uuid") } },
        /* The runtime limits of COMM_SET_MCCONF_TEMP (spec §12.4): names and
         * ranges from core/limits.h.  Each is optional: the daemon reads the
         * current values and changes those given. */
        { .interface = "Controller", .member = "SetLimits", .in = "a{sv}", .in_names = "limits\0", .out = "",
          .out_names = "", .json = "limits.set", .privilege = METHOD_ADMIN, .errors = E_TALK " NotSupported",
          .params = { P_UUID("uuid"), LIMIT_FIELDS(P_LIMIT) P_BOOL("store") } },
        /* The limits in force: read from the controller (5.02+), else what
         * vescd set over the configured ones (core/ride-mode.c). */
        { .interface = "Controller", .member = "GetLimits", .in = "", .in_names = "", .out = "a{sv}",
          .out_names = "limits\0", .json = "limits.get", .privilege = METHOD_ANYONE, .errors = E_TALK " NotSupported",
          .params = { P_UUID("uuid") } },
        /* A ride mode (mode-NAME of vescd.conf) for every controller; "" for none. */
        { .interface = "Manager", .member = "SetRideMode", .in = "s", .in_names = "mode\0", .out = "", .out_names = "",
          .json = "limits.mode", .privilege = METHOD_ADMIN, .errors = "NotFound " E_TALK " NotSupported",
          .params = { { .name = "mode", .type = METHOD_PARAM_STRING, .required = true, .min = 0, .max = 32 } } },

        /* ------------------------------------------------- telemetry */
        { .json = "telemetry.watch", .privilege = METHOD_ANYONE, .errors = "NoSuchController",
          .params = { P_UUIDS("controllers"), P_NAMES("fields"), P_NUM("rate_hz", METHOD_RATE_MIN_HZ, METHOD_RATE_MAX_HZ) } },
        { .json = "telemetry.unwatch", .privilege = METHOD_ANYONE, .errors = "",
          .params = { P_UUIDS("controllers") } },
        { .json = "telemetry.poll", .privilege = METHOD_ANYONE, .errors = "NoSuchController",
          .params = { P_UUIDS("controllers"), P_NAMES("fields") } },

        /* --------------------------------------------- configuration */
        /* Reading a configuration changes nothing: anyone, as GetValues. */
        { .interface = "Controller", .member = "BackupConfig", .in = "", .in_names = "", .out = "ayay",
          .out_names = "mcconf\0appconf\0", .json = "config.backup", .privilege = METHOD_ANYONE, .errors = E_TALK,
          .params = { P_UUID("uuid") } },
        { .interface = "Controller", .member = "RestoreConfig", .in = "ayaya{sv}", .in_names = "mcconf\0appconf\0options\0",
          .out = "", .out_names = "", .json = "config.restore", .privilege = METHOD_ADMIN,
          .errors = E_TALK " SignatureMismatch",
          .params = { P_UUID("uuid"),
                      { .name = "mcconf", .type = METHOD_PARAM_BASE64, .max = CONF_BASE64_MAX },
                      { .name = "appconf", .type = METHOD_PARAM_BASE64, .max = CONF_BASE64_MAX },
                      P_BOOL("keep_can_id"),
                      /* a backup file of config.backup, instead of mcconf/appconf */
                      { .name = "backup", .type = METHOD_PARAM_OBJECT, .min = 1, .max = 16 } } },
        { .interface = "Controller", .member = "CompareConfig", .in = "o", .in_names = "other\0", .out = "as",
          .out_names = "differences\0", .json = "config.compare", .privilege = METHOD_ANYONE, .errors = E_TALK,
          .params = { P_UUID("uuid"), P_UUID("other") } },
        { .interface = "Controller", .member = "CopyConfigFrom", .in = "oa{sv}", .in_names = "source\0options\0", .out = "",
          .out_names = "", .json = "config.copy", .privilege = METHOD_ADMIN, .errors = E_TALK " SignatureMismatch",
          .params = { P_UUID("from"), P_UUID("to"), P_BOOL("keep_can_id") } },
        /* Configuration by name (DESIGN "Decisions of 2026-12" item 10). */
        { .interface = "Controller", .member = "GetConfig", .in = "s", .in_names = "which\0", .out = "s",
          .out_names = "json\0", .json = "config.get", .privilege = METHOD_ANYONE, .errors = E_TALK " NotSupported",
          .params = { P_UUID("uuid"), P_WHICH } },
        { .interface = "Controller", .member = "SetConfig", .in = "ss", .in_names = "which\0params_json\0", .out = "",
          .out_names = "", .json = "config.set", .privilege = METHOD_ADMIN, .errors = E_TALK " NotSupported",
          .params = { P_UUID("uuid"), P_WHICH,
                      { .name = "params", .type = METHOD_PARAM_OBJECT, .required = true, .min = 1, .max = 512 } } },
        { .interface = "Controller", .member = "DiffConfig", .in = "so", .in_names = "which\0other\0", .out = "s",
          .out_names = "json\0", .json = "config.diff", .privilege = METHOD_ANYONE, .errors = E_TALK " NotSupported",
          .params = { P_UUID("uuid"), P_UUID("other"), P_WHICH } },
        /* The backup file format on D-Bus (JSON: config.backup's result and
         * config.restore's "backup"). */
        { .interface = "Controller", .member = "BackupConfigFile", .in = "", .in_names = "", .out = "s",
          .out_names = "backup_json\0", .privilege = METHOD_ANYONE, .errors = E_TALK },
        { .interface = "Controller", .member = "RestoreConfigFile", .in = "s", .in_names = "backup_json\0", .out = "",
          .out_names = "", .privilege = METHOD_ADMIN, .errors = E_TALK " SignatureMismatch" },

        /* -------------------------------------------------- firmware */
        { .interface = "Manager", .member = "ListImageSets", .in = "", .in_names = "", .out = "s",
          .out_names = "sets_json\0", .json = "firmware.sets", .privilege = METHOD_ANYONE, .errors = "NotSupported" },
        /* An archive as a file descriptor: D-Bus only. */
        { .interface = "Manager", .member = "InstallImageSet", .in = "h", .in_names = "archive\0", .out = "s",
          .out_names = "id\0", .privilege = METHOD_ADMIN, .errors = "BadImage NotSupported" },
        /* The path is opened by the daemon, with its rights. */
        { .interface = "Manager", .member = "InstallImageSetFromPath", .in = "s", .in_names = "path\0", .out = "s",
          .out_names = "id\0", .json = "firmware.install", .privilege = METHOD_ADMIN,
          .errors = "BadImage NotFound NotSupported",
          .params = { { .name = "path", .type = METHOD_PARAM_STRING, .required = true, .min = 1, .max = 4096 } } },
        { .interface = "Manager", .member = "RemoveImageSet", .in = "s", .in_names = "id\0", .out = "", .out_names = "",
          .json = "firmware.remove", .privilege = METHOD_ADMIN, .errors = "NotFound Busy NotSupported",
          .params = { P_SET } },
        { .interface = "Manager", .member = "RollbackImageSet", .in = "", .in_names = "", .out = "s", .out_names = "id\0",
          .json = "firmware.rollback", .privilege = METHOD_ADMIN, .errors = "NotFound NotSupported" },
        { .interface = "Manager", .member = "UpdateController", .in = "ssa{sv}", .in_names = "controller\0set_id\0options\0",
          .out = "o", .out_names = "job\0", .json = "firmware.update", .privilege = METHOD_ADMIN,
          .errors = "NoSuchController Busy Offline NotReady NotFound NotSupported Mismatch NothingToDo NeedsIntermediate",
          .params = { P_SET, P_UUIDS("controllers"), P_BOOL("skip_can_id_restore"), P_BOOL("migrate_config"),
                      P_BOOL("allow_mismatch") } },
        { .interface = "Manager", .member = "UpdatePair", .in = "sa{sv}", .in_names = "set_id\0options\0", .out = "o",
          .out_names = "job\0", .json = "firmware.pair", .privilege = METHOD_ADMIN,
          .errors = "Busy Offline NotReady NotFound NotSupported NothingToDo NeedsIntermediate",
          .params = { P_SET, P_BOOL("skip_can_id_restore"), P_BOOL("migrate_config") } },
        { .interface = "Manager", .member = "UpdateBoard", .in = "sa{sv}", .in_names = "set_id\0options\0", .out = "o",
          .out_names = "job\0", .json = "firmware.board", .privilege = METHOD_ADMIN,
          .errors = "Busy Offline NotReady NotFound NotSupported NothingToDo NeedsIntermediate",
          .params = { P_SET, P_BOOL("skip_can_id_restore"), P_BOOL("migrate_config") } },
        { .interface = "Manager", .member = "Repair", .in = "sa{sv}", .in_names = "set_id\0options\0", .out = "o",
          .out_names = "job\0", .json = "firmware.repair", .privilege = METHOD_ADMIN,
          .errors = "Busy Offline NotReady NotFound NotSupported NothingToDo NeedsIntermediate",
          .params = { P_SET, P_BOOL("skip_can_id_restore"), P_BOOL("migrate_config") } },
        { .interface = "Manager", .member = "PlanUpdate", .in = "ssas", .in_names = "kind\0set_id\0controllers\0",
          .out = "s", .out_names = "plan_json\0", .json = "firmware.plan", .privilege = METHOD_ANYONE,
          .errors = "NoSuchController NotSupported",
          .params = { { .name = "kind", .type = METHOD_PARAM_STRING, .required = true, .min = 1, .max = 16 }, P_SET,
                      { .name = "controllers", .type = METHOD_PARAM_UUID_LIST, .min = 0, .max = METHOD_LIST_MAX } } },
        { .interface = "Manager", .member = "SetInhibit", .in = "bs", .in_names = "inhibit\0reason\0", .out = "",
          .out_names = "", .json = "firmware.inhibit", .privilege = METHOD_ADMIN, .errors = "NotSupported",
          .params = { { .name = "inhibit", .type = METHOD_PARAM_BOOL, .required = true },
                      { .name = "reason", .type = METHOD_PARAM_STRING, .max = 200 } } },
        { .interface = "Manager", .member = "GetHistory", .in = "", .in_names = "", .out = "s",
          .out_names = "history_json\0", .json = "job.history", .privilege = METHOD_ANYONE, .errors = "NotSupported" },

        /* ------------------------------------------------------ jobs */
        { .json = "job.list", .privilege = METHOD_ANYONE, .errors = "NotSupported" },
        { .json = "job.get", .privilege = METHOD_ANYONE, .errors = "NotFound NotSupported", .params = { P_JOB } },
        { .interface = "Job", .member = "Cancel", .in = "", .in_names = "", .out = "", .out_names = "",
          .json = "job.cancel", .privilege = METHOD_ADMIN, .errors = "NotFound Busy NotSupported", .params = { P_JOB } },
};

static const char *const privilege_table[_METHOD_PRIVILEGE_MAX] = {
        [METHOD_ANYONE] = "anyone",
        [METHOD_ADMIN] = "admin",
        [METHOD_ROOT] = "root",
};

/**
 * method_table() - every method
 * @ret_n: receives the number of rows
 *
 * Returns: the first row.
 */
const Method *method_table(size_t *ret_n) {
        *ret_n = ELEMENTSOF(methods);
        return methods;
}

static bool streq_ptr(const char *a, const char *b) {
        return a && b && strcmp(a, b) == 0;
}

/**
 * method_find_dbus() - the row of a D-Bus method
 * @interface: "Controller" or "org.vescd1.Controller"
 * @member: the member name
 *
 * Returns: the row, or NULL.
 */
const Method *method_find_dbus(const char *interface, const char *member) {
        static const char prefix[] = "org.vescd1.";

        if (!interface || !member)
                return NULL;
        if (strncmp(interface, prefix, sizeof(prefix) - 1) == 0)
                interface += sizeof(prefix) - 1;
        for (size_t i = 0; i < ELEMENTSOF(methods); i++)
                if (streq_ptr(methods[i].interface, interface) && streq_ptr(methods[i].member, member))
                        return &methods[i];
        return NULL;
}

/**
 * method_find_json() - the row of a JSON method
 * @name: its name ("config.get")
 *
 * Returns: the row, or NULL.
 */
const Method *method_find_json(const char *name) {
        if (!name)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(methods); i++)
                if (streq_ptr(methods[i].json, name))
                        return &methods[i];
        return NULL;
}

/**
 * method_param() - a JSON parameter of a method
 * @m: the method
 * @name: the parameter's name
 *
 * Returns: the parameter, or NULL.
 */
const MethodParam *method_param(const Method *m, const char *name) {
        for (const MethodParam *p = m->params; p < m->params + METHOD_PARAMS_MAX && p->name; p++)
                if (streq_ptr(p->name, name))
                        return p;
        return NULL;
}

const char *method_privilege_to_string(MethodPrivilege p) {
        if (p < 0 || p >= _METHOD_PRIVILEGE_MAX)
                return NULL;
        return privilege_table[p];
}
