/* Snapshot rendering with jansson.  See render.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/daemon.h"
#include "core/fields.h"
#include "macro.h"
#include "core/render.h"
#include "core/request.h"

/**
 * render_controller_path() - D-Bus object path of a controller
 * @c: the controller
 * @buf: output
 */
void render_controller_path(const Controller *c, char buf[static RENDER_CONTROLLER_PATH_MAX]) {
        static const char prefix[] = "/org/vescd1/controller/";

        /* two copies, not snprintf(): the D-Bus adapter renders the path for
         * every signal it emits, i.e. per telemetry flush (bench-ingest) */
        _Static_assert(sizeof prefix - 1 + sizeof c->uuid_str <= RENDER_CONTROLLER_PATH_MAX, "path fits");
        if (!c->has_identity) {
                buf[0] = 0;
                return;
        }
        memcpy(buf, prefix, sizeof prefix - 1);
        memcpy(buf + sizeof prefix - 1, c->uuid_str, sizeof c->uuid_str); /* with its NUL */
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

/* One field as JSON (NULL on ENOMEM). */
static json_t *field_to_json(const Field *f, const FieldValue *v) {
        switch (f->type[0]) {
        case 'y':
        case 'u':
        case 't':
                return json_integer((json_int_t) v->u);
        case 'x':
                return json_integer((json_int_t) v->x);
        case 'd':
                return json_real(v->d);
        case 'b':
                return json_boolean(v->b);
        case 'a':
                return strv_to_json((char **) v->strv);
        default:
                return json_string(v->s ? v->s : "");
        }
}

/**
 * render_fields() - an object's fields as a flat JSON object
 * @t: the object's field table
 * @object: the object (what the getters take)
 * @mask: only fields with one of these dirty bits (UINT64_MAX: all)
 * @o: the JSON object to add to
 *
 * Names are the snake_case of the D-Bus names; optional fields are left
 * out while absent.
 *
 * Returns: 0 or -ENOMEM.
 */
int render_fields(const FieldTable *t, const void *object, uint64_t mask, json_t *o) {
        for (size_t i = 0; i < t->n; i++) {
                const Field *f = &t->fields[i];
                char name[FIELD_NAME_MAX];
                FieldValue v = {};
                bool present;
                json_t *j;

                if (!(f->dirty & mask))
                        continue;
                present = f->get(object, &v);
                if (!present && (f->flags & FIELD_OPTIONAL)) {
                        field_value_done(f, &v);
                        continue;
                }
                j = field_to_json(f, &v);
                field_value_done(f, &v);
                field_snake(f->name, name, sizeof name);
                if (json_object_set_new(o, name, j) < 0)
                        return -ENOMEM;
        }
        return 0;
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

        if (o && render_fields(&controller_field_table, c, mask & CONTROLLER_DIRTY_TELEMETRY_MASK, o) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

/**
 * render_controller() - full controller snapshot
 * @c: the controller
 *
 * Its object path, then every field of controller_field_table.
 *
 * Returns: a new object, or NULL on ENOMEM.
 */
json_t *render_controller(const Controller *c) {
        char path[RENDER_CONTROLLER_PATH_MAX];
        json_t *o;

        render_controller_path(c, path);
        o = json_pack("{s:s}", "path", path);
        if (o && render_fields(&controller_field_table, c, UINT64_MAX, o) < 0) {
                json_decref(o);
                return NULL;
        }
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
        o = json_pack("{s:b, s:o, s:s, s:o, s:o, s:s, s:o}",
                      "mismatch", b->mismatch,
                      "mismatch_reasons", strv_to_json(b->reasons),
                      "mismatch_reason", board_mismatch_reason(b),
                      "actions", strv_to_json(b->actions),
                      "controllers", list,
                      "board_state", board_state_to_string(b->state),
                      "board_state_reasons", strv_to_json(b->state_reasons));
        return o;
}

/**
 * render_manager() - manager snapshot (the Manager's properties)
 * @d: the daemon
 *
 * Returns: a new object, or NULL on ENOMEM.
 */
json_t *render_manager(Daemon *d) {
        json_t *o = json_object();

        if (o && render_fields(&manager_field_table, d, UINT64_MAX, o) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}
