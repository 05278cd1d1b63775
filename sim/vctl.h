/* One virtual VESC controller on a SimBus: identity (CAN id, UUID, hw name,
 * firmware version, bootloader generation), the firmware's CAN behaviour
 * for its version (status schedules, PING/PONG, NOTIFY_BOOT, buffered COMM
 * commands through the generation's own receive buffers, the global reply
 * address), the flash/bootloader model with its timing (kernel-locked flash
 * operations and the three-deep hardware FIFO, spec §14.6), the physical
 * model, and the fault-injection hooks the control socket uses.
 *
 * Runs on the libevent base of its VctlEnv; single-threaded. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "simfw.h"

struct event_base;
typedef struct SimBus SimBus;
typedef struct Vctl Vctl;

/* An image vesc-sim knows by content: an application (bl_size 0: the
 * version it reports once installed) or a bootloader (bl_size > 0: its
 * length and generation; sector 11 holding exactly it is intact). */
typedef struct SimImageMapEntry {
        uint8_t sha256[32];
        uint8_t major, minor;
        uint8_t bl_generation;
        uint32_t bl_size;
} SimImageMapEntry;

/* Shared by every controller; owned by main. */
typedef struct VctlEnv {
        struct event_base *base;
        SimBus *bus;
        double time_scale;               /* multiplies every firmware timing */
        const SimImageMapEntry *image_map;
        size_t n_image_map;
        bool verbose;
        /* every controller of this simulator (for the id-clash counter);
         * main fills the array as it creates them */
        Vctl *const *ctls;
        size_t n_ctls;
} VctlEnv;

typedef struct VctlSpec {
        char name[8];                    /* "A", "B", ... */
        uint8_t uuid[12];
        uint8_t id;
        uint8_t major, minor;
        uint8_t bootloader_generation;   /* 1 or 2 */
        SimStatusSchedule schedule;
        char hw_name[33];
        uint8_t hw_type;                 /* FW_VERSION/PONG HW_TYPE: 0 VESC, 1 BMS, 2 custom module */
        bool ping_fw_only;               /* answers PING and FW_VERSION only (Express, BMS) */
        bool dual_motor;                 /* single-MCU dual-motor board: also id + 1 (spec §16.3) */
} VctlSpec;

typedef enum VctlPowerCycleAt {
        VCTL_PC_NONE = 0,
        VCTL_PC_ERASE,                   /* next ERASE_NEW_APP / ERASE_BOOTLOADER */
        VCTL_PC_WRITE,                   /* next WRITE_NEW_APP_DATA */
        VCTL_PC_BOOTLOADER,              /* next bootloader erase/copy of the application */
        VCTL_PC_NOW,
        _VCTL_PC_MAX,
        _VCTL_PC_INVALID = -22,
} VctlPowerCycleAt;

VctlPowerCycleAt vctl_power_cycle_at_from_string(const char *s);

typedef struct VctlCounters {
        uint64_t rx_frames, tx_frames;
        uint64_t injected_drops, injected_corruptions;
        uint64_t fifo_overwritten;       /* lost in the hardware FIFO during flash operations */
        uint64_t unheard;                /* arrived while the controller had no CAN at all */
        uint64_t tx_muted;               /* frames not sent: muted or off the bus */
        uint64_t commands;
        uint64_t crc_drops;
        uint64_t boots;
        uint64_t erases, writes;
        uint64_t values_replies;         /* GET_VALUES(_SELECTIVE) answered */
        uint64_t id_clashes;             /* came up at (or moved to) an id another running controller used */
        uint64_t lost_conf;              /* SET_*CONF lost by `lose` (never run, never acked) */
} VctlCounters;

typedef struct VctlMotorInfo {
        uint8_t id;
        char uuid[25];
        double erpm, current, v_in, temp_fet, temp_motor, load;
        bool drv;                        /* DRV fault pin held by the control socket */
        unsigned fault;                  /* mc_fault_code, as GET_VALUES reports it */
        const char *fault_name;
        /* runtime limits in force (SET_MCCONF_TEMP over the MCCONF's) */
        double current_min_scale, current_max_scale, erpm_min, erpm_max, duty_min, duty_max, watt_min, watt_max,
                in_current_min, in_current_max;
} VctlMotorInfo;

typedef struct VctlInfo {
        const char *name;
        char uuid[25];
        uint8_t id;
        uint8_t major, minor;
        const char *hw_name;
        uint8_t hw_type;
        unsigned bootloader_generation;  /* 0 = broken */
        const char *phase;               /* running erasing writing bootloader rebooting bricked muted */
        bool muted, on_bus, riding;
        double erpm, current, v_in, temp_fet; /* motor 1 */
        unsigned n_motors;
        VctlMotorInfo motor[2];
        VctlCounters counters;
} VctlInfo;

int vctl_new(const VctlEnv *env, const VctlSpec *spec, uint64_t seed, Vctl **ret);
Vctl *vctl_free(Vctl *c);

/* Join the bus and start as after power-on (6.x: NOTIFY_BOOT 0.5 s later). */
int vctl_start(Vctl *c);

void vctl_get_info(Vctl *c, VctlInfo *ret);
const char *vctl_name(const Vctl *c);
/* uuid_hex: 24 lower-case hex digits. */
bool vctl_matches(const Vctl *c, const char *name_or_uuid);
/* 1 or 2: the motor NAME designates ("A", "A2", a motor's UUID); 0: none. */
unsigned vctl_match_motor(const Vctl *c, const char *name_or_uuid);

/* Fault injection (control socket). */
void vctl_set_drop(Vctl *c, double fraction);
void vctl_set_corrupt(Vctl *c, double fraction);
void vctl_set_mute(Vctl *c, bool mute);
int vctl_power_cycle(Vctl *c, VctlPowerCycleAt at);
void vctl_miss_jump(Vctl *c);
/* Lose every SET_APPCONF (app) / SET_MCCONF (!app) this controller receives
 * from now on (on) or no more (off). */
void vctl_set_lose_conf(Vctl *c, bool app, bool on);
int vctl_leave(Vctl *c);
int vctl_join(Vctl *c);
/* what: "erpm" (held until "free"), "current" (held until 0), "v_in",
 * "temp_fet", "temp_motor", "load" (held until 0), "drv" (on|off); motor 0
 * or 1 (second motor of a dual-motor board). */
int vctl_set_value(Vctl *c, unsigned motor, const char *what, const char *value);
/* "MODE VALUE SECONDS; ..." with MODE current|brake|rpm|duty|release. */
int vctl_ride(Vctl *c, unsigned motor, const char *script);
