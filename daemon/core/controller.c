/* Per-controller model: identity, liveness, telemetry, faults, dirty mask.
 * See controller.h.  Pure; time is always an argument. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/controller.h"
#include "core/controller-status.h"
#include "hex.h"
#include "macro.h"
#include "proto/vesc-can.h"

/**
 * controller_init() - initialise a controller record seen at a CAN id
 * @c: the record (caller-owned storage)
 * @id: the CAN id it was seen at
 *
 * The record starts offline, without identity and with nothing dirty.
 */
void controller_init(Controller *c, uint8_t id) {
        *c = (Controller) { .id = id };
}

/**
 * controller_set_id() - record a new CAN id (after an update or re-numbering)
 * @c: the controller
 * @id: the new id
 *
 * Returns: 1 if the id changed, 0 otherwise.
 */
int controller_set_id(Controller *c, uint8_t id) {
        if (c->id == id)
                return 0;
        c->id = id;
        c->dirty |= CONTROLLER_DIRTY_ID;
        return 1;
}

/**
 * controller_seen() - note that a frame from the controller arrived
 * @c: the controller
 * @now_usec: CLOCK_MONOTONIC time of the frame
 *
 * Returns: 1 if the controller just came (back) online, 0 otherwise.
 */
int controller_seen(Controller *c, uint64_t now_usec) {
        c->last_seen_usec = now_usec;
        if (c->online)
                return 0;
        c->online = true;
        c->dirty |= CONTROLLER_DIRTY_ONLINE;
        return 1;
}

static void set_string(char *dst, size_t size, const char *src, bool *changed) {
        if (strncmp(dst, src, size) == 0)
                return;
        snprintf(dst, size, "%s", src);
        *changed = true;
}

/**
 * controller_apply_fw_version() - take identity from a COMM_FW_VERSION reply
 * @c: the controller
 * @v: the decoded reply
 * @now_usec: time of the reply
 *
 * A new firmware version invalidates the known configuration signatures
 * (they belong to a firmware) and the bootloader generation is kept.
 *
 * Returns: 1 if any identity field changed (including the first time), else 0.
 */
int controller_apply_fw_version(Controller *c, const VescFwVersion *v, uint64_t now_usec) {
        bool changed = !c->has_identity;
        char uuid_str[CONTROLLER_UUID_STR_LEN + 1];
        char version[8];

        controller_format_uuid(v->uuid, uuid_str);
        set_string(c->uuid_str, sizeof c->uuid_str, uuid_str, &changed);
        memcpy(c->uuid, v->uuid, VESC_UUID_LEN);
        set_string(c->hw_name, sizeof c->hw_name, v->hw_name, &changed);
        set_string(c->fw_name, sizeof c->fw_name, v->has_fw_name ? v->fw_name : "", &changed);

        vesc_version_format(v->major, v->minor, version);
        if (strcmp(version, c->fw_version) != 0) {
                /* signatures belong to the firmware that reported them */
                if (c->has_identity && (c->mc_signature || c->app_signature)) {
                        c->mc_signature = c->app_signature = 0;
                        c->dirty |= CONTROLLER_DIRTY_SIGNATURES;
                }
                changed = true;
        }
        snprintf(c->fw_version, sizeof c->fw_version, "%s", version);

        uint8_t test_build = v->has_test_build ? v->test_build : 0;
        uint8_t hw_type = v->has_hw_type ? v->hw_type : 0;
        if (c->fw_major != v->major || c->fw_minor != v->minor || c->fw_test_build != test_build ||
            c->hw_type != hw_type)
                changed = true;
        c->fw_major = v->major;
        c->fw_minor = v->minor;
        c->fw_test_build = test_build;
        c->hw_type = hw_type;
        c->has_identity = true;

        (void) controller_seen(c, now_usec);
        c->counters.replies++;
        c->dirty |= CONTROLLER_DIRTY_COUNTERS;
        if (changed)
                c->dirty |= CONTROLLER_DIRTY_IDENTITY;
        return changed;
}

static void set_telemetry(Controller *c, ControllerTelemetryField f, double value) {
        uint32_t bit = UINT32_C(1) << f;

        /* exact comparison on purpose: any new reading is a change */
        if ((c->telemetry_present & bit) && c->telemetry[f] == value)
                return;
        if (isnan(value))
                return;
        c->telemetry[f] = value;
        c->telemetry_present |= bit;
        c->dirty |= (uint64_t) bit;
}

/* set_telemetry() for the status path: returns the dirty bit instead of
 * setting it, so the caller ORs the frame's bits into ->dirty once. */
static inline uint64_t status_value(Controller *c, ControllerTelemetryField f, double value) {
        uint32_t bit = UINT32_C(1) << f;

        if (((c->telemetry_present & bit) && c->telemetry[f] == value) || isnan(value))
                return 0;
        c->telemetry[f] = value;
        c->telemetry_present |= bit;
        return bit;
}

/**
 * controller_apply_status() - take telemetry from a decoded status broadcast
 * @c: the controller
 * @st: decoded STATUS..STATUS_6 frame (sender already matched to @c)
 * @now_usec: time of the frame
 *
 * The fields are read into locals first (st may alias c as far as the
 * compiler knows) and the dirty bits collected and set once.  vescd's
 * per-frame path uses controller_apply_status_frame(), which has the same
 * effect for the frame @st was decoded from.
 *
 * Returns: 0, or -EOPNOTSUPP for a status type that carries nothing modelled.
 */
int controller_apply_status(Controller *c, const VescStatus *st, uint64_t now_usec) {
        const VescStatus s = *st;
        uint64_t dirty = controller_status_seen(c, s.type, now_usec);
        int r = 0;

#define APPLY_DECODED(f, member, accessor) status_value(c, f, s.member)
        switch (s.type) {
        CONTROLLER_STATUS_CASES(APPLY_DECODED)
        default:
                r = -EOPNOTSUPP;
                break;
        }
        c->dirty |= dirty;
        return r;
#undef APPLY_DECODED
}

/**
 * controller_apply_values() - take telemetry and the fault code from GET_VALUES
 * @c: the controller
 * @v: decoded (selective or full) reply; only fields in v->present are used
 * @now_usec: time of the reply
 *
 * Returns: 1 if the fault code changed, 0 otherwise.
 */
int controller_apply_values(Controller *c, const VescValues *v, uint64_t now_usec) {
        static const struct {
                VescValueBit bit;
                ControllerTelemetryField field;
        } map[] = {
                { VALUE_ERPM, TELEMETRY_ERPM },
                { VALUE_CURRENT_MOTOR, TELEMETRY_CURRENT_MOTOR },
                { VALUE_CURRENT_IN, TELEMETRY_CURRENT_IN },
                { VALUE_DUTY, TELEMETRY_DUTY_CYCLE },
                { VALUE_V_IN, TELEMETRY_VOLTAGE_IN },
                { VALUE_TEMP_FET, TELEMETRY_TEMP_FET },
                { VALUE_TEMP_MOTOR, TELEMETRY_TEMP_MOTOR },
                { VALUE_AH, TELEMETRY_AMP_HOURS },
                { VALUE_AH_CHARGED, TELEMETRY_AMP_HOURS_CHARGED },
                { VALUE_WH, TELEMETRY_WATT_HOURS },
                { VALUE_WH_CHARGED, TELEMETRY_WATT_HOURS_CHARGED },
                { VALUE_TACHO, TELEMETRY_TACHOMETER },
        };
        const double values[_VALUE_BIT_MAX] = {
                [VALUE_ERPM] = v->erpm,
                [VALUE_CURRENT_MOTOR] = v->current_motor,
                [VALUE_CURRENT_IN] = v->current_in,
                [VALUE_DUTY] = v->duty,
                [VALUE_V_IN] = v->v_in,
                [VALUE_TEMP_FET] = v->temp_fet,
                [VALUE_TEMP_MOTOR] = v->temp_motor,
                [VALUE_AH] = v->ah,
                [VALUE_AH_CHARGED] = v->ah_charged,
                [VALUE_WH] = v->wh,
                [VALUE_WH_CHARGED] = v->wh_charged,
                [VALUE_TACHO] = v->tacho,
        };
        int r = 0;

        (void) controller_seen(c, now_usec);
        c->counters.replies++;
        c->dirty |= CONTROLLER_DIRTY_COUNTERS | CONTROLLER_DIRTY_SAMPLE;
        c->sample_usec = now_usec;
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (v->present & (UINT32_C(1) << map[i].bit))
                        set_telemetry(c, map[i].field, values[map[i].bit]);

        if ((v->present & (UINT32_C(1) << VALUE_FAULT)) && v->fault != c->fault_code) {
                c->fault_code = v->fault;
                c->dirty |= CONTROLLER_DIRTY_FAULT;
                r = 1;
        }
        return r;
}

/**
 * controller_set_signatures() - record configuration signatures read from it
 * @c: the controller
 * @mc_signature: MCCONF signature, 0 to keep the known one
 * @app_signature: APPCONF signature, 0 to keep the known one
 */
void controller_set_signatures(Controller *c, uint32_t mc_signature, uint32_t app_signature) {
        if (mc_signature && mc_signature != c->mc_signature) {
                c->mc_signature = mc_signature;
                c->dirty |= CONTROLLER_DIRTY_SIGNATURES;
        }
        if (app_signature && app_signature != c->app_signature) {
                c->app_signature = app_signature;
                c->dirty |= CONTROLLER_DIRTY_SIGNATURES;
        }
}

/**
 * controller_check_liveness() - apply the offline timeout
 * @c: the controller
 * @now_usec: current time
 * @timeout_usec: how long silence means offline
 *
 * Also notices that status broadcasts stopped (they may stop while replies
 * to polls keep the controller online).
 *
 * Returns: 1 if the controller just went offline, 0 otherwise.
 */
int controller_check_liveness(Controller *c, uint64_t now_usec, uint64_t timeout_usec) {
        if (c->broadcasting && now_usec >= c->last_status_usec + timeout_usec) {
                c->broadcasting = false;
                c->dirty |= CONTROLLER_DIRTY_BROADCASTS;
        }
        if (!c->online || now_usec < c->last_seen_usec + timeout_usec)
                return 0;
        c->online = false;
        c->counters.went_offline++;
        c->dirty |= CONTROLLER_DIRTY_ONLINE | CONTROLLER_DIRTY_COUNTERS;
        return 1;
}

/**
 * controller_liveness_deadline() - when the liveness check next matters
 * @c: the controller
 * @timeout_usec: the offline timeout
 *
 * Returns: absolute time, or UINT64_MAX when nothing is pending (offline).
 */
uint64_t controller_liveness_deadline(const Controller *c, uint64_t timeout_usec) {
        uint64_t t = UINT64_MAX;

        if (c->online)
                t = c->last_seen_usec + timeout_usec;
        if (c->broadcasting)
                t = MIN(t, c->last_status_usec + timeout_usec);
        return t;
}

/**
 * controller_fault_name() - name of the current fault code
 * @c: the controller
 *
 * Returns: a static string ("NONE" when there is no fault).
 */
const char *controller_fault_name(const Controller *c) {
        return vesc_fault_to_string(c->fault_code);
}

/**
 * controller_take_dirty() - return and clear dirty bits
 * @c: the controller
 * @mask: which bits to take
 *
 * Returns: the bits of @mask that were set.
 */
uint64_t controller_take_dirty(Controller *c, uint64_t mask) {
        uint64_t d = c->dirty & mask;

        c->dirty &= ~mask;
        return d;
}

/**
 * controller_format_uuid() - 24 lower-case hex digits of a UUID
 * @uuid: 12 bytes
 * @out: 25 bytes of output
 */
void controller_format_uuid(const uint8_t uuid[static VESC_UUID_LEN], char out[static CONTROLLER_UUID_STR_LEN + 1]) {
        static const char hex[] = "0123456789abcdef";

        for (size_t i = 0; i < VESC_UUID_LEN; i++) {
                out[2 * i] = hex[uuid[i] >> 4];
                out[2 * i + 1] = hex[uuid[i] & 15];
        }
        out[CONTROLLER_UUID_STR_LEN] = 0;
}

/**
 * controller_parse_uuid() - parse 24 hex digits
 * @s: the string
 * @ret: 12 bytes of output, written only on success
 *
 * Returns: 0, or -EINVAL if @s is not exactly 24 hex digits.
 */
int controller_parse_uuid(const char *s, uint8_t ret[static VESC_UUID_LEN]) {
        uint8_t out[VESC_UUID_LEN];

        if (!s || strlen(s) != CONTROLLER_UUID_STR_LEN)
                return -EINVAL;
        if (hex_decode(s, VESC_UUID_LEN, /* lower_only= */ false, out) < 0)
                return -EINVAL;
        memcpy(ret, out, VESC_UUID_LEN);
        return 0;
}
