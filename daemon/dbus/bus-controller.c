/* org.vescd1.Controller at /org/vescd1/controller/<uuid>: a fallback vtable
 * with an object finder and a node enumerator (as logind serves sessions),
 * so the object set follows the model without per-object registration. */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "dbus/bus.h"
#include "core/config-json.h"
#include "core/daemon.h"
#include "core/fields.h"
#include "core/log.h"
#include "macro.h"
#include "core/operations.h"
#include "core/render.h"

/**
 * bus_controller_from_path() - the controller an object path names
 * @b: the adapter
 * @path: "/org/vescd1/controller/<24 hex>"
 *
 * Returns: the controller or NULL.
 */
Controller *bus_controller_from_path(Bus *b, const char *path) {
        const char *prefix = BUS_CONTROLLER_PREFIX "/";
        size_t n = strlen(prefix);

        if (!path || strncmp(path, prefix, n) != 0)
                return NULL;
        /* paths use lower-case hex only */
        for (const char *p = path + n; *p; p++)
                if (*p >= 'A' && *p <= 'F')
                        return NULL;
        return daemon_find_uuid(bus_daemon(b), path + n);
}

/* Every well-formed controller path is an object, known or not: a method
 * on an unknown controller answers NoSuchController (as the JSON socket
 * does), not sd-bus's UnknownObject.  The enumerator lists only known ones. */
static bool controller_path_valid(const char *path) {
        const char *prefix = BUS_CONTROLLER_PREFIX "/";
        size_t n = strlen(prefix);

        if (!path || strncmp(path, prefix, n) != 0 || strlen(path + n) != CONTROLLER_UUID_STR_LEN)
                return false;
        for (const char *p = path + n; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

static int controller_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                           sd_bus_error *error) {
        Bus *b = userdata;

        if (!controller_path_valid(path) && !bus_controller_from_path(b, path))
                return 0;
        /* handlers get the adapter and look the controller up by path again:
         * the model holds no pointer back to the adapter */
        *found = b;
        return 1;
}

_Static_assert(RENDER_CONTROLLER_PATH_MAX <= BUS_OBJECT_PATH_MAX, "controller paths fit bus path buffers");

static void controller_path(const void *items, size_t i, char *buf) {
        Controller *const *cs = items;
        render_controller_path(cs[i], buf);
}

static int controller_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        Bus *b = userdata;
        Controller *const *cs;
        size_t n = daemon_controllers(bus_daemon(b), &cs);

        return bus_path_strv(cs, n, controller_path, nodes);
}

#define GET_CONTROLLER(c, b, path)                                   \
        Controller *c = bus_controller_from_path(b, path);           \
        if (!c)                                                      \
                return bus_set_errno(error, -ENODEV)

/* ---------------------------------------------------------- properties */

/* Every property is a row of controller_field_table (core/fields.h). */
static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        const Field *f = field_table_find(&controller_field_table, property);
        GET_CONTROLLER(c, b, path);

        if (!f)
                return -EINVAL;
        return bus_append_field(reply, f, c);
}

/* ------------------------------------------------------ async methods */

typedef struct PendingCall {
        Bus *b;
        sd_bus_message *m;
} PendingCall;

static int pending_new(Bus *b, sd_bus_message *m, PendingCall **ret) {
        PendingCall *p = calloc(1, sizeof *p);

        if (!p)
                return -ENOMEM;
        p->b = b;
        p->m = sd_bus_message_ref(m);
        *ret = p;
        return 0;
}

static void pending_free(PendingCall *p) {
        bus_schedule_rearm(p->b);
        sd_bus_message_unref(p->m);
        free(p);
}

/* The start of every completion: on error, answers with it, drops the
 * pending call and returns true. */
/* An operation's failure, with the core's own text when it has one. */
static bool pending_failed_text(PendingCall *p, int error, const char *message) {
        if (error >= 0)
                return false;
        if (message)
                (void) bus_reply_errno(p->m, error, "%s", message);
        else
                (void) bus_reply_errno(p->m, error, NULL);
        pending_free(p);
        return true;
}

static bool pending_failed(PendingCall *p, int error) {
        return pending_failed_text(p, error, NULL);
}

/* Sends a reply built from p->m (r: the result of building it), or the
 * error that kept it from being built or sent. */
static void pending_send(PendingCall *p, sd_bus_message *reply, int r) {
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        if (r < 0)
                (void) bus_reply_errno(p->m, r, NULL);
        pending_free(p);
}

/* The end of every method that starts an operation: r is what the
 * operation's start returned; on failure it never calls back, so the
 * pending call is dropped here (no reply queued, nothing to re-arm). */
static int pending_started(PendingCall *p, int r, sd_bus_error *error) {
        if (r >= 0)
                return 1;
        /* a Busy refusal names the holder (the text JSON sends too) */
        if (r == -EBUSY)
                r = bus_reply_errno(p->m, r, "%s", op_busy_text(bus_daemon(p->b)));
        else
                r = bus_set_errno(error, r);
        sd_bus_message_unref(p->m);
        free(p);
        return r;
}

static void values_done(void *userdata, int error, const VescValues *v) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        PendingCall *p = userdata;
        json_t *o;
        int r;

        if (pending_failed(p, error))
                return;
        o = render_values(v);
        r = o ? sd_bus_message_new_method_return(p->m, &reply) : -ENOMEM;
        if (r >= 0)
                r = bus_append_json_dict(reply, o);
        json_decref(o);
        pending_send(p, reply, r);
}

static void plain_done(void *userdata, int error) {
        PendingCall *p = userdata;

        if (pending_failed(p, error))
                return;
        (void) sd_bus_reply_method_return(p->m, NULL);
        pending_free(p);
}

/* Reads one a{sv} entry's numeric value as a double. */
static int read_number(sd_bus_message *m, double *ret) {
        union {
                double d;
                int32_t i;
                int64_t x;
                uint32_t u;
                uint64_t t;
                int16_t n;
                uint16_t q;
                uint8_t y;
        } v;
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        if (!contents || strlen(contents) != 1 || !strchr("dixutnqy", contents[0]))
                return -EINVAL;
        r = sd_bus_message_enter_container(m, 'v', contents);
        if (r < 0)
                return r;
        r = sd_bus_message_read_basic(m, contents[0], &v);
        if (r < 0)
                return r;
        switch (contents[0]) {
        case 'd': *ret = v.d; break;
        case 'i': *ret = v.i; break;
        case 'x': *ret = (double) v.x; break;
        case 'u': *ret = v.u; break;
        case 't': *ret = (double) v.t; break;
        case 'n': *ret = v.n; break;
        case 'q': *ret = v.q; break;
        default: *ret = v.y; break;
        }
        return sd_bus_message_exit_container(m);
}

static int method_set_limits(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        Limits l = {};
        PendingCall *p;
        const char *key;
        int r;
        GET_CONTROLLER(c, b, sd_bus_message_get_path(m));

        /* read args -> validate -> check credentials -> act */
        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                char name[64];
                LimitField f;
                double v;

                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                field_snake(key, name, sizeof name);
                if (strcmp(name, "store") == 0) {
                        int s;
                        r = sd_bus_message_read(m, "v", "b", &s);
                        if (r < 0)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "store must be a boolean");
                        l.store = s;
                } else {
                        f = limit_field_from_string(name);
                        if ((int) f < 0)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown limit '%s'", key);
                        r = read_number(m, &v);
                        if (r < 0)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Limit '%s' must be a number",
                                                         key);
                        if (limit_check(f, v) < 0)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Limit '%s' out of range: %g",
                                                         key, v);
                        l.set |= 1u << f;
                        l.value[f] = v;
                }
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        if (!l.set)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "No limits given");

        r = pending_new(b, m, &p);
        if (r < 0)
                return r;
        return pending_started(p, op_set_limits(bus_daemon(b), c, &l, plain_done, p), error);
}

static void config_json_done(void *userdata, int error, const char *message, json_t *result);

static void limits_done(void *userdata, int error, const char *message, json_t *result) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        PendingCall *p = userdata;
        int r;

        if (pending_failed_text(p, error, message))
                return;
        r = sd_bus_message_new_method_return(p->m, &reply);
        if (r >= 0)
                r = bus_append_json_dict(reply, result);
        pending_send(p, reply, r);
}

static void backup_done(void *userdata, int error, const uint8_t *mc, size_t mc_len, const uint8_t *app,
                        size_t app_len) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        PendingCall *p = userdata;
        int r;

        if (pending_failed(p, error))
                return;
        r = sd_bus_message_new_method_return(p->m, &reply);
        if (r >= 0)
                r = sd_bus_message_append_array(reply, 'y', mc, mc_len);
        if (r >= 0)
                r = sd_bus_message_append_array(reply, 'y', app, app_len);
        pending_send(p, reply, r);
}

/* The methods whose only argument is the controller of their path (a
 * reboot: admin only). */
typedef enum SimpleOp {
        SIMPLE_GET_VALUES,
        SIMPLE_REBOOT,
        SIMPLE_BACKUP_CONFIG,
        SIMPLE_GET_LIMITS,          /* -> a{sv}: the runtime limits in force */
        SIMPLE_BACKUP_CONFIG_FILE,
} SimpleOp;

static int method_simple(sd_bus_message *m, Bus *b, sd_bus_error *error, SimpleOp op) {
        PendingCall *p;
        int r;
        GET_CONTROLLER(c, b, sd_bus_message_get_path(m));

        r = pending_new(b, m, &p);
        if (r < 0)
                return r;
        switch (op) {
        case SIMPLE_GET_VALUES:
                r = op_get_values(bus_daemon(b), c, values_done, p);
                break;
        case SIMPLE_REBOOT:
                r = op_reboot(bus_daemon(b), c, plain_done, p);
                break;
        case SIMPLE_BACKUP_CONFIG:
                r = op_backup_config(bus_daemon(b), c, backup_done, p);
                break;
        case SIMPLE_GET_LIMITS:
                r = daemon_get_limits(bus_daemon(b), c, limits_done, p);
                break;
        case SIMPLE_BACKUP_CONFIG_FILE:
                r = op_backup_config_file(bus_daemon(b), c, config_json_done, p);
                break;
        }
        return pending_started(p, r, error);
}

static int method_get_values(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return method_simple(m, userdata, error, SIMPLE_GET_VALUES);
}

static int method_reboot(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return method_simple(m, userdata, error, SIMPLE_REBOOT);
}

static int method_backup_config(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return method_simple(m, userdata, error, SIMPLE_BACKUP_CONFIG);
}

static int method_get_limits(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return method_simple(m, userdata, error, SIMPLE_GET_LIMITS);
}

/* a{sv} options of RestoreConfig and CopyConfigFrom: KeepCanId (b). */
static int read_config_options(sd_bus_message *m, OpConfigOptions *o, sd_bus_error *error) {
        static const BusBoolOption options[] = {
                { "KeepCanId", offsetof(OpConfigOptions, keep_can_id) },
        };
        const char *key = NULL;
        int r;

        *o = OP_CONFIG_OPTIONS_DEFAULT;
        r = bus_read_bool_options(m, options, ELEMENTSOF(options), o, &key);
        if (r == -ENOKEY)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown option %s", key);
        if (r == -EINVAL)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s must be a boolean", key);
        return r;
}

/* An operation that did not start: its text when it has one. */
static int config_refused(PendingCall *p, int r, char *text, sd_bus_error *error) {
        if (r < 0 && text) {
                r = bus_reply_errno(p->m, r, "%s", text);
                free(text);
                pending_free(p);
                return r;
        }
        return pending_started(p, r, error);
}

/* The end of RestoreConfig and RestoreConfigFile: the blobs to @c (@o:
 * NULL for the defaults). */
static int restore_start(Bus *b, sd_bus_message *m, Controller *c, const void *mc, size_t mc_len, const void *app,
                         size_t app_len, const OpConfigOptions *o, sd_bus_error *error) {
        PendingCall *p;
        char *text = NULL;
        int r;

        r = pending_new(b, m, &p);
        if (r < 0)
                return r;
        r = op_restore_config(bus_daemon(b), c, mc, mc_len, app, app_len, o, plain_done, p, &text);
        return config_refused(p, r, text, error);
}

static int method_restore_config(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        const void *mc, *app;
        size_t mc_len, app_len;
        OpConfigOptions o;
        int r;
        GET_CONTROLLER(c, b, sd_bus_message_get_path(m));

        r = sd_bus_message_read_array(m, 'y', &mc, &mc_len);
        if (r < 0)
                return r;
        r = sd_bus_message_read_array(m, 'y', &app, &app_len);
        if (r < 0)
                return r;
        r = read_config_options(m, &o, error);
        if (r < 0)
                return r;
        if ((mc_len == 0 && app_len == 0) || (mc_len && mc_len < 4) || (app_len && app_len < 4) || mc_len > 511 ||
            app_len > 511)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Configuration blobs must be 4..511 bytes (or empty to skip one)");
        return restore_start(b, m, c, mc, mc_len, app, app_len, &o, error);
}

static void compare_done(void *userdata, int error, char **differences) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        PendingCall *p = userdata;
        int r;

        if (pending_failed(p, error))
                return;
        r = sd_bus_message_new_method_return(p->m, &reply);
        if (r >= 0)
                r = sd_bus_message_append_strv(reply, differences);
        pending_send(p, reply, r);
}

/* The "o" argument of CompareConfig/CopyConfigFrom: another controller
 * than c.  Returns 0, or what the method returns. */
static int read_other(Bus *b, sd_bus_message *m, const Controller *c, const char *verb, Controller **ret,
                      sd_bus_error *error) {
        const char *path;
        int r;

        r = sd_bus_message_read(m, "o", &path);
        if (r < 0)
                return r;
        *ret = bus_controller_from_path(b, path);
        if (!*ret)
                return bus_set_errno(error, -ENODEV);
        if (*ret == c)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s another controller", verb);
        return 0;
}

static void copy_done(void *userdata, int error, const char *message) {
        PendingCall *p = userdata;

        if (message && pending_failed_text(p, error, message))
                return;
        plain_done(p, error);
}

/* CompareConfig(o other) and CopyConfigFrom(o source): an operation with
 * another controller.  A copy changes this one (the target): admin only. */
static int method_with_other(sd_bus_message *m, Bus *b, sd_bus_error *error, bool copy) {
        OpConfigOptions o;
        Controller *other;
        PendingCall *p;
        char *text = NULL;
        int r;
        GET_CONTROLLER(c, b, sd_bus_message_get_path(m));

        r = read_other(b, m, c, copy ? "Copy from" : "Compare with", &other, error);
        if (r < 0)
                return r;
        if (copy) {
                r = read_config_options(m, &o, error);
                if (r < 0)
                        return r;
        }
        r = pending_new(b, m, &p);
        if (r < 0)
                return r;
        if (copy) {
                r = op_copy_config(bus_daemon(b), other, c, &o, copy_done, p, &text);
                return config_refused(p, r, text, error);
        }
        return pending_started(p, op_compare_config(bus_daemon(b), c, other, compare_done, p), error);
}

static int method_compare_config(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return method_with_other(m, userdata, error, /* copy= */ false);
}

static int method_copy_config_from(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return method_with_other(m, userdata, error, /* copy= */ true);
}

/* ------------------------------------------------ configuration by name */

/* Completion of GetConfig/DiffConfig/BackupConfigFile (a string of JSON)
 * and SetConfig/RestoreConfigFile (no result). */
static void byname_done(void *userdata, int error, const char *message, json_t *result, bool reply_json) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *text = NULL;
        PendingCall *p = userdata;
        int r;

        if (pending_failed_text(p, error, message))
                return;
        r = sd_bus_message_new_method_return(p->m, &reply);
        if (r >= 0 && reply_json) {
                text = json_dumps(result, JSON_COMPACT);
                r = text ? sd_bus_message_append(reply, "s", text) : -ENOMEM;
        }
        pending_send(p, reply, r);
}

static void config_json_done(void *userdata, int error, const char *message, json_t *result) {
        byname_done(userdata, error, message, result, true);
}

static void config_plain_done(void *userdata, int error, const char *message, json_t *result) {
        byname_done(userdata, error, message, result, false);
}

static int read_which(sd_bus_message *m, ConfigWhich *ret, sd_bus_error *error) {
        const char *s;
        int r;

        r = sd_bus_message_read(m, "s", &s);
        if (r < 0)
                return r;
        *ret = config_which_from_string(s);
        if ((int) *ret < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "which must be \"mcconf\" or \"appconf\", not '%s'",
                                         s);
        return 0;
}

static int method_get_config(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        ConfigWhich which;
        PendingCall *p;
        int r;
        GET_CONTROLLER(c, b, sd_bus_message_get_path(m));

        r = read_which(m, &which, error);
        if (r < 0)
                return r;
        r = pending_new(b, m, &p);
        if (r < 0)
                return r;
        return pending_started(p, op_get_config(bus_daemon(b), c, which, config_json_done, p), error);
}

static int method_set_config(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        ConfigWhich which;
        const char *text;
        json_t *params;
        json_error_t jerr;
        PendingCall *p;
        int r;
        GET_CONTROLLER(c, b, sd_bus_message_get_path(m));

        r = read_which(m, &which, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "s", &text);
        if (r < 0)
                return r;
        params = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_object(params) || json_object_size(params) == 0) {
                json_decref(params);
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "params_json must be a JSON object of at least one {name: value}");
        }
        r = pending_new(b, m, &p);
        if (r < 0) {
                json_decref(params);
                return r;
        }
        r = op_set_config(bus_daemon(b), c, which, params, config_plain_done, p);
        json_decref(params);
        return pending_started(p, r, error);
}

static int method_diff_config(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        ConfigWhich which;
        Controller *other;
        PendingCall *p;
        int r;
        GET_CONTROLLER(c, b, sd_bus_message_get_path(m));

        r = read_which(m, &which, error);
        if (r < 0)
                return r;
        r = read_other(b, m, c, "Compare with", &other, error);
        if (r < 0)
                return r;
        r = pending_new(b, m, &p);
        if (r < 0)
                return r;
        return pending_started(p, op_diff_config(bus_daemon(b), c, other, which, config_json_done, p), error);
}

static int method_backup_config_file(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return method_simple(m, userdata, error, SIMPLE_BACKUP_CONFIG_FILE);
}

static int method_restore_config_file(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_free_ uint8_t *mc = NULL, *app = NULL;
        _cleanup_free_ char *message = NULL;
        size_t mc_len = 0, app_len = 0;
        Bus *b = userdata;
        const char *text;
        json_t *backup;
        json_error_t jerr;
        int r;
        GET_CONTROLLER(c, b, sd_bus_message_get_path(m));

        r = sd_bus_message_read(m, "s", &text);
        if (r < 0)
                return r;
        backup = json_loads(text, 0, &jerr);
        r = config_json_parse_backup(backup, &mc, &mc_len, &app, &app_len, &message);
        json_decref(backup);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s", message ? message : "not a backup file");
        return restore_start(b, m, c, mc, mc_len, app, app_len, NULL, error);
}

/* The handlers of the Controller's methods; their signatures and
 * privileges are the rows of core/methods.c. */
static const BusMethod controller_methods[] = {
        { "GetValues", method_get_values },
        { "SetLimits", method_set_limits },
        { "GetLimits", method_get_limits },
        { "Reboot", method_reboot },
        { "BackupConfig", method_backup_config },
        { "RestoreConfig", method_restore_config },
        { "CompareConfig", method_compare_config },
        { "CopyConfigFrom", method_copy_config_from },
        { "GetConfig", method_get_config },
        { "SetConfig", method_set_config },
        { "DiffConfig", method_diff_config },
        { "BackupConfigFile", method_backup_config_file },
        { "RestoreConfigFile", method_restore_config_file },
        {}
};

static int controller_dispatch(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return bus_method_run("Controller", controller_methods, m, userdata, error);
}

/* The members after the properties (from the field table) and besides the
 * methods (from the method table). */
static const sd_bus_vtable controller_members[] = {
        SD_BUS_SIGNAL_WITH_ARGS("Telemetry", SD_BUS_ARGS("a{sv}", values), 0),
        SD_BUS_VTABLE_END
};

/**
 * bus_controller_register() - publish the controller objects
 * @b: the adapter
 *
 * Returns: 0 or -errno.
 */
int bus_controller_register(Bus *b) {
        sd_bus_vtable *vtable;
        int r;

        r = bus_vtable_new(b, &controller_field_table, property_get, controller_members, "Controller",
                           controller_methods, controller_dispatch, &vtable);
        if (r < 0)
                return r;
        return bus_add_fallback(b, BUS_CONTROLLER_PREFIX, BUS_CONTROLLER_INTERFACE, vtable, controller_find,
                                controller_enumerate);
}
