/* The per-controller model: what vescd knows about one VESC on the bus.
 *
 * Identity (UUID, hardware, firmware) from COMM_FW_VERSION; liveness
 * (online/offline by the time since the last frame from it); the latest
 * telemetry from status broadcasts and polled GET_VALUES; the fault code;
 * counters.  Every change sets a bit in ->dirty so adapters can publish
 * exactly what changed, coalesced, once per loop iteration.
 *
 * PURE: no I/O, no clock (time is an argument), no sd-bus/libevent/jansson. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "proto/vesc-comm.h"

struct VescStatus;

#define CONTROLLER_UUID_STR_LEN 24

/* Telemetry fields.  Each has a dirty bit (1 << the field). */
typedef enum ControllerTelemetryField {
        TELEMETRY_ERPM = 0,
        TELEMETRY_CURRENT_MOTOR = 1,
        TELEMETRY_CURRENT_IN = 2,
        TELEMETRY_DUTY_CYCLE = 3,
        TELEMETRY_VOLTAGE_IN = 4,
        TELEMETRY_TEMP_FET = 5,
        TELEMETRY_TEMP_MOTOR = 6,
        TELEMETRY_AMP_HOURS = 7,
        TELEMETRY_AMP_HOURS_CHARGED = 8,
        TELEMETRY_WATT_HOURS = 9,
        TELEMETRY_WATT_HOURS_CHARGED = 10,
        TELEMETRY_TACHOMETER = 11,
        _TELEMETRY_MAX,
} ControllerTelemetryField;

/* Their names, types and getters are rows of controller_field_table
 * (core/fields.h), whose dirty bit for field f is 1 << f. */

/* Dirty bits: telemetry fields occupy bits 0.._TELEMETRY_MAX-1. */
#define CONTROLLER_DIRTY_TELEMETRY_MASK ((UINT64_C(1) << _TELEMETRY_MAX) - 1)
#define CONTROLLER_DIRTY_ID          (UINT64_C(1) << 16)
#define CONTROLLER_DIRTY_IDENTITY    (UINT64_C(1) << 17) /* uuid, hw, firmware */
#define CONTROLLER_DIRTY_ONLINE      (UINT64_C(1) << 18)
#define CONTROLLER_DIRTY_FAULT       (UINT64_C(1) << 19)
#define CONTROLLER_DIRTY_SIGNATURES  (UINT64_C(1) << 20)
#define CONTROLLER_DIRTY_BROADCASTS  (UINT64_C(1) << 21)
#define CONTROLLER_DIRTY_COUNTERS    (UINT64_C(1) << 22)
/* A telemetry reading arrived (status frame or GET_VALUES), changed or not:
 * per-client watches sample at their own rate from fresh readings, while
 * the coalesced D-Bus signal only follows changes. */
#define CONTROLLER_DIRTY_SAMPLE      (UINT64_C(1) << 23)
#define CONTROLLER_DIRTY_STATE_MASK \
        (~CONTROLLER_DIRTY_TELEMETRY_MASK & ~CONTROLLER_DIRTY_COUNTERS & ~CONTROLLER_DIRTY_SAMPLE)

typedef struct ControllerCounters {
        uint64_t status_frames;
        uint64_t replies;
        uint64_t polls;
        uint64_t timeouts;
        uint64_t went_offline;
} ControllerCounters;

typedef struct Controller {
        uint8_t id;                    /* current CAN id */

        /* identity: valid when has_identity */
        bool has_identity;
        uint8_t uuid[VESC_UUID_LEN];
        char uuid_str[CONTROLLER_UUID_STR_LEN + 1];  /* "" until known */
        char hw_name[VESC_NAME_MAX];
        uint8_t hw_type;
        uint8_t fw_major, fw_minor, fw_test_build;
        char fw_name[VESC_NAME_MAX];
        char fw_version[8];            /* "5.03" */
        uint8_t bootloader_gen;        /* 0 = unknown */
        /* not (yet) a board member although it may be a motor controller:
         * set by the daemon until the controller stayed identified,
         * confirmed (a poll answered or a status broadcast: no phantom
         * UUID) and online for member-after-s on an id not flagged for presenting
         * many UUIDs (or is remembered in board.json); see board_is_member() */
        bool candidate;
        /* the second motor of a single-MCU dual-motor controller (spec
         * §16.3): its primary motor's object path; "" otherwise */
        char primary_motor[64];

        /* configuration signatures: 0 = not known */
        uint32_t mc_signature, app_signature;

        /* liveness */
        bool online;
        uint64_t last_seen_usec;
        uint64_t last_status_usec;     /* last status broadcast */
        bool broadcasting;             /* status frames seen within the offline timeout */

        uint8_t fault_code;
        double telemetry[_TELEMETRY_MAX];
        uint64_t sample_usec;          /* receive time (CLOCK_MONOTONIC) of the latest reading */
        uint32_t telemetry_present;    /* bit per field: ever received */

        ControllerCounters counters;
        uint64_t dirty;
} Controller;

void controller_init(Controller *c, uint8_t id);

int controller_set_id(Controller *c, uint8_t id);
/* Any frame from the controller: refreshes liveness.  Returns 1 if it came online. */
int controller_seen(Controller *c, uint64_t now_usec);
/* Returns 1 if the identity changed (first time, or firmware changed). */
int controller_apply_fw_version(Controller *c, const VescFwVersion *v, uint64_t now_usec);
int controller_apply_status(Controller *c, const struct VescStatus *st, uint64_t now_usec);
/* The same from the frame itself: controller_apply_status_frame() in
 * core/controller-status.h (inline, the per-frame path). */
int controller_apply_values(Controller *c, const VescValues *v, uint64_t now_usec);
void controller_set_signatures(Controller *c, uint32_t mc_signature, uint32_t app_signature);
/* Liveness check: goes offline when nothing arrived for timeout_usec.
 * Returns 1 if it just went offline. */
int controller_check_liveness(Controller *c, uint64_t now_usec, uint64_t timeout_usec);
/* Absolute time at which controller_check_liveness() would next change something. */
uint64_t controller_liveness_deadline(const Controller *c, uint64_t timeout_usec);

/* "NONE", "OVER_VOLTAGE", ... */
const char *controller_fault_name(const Controller *c);

/* Return and clear the dirty bits selected by mask. */
uint64_t controller_take_dirty(Controller *c, uint64_t mask);

/* Format 12 bytes as 24 lower-case hex digits. */
void controller_format_uuid(const uint8_t uuid[static VESC_UUID_LEN], char out[static CONTROLLER_UUID_STR_LEN + 1]);
/* Parse 24 hex digits (either case).  -EINVAL otherwise. */
int controller_parse_uuid(const char *s, uint8_t ret[static VESC_UUID_LEN]);
