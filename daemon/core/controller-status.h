/* The status-frame path of the controller model, inline: vescd's frame
 * loop (daemon/core/daemon.c on_frames) runs it for nearly every frame on
 * the bus, and bench-ingest counts its instructions; inline, the loop
 * makes no call for a status frame and keeps its values in scratch
 * registers.  controller.c builds controller_apply_status() (a decoded
 * VescStatus) on the same common part. */
#pragma once

#include <errno.h>
#include <stdint.h>

#include "core/controller.h"
#include "proto/vesc-can.h"

/* What every status frame does to the model, whatever its type: seen,
 * online, broadcasting, a sample time.  Returns the dirty bits to set. */
static inline uint64_t controller_status_seen(Controller *c, uint8_t type, uint64_t now_usec) {
        uint64_t dirty = CONTROLLER_DIRTY_COUNTERS;

        c->last_seen_usec = now_usec;
        c->last_status_usec = now_usec;
        c->counters.status_frames++;
        if (!c->online) {
                c->online = true;
                dirty |= CONTROLLER_DIRTY_ONLINE;
        }
        if (!c->broadcasting) {
                c->broadcasting = true;
                dirty |= CONTROLLER_DIRTY_BROADCASTS;
        }
        if (type != CAN_PACKET_STATUS_6) {
                dirty |= CONTROLLER_DIRTY_SAMPLE;
                c->sample_usec = now_usec;
        }
        return dirty;
}

/* status_value() for a field read from the frame: an integer over a
 * constant scale is never NaN, so that test is left out. */
static inline uint64_t controller_status_wire_value(Controller *c, ControllerTelemetryField f, double value) {
        uint32_t bit = UINT32_C(1) << f;

        if ((c->telemetry_present & bit) && c->telemetry[f] == value)
                return 0;
        c->telemetry[f] = value;
        c->telemetry_present |= bit;
        return bit;
}

/* Which telemetry each status broadcast carries, once for both paths:
 * the cases of a switch on the status type, each setting `dirty |=` its
 * fields with APPLY(field, VescStatus member, proto accessor) | … (the
 * decoded path takes the member, the frame path the accessor). */
#define CONTROLLER_STATUS_CASES(APPLY)                                                                  \
        case CAN_PACKET_STATUS:                                                                         \
                dirty |= APPLY(TELEMETRY_ERPM, s1.erpm, vesc_status1_erpm) |                            \
                         APPLY(TELEMETRY_CURRENT_MOTOR, s1.current, vesc_status1_current) |             \
                         APPLY(TELEMETRY_DUTY_CYCLE, s1.duty, vesc_status1_duty);                       \
                break;                                                                                  \
        case CAN_PACKET_STATUS_2:                                                                       \
                dirty |= APPLY(TELEMETRY_AMP_HOURS, s2.ah, vesc_status2_ah) |                           \
                         APPLY(TELEMETRY_AMP_HOURS_CHARGED, s2.ah_charged, vesc_status2_ah_charged);    \
                break;                                                                                  \
        case CAN_PACKET_STATUS_3:                                                                       \
                dirty |= APPLY(TELEMETRY_WATT_HOURS, s3.wh, vesc_status3_wh) |                          \
                         APPLY(TELEMETRY_WATT_HOURS_CHARGED, s3.wh_charged, vesc_status3_wh_charged);   \
                break;                                                                                  \
        case CAN_PACKET_STATUS_4:                                                                       \
                dirty |= APPLY(TELEMETRY_TEMP_FET, s4.temp_fet, vesc_status4_temp_fet) |                \
                         APPLY(TELEMETRY_TEMP_MOTOR, s4.temp_motor, vesc_status4_temp_motor) |          \
                         APPLY(TELEMETRY_CURRENT_IN, s4.current_in, vesc_status4_current_in);           \
                break;                                                                                  \
        case CAN_PACKET_STATUS_5:                                                                       \
                dirty |= APPLY(TELEMETRY_TACHOMETER, s5.tachometer, vesc_status5_tachometer) |          \
                         APPLY(TELEMETRY_VOLTAGE_IN, s5.v_in, vesc_status5_v_in);                       \
                break;

/*
 * controller_apply_status_frame() - take telemetry from a status frame as received
 * @c: the controller
 * @type: the frame's status type (vesc_is_status_type() is true)
 * @d: its 8 data bytes (DLC 8 checked by the caller)
 * @now_usec: time of the frame
 *
 * vescd's per-frame path (bench-ingest counts it), inline in its frame
 * loop: each field is decoded straight into the model with the proto
 * accessors (vesc_status1_erpm()…), no VescStatus in between; the same
 * effect as vesc_status_decode() followed by controller_apply_status()
 * (tests/unit/core/test-controller.c checks that).
 *
 * Returns: 0, or -EOPNOTSUPP for a status type that carries nothing modelled.
 */
static inline __attribute__((always_inline)) int controller_apply_status_frame(Controller *c, uint8_t type, const uint8_t *d, uint64_t now_usec) {
        uint64_t dirty = controller_status_seen(c, type, now_usec);
        int r = 0;

#define APPLY_WIRE(f, member, accessor) controller_status_wire_value(c, f, accessor(d))
        switch (type) {
        CONTROLLER_STATUS_CASES(APPLY_WIRE)
        default:
                r = -EOPNOTSUPP;
                break;
        }
        c->dirty |= dirty;
        return r;
#undef APPLY_WIRE
}
