/* What differs between the firmware versions vesc-sim imitates: one table of
 * facts per release (configuration signatures and sizes) and small
 * predicates for each behaviour that changed between releases (spec §5.2,
 * §6.2, §8.2-8.3, §12.1-12.2, §13, §14.3).  Also the configuration blobs a
 * freshly flashed controller of a version reports (signature + stable prefix,
 * spec §13.3).
 *
 * Pure: no I/O, no allocation, no clock. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_CONF_MAX 512

/* The receive-buffer model of a generation (spec §8.3). */
typedef enum SimRxGen {
        SIM_RX_SINGLE = 0,      /* 3.x .. 6.00: one buffer, absolute offsets */
        SIM_RX_MULTI_602 = 1,   /* 6.02: three buffers, unmatched -> buffer 0 */
        SIM_RX_MULTI_605 = 2,   /* 6.05+: three buffers, unmatched dropped */
} SimRxGen;

typedef struct SimFwInfo {
        uint8_t major, minor;      /* the release whose layout this row describes */
        uint32_t mc_signature, app_signature;
        uint16_t mc_size, app_size; /* serialized sizes without the command byte */
} SimFwInfo;

/* The known release at or below major.minor (the oldest row if below all). */
const SimFwInfo *sim_fw_info(unsigned major, unsigned minor);
/* True if this exact version has its own row. */
bool sim_fw_known(unsigned major, unsigned minor);

static inline unsigned sim_fw_code(unsigned major, unsigned minor) {
        return major * 100u + minor;
}

SimRxGen sim_fw_rx_gen(unsigned major, unsigned minor);

/* Config blobs with firmware defaults for a version: signature, the given
 * controller id, timeout 1000 ms, broadcasts off (6.x: rate 1 = 50 Hz and
 * rate 2 = 5 Hz with empty sets; older: disabled at 50 Hz), 500 kbit/s;
 * MCCONF FOC, ±60 A motor, 60/-20 A battery current, ±100000 ERPM.  The
 * rest: for the releases in the configuration layout table
 * (daemon/core/config-layouts.tsv: 3.58, 5.03, 6.05, 6.06, 7.00) the
 * table's defaults, for 6.00/6.02 a fixed pattern.  Return the blob length. */
size_t sim_fw_default_appconf(unsigned major, unsigned minor, uint8_t id, uint8_t out[static SIM_CONF_MAX]);
size_t sim_fw_default_mcconf(unsigned major, unsigned minor, uint8_t out[static SIM_CONF_MAX]);

/* The status schedule held in an APPCONF blob, normalised to the 6.x form:
 * two (rate, bit set) pairs; bit0 STATUS .. bit5 STATUS_6.  For 3.x-5.03
 * the one enum schedule becomes set 1, set 2 is empty. */
typedef struct SimStatusSchedule {
        uint16_t rate[2];
        uint8_t msgs[2];
} SimStatusSchedule;

void sim_fw_appconf_schedule(unsigned major, const uint8_t *app, size_t len, SimStatusSchedule *ret);
/* Write a schedule into an APPCONF blob in the version's own encoding.  For
 * 3.x-5.03 the set must be a prefix (STATUS, +2, +3, +4, +5); set 2 is
 * ignored there.  -EINVAL if the set cannot be expressed. */
int sim_fw_appconf_set_schedule(unsigned major, uint8_t *app, size_t len, const SimStatusSchedule *s);

/* Motor limits from the stable MCCONF prefix (spec §13.3, config layouts). */
typedef struct SimMotorLimits {
        float current_max, current_min, in_current_max, in_current_min;
        float erpm_min, erpm_max;
} SimMotorLimits;
void sim_fw_mcconf_limits(unsigned major, unsigned minor, const uint8_t *mc, size_t len, SimMotorLimits *ret);
/* The MCCONF fields the firmware's fault checks compare against
 * (mc_interface.c): input voltage window, absolute current, FET and motor
 * temperature derating start/end, and how long a fault stops the motor.
 * Read at the version's own offsets (config layouts appendix); 6.00/6.02
 * share 5.03's offsets for these fields. */
typedef struct SimFaultLimits {
        float min_vin, max_vin;
        float abs_current_max;
        float temp_fet_start, temp_fet_end;
        float temp_motor_start, temp_motor_end;
        int32_t fault_stop_time_ms;
} SimFaultLimits;

/* The hardware's own bounds (HW_LIM_* of the hwconf; applied by the
 * firmware to every MCCONF it accepts) and its MCCONF defaults. */
typedef struct SimHwInfo {
        const char *hw_name;
        float vin_lim[2], abs_current_lim[2], temp_fet_lim[2];
        SimFaultLimits defaults;
} SimHwInfo;

/* The row for a hardware name (the "60" row for names not in the table). */
const SimHwInfo *sim_fw_hw_info(const char *hw_name);
/* Fault limits from an MCCONF blob, clamped to the hardware's bounds; a
 * field the blob does not reach or that is not a finite number keeps the
 * hardware default. */
void sim_fw_mcconf_fault_limits(unsigned major, unsigned minor, const SimHwInfo *hw, const uint8_t *mc, size_t len,
                                SimFaultLimits *ret);
/* Write fault limits into an MCCONF blob in the version's encoding. */
void sim_fw_mcconf_set_fault_limits(unsigned major, unsigned minor, uint8_t *mc, size_t len, const SimFaultLimits *l);

/* APPCONF timeout_msec at offset 5. */
uint32_t sim_fw_appconf_timeout_msec(const uint8_t *app, size_t len);
