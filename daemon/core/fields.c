/* The field tables and the one CamelCase <-> snake_case rule.  See fields.h. */
#include <stdlib.h>
#include <string.h>

#include "core/controller.h"
#include "core/fields.h"
#include "macro.h"

/**
 * field_snake() - the JSON name of a D-Bus name
 * @camel: "BusOffCount" (or an already snake_case name)
 * @out: output
 * @size: its size
 */
void field_snake(const char *camel, char *out, size_t size) {
        size_t j = 0;

        if (size == 0)
                return;
        for (const char *p = camel; *p && j + 2 < size; p++) {
                if (*p >= 'A' && *p <= 'Z') {
                        if (p != camel)
                                out[j++] = '_';
                        out[j++] = (char) (*p - 'A' + 'a');
                } else
                        out[j++] = *p;
        }
        out[j] = 0;
}

/**
 * field_camel() - the D-Bus name of a JSON name
 * @snake: "bus_off_count"
 * @out: output
 * @size: its size
 */
void field_camel(const char *snake, char *out, size_t size) {
        bool up = true;
        size_t j = 0;

        if (size == 0)
                return;
        for (const char *p = snake; *p && j + 1 < size; p++) {
                if (*p == '_') {
                        up = true;
                        continue;
                }
                out[j++] = up && *p >= 'a' && *p <= 'z' ? (char) (*p - 'a' + 'A') : *p;
                up = false;
        }
        out[j] = 0;
}

/**
 * field_table_find() - look a field up by its D-Bus or JSON name
 * @t: the table
 * @name: "FirmwareVersion" or "firmware_version"
 *
 * Returns: the field, or NULL.
 */
const Field *field_table_find(const FieldTable *t, const char *name) {
        char snake[FIELD_NAME_MAX];

        for (size_t i = 0; i < t->n; i++) {
                if (strcmp(t->fields[i].name, name) == 0)
                        return &t->fields[i];
                field_snake(t->fields[i].name, snake, sizeof snake);
                if (strcmp(snake, name) == 0)
                        return &t->fields[i];
        }
        return NULL;
}

/**
 * field_table_changed() - the fields a change mask touches
 * @t: the table
 * @mask: dirty bits
 * @names: output, NULL-terminated
 * @max: its size (including the NULL)
 *
 * Only fields that announce changes (not const, not read on request).
 *
 * Returns: the number of names.
 */
size_t field_table_changed(const FieldTable *t, uint64_t mask, const char **names, size_t max) {
        size_t n = 0;

        if (max == 0)
                return 0;
        for (size_t i = 0; i < t->n && n + 1 < max; i++) {
                const Field *f = &t->fields[i];
                if ((f->dirty & mask) && !(f->flags & (FIELD_CONST | FIELD_ON_REQUEST)))
                        names[n++] = f->name;
        }
        names[n] = NULL;
        return n;
}

/**
 * field_value_done() - free what a getter allocated
 * @f: the field
 * @v: its value
 */
void field_value_done(const Field *f, FieldValue *v) {
        if (!(f->flags & FIELD_OWNED_STRV) || !v->strv)
                return;
        for (char *const *p = v->strv; *p; p++)
                free(*p);
        free((void *) v->strv);
        v->strv = NULL;
}

/* ------------------------------------------------------------ Controller */

#define CTL(o) ((const Controller *) (o))

FIELD_GETTER(get_id, u, CTL(o)->id)
FIELD_GETTER(get_uuid, s, CTL(o)->uuid_str)
FIELD_GETTER(get_hw_name, s, CTL(o)->hw_name)
FIELD_GETTER(get_hw_type, u, CTL(o)->hw_type)
FIELD_GETTER(get_fw_version, s, CTL(o)->fw_version)
FIELD_GETTER(get_fw_test_build, u, CTL(o)->fw_test_build)
FIELD_GETTER(get_fw_name, s, CTL(o)->fw_name)
FIELD_GETTER(get_bootloader_gen, u, CTL(o)->bootloader_gen)
FIELD_GETTER(get_online, b, CTL(o)->online)
FIELD_GETTER(get_broadcasting, b, CTL(o)->broadcasting)
FIELD_GETTER(get_fault, s, controller_fault_name(CTL(o)))
FIELD_GETTER(get_fault_code, u, CTL(o)->fault_code)
FIELD_GETTER(get_status_frames, u, CTL(o)->counters.status_frames)
FIELD_GETTER(get_replies, u, CTL(o)->counters.replies)
FIELD_GETTER(get_polls, u, CTL(o)->counters.polls)
FIELD_GETTER(get_timeouts, u, CTL(o)->counters.timeouts)
FIELD_GETTER(get_went_offline, u, CTL(o)->counters.went_offline)

/* The primary motor's path on the second motor of a single-MCU dual-motor
 * controller; "" on every other controller (JSON ""; D-Bus shows an empty
 * object path as "/"). */
static bool get_primary_motor(const void *o, FieldValue *ret) {
        ret->s = CTL(o)->primary_motor;
        return true;
}

/* 0 = not known: D-Bus shows 0, JSON leaves it out */
static bool get_mc_signature(const void *o, FieldValue *ret) {
        ret->u = CTL(o)->mc_signature;
        return ret->u != 0;
}

static bool get_app_signature(const void *o, FieldValue *ret) {
        ret->u = CTL(o)->app_signature;
        return ret->u != 0;
}

/* Telemetry: the field's dirty bit is 1 << its ControllerTelemetryField;
 * absent until first received. */
static bool get_telemetry(const Controller *c, ControllerTelemetryField f, FieldValue *ret) {
        if (f == TELEMETRY_TACHOMETER)
                ret->x = (int64_t) c->telemetry[f];
        else
                ret->d = c->telemetry[f];
        return c->telemetry_present & (UINT32_C(1) << f);
}

#define TELEMETRY_GETTER(fn, field) \
        static bool fn(const void *o, FieldValue *ret) { return get_telemetry(CTL(o), field, ret); }

TELEMETRY_GETTER(get_erpm, TELEMETRY_ERPM)
TELEMETRY_GETTER(get_current_motor, TELEMETRY_CURRENT_MOTOR)
TELEMETRY_GETTER(get_current_in, TELEMETRY_CURRENT_IN)
TELEMETRY_GETTER(get_duty_cycle, TELEMETRY_DUTY_CYCLE)
TELEMETRY_GETTER(get_voltage_in, TELEMETRY_VOLTAGE_IN)
TELEMETRY_GETTER(get_temp_fet, TELEMETRY_TEMP_FET)
TELEMETRY_GETTER(get_temp_motor, TELEMETRY_TEMP_MOTOR)
TELEMETRY_GETTER(get_amp_hours, TELEMETRY_AMP_HOURS)
TELEMETRY_GETTER(get_amp_hours_charged, TELEMETRY_AMP_HOURS_CHARGED)
TELEMETRY_GETTER(get_watt_hours, TELEMETRY_WATT_HOURS)
TELEMETRY_GETTER(get_watt_hours_charged, TELEMETRY_WATT_HOURS_CHARGED)
TELEMETRY_GETTER(get_tachometer, TELEMETRY_TACHOMETER)

#define TELEMETRY_BIT(f) (UINT64_C(1) << (f))
#define TELEMETRY_FLAGS (FIELD_INVALIDATES | FIELD_OPTIONAL)

static const Field controller_fields[] = {
        { "Id", "y", CONTROLLER_DIRTY_ID, 0, get_id },
        { "Uuid", "s", CONTROLLER_DIRTY_IDENTITY, FIELD_CONST, get_uuid },
        { "HwName", "s", CONTROLLER_DIRTY_IDENTITY, 0, get_hw_name },
        { "HwType", "y", CONTROLLER_DIRTY_IDENTITY, 0, get_hw_type },
        { "FirmwareVersion", "s", CONTROLLER_DIRTY_IDENTITY, 0, get_fw_version },
        { "FirmwareTestBuild", "y", CONTROLLER_DIRTY_IDENTITY, 0, get_fw_test_build },
        { "FirmwareName", "s", CONTROLLER_DIRTY_IDENTITY, 0, get_fw_name },
        { "BootloaderGeneration", "y", CONTROLLER_DIRTY_IDENTITY, 0, get_bootloader_gen },
        { "PrimaryMotor", "o", CONTROLLER_DIRTY_IDENTITY, 0, get_primary_motor },
        { "Online", "b", CONTROLLER_DIRTY_ONLINE, 0, get_online },
        { "Broadcasting", "b", CONTROLLER_DIRTY_BROADCASTS, 0, get_broadcasting },
        { "Fault", "s", CONTROLLER_DIRTY_FAULT, 0, get_fault },
        { "FaultCode", "y", CONTROLLER_DIRTY_FAULT, 0, get_fault_code },
        { "McconfSignature", "u", CONTROLLER_DIRTY_SIGNATURES, FIELD_OPTIONAL, get_mc_signature },
        { "AppconfSignature", "u", CONTROLLER_DIRTY_SIGNATURES, FIELD_OPTIONAL, get_app_signature },
        { "Erpm", "d", TELEMETRY_BIT(TELEMETRY_ERPM), TELEMETRY_FLAGS, get_erpm },
        { "CurrentMotor", "d", TELEMETRY_BIT(TELEMETRY_CURRENT_MOTOR), TELEMETRY_FLAGS, get_current_motor },
        { "CurrentIn", "d", TELEMETRY_BIT(TELEMETRY_CURRENT_IN), TELEMETRY_FLAGS, get_current_in },
        { "DutyCycle", "d", TELEMETRY_BIT(TELEMETRY_DUTY_CYCLE), TELEMETRY_FLAGS, get_duty_cycle },
        { "VoltageIn", "d", TELEMETRY_BIT(TELEMETRY_VOLTAGE_IN), TELEMETRY_FLAGS, get_voltage_in },
        { "TempFet", "d", TELEMETRY_BIT(TELEMETRY_TEMP_FET), TELEMETRY_FLAGS, get_temp_fet },
        { "TempMotor", "d", TELEMETRY_BIT(TELEMETRY_TEMP_MOTOR), TELEMETRY_FLAGS, get_temp_motor },
        { "AmpHours", "d", TELEMETRY_BIT(TELEMETRY_AMP_HOURS), TELEMETRY_FLAGS, get_amp_hours },
        { "AmpHoursCharged", "d", TELEMETRY_BIT(TELEMETRY_AMP_HOURS_CHARGED), TELEMETRY_FLAGS,
          get_amp_hours_charged },
        { "WattHours", "d", TELEMETRY_BIT(TELEMETRY_WATT_HOURS), TELEMETRY_FLAGS, get_watt_hours },
        { "WattHoursCharged", "d", TELEMETRY_BIT(TELEMETRY_WATT_HOURS_CHARGED), TELEMETRY_FLAGS,
          get_watt_hours_charged },
        { "Tachometer", "x", TELEMETRY_BIT(TELEMETRY_TACHOMETER), TELEMETRY_FLAGS, get_tachometer },
        { "StatusFrames", "t", CONTROLLER_DIRTY_COUNTERS, FIELD_ON_REQUEST, get_status_frames },
        { "Replies", "t", CONTROLLER_DIRTY_COUNTERS, FIELD_ON_REQUEST, get_replies },
        { "Polls", "t", CONTROLLER_DIRTY_COUNTERS, FIELD_ON_REQUEST, get_polls },
        { "Timeouts", "t", CONTROLLER_DIRTY_COUNTERS, FIELD_ON_REQUEST, get_timeouts },
        { "WentOffline", "t", CONTROLLER_DIRTY_COUNTERS, FIELD_ON_REQUEST, get_went_offline },
};

const FieldTable controller_field_table = FIELD_TABLE("Controller", controller_fields);
