/* The daemon context: owns the event loop's sources for the CAN side, the
 * transport, the request engine, the controllers and the board view, and
 * runs discovery, identification, polling and liveness.
 *
 * Adapters (D-Bus, JSON) never touch frames.  They
 *   - subscribe to changes with daemon_add_listener() (controller added /
 *     removed / changed(mask) / telemetry(controller, mask, receive time),
 *     board changed, manager changed), delivered once per loop iteration,
 *     coalesced; the telemetry event is pushed at the end of every batch of
 *     frames that brought a reading, telemetry_unthrottled as is, telemetry
 *     additionally rate-limited to telemetry-rate-hz;
 *   - keep their own state of a controller with the core's record of it (an
 *     adapter slot, daemon_adapter_slot_new()/daemon_adapter_data()), never in
 *     a second list of controllers: set on controller_added, freed on
 *     controller_removed;
 *   - read the model (daemon_controllers(), daemon_board(), Controller
 *     fields) and render it with render.h;
 *   - start operations (operations.h) that complete through callbacks. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/board.h"
#include "core/config.h"
#include "core/controller.h"
#include "core/transport.h"

struct event_base;
struct json_t;
typedef struct Daemon Daemon;
typedef struct RequestEngine RequestEngine;
typedef struct HoldTable HoldTable;

/* manager_changed() mask */
#define DAEMON_CHANGED_BUS_STATE   (UINT64_C(1) << 0)
#define DAEMON_CHANGED_CONTROLLERS (UINT64_C(1) << 1)
#define DAEMON_CHANGED_SCANNING    (UINT64_C(1) << 2)
#define DAEMON_CHANGED_COUNTERS    (UINT64_C(1) << 3)
/* the board view changed (board_changed()); a bit for the Manager's field table */
#define DAEMON_CHANGED_BOARD       (UINT64_C(1) << 4)
/* the active ride mode (daemon_ride_mode()) */
#define DAEMON_CHANGED_RIDE_MODE   (UINT64_C(1) << 5)
/* Inhibited / InhibitReason (the firmware manager's SetInhibit) */
#define DAEMON_CHANGED_INHIBIT     (UINT64_C(1) << 6)
/* the board's first verdict was given (daemon_board_verdict_given()); no property */
#define DAEMON_CHANGED_VERDICT     (UINT64_C(1) << 7)

typedef struct DaemonListener {
        void (*controller_added)(void *userdata, Controller *c);
        void (*controller_removed)(void *userdata, Controller *c);
        /* state bits of the mask (CONTROLLER_DIRTY_STATE_MASK, counters) */
        void (*controller_changed)(void *userdata, Controller *c, uint64_t mask);
        /* telemetry bits (CONTROLLER_DIRTY_TELEMETRY_MASK), rate-limited;
         * time_usec: the latest reading's receive time (CLOCK_MONOTONIC, the
         * frame's; daemon_wall_usec() converts it) */
        void (*telemetry)(void *userdata, Controller *c, uint64_t mask, uint64_t time_usec);
        /* every loop iteration that brought a fresh telemetry reading (changed
         * or not; mask may then hold only CONTROLLER_DIRTY_SAMPLE), not rate-limited:
         * for adapters with per-client rates of their own (the JSON watch), which
         * the daemon-wide limit would otherwise delay by up to its period */
        void (*telemetry_unthrottled)(void *userdata, Controller *c, uint64_t mask, uint64_t time_usec);
        void (*board_changed)(void *userdata, const Board *b);
        void (*manager_changed)(void *userdata, uint64_t mask);
        /* at once, not coalesced: a NOTIFY_BOOT was heard from id */
        void (*controller_booted)(void *userdata, uint8_t id, const char *hw_name);
        /* at once: the own id is free and discovery starts (daemon_start()) */
        void (*started)(void *userdata);
        /* at once, after the board_changed it may bring: the board view
         * was held back by the check of a controller a hold let go
         * (daemon_board_settled() was false) and is computed again */
        void (*board_settled)(void *userdata);
        /* asked, not told: the highest telemetry rate (Hz) this adapter's
         * clients watch c at, 0 for none.  A controller without status
         * broadcasts is polled at least that often (daemon_poll_rate_hz()). */
        double (*watch_rate_hz)(void *userdata, const Controller *c);
} DaemonListener;

typedef struct DaemonCounters {
        uint64_t frames_unknown;     /* frames not for any known purpose */
        uint64_t identify_failures;
        uint64_t phantom_flags;      /* ids flagged for presenting many UUIDs */
        uint64_t forgotten;          /* records removed after forget-after-s */
        uint64_t scans;
} DaemonCounters;

/* Exit codes through daemon_exit(). */
typedef void (*DaemonExitFn)(void *userdata, int code);

/* Takes ownership of config.  Opens the transport of config->transport
 * among kinds. */
int daemon_new(struct event_base *base, Config *config, const TransportKinds *kinds, Daemon **ret);
/* Cancel pending operations (completions run with -ECANCELED) while the
 * adapters still exist; call before freeing adapters. */
void daemon_shutdown(Daemon *d);
Daemon *daemon_free(Daemon *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Daemon *, daemon_free)

/* Start: own-id check, then the scan (if configured).  on_ready runs once
 * the own id is known to be free (0) or taken (-EADDRINUSE) or the check
 * failed. */
typedef void (*DaemonReadyFn)(void *userdata, int error);
int daemon_start(Daemon *d, DaemonReadyFn on_ready, void *userdata);
void daemon_set_fatal_handler(Daemon *d, DaemonExitFn fn, void *userdata);

/* Swap in a new configuration (SIGHUP).  -EBUSY with the name of the key
 * that needs a restart in *ret_key; the old config stays then. */
int daemon_reload(Daemon *d, Config *new_config, const char **ret_key);

int daemon_add_listener(Daemon *d, const DaemonListener *l, void *userdata);
void daemon_remove_listener(Daemon *d, const DaemonListener *l, void *userdata);

const Config *daemon_config(const Daemon *d);
struct event_base *daemon_event_base(const Daemon *d);
Transport *daemon_transport(const Daemon *d);
RequestEngine *daemon_requests(const Daemon *d);
const Board *daemon_board(const Daemon *d);
const DaemonCounters *daemon_counters(const Daemon *d);
bool daemon_scanning(const Daemon *d);
uint64_t daemon_now(void);  /* CLOCK_MONOTONIC µs, or the test clock */
/* Tests that replay recorded traffic: daemon_now() returns fn(userdata)
 * (NULL: CLOCK_MONOTONIC again); set before daemon_new().  Such a daemon
 * arms no timers of its own: daemon_run_due() runs what is due at the
 * clock's time (request deadlines, the housekeeping tick). */
typedef uint64_t (*DaemonClockFn)(void *userdata);
void daemon_set_clock(DaemonClockFn fn, void *userdata);
void daemon_run_due(Daemon *d);
/* The clock's time daemon_run_due() has work next (0: now). */
uint64_t daemon_next_due(const Daemon *d);
/* The CLOCK_REALTIME µs of a CLOCK_MONOTONIC time in the recent past. */
uint64_t daemon_wall_usec(uint64_t mono_usec);
/* A nominal protocol duration multiplied by --time-scale. */
uint64_t daemon_scaled(const Daemon *d, uint64_t nominal_usec);

/* Adapter slots: each adapter that keeps state per controller reserves one
 * (its index, or -ENOSPC when all DAEMON_ADAPTER_SLOTS are taken) and keeps
 * a pointer in it with every exported controller.  The core never reads or
 * frees it: the adapter sets it on controller_added and frees it on
 * controller_removed (and for the controllers left when it detaches). */
#define DAEMON_ADAPTER_SLOTS 4
int daemon_adapter_slot_new(Daemon *d);
/* The slot's pointer of a controller of this daemon (NULL until set). */
void **daemon_adapter_data(Controller *c, int slot);

/* Identified (exported) controllers, sorted by CAN id.  The array is
 * owned by the daemon and valid until the next loop iteration. */
size_t daemon_controllers(Daemon *d, Controller *const **ret);
Controller *daemon_find_uuid(Daemon *d, const char *uuid);
Controller *daemon_find_id(Daemon *d, uint8_t id);
/* "3c0029000d51393236353934" or "12": -ENODEV if none, -EINVAL if neither. */
int daemon_find_controller(Daemon *d, const char *name, Controller **ret);

/* The GET_VALUES rate of a controller without status broadcasts:
 * max(poll-rate-hz, the highest watch rate for it), capped by
 * max-poll-rate-hz and by polling at most 20 % of the bus's bitrate. */
double daemon_poll_rate_hz(Daemon *d, const Controller *c);

/* Start a PING scan of ids 0..254 (restarts a running one). */
int daemon_scan(Daemon *d);

/* Caller credentials: root or member (primary or supplementary) of the
 * admin group.  Returns 1 allowed, 0 refused. */
int daemon_check_admin(Daemon *d, uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups);

/* Who holds which controller (hold.h): operations and firmware jobs take
 * their holds here; polling pauses under an exclusive one. */
HoldTable *daemon_holds(Daemon *d);
/* Whether a running update job holds the controller with this UUID: the
 * board state is "updating" while one holds a member.  The firmware
 * manager sets it and calls daemon_board_update() when jobs start or end. */
typedef bool (*DaemonUpdatingFn)(void *userdata, const uint8_t uuid[static 12]);
void daemon_set_updating_query(Daemon *d, DaemonUpdatingFn fn, void *userdata);
/* The firmware planner's Actions lines for the board's members (see
 * BoardExtra.firmware_actions); the firmware manager sets it and calls
 * daemon_board_update() when its image sets change. */
typedef char **(*DaemonActionsFn)(void *userdata, const Controller *const *members, size_t n);
void daemon_set_actions_provider(Daemon *d, DaemonActionsFn fn, void *userdata);
/* The firmware manager's inhibit, shown as the Manager's Inhibited /
 * InhibitReason (reason copied; -ENOMEM). */
int daemon_set_inhibit(Daemon *d, bool inhibited, const char *reason);
bool daemon_inhibited(const Daemon *d, const char **ret_reason);
/* Recompute the board view now (publishes board_changed if it changed). */
void daemon_board_update(Daemon *d);
/* Whether the board view can show what vescd knows now: false while the
 * check of a controller a hold let go, silent under the hold, is under
 * way (the view keeps what it showed under the hold until the check
 * ends; then listeners get board_settled).  A firmware job announces its
 * end only once this is true, after a daemon_board_update(). */
bool daemon_board_settled(const Daemon *d);
/* Whether the board's first verdict was given: the initial discovery is
 * over and what it found has settled into the board (the first "Board …"
 * log line comes then).  Before, the board view shows only what is known
 * so far: one side of a dual board may look "consistent". */
bool daemon_board_verdict_given(const Daemon *d);
/* Forget a remembered board member (board.json).  -EINVAL bad UUID,
 * -ENOENT not a member, -EBUSY it is online (it would come back at once);
 * *ret_error gets the text.  An offline controller object goes too. */
int daemon_forget_controller(Daemon *d, const char *uuid, char **ret_error);
/* The remembered members (board.json) with no controller on the bus since
 * vescd started: up to @max UUIDs (borrowed: valid until the members change)
 * in @ret.  Returns how many there are (may exceed @max). */
size_t daemon_absent_members(Daemon *d, const char **ret, size_t max);
/* A write of ours moved the controller with this UUID to CAN id @id (its
 * reply came from there): the model takes the new id at once, as online,
 * and identifies it there. */
void daemon_controller_moved(Daemon *d, const uint8_t uuid[static 12], uint8_t id);
/* Ride modes (mode-NAME in vescd.conf, docs/vescd.conf.md; ride-mode.c).
 * The active mode's name, "" for none. */
const char *daemon_ride_mode(const Daemon *d);
/* Choose the active mode (name "" for none): kept in the state directory,
 * applied to every online controller now and to each controller again
 * whenever it starts or comes back.  Refusals before anything changes:
 * -ENOENT (no such mode), -EBUSY (a controller is held; the text names
 * it), with *ret_error (may stay NULL on -ENOMEM).  Started: done runs
 * from the loop once every online controller has the mode (error: the
 * first failure, message naming the controller), never from inside. */
typedef void (*DaemonRideModeFn)(void *userdata, int error, const char *message);
int daemon_set_ride_mode(Daemon *d, const char *name, DaemonRideModeFn done, void *userdata, char **ret_error);
/* The runtime limits of a controller: read from it (5.02+), else the ones
 * vescd set since it started over its configured ones (the MCCONF read by
 * name).  result: a JSON object {limit: value}, "source": "controller",
 * "vescd" or "configuration" (borrowed, valid during the call). */
typedef void (*DaemonLimitsFn)(void *userdata, int error, const char *message, struct json_t *result);
int daemon_get_limits(Daemon *d, Controller *c, DaemonLimitsFn done, void *userdata);

/* A COMM_FW_VERSION reply obtained elsewhere (the update job's IDENTIFY)
 * updates the model as the daemon's own identification would. */
void daemon_feed_fw_version(Daemon *d, uint8_t id, const uint8_t *reply, size_t len);
