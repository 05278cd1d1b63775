/* Snapshot rendering with jansson.  See render.h. */
#include <stdio.h>

#include "core/daemon.h"
#include "macro.h"
#include "core/render.h"
#include "core/request.h"

/**
 * render_controller_path() - D-Bus object path of a controller
 * @c: the controller
 * @buf: output
 */
void render_controller_path(const Controller *c, char buf[static RENDER_CONTROLLER_PATH_MAX]) {
        if (!c->has_identity)
                buf[0] = 0;
        else
                snprintf(buf, RENDER_CONTROLLER_PATH_MAX, "/org/vescd1/controller/%s", c->uuid_str);
}

static json_t *strv_to_json(char **v) {
        json_t *a = json_array();

        if (!a)
                return NULL;
        for (; v && *v; v++)
                if (json_array_append_new(a, json_string(*v)) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

/**
 * render_telemetry() - telemetry object
 * @c: the controller
 * @mask: which fields (bit per ControllerTelemetryField)
 *
 * Returns: a new object, or NULL on ENOMEM.
 */
json_t *render_telemetry(const Controller *c, uint64_t mask) {
        json_t *o = json_object();

        if (!o)
                return NULL;
        for (unsigned f = 0; f < _TELEMETRY_MAX; f++) {
                if (!(mask & (UINT64_C(1) << f)) || !(c->telemetry_present & (UINT32_C(1) << f)))
                        continue;
                json_t *v = f == TELEMETRY_TACHOMETER ? json_integer((json_int_t) c->telemetry[f])
                                                      : json_real(c->telemetry[f]);
                if (json_object_set_new(o, controller_telemetry_json_name(f), v) < 0) {
                        json_decref(o);
                        return NULL;
                }
        }
        return o;
}

/**
 * render_controller() - full controller snapshot
 * @c: the controller
 *
 * Returns: a new object, or NULL on ENOMEM.
 */
json_t *render_controller(const Controller *c) {
        char path[RENDER_CONTROLLER_PATH_MAX];
        json_t *o;

        render_controller_path(c, path);
        o = json_pack("{s:s, s:s, s:i, s:s, s:i, s:s, s:i, s:s, s:b, s:b, s:s, s:i, s:i}",
                      "path", path,
                      "uuid", c->uuid_str,
                      "id", (int) c->id,
                      "hw_name", c->hw_name,
                      "hw_type", (int) c->hw_type,
                      "firmware_version", c->fw_version,
                      "firmware_test_build", (int) c->fw_test_build,
                      "firmware_name", c->fw_name,
                      "online", c->online,
                      "broadcasting", c->broadcasting,
                      "fault", controller_fault_name(c),
                      "fault_code", (int) c->fault_code,
                      "bootloader_generation", (int) c->bootloader_gen);
        if (!o)
                return NULL;
        if (c->mc_signature)
                json_object_set_new(o, "mcconf_signature", json_integer(c->mc_signature));
        if (c->app_signature)
                json_object_set_new(o, "appconf_signature", json_integer(c->app_signature));
        json_object_set_new(o, "telemetry", render_telemetry(c, CONTROLLER_DIRTY_TELEMETRY_MASK));
        json_object_set_new(o, "counters",
                            json_pack("{s:I, s:I, s:I, s:I, s:I}",
                                      "status_frames", (json_int_t) c->counters.status_frames,
                                      "replies", (json_int_t) c->counters.replies,
                                      "polls", (json_int_t) c->counters.polls,
                                      "timeouts", (json_int_t) c->counters.timeouts,
                                      "went_offline", (json_int_t) c->counters.went_offline));
        return o;
}

/**
 * render_values() - a GET_VALUES reply as GetValues returns it
 * @v: decoded values; only fields in v->present are rendered
 *
 * Returns: a new object, or NULL on ENOMEM.
 */
json_t *render_values(const VescValues *v) {
        static const struct {
                VescValueBit bit;
                const char *name;
        } reals[] = {
                { VALUE_TEMP_FET, "temp_fet" },       { VALUE_TEMP_MOTOR, "temp_motor" },
                { VALUE_CURRENT_MOTOR, "current_motor" }, { VALUE_CURRENT_IN, "current_in" },
                { VALUE_ID, "current_d" },             { VALUE_IQ, "current_q" },
                { VALUE_DUTY, "duty_cycle" },          { VALUE_ERPM, "erpm" },
                { VALUE_V_IN, "voltage_in" },          { VALUE_AH, "amp_hours" },
                { VALUE_AH_CHARGED, "amp_hours_charged" }, { VALUE_WH, "watt_hours" },
                { VALUE_WH_CHARGED, "watt_hours_charged" }, { VALUE_PID_POS, "pid_position" },
                { VALUE_VD, "voltage_d" },             { VALUE_VQ, "voltage_q" },
        };
        const double vals[_VALUE_BIT_MAX] = {
                [VALUE_TEMP_FET] = v->temp_fet, [VALUE_TEMP_MOTOR] = v->temp_motor,
                [VALUE_CURRENT_MOTOR] = v->current_motor, [VALUE_CURRENT_IN] = v->current_in,
                [VALUE_ID] = v->id, [VALUE_IQ] = v->iq, [VALUE_DUTY] = v->duty, [VALUE_ERPM] = v->erpm,
                [VALUE_V_IN] = v->v_in, [VALUE_AH] = v->ah, [VALUE_AH_CHARGED] = v->ah_charged,
                [VALUE_WH] = v->wh, [VALUE_WH_CHARGED] = v->wh_charged, [VALUE_PID_POS] = v->pid_pos,
                [VALUE_VD] = v->vd, [VALUE_VQ] = v->vq,
        };
        json_t *o = json_object();

        if (!o)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(reals); i++)
                if (v->present & (UINT32_C(1) << reals[i].bit))
                        json_object_set_new(o, reals[i].name, json_real(vals[reals[i].bit]));
        if (v->present & (UINT32_C(1) << VALUE_TACHO))
                json_object_set_new(o, "tachometer", json_integer(v->tacho));
        if (v->present & (UINT32_C(1) << VALUE_TACHO_ABS))
                json_object_set_new(o, "tachometer_abs", json_integer(v->tacho_abs));
        if (v->present & (UINT32_C(1) << VALUE_FAULT)) {
                json_object_set_new(o, "fault_code", json_integer(v->fault));
                json_object_set_new(o, "fault", json_string(vesc_fault_to_string(v->fault)));
        }
        if (v->present & (UINT32_C(1) << VALUE_CONTROLLER_ID))
                json_object_set_new(o, "id", json_integer(v->controller_id));
        if (v->present & (UINT32_C(1) << VALUE_STATUS))
                json_object_set_new(o, "status_flags", json_integer(v->status));
        return o;
}

/**
 * render_board() - board snapshot
 * @b: the board
 * @controllers: the identified controllers
 * @n: their number
 *
 * Returns: a new object, or NULL on ENOMEM.
 */
json_t *render_board(const Board *b, Controller *const *controllers, size_t n) {
        json_t *o, *list;

        list = json_array();
        if (!list)
                return NULL;
        for (size_t i = 0; i < n; i++)
                json_array_append_new(list, render_controller(controllers[i]));
        o = json_pack("{s:b, s:o, s:s, s:o, s:o}",
                      "mismatch", b->mismatch,
                      "mismatch_reasons", strv_to_json(b->reasons),
                      "mismatch_reason", b->mismatch && b->reasons && b->reasons[0] ? b->reasons[0] : "",
                      "actions", strv_to_json(b->actions),
                      "controllers", list);
        return o;
}

/**
 * render_manager() - manager snapshot (the Manager's properties)
 * @d: the daemon
 *
 * Returns: a new object, or NULL on ENOMEM.
 */
json_t *render_manager(Daemon *d) {
        Controller *const *cs;
        size_t n = daemon_controllers(d, &cs);
        const Board *b = daemon_board(d);
        TransportStats ts;
        json_t *paths, *o;

        transport_get_stats(daemon_transport(d), &ts);
        paths = json_array();
        if (!paths)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                char path[RENDER_CONTROLLER_PATH_MAX];
                render_controller_path(cs[i], path);
                json_array_append_new(paths, json_string(path));
        }
        o = json_pack("{s:s, s:s, s:s, s:o, s:b, s:o, s:s, s:b, s:i}",
                      "version", PACKAGE_VERSION,
                      "transport", transport_spec(daemon_transport(d)),
                      "bus_state", transport_bus_state_to_string(transport_bus_state(daemon_transport(d))),
                      "controllers", paths,
                      "mismatch", b->mismatch,
                      "mismatch_reasons", strv_to_json(b->reasons),
                      "mismatch_reason", b->mismatch && b->reasons && b->reasons[0] ? b->reasons[0] : "",
                      "scanning", daemon_scanning(d),
                      "can_id", (int) daemon_config(d)->can_id);
        if (!o)
                return NULL;
        json_object_set_new(o, "counters",
                            json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                                      "rx_frames", (json_int_t) ts.rx_frames,
                                      "tx_frames", (json_int_t) ts.tx_frames,
                                      "tx_dropped", (json_int_t) ts.tx_dropped,
                                      "tx_retries", (json_int_t) ts.tx_retries,
                                      "rx_dropped", (json_int_t) ts.rx_dropped,
                                      "error_frames", (json_int_t) ts.error_frames,
                                      "bus_off", (json_int_t) ts.bus_off));
        return o;
}
