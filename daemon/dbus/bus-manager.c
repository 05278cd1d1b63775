/* org.vescd1.Manager at /org/vescd1, and the D-Bus side of the daemon's
 * change bus: model changes become PropertiesChanged, ControllerAdded/
 * Removed, InterfacesAdded/Removed and coalesced Telemetry signals. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "dbus/bus.h"
#include "core/daemon.h"
#include "core/fields.h"
#include "core/log.h"
#include "macro.h"
#include "core/render.h"
#include "core/transport.h"

/* ------------------------------------------------------------- helpers */

static int append_strv(sd_bus_message *reply, char **v) {
        int r = sd_bus_message_open_container(reply, 'a', "s");
        if (r < 0)
                return r;
        for (; v && *v; v++) {
                r = sd_bus_message_append(reply, "s", *v);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static void controller_path(const void *items, size_t i, char *buf) {
        Controller *const *cs = items;
        render_controller_path(cs[i], buf);
}

static int append_paths(sd_bus_message *reply, Daemon *d) {
        Controller *const *cs;
        size_t n = daemon_controllers(d, &cs);

        return bus_append_paths(reply, cs, n, controller_path);
}

/**
 * bus_append_json_dict() - append a flat JSON object as a{sv}
 * @m: the message
 * @o: the object: reals become 'd', integers 'x', strings 's', booleans
 *     'b', arrays of strings 'as'; keys are converted to CamelCase
 *
 * Returns: 0 or -errno.
 */
int bus_append_json_dict(sd_bus_message *m, json_t *o) {
        const char *key;
        json_t *v;
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        json_object_foreach(o, key, v) {
                char name[64];

                field_camel(key, name, sizeof name);
                switch (json_typeof(v)) {
                case JSON_REAL:
                        r = sd_bus_message_append(m, "{sv}", name, "d", json_real_value(v));
                        break;
                case JSON_INTEGER:
                        r = sd_bus_message_append(m, "{sv}", name, "x", (int64_t) json_integer_value(v));
                        break;
                case JSON_STRING:
                        r = sd_bus_message_append(m, "{sv}", name, "s", json_string_value(v));
                        break;
                case JSON_TRUE:
                case JSON_FALSE:
                        r = sd_bus_message_append(m, "{sv}", name, "b", (int) json_is_true(v));
                        break;
                case JSON_ARRAY: {
                        size_t i;
                        json_t *e;
                        r = bus_open_entry(m, name, "as");
                        if (r >= 0)
                                r = sd_bus_message_open_container(m, 'a', "s");
                        json_array_foreach(v, i, e) {
                                if (r >= 0 && json_is_string(e))
                                        r = sd_bus_message_append(m, "s", json_string_value(e));
                        }
                        if (r >= 0)
                                r = sd_bus_message_close_container(m);
                        if (r >= 0)
                                r = bus_close_entry(m);
                        break;
                }
                default:
                        /* objects/null: not part of flat dictionaries */
                        r = 0;
                        break;
                }
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

/* ---------------------------------------------------------- properties */

/* Every core property is a row of manager_field_table (core/fields.h). */
static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        const Field *f = field_table_find(&manager_field_table, property);

        if (!f)
                return -EINVAL;
        return bus_append_field(reply, f, bus_daemon(b));
}

/* ------------------------------------------------------------- methods */

static int method_scan(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        int r;

        r = daemon_scan(bus_daemon(b));
        if (r < 0)
                return bus_set_errno(error, r);
        return sd_bus_reply_method_return(m, NULL);
}

static int method_forget_controller(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *err = NULL;
        Bus *b = userdata;
        const char *uuid;
        int r;

        r = sd_bus_message_read(m, "s", &uuid);
        if (r < 0)
                return r;
        r = daemon_forget_controller(bus_daemon(b), uuid, &err);
        if (r < 0)
                return bus_reply_errno(m, r, "%s", err ? err : "cannot forget the controller");
        return sd_bus_reply_method_return(m, NULL);
}

/* SetRideMode(s): the reply comes once every online controller has the
 * mode (daemon_set_ride_mode()). */
typedef struct RideModeCall {
        Bus *b;
        sd_bus_message *m;
} RideModeCall;

static void set_ride_mode_done(void *userdata, int error, const char *message) {
        RideModeCall *call = userdata;

        if (error < 0)
                (void) bus_reply_errno(call->m, error, "%s", message ? message : "the ride mode was not applied");
        else
                (void) sd_bus_reply_method_return(call->m, NULL);
        bus_schedule_rearm(call->b);
        sd_bus_message_unref(call->m);
        free(call);
}

static int method_set_ride_mode(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *err = NULL;
        Bus *b = userdata;
        RideModeCall *call;
        const char *name;
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        call = calloc(1, sizeof *call);
        if (!call)
                return -ENOMEM;
        call->b = b;
        call->m = sd_bus_message_ref(m);
        r = daemon_set_ride_mode(bus_daemon(b), name, set_ride_mode_done, call, &err);
        if (r < 0) {
                sd_bus_message_unref(call->m);
                free(call);
                return bus_reply_errno(m, r, "%s", err ? err : "cannot choose the ride mode");
        }
        return 1;
}

static int method_get_board(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Bus *b = userdata;
        const Board *board = daemon_board(bus_daemon(b));
        int r;

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "{sv}", "Mismatch", "b", board->mismatch);
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "{sv}", "MismatchReason", "s", board_mismatch_reason(board));
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "{sv}", "BoardState", "s", board_state_to_string(board->state));
        if (r < 0)
                return r;
        const struct {
                const char *name;
                char **v;
        } lists[] = { { "MismatchReasons", board->reasons },
                      { "Actions", board->actions },
                      { "BoardStateReasons", board->state_reasons } };
        for (size_t i = 0; i < ELEMENTSOF(lists); i++) {
                r = bus_open_entry(reply, lists[i].name, "as");
                if (r >= 0)
                        r = append_strv(reply, lists[i].v);
                if (r >= 0)
                        r = bus_close_entry(reply);
                if (r < 0)
                        return r;
        }
        r = bus_open_entry(reply, "Controllers", "ao");
        if (r >= 0)
                r = append_paths(reply, bus_daemon(b));
        if (r >= 0)
                r = bus_close_entry(reply);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* The handlers of the Manager's methods; their signatures and privileges
 * are the rows of core/methods.c. */
static const BusMethod manager_methods[] = {
        { "Scan", method_scan },
        { "GetBoard", method_get_board },
        { "ForgetController", method_forget_controller },
        { "SetRideMode", method_set_ride_mode },
        { "ListImageSets", bus_firmware_method_list_image_sets },
        { "InstallImageSet", bus_firmware_method_install_image_set },
        { "InstallImageSetFromPath", bus_firmware_method_install_image_set_from_path },
        { "RemoveImageSet", bus_firmware_method_remove_image_set },
        { "RollbackImageSet", bus_firmware_method_rollback_image_set },
        { "UpdateController", bus_firmware_method_update_controller },
        { "UpdatePair", bus_firmware_method_update_pair },
        { "UpdateBoard", bus_firmware_method_update_board },
        { "Repair", bus_firmware_method_repair },
        { "PlanUpdate", bus_firmware_method_plan_update },
        { "SetInhibit", bus_firmware_method_set_inhibit },
        { "GetHistory", bus_firmware_method_get_history },
        {}
};

static int manager_dispatch(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return bus_method_run("Manager", manager_methods, m, userdata, error);
}

/* The members after the core's properties (those come from the field
 * table) and besides the methods (from the method table). */
static const sd_bus_vtable manager_members[] = {
        BUS_MANAGER_FIRMWARE_MEMBERS,
        SD_BUS_SIGNAL_WITH_ARGS("ControllerAdded", SD_BUS_ARGS("o", controller), 0),
        SD_BUS_SIGNAL_WITH_ARGS("ControllerRemoved", SD_BUS_ARGS("o", controller), 0),
        SD_BUS_SIGNAL_WITH_ARGS("ImageSetRemoved", SD_BUS_ARGS("s", id, "s", reason), 0),
        SD_BUS_VTABLE_END
};

/* ----------------------------------------------------- change listener */

/* A controller object came or went: the ObjectManager signal, then ours. */
static void controller_announce(Bus *b, Controller *c, bool added) {
        char path[RENDER_CONTROLLER_PATH_MAX];

        render_controller_path(c, path);
        if (added)
                (void) sd_bus_emit_object_added(bus_get(b), path);
        else
                (void) sd_bus_emit_object_removed(bus_get(b), path);
        (void) sd_bus_emit_signal(bus_get(b), BUS_PATH, BUS_MANAGER_INTERFACE,
                                  added ? "ControllerAdded" : "ControllerRemoved", "o", path);
        bus_schedule_rearm(b);
}

static void on_controller_added(void *userdata, Controller *c) {
        controller_announce(userdata, c, true);
}

static void on_controller_removed(void *userdata, Controller *c) {
        controller_announce(userdata, c, false);
}

static void emit_changed(Bus *b, const char *path, const char *interface, const FieldTable *t, uint64_t mask) {
        const char *names[64];

        if (field_table_changed(t, mask, names, ELEMENTSOF(names)) == 0)
                return;
        (void) sd_bus_emit_properties_changed_strv(bus_get(b), path, interface, (char **) names);
        bus_schedule_rearm(b);
}

static void on_controller_changed(void *userdata, Controller *c, uint64_t mask) {
        char path[RENDER_CONTROLLER_PATH_MAX];

        render_controller_path(c, path);
        emit_changed(userdata, path, BUS_CONTROLLER_INTERFACE, &controller_field_table,
                     mask & ~CONTROLLER_DIRTY_TELEMETRY_MASK);
}

/* Telemetry(a{sv}): the telemetry fields of the mask that have been
 * received (rows of controller_field_table, their D-Bus types), then
 * TimeUsec and WallTimeUsec (t): the latest reading's receive time. */
static int append_telemetry(sd_bus_message *m, const Controller *c, uint64_t mask, uint64_t time_usec) {
        const FieldTable *t = &controller_field_table;
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        for (size_t i = 0; r >= 0 && i < t->n; i++) {
                const Field *f = &t->fields[i];
                FieldValue v = {};

                if (!(f->dirty & mask & CONTROLLER_DIRTY_TELEMETRY_MASK) || !f->get(c, &v))
                        continue;
                r = bus_open_entry(m, f->name, f->type);
                if (r >= 0)
                        r = bus_append_field(m, f, c);
                if (r >= 0)
                        r = bus_close_entry(m);
        }
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "TimeUsec", "t", time_usec);
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "WallTimeUsec", "t", daemon_wall_usec(time_usec));
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static void on_telemetry(void *userdata, Controller *c, uint64_t mask, uint64_t time_usec) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        Bus *b = userdata;
        char path[RENDER_CONTROLLER_PATH_MAX];
        int r;

        render_controller_path(c, path);
        /* the properties are EMITS_INVALIDATION: this only names them */
        emit_changed(b, path, BUS_CONTROLLER_INTERFACE, &controller_field_table,
                     mask & CONTROLLER_DIRTY_TELEMETRY_MASK);

        r = sd_bus_message_new_signal(bus_get(b), &m, path, BUS_CONTROLLER_INTERFACE, "Telemetry");
        if (r >= 0)
                r = append_telemetry(m, c, mask, time_usec);
        if (r >= 0)
                r = sd_bus_send(bus_get(b), m, NULL);
        if (r < 0)
                log_ctl_debug_errno(c, r, "Failed to send Telemetry signal: %m");
        bus_schedule_rearm(b);
}

static void on_board_changed(void *userdata, const Board *board) {
        emit_changed(userdata, BUS_PATH, BUS_MANAGER_INTERFACE, &manager_field_table, DAEMON_CHANGED_BOARD);
}

static void on_manager_changed(void *userdata, uint64_t mask) {
        emit_changed(userdata, BUS_PATH, BUS_MANAGER_INTERFACE, &manager_field_table, mask);
}

static const DaemonListener bus_listener = {
        .controller_added = on_controller_added,
        .controller_removed = on_controller_removed,
        .controller_changed = on_controller_changed,
        .telemetry = on_telemetry,
        .board_changed = on_board_changed,
        .manager_changed = on_manager_changed,
};

/**
 * bus_manager_register() - publish the Manager and subscribe to changes
 * @b: the adapter
 *
 * Returns: 0 or -errno.
 */
int bus_manager_register(Bus *b) {
        sd_bus_vtable *vtable;
        int r;

        r = bus_vtable_new(b, &manager_field_table, property_get, manager_members, "Manager", manager_methods,
                           manager_dispatch, &vtable);
        if (r < 0)
                return r;
        r = sd_bus_add_object_vtable(bus_get(b), NULL, BUS_PATH, BUS_MANAGER_INTERFACE, vtable, b);
        if (r < 0)
                return r;
        return daemon_add_listener(bus_daemon(b), &bus_listener, b);
}

/**
 * bus_manager_unregister() - stop listening to the daemon
 * @b: the adapter
 */
void bus_manager_unregister(Bus *b) {
        daemon_remove_listener(bus_daemon(b), &bus_listener, b);
}
