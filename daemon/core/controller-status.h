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

        switch (type) {
        case CAN_PACKET_STATUS:
                dirty |= controller_status_wire_value(c, TELEMETRY_ERPM, vesc_status1_erpm(d)) |
                         controller_status_wire_value(c, TELEMETRY_CURRENT_MOTOR, vesc_status1_current(d)) |
                         controller_status_wire_value(c, TELEMETRY_DUTY_CYCLE, vesc_status1_duty(d));
                break;
        case CAN_PACKET_STATUS_2:
                dirty |= controller_status_wire_value(c, TELEMETRY_AMP_HOURS, vesc_status2_ah(d)) |
                         controller_status_wire_value(c, TELEMETRY_AMP_HOURS_CHARGED, vesc_status2_ah_charged(d));
                break;
        case CAN_PACKET_STATUS_3:
                dirty |= controller_status_wire_value(c, TELEMETRY_WATT_HOURS, vesc_status3_wh(d)) |
                         controller_status_wire_value(c, TELEMETRY_WATT_HOURS_CHARGED, vesc_status3_wh_charged(d));
                break;
        case CAN_PACKET_STATUS_4:
                dirty |= controller_status_wire_value(c, TELEMETRY_TEMP_FET, vesc_status4_temp_fet(d)) |
                         controller_status_wire_value(c, TELEMETRY_TEMP_MOTOR, vesc_status4_temp_motor(d)) |
                         controller_status_wire_value(c, TELEMETRY_CURRENT_IN, vesc_status4_current_in(d));
                break;
        case CAN_PACKET_STATUS_5:
                dirty |= controller_status_wire_value(c, TELEMETRY_TACHOMETER, vesc_status5_tachometer(d)) |
                         controller_status_wire_value(c, TELEMETRY_VOLTAGE_IN, vesc_status5_v_in(d));
                break;
        default:
                r = -EOPNOTSUPP;
                break;
        }
        c->dirty |= dirty;
        return r;
}
