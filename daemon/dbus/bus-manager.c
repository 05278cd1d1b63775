/* org.vescd1.Manager at /org/vescd1, and the D-Bus side of the daemon's
 * change bus: model changes become PropertiesChanged, ControllerAdded/
 * Removed, InterfacesAdded/Removed and coalesced Telemetry signals. */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "dbus/bus.h"
#include "core/daemon.h"
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

/* "temp_fet" -> "TempFet" */
static void camel(const char *snake, char *out, size_t size) {
        bool up = true;
        size_t j = 0;

        for (const char *p = snake; *p && j + 1 < size; p++) {
                if (*p == '_') {
                        up = true;
                        continue;
                }
                out[j++] = up ? (char) toupper((unsigned char) *p) : *p;
                up = false;
        }
        out[j] = 0;
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

                camel(key, name, sizeof name);
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

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
}

static int property_get_transport(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        return sd_bus_message_append(reply, "s", transport_spec(daemon_transport(bus_daemon(b))));
}

static int property_get_bus_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        return sd_bus_message_append(reply, "s",
                                     transport_bus_state_to_string(transport_bus_state(daemon_transport(bus_daemon(b)))));
}

static int property_get_controllers(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        return append_paths(reply, bus_daemon(b));
}

static int property_get_mismatch(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        return sd_bus_message_append(reply, "b", daemon_board(bus_daemon(b))->mismatch);
}

static int property_get_mismatch_reasons(sd_bus *bus, const char *path, const char *interface, const char *property,
                                         sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        return append_strv(reply, daemon_board(bus_daemon(b))->reasons);
}

static int property_get_mismatch_reason(sd_bus *bus, const char *path, const char *interface, const char *property,
                                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        const Board *board = daemon_board(bus_daemon(b));
        return sd_bus_message_append(reply, "s", board->mismatch && board->reasons[0] ? board->reasons[0] : "");
}

static int property_get_actions(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        return append_strv(reply, daemon_board(bus_daemon(b))->actions);
}

static int property_get_scanning(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        return sd_bus_message_append(reply, "b", daemon_scanning(bus_daemon(b)));
}

static int property_get_can_id(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        return sd_bus_message_append(reply, "y", (uint8_t) daemon_config(bus_daemon(b))->can_id);
}

static int property_get_counter(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        TransportStats s;
        uint64_t v = 0;

        transport_get_stats(daemon_transport(bus_daemon(b)), &s);
        if (strcmp(property, "RxFrames") == 0)
                v = s.rx_frames;
        else if (strcmp(property, "TxFrames") == 0)
                v = s.tx_frames;
        else if (strcmp(property, "TxDropped") == 0)
                v = s.tx_dropped;
        else if (strcmp(property, "TxRetries") == 0)
                v = s.tx_retries;
        else if (strcmp(property, "RxDropped") == 0)
                v = s.rx_dropped;
        else if (strcmp(property, "ErrorFrames") == 0)
                v = s.error_frames;
        else if (strcmp(property, "BusOffCount") == 0)
                v = s.bus_off;
        return sd_bus_message_append(reply, "t", v);
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
        r = sd_bus_message_append(reply, "{sv}", "MismatchReason", "s",
                                  board->mismatch && board->reasons[0] ? board->reasons[0] : "");
        if (r < 0)
                return r;
        const struct {
                const char *name;
                char **v;
        } lists[] = { { "MismatchReasons", board->reasons }, { "Actions", board->actions } };
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

const sd_bus_vtable bus_manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Transport", "s", property_get_transport, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("CanId", "y", property_get_can_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("BusState", "s", property_get_bus_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Controllers", "ao", property_get_controllers, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Mismatch", "b", property_get_mismatch, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MismatchReasons", "as", property_get_mismatch_reasons, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MismatchReason", "s", property_get_mismatch_reason, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Actions", "as", property_get_actions, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Scanning", "b", property_get_scanning, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RxFrames", "t", property_get_counter, 0, 0),
        SD_BUS_PROPERTY("TxFrames", "t", property_get_counter, 0, 0),
        SD_BUS_PROPERTY("TxRetries", "t", property_get_counter, 0, 0),
        SD_BUS_PROPERTY("TxDropped", "t", property_get_counter, 0, 0),
        SD_BUS_PROPERTY("RxDropped", "t", property_get_counter, 0, 0),
        SD_BUS_PROPERTY("ErrorFrames", "t", property_get_counter, 0, 0),
        SD_BUS_PROPERTY("BusOffCount", "t", property_get_counter, 0, 0),
        SD_BUS_METHOD_WITH_ARGS("Scan", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_scan, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetBoard", SD_BUS_NO_ARGS, SD_BUS_RESULT("a{sv}", board), method_get_board,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        BUS_MANAGER_FIRMWARE_MEMBERS,
        SD_BUS_SIGNAL_WITH_ARGS("ControllerAdded", SD_BUS_ARGS("o", controller), 0),
        SD_BUS_SIGNAL_WITH_ARGS("ControllerRemoved", SD_BUS_ARGS("o", controller), 0),
        SD_BUS_VTABLE_END
};

/* ----------------------------------------------------- change listener */

static void on_controller_added(void *userdata, Controller *c) {
        Bus *b = userdata;
        char path[RENDER_CONTROLLER_PATH_MAX];

        render_controller_path(c, path);
        (void) sd_bus_emit_object_added(bus_get(b), path);
        (void) sd_bus_emit_signal(bus_get(b), BUS_PATH, BUS_MANAGER_INTERFACE, "ControllerAdded", "o", path);
        bus_schedule_rearm(b);
}

static void on_controller_removed(void *userdata, Controller *c) {
        Bus *b = userdata;
        char path[RENDER_CONTROLLER_PATH_MAX];

        render_controller_path(c, path);
        (void) sd_bus_emit_object_removed(bus_get(b), path);
        (void) sd_bus_emit_signal(bus_get(b), BUS_PATH, BUS_MANAGER_INTERFACE, "ControllerRemoved", "o", path);
        bus_schedule_rearm(b);
}

static void on_controller_changed(void *userdata, Controller *c, uint64_t mask) {
        static const struct {
                uint64_t bit;
                const char *props[8];
        } map[] = {
                { CONTROLLER_DIRTY_ID, { "Id" } },
                { CONTROLLER_DIRTY_IDENTITY,
                  { "HwName", "HwType", "FirmwareVersion", "FirmwareTestBuild", "FirmwareName", "BootloaderGeneration" } },
                { CONTROLLER_DIRTY_ONLINE, { "Online" } },
                { CONTROLLER_DIRTY_FAULT, { "Fault", "FaultCode" } },
                { CONTROLLER_DIRTY_SIGNATURES, { "McconfSignature", "AppconfSignature" } },
                { CONTROLLER_DIRTY_BROADCASTS, { "Broadcasting" } },
        };
        Bus *b = userdata;
        char path[RENDER_CONTROLLER_PATH_MAX];
        const char *names[32];
        size_t n = 0;

        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (mask & map[i].bit)
                        for (size_t j = 0; j < ELEMENTSOF(map[i].props) && map[i].props[j]; j++)
                                names[n++] = map[i].props[j];
        if (n == 0)
                return;
        names[n] = NULL;
        render_controller_path(c, path);
        (void) sd_bus_emit_properties_changed_strv(bus_get(b), path, BUS_CONTROLLER_INTERFACE, (char **) names);
        bus_schedule_rearm(b);
}

static void on_telemetry(void *userdata, Controller *c, uint64_t mask) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        Bus *b = userdata;
        char path[RENDER_CONTROLLER_PATH_MAX];
        const char *names[_TELEMETRY_MAX + 1];
        size_t n = 0;
        json_t *o;
        int r;

        render_controller_path(c, path);
        for (unsigned f = 0; f < _TELEMETRY_MAX; f++)
                if (mask & (UINT64_C(1) << f))
                        names[n++] = controller_telemetry_name(f);
        names[n] = NULL;
        /* the properties are EMITS_INVALIDATION: this only names them */
        (void) sd_bus_emit_properties_changed_strv(bus_get(b), path, BUS_CONTROLLER_INTERFACE, (char **) names);

        o = render_telemetry(c, mask);
        if (!o)
                return;
        r = sd_bus_message_new_signal(bus_get(b), &m, path, BUS_CONTROLLER_INTERFACE, "Telemetry");
        if (r >= 0)
                r = bus_append_json_dict(m, o);
        if (r >= 0)
                r = sd_bus_send(bus_get(b), m, NULL);
        json_decref(o);
        if (r < 0)
                log_ctl_debug_errno(c, r, "Failed to send Telemetry signal: %m");
        bus_schedule_rearm(b);
}

static void on_board_changed(void *userdata, const Board *board) {
        Bus *b = userdata;

        (void) sd_bus_emit_properties_changed(bus_get(b), BUS_PATH, BUS_MANAGER_INTERFACE, "Mismatch",
                                              "MismatchReasons", "MismatchReason", "Actions", NULL);
        bus_schedule_rearm(b);
}

static void on_manager_changed(void *userdata, uint64_t mask) {
        Bus *b = userdata;
        const char *names[4];
        size_t n = 0;

        if (mask & DAEMON_CHANGED_BUS_STATE)
                names[n++] = "BusState";
        if (mask & DAEMON_CHANGED_CONTROLLERS)
                names[n++] = "Controllers";
        if (mask & DAEMON_CHANGED_SCANNING)
                names[n++] = "Scanning";
        if (n == 0)
                return;
        names[n] = NULL;
        (void) sd_bus_emit_properties_changed_strv(bus_get(b), BUS_PATH, BUS_MANAGER_INTERFACE, (char **) names);
        bus_schedule_rearm(b);
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
        int r;

        r = sd_bus_add_object_vtable(bus_get(b), NULL, BUS_PATH, BUS_MANAGER_INTERFACE, bus_manager_vtable, b);
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
