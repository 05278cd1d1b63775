/* The firmware update engine: an explicit state machine per controller and
 * the pair transaction over one or two controllers (DESIGN.md "Firmware").
 *
 * Pure: no I/O, no clock.  The driver feeds events with the current time
 * and carries out the actions the engine appends:
 *
 *     FwActions a = {};
 *     r = fw_update_handle(job, &(FwEvent) { .type = FW_EVENT_REPLY, ... }, now_usec, &a);
 *     for (size_t i = 0; i < a.n; i++)  ... send, arm timers, publish ...
 *     fw_actions_clear(&a);
 *
 * Requests are sent as COMM payloads to a CAN id (SEND); replies come back
 * as REPLY events from the replier's id.  Timers are armed by id with an
 * absolute deadline (ARM_TIMER replaces an earlier arm of the same id);
 * the driver answers with TIMEOUT events.  IDENTIFY asks the driver to find
 * a controller (by UUID, on any id, else by the hinted id) and report it
 * with CONTROLLER_SEEN; REQUEST_TELEMETRY asks for a TELEMETRY event. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "update/update-plan.h"
#include "macro.h"

typedef enum FwPhase {
        FW_PHASE_CHECKING,
        FW_PHASE_BACKING_UP,
        FW_PHASE_BOOTLOADER,
        FW_PHASE_ERASING,
        FW_PHASE_WRITING,
        FW_PHASE_STAGED,
        FW_PHASE_COMMITTING,
        FW_PHASE_REBOOTING,
        FW_PHASE_CONFIRMING,
        FW_PHASE_RESTORING,
        FW_PHASE_DONE,
        FW_PHASE_FAILED,
        FW_PHASE_CANCELLED,
        _FW_PHASE_MAX,
        _FW_PHASE_INVALID = -EINVAL,
} FwPhase;

const char *fw_phase_to_string(FwPhase p);
FwPhase fw_phase_from_string(const char *s);

typedef enum FwJobState {
        FW_JOB_RUNNING,
        FW_JOB_DONE,
        FW_JOB_FAILED,
        FW_JOB_CANCELLED,
        _FW_JOB_STATE_MAX,
        _FW_JOB_STATE_INVALID = -EINVAL,
} FwJobState;

const char *fw_job_state_to_string(FwJobState s);
FwJobState fw_job_state_from_string(const char *s);

/* Timer ids: one for the job (gates), one per side. */
#define FW_TIMER_JOB 0u
#define FW_TIMER_SIDE(i) (1u + (i))

/* Every protocol timeout, before the job's time scale multiplies it. */
#define FW_CHECK_TIMEOUT_USEC     (5 * USEC_PER_SEC)   /* identity + gates */
#define FW_GATE_TICK_USEC         (250 * USEC_PER_MSEC)
#define FW_GATE_STILL_USEC        (1 * USEC_PER_SEC)
#define FW_GATE_FRESH_USEC        (1 * USEC_PER_SEC)   /* the newest sample at most this old */
/* The check's deadline and a sample's freshness are vescd's own patience,
 * not firmware timings: a time scale below 1 shortens them to no less than
 * these, the time a loaded host needs for a few GET_VALUES round trips
 * (whose 100 ms timeout is not shortened either, core/request.c). */
#define FW_CHECK_TIMEOUT_MIN_USEC (2 * USEC_PER_SEC)
#define FW_GATE_FRESH_MIN_USEC    (300 * USEC_PER_MSEC)
#define FW_CONF_TIMEOUT_USEC      (2 * USEC_PER_SEC)   /* GET/SET_*CONF */
#define FW_CONF_ATTEMPTS          3u                   /* at least */
#define FW_CONF_ATTEMPTS_MAX      20u                  /* for the measured loss rate */
#define FW_CONF_RTO_FLOOR_USEC    (200 * USEC_PER_MSEC) /* a ~500-byte reply at 125 kbit/s */
#define FW_CONF_SET_PAUSE_USEC    (250 * USEC_PER_MSEC) /* SET_*CONF's ~200 ms store pause (spec §13.1), with margin */
#define FW_CONF_BUDGET_USEC       (20 * USEC_PER_SEC)  /* per request, once FW_CONF_ATTEMPTS were sent */
#define FW_ERASE_TIMEOUT_USEC     (20 * USEC_PER_SEC)  /* ERASE_NEW_APP, ERASE_BOOTLOADER */
#define FW_ERASE_ATTEMPTS         2u
#define FW_WRITE_TIMEOUT_USEC     (3 * USEC_PER_SEC)
#define FW_WRITE_ATTEMPTS         6u                   /* and FW_WRITE_ATTEMPTS × the full timeout */
#define FW_WRITE_ATTEMPTS_MAX     32u
#define FW_PROGRAM_USEC_PER_BYTE  30u                  /* STM32F4 byte programming, with margin */
#define FW_WRITE_RTO_MARGIN_USEC  (20 * USEC_PER_MSEC) /* floor of a write timeout above programming */
#define FW_REBOOT_SETTLE_USEC     (2 * USEC_PER_SEC)   /* first IDENTIFY after JUMP */
#define FW_REBOOT_POLL_USEC       (2 * USEC_PER_SEC)   /* while the bootloader copies */
#define FW_REBOOT_POLL_FAST_USEC  (250 * USEC_PER_MSEC) /* once the copy may be over */
#define FW_REBOOT_TIMEOUT_USEC    (40 * USEC_PER_SEC)  /* > the ≈32 s watchdog window */
#define FW_RESTAGE_MAX            1u                   /* per side */
#define FW_COMMITS_PER_STAGING    2u                   /* a JUMP again before staging again */

typedef struct FwTelemetry {
        double erpm, current_motor, current_in, v_in;
        uint8_t fault;       /* GET_VALUES fault code; 0 = none (status frames carry none) */
} FwTelemetry;

typedef struct FwGateConfig {
        double erpm_max;     /* |ERPM| at or below counts as stopped; 0 → 50 */
        double current_max;  /* |motor| and |input| current; 0 → 1 A */
        double v_in_min;     /* 0 → 10 V */
        double v_in_max;     /* 0 → 60 V */
        uint64_t still_usec; /* motor stopped for this long; 0 → FW_GATE_STILL_USEC */
} FwGateConfig;

typedef struct FwUpdateParams {
        size_t n_sides;                       /* 1, or 2 for the pair transaction */
        FwIdentity controllers[FW_SIDES_MAX]; /* what the controller model knows now */
        const FwImage *images[FW_SIDES_MAX];  /* borrowed; must outlive the job */
        FwGateConfig gates;
        bool override_gates;                  /* skip motor/voltage/busy/inhibit gates (the adapter allows it for root only) */
        const char *busy_reason;              /* non-NULL: another update or config write is running (copied) */
        const char *inhibit_reason;           /* non-NULL: the user inhibited updates (copied) */
        bool skip_can_id_restore;             /* do not put the old CAN id back after the update */
        bool skip_config_migration;           /* do not carry a backup across layouts (MigrateConfig false) */
        /* CAN ids other devices use (bit per id: BMS, modules, controllers
         * outside the job, vescd itself): an old id among them is never
         * restored (fw_update_job_set_foreign_ids() refreshes it) */
        uint8_t foreign_ids[32];
        double time_scale;                    /* multiplies every timeout; 0 → 1 */
} FwUpdateParams;

typedef enum FwEventType {
        FW_EVENT_START,           /* begin a new job */
        FW_EVENT_RESUME,          /* continue a persisted job after a daemon restart */
        FW_EVENT_REPLY,           /* can_id, data/len: a COMM reply payload */
        FW_EVENT_TIMEOUT,         /* timer */
        FW_EVENT_CONTROLLER_SEEN, /* identity (with its current can_id) */
        FW_EVENT_BOOT,            /* can_id, hw_name: NOTIFY_BOOT */
        FW_EVENT_TELEMETRY,       /* can_id, telemetry */
        FW_EVENT_CANCEL,
        _FW_EVENT_MAX,
        _FW_EVENT_INVALID = -EINVAL,
} FwEventType;

typedef struct FwEvent {
        FwEventType type;
        uint8_t can_id;
        const uint8_t *data;
        size_t len;
        unsigned timer;
        const FwIdentity *identity;
        const char *hw_name;
        FwTelemetry telemetry;
        const struct FwSnapshot *snapshot; /* RESUME: borrowed */
        bool abandon;             /* RESUME: give up un-committed staging instead of restarting it */
} FwEvent;

typedef enum FwActionType {
        FW_ACTION_SEND,
        FW_ACTION_IDENTIFY,
        FW_ACTION_REQUEST_TELEMETRY,
        FW_ACTION_ARM_TIMER,
        FW_ACTION_CANCEL_TIMER,
        FW_ACTION_PROGRESS,
        FW_ACTION_PERSIST,
        FW_ACTION_LOG,
        FW_ACTION_DONE,
        FW_ACTION_FAILED,         /* also for a cancelled job (error Cancelled) */
        _FW_ACTION_MAX,
        _FW_ACTION_INVALID = -EINVAL,
} FwActionType;

#define FW_SEND_MODE_REPLY  0u   /* CAN send mode 0: process and reply */
#define FW_SEND_MODE_NOREPLY 2u  /* CAN send mode 2: process, no reply (JUMP) */

typedef struct FwProgressInfo {
        unsigned percent;          /* 0-100, never decreases */
        FwPhase phase;             /* the job's phase */
        uint64_t bytes_done, bytes_total;
        uint64_t eta_usec;         /* UINT64_MAX: unknown */
        bool do_not_power_off;
} FwProgressInfo;

typedef struct FwAction {
        FwActionType type;
        int side;                  /* index into the job's sides, -1 for the job */
        uint8_t can_id;            /* SEND, IDENTIFY (hint), REQUEST_TELEMETRY */
        /* SEND */
        uint8_t mode;              /* FW_SEND_MODE_* */
        int expect_cmd;            /* reply command byte, -1 for none */
        bool long_reply;           /* the reply may exceed one short frame */
        int alt_can_id;            /* -1, or the id the reply may come from (a write moving the id) */
        size_t len;
        uint8_t data[512];
        /* IDENTIFY */
        uint8_t uuid[VESC_UUID_LEN];
        /* ARM_TIMER, CANCEL_TIMER */
        unsigned timer;
        uint64_t at_usec;          /* absolute, the clock of fw_update_handle() */
        /* PROGRESS */
        FwProgressInfo progress;
        /* SEND: the engine's own timeout for this request (nominal: before the time scale) */
        uint64_t timeout_usec;
        /* LOG (syslog level), DONE, FAILED */
        int level;
        FwError error;
        char text[2 * FW_TEXT_MAX];
} FwAction;

typedef struct FwActions {
        FwAction *v;
        size_t n, allocated;
} FwActions;

void fw_actions_clear(FwActions *a);  /* drops the actions, keeps the memory */
void fw_actions_done(FwActions *a);   /* frees everything */

/* Everything needed to report or resume a job (update-store.c keeps it
 * as JSON).  From fw_update_job_snapshot() the blobs are borrowed from the
 * job; from update_store_snapshot_parse() they are owned by the snapshot. */
typedef struct FwSideSnapshot {
        uint8_t uuid[VESC_UUID_LEN];
        FwPhase phase;
        FwIdentity before, running;
        char target[96];
        uint64_t stream_len;
        uint16_t stream_crc;
        bool bootloader_started, bootloader_done, app_erased;
        unsigned commits, restages;
        uint8_t *mcconf, *appconf;   /* serialized configuration with signature, NULL: none */
        size_t mcconf_len, appconf_len;
        FwError error;
        char text[FW_TEXT_MAX];
        char redo[FW_TEXT_MAX];
        bool can_id_not_restored;    /* its old CAN id was in use at restoring */
        /* the gates as last evaluated (for people; not read back) */
        bool have_telemetry, motor_stopped, voltage_ok, fault_ok;
        FwTelemetry tel;
        double v_in_min, v_in_max;
} FwSideSnapshot;

typedef struct FwSnapshot {
        FwJobState state;
        FwPhase phase;
        FwError error;
        char text[2 * FW_TEXT_MAX];
        unsigned resumes;
        uint64_t units_total, units_done, bytes_total, bytes_done;
        unsigned percent;
        size_t n;
        FwSideSnapshot sides[FW_SIDES_MAX];
} FwSnapshot;

/* The report of an ended job, per side. */
#define FW_REPORT_ERASED_MAX 3u
typedef struct FwSideReport {
        char uuid[2 * VESC_UUID_LEN + 1];
        uint8_t can_id;
        FwPhase phase;
        char before[96], runs[96], target[96];
        bool updated;
        unsigned restages;
        FwError error;
        char text[FW_TEXT_MAX];
        const char *erased[FW_REPORT_ERASED_MAX];  /* static texts: what staging erased */
        size_t n_erased;
        char redo[FW_TEXT_MAX];
        bool can_id_not_restored;    /* its old CAN id was in use: the reason is in redo */
        /* configurations carried across layouts ([CONFIG_MCCONF],
         * [CONFIG_APPCONF]); borrowed from the job, valid while it lives */
        const struct FwMigration *migration[2];
} FwSideReport;

typedef struct FwReport {
        FwJobState state;
        FwError error;
        char text[2 * FW_TEXT_MAX];
        size_t n;
        FwSideReport sides[FW_SIDES_MAX];
} FwReport;

typedef struct FwUpdateJob FwUpdateJob;

int fw_update_job_new(const FwUpdateParams *params, FwUpdateJob **ret);
FwUpdateJob *fw_update_job_free(FwUpdateJob *job);
DEFINE_TRIVIAL_CLEANUP_FUNC(FwUpdateJob *, fw_update_job_free);

int fw_update_handle(FwUpdateJob *job, const FwEvent *event, uint64_t now_usec, FwActions *actions);

FwJobState fw_update_job_state(const FwUpdateJob *job);
FwPhase fw_update_job_phase(const FwUpdateJob *job);
size_t fw_update_job_n_sides(const FwUpdateJob *job);
FwPhase fw_update_job_side_phase(const FwUpdateJob *job, size_t i);
const FwIdentity *fw_update_job_side_identity(const FwUpdateJob *job, size_t i);
FwProgressInfo fw_update_job_progress(const FwUpdateJob *job, uint64_t now_usec);
FwError fw_update_job_error(const FwUpdateJob *job, const char **ret_text);
bool fw_update_job_can_cancel(const FwUpdateJob *job);
void fw_update_job_snapshot(const FwUpdateJob *job, FwSnapshot *ret);
void fw_update_job_report(const FwUpdateJob *job, FwReport *ret);
/* The CAN ids other devices use now (as FwUpdateParams.foreign_ids). */
void fw_update_job_set_foreign_ids(FwUpdateJob *job, const uint8_t bits[static 32]);
