/* The daemon context: CAN side of vescd (discovery, identification,
 * polling, liveness), the controller registry, the board view and the
 * change bus adapters listen to.  See daemon.h. */
#include <assert.h>
#include <errno.h>
#include <event2/event.h>
#include <grp.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/controller-status.h"
#include "core/daemon-private.h"
#include "core/log.h"
#include "core/render.h"
#include "macro.h"
#include "core/request.h"
#include "core/schedule.h"
#include "proto/vesc-can.h"
#include "proto/vesc-comm.h"

/* Identification back-off and polling: core/schedule.h. */
#define IDENTIFY_RETRY_USEC SCHEDULE_IDENTIFY_RETRY_USEC
/* Phantom detection: an id presenting this many different UUIDs within
 * the window is flagged; while flagged its identification is rate-limited
 * (one attempt per flag period) and what it presents is not a member. */
#define PHANTOM_UUIDS 3
#define PHANTOM_WINDOW_USEC (60 * USEC_PER_SEC)
#define PHANTOM_FLAG_USEC (600 * USEC_PER_SEC)
/* Controller records (255 ids plus stale records of moved controllers). */
#define CTL_MAX 512
/* Housekeeping tick: liveness, polls, identification retries. */
#define TICK_USEC (20 * 1000)
/* A tick this late: vescd itself did not run for a while (own stalls,
 * on_tick()). */
#define STALL_USEC (2 * TICK_USEC)

/* The test clock of daemon_set_clock(): process-wide, as daemon_now()
 * (called without a context all over the core) is. */
static DaemonClockFn clock_fn;
static void *clock_userdata;

/* daemon_now(), inline for the frame path (one call per read batch) */
static inline __attribute__((always_inline)) uint64_t now_usec(void) {
        struct timespec ts;

        if (clock_fn)
                return clock_fn(clock_userdata);
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

uint64_t daemon_now(void) {
        return now_usec();
}

/**
 * daemon_set_clock() - take the core's time from a test clock
 * @fn: returns the time in µs (monotonic, never 0), or NULL for CLOCK_MONOTONIC
 * @userdata: for @fn
 *
 * For tests that replay recorded traffic (tests/component/core).  Call it
 * before daemon_new(): a daemon created under a test clock arms no
 * timers of its own (the housekeeping tick, request deadlines); the test
 * runs them with daemon_run_due() whenever it moves its clock.
 */
void daemon_set_clock(DaemonClockFn fn, void *userdata) {
        clock_fn = fn;
        clock_userdata = userdata;
}

/**
 * daemon_wall_usec() - wall-clock time of a monotonic time stamp
 * @mono_usec: CLOCK_MONOTONIC µs (e.g. a frame's receive time)
 *
 * Returns: CLOCK_REALTIME µs of the same moment (now's offset between the
 * clocks; a wall-clock step applies to earlier stamps too).
 */
uint64_t daemon_wall_usec(uint64_t mono_usec) {
        struct timespec ts;
        uint64_t now = daemon_now(), wall;

        clock_gettime(CLOCK_REALTIME, &ts);
        wall = (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
        return mono_usec <= now ? wall - (now - mono_usec) : wall + (mono_usec - now);
}

/**
 * daemon_scaled() - a nominal protocol duration under --time-scale
 * @d: the daemon
 * @nominal_usec: the duration real hardware needs
 *
 * Returns: the scaled duration (at least 1 µs).
 */
uint64_t daemon_scaled(const Daemon *d, uint64_t nominal_usec) {
        double v = (double) nominal_usec * d->config->time_scale;
        return v < 1.0 ? 1 : (uint64_t) v;
}

static struct timeval usec_to_timeval(uint64_t usec) {
        return (struct timeval) { .tv_sec = (time_t) (usec / USEC_PER_SEC), .tv_usec = (suseconds_t) (usec % USEC_PER_SEC) };
}

static void schedule_flush(Daemon *d) {
        if (!d->flush_scheduled) {
                d->flush_scheduled = true;
                event_active(d->flush_ev, EV_TIMEOUT, 0);
        }
}

/* ------------------------------------------------------- request engine */

static int engine_send_frame(void *userdata, const struct can_frame *f) {
        Daemon *d = userdata;
        return transport_send(d->transport, f);
}

static void engine_wakeup(void *userdata) {
        Daemon *d = userdata;

        /* coalesce: one re-arm at the end of this loop iteration */
        if (!d->requests_scheduled) {
                d->requests_scheduled = true;
                event_active(d->requests_defer_ev, EV_TIMEOUT, 0);
        }
}

static void engine_heard(void *userdata, uint8_t sender, uint64_t now);

static const RequestEngineOps engine_ops = {
        .send_frame = engine_send_frame,
        .wakeup = engine_wakeup,
        .heard = engine_heard,
};

static void requests_rearm(Daemon *d) {
        uint64_t next = request_engine_next_deadline(d->requests), now;

        if (next == UINT64_MAX || d->test_clock) {
                evtimer_del(d->requests_timer_ev);
                return;
        }
        now = daemon_now();
        struct timeval tv = usec_to_timeval(next > now ? next - now : 0);
        evtimer_add(d->requests_timer_ev, &tv);
}

/* The request engine's timeouts, completions and sends at @now.  A
 * deadline that passed STALL_USEC or more ago was not judged in time:
 * vescd itself did not run ("own stalls" below), and the reply may wait
 * in the socket behind what arrived meanwhile (more than one read slice
 * after a second or two).  The frames waiting are read first, so only a
 * request really unanswered times out. */
static void requests_process(Daemon *d, uint64_t now) {
        if (d->transport && request_engine_overdue(d->requests, now, STALL_USEC)) {
                log_rl_debug("A request timeout is judged late (vescd did not run): the frames waiting are "
                             "read first");
                transport_receive(d->transport);
        }
        request_engine_process(d->requests, now);
}

static void on_requests_event(evutil_socket_t fd, short what, void *userdata) {
        Daemon *d = userdata;

        d->requests_scheduled = false;
        requests_process(d, daemon_now());
        requests_rearm(d);
        /* completions ran: their model changes want publishing */
        schedule_flush(d);
}

/* ------------------------------------------------------------ registry */

static Ctl *ctl_free(Ctl *ctl) {
        free(ctl);
        return NULL;
}

static inline Ctl *ctl_by_id(Daemon *d, uint8_t id) {
        Ctl *best = NULL;

        for (size_t i = 0; i < d->n_ctls; i++) {
                Ctl *c = d->ctls[i];
                if (c->c.id != id || c->id_stale)
                        continue;
                if (!best || (c->c.has_identity && !best->c.has_identity))
                        best = c;
        }
        return best;
}

/* Empty the per-id table: records come or go, an id or an identity changes. */
static void ctl_index_reset(Daemon *d) {
        memset(d->by_id, 0, sizeof d->by_id);
}

/* ctl_by_id() through the per-id table: a status frame of an identified
 * controller finds its record with one load. */
static inline Ctl *ctl_by_id_indexed(Daemon *d, uint8_t id) {
        Ctl *ctl = d->by_id[id];

        if (ctl)
                return ctl;
        ctl = ctl_by_id(d, id);
        if (ctl && ctl->c.has_identity)
                d->by_id[id] = ctl;
        return ctl;
}

static Ctl *ctl_by_uuid(Daemon *d, const uint8_t uuid[static VESC_UUID_LEN]) {
        for (size_t i = 0; i < d->n_ctls; i++)
                if (d->ctls[i]->c.has_identity && memcmp(d->ctls[i]->c.uuid, uuid, VESC_UUID_LEN) == 0)
                        return d->ctls[i];
        return NULL;
}

static int ctl_new(Daemon *d, uint8_t id, Ctl **ret) {
        Ctl **a;
        Ctl *c;

        /* 255 ids at most, plus stale records of controllers that moved */
        if (d->n_ctls >= CTL_MAX)
                return -ENOSPC;
        a = realloc(d->ctls, (d->n_ctls + 1) * sizeof(Ctl *));
        if (!a)
                return -ENOMEM;
        d->ctls = a;
        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        controller_init(&c->c, id);
        /* not a board member until membership_check() says so */
        c->c.candidate = true;
        c->d = d;
        c->created_usec = daemon_now();
        c->origin_id = id;
        d->ctls[d->n_ctls++] = c;
        ctl_index_reset(d);
        *ret = c;
        return 0;
}

static void ctl_remove(Daemon *d, Ctl *ctl);

/* Forward: listeners (below). */
static void emit_removed(Daemon *d, Ctl *ctl);

static void ctl_remove(Daemon *d, Ctl *ctl) {
        ctl_index_reset(d);
        for (size_t i = 0; i < d->n_ctls; i++)
                if (d->ctls[i] == ctl) {
                        memmove(d->ctls + i, d->ctls + i + 1, (d->n_ctls - i - 1) * sizeof(Ctl *));
                        d->n_ctls--;
                        break;
                }
        request_cancel_userdata(d->requests, ctl);
        if (ctl->exported)
                emit_removed(d, ctl);
        ctl_free(ctl);
}

static void identify(Daemon *d, Ctl *ctl, bool force);

static Ctl *ctl_get(Daemon *d, uint8_t id) {
        Ctl *ctl = ctl_by_id(d, id);

        if (ctl)
                return ctl;
        if (ctl_new(d, id, &ctl) < 0) {
                log_rl_warning("Controller records at their limit (%u): ignoring id %u (unknown records are "
                               "forgotten after forget-after-s)", CTL_MAX, id);
                return NULL;
        }
        log_debug("New controller at CAN id %u", id);
        return ctl;
}

/* ------------------------------------------------------------ listeners */

#define EMIT(d, member, ...) LISTENER_LIST_EMIT(&(d)->listeners, DaemonListener, member, ##__VA_ARGS__)

/**
 * daemon_add_listener() - subscribe to model changes
 * @d: the daemon
 * @l: callbacks (borrowed; must stay valid until removed)
 * @userdata: passed to the callbacks
 *
 * Returns: 0 or -ENOMEM.
 */
int daemon_add_listener(Daemon *d, const DaemonListener *l, void *userdata) {
        return listener_list_add(&d->listeners, l, userdata);
}

/**
 * daemon_remove_listener() - unsubscribe
 * @d: the daemon
 * @l: the callbacks given to daemon_add_listener()
 * @userdata: the userdata given to daemon_add_listener()
 */
void daemon_remove_listener(Daemon *d, const DaemonListener *l, void *userdata) {
        listener_list_remove(&d->listeners, l, userdata);
}

/**
 * daemon_adapter_slot_new() - reserve a per-controller slot for an adapter
 * @d: the daemon
 *
 * Returns: the slot's index for daemon_adapter_data(), or -ENOSPC.
 */
int daemon_adapter_slot_new(Daemon *d) {
        if (d->n_adapter_slots >= DAEMON_ADAPTER_SLOTS)
                return -ENOSPC;
        return d->n_adapter_slots++;
}

/**
 * daemon_adapter_data() - an adapter's pointer kept with a controller
 * @c: a controller of the daemon (from a listener event or a lookup)
 * @slot: from daemon_adapter_slot_new()
 *
 * Returns: the slot (NULL until the adapter set it).  O(1): every Controller
 * the daemon hands out is the model inside its own record.
 */
void **daemon_adapter_data(Controller *c, int slot) {
        Ctl *ctl = (Ctl *) ((char *) c - offsetof(Ctl, c));

        assert(slot >= 0 && slot < DAEMON_ADAPTER_SLOTS);
        return &ctl->adapter_data[slot];
}

static void rebuild_exported(Daemon *d);
static void update_board(Daemon *d);

static void emit_removed(Daemon *d, Ctl *ctl) {
        ctl->exported = false;
        rebuild_exported(d);
        EMIT(d, controller_removed, &ctl->c);
        d->manager_dirty |= DAEMON_CHANGED_CONTROLLERS;
        update_board(d);
}

static void mark_manager(Daemon *d, uint64_t mask) {
        d->manager_dirty |= mask;
        schedule_flush(d);
}

static int cmp_ctl_id(const void *a, const void *b) {
        const Controller *x = *(Controller *const *) a, *y = *(Controller *const *) b;
        if (x->id != y->id)
                return x->id < y->id ? -1 : 1;
        return strcmp(x->uuid_str, y->uuid_str);
}

static void rebuild_exported(Daemon *d) {
        size_t n = 0;

        for (size_t i = 0; i < d->n_ctls; i++)
                if (d->ctls[i]->exported)
                        d->exported[n++] = &d->ctls[i]->c;
        qsort(d->exported, n, sizeof(Controller *), cmp_ctl_id);
        d->n_exported = n;
}

static bool uuid_updating(Daemon *d, const uint8_t *uuid) {
        return d->updating_fn && d->updating_fn(d->updating_userdata, uuid);
}

static bool board_waits_for_check(const Daemon *d);

/*
 * First verdict.  The board's state is logged (notice) when it changes, but
 * not before the initial discovery is over: on a dual board the controller
 * that broadcasts is identified long before the scan reaches the silent
 * one, and "Board consistent" with one side, then "Board mismatch" a moment
 * later, would tell a false verdict first.  The initial discovery is over
 * when vescd has its CAN id, the start-up scan (scan-on-start) ended and
 * every id heard until then had its first identification answered or timed
 * out (those that did not answer back off, and do not hold the verdict
 * longer).  Then it also waits while a motor controller is a candidate
 * earning membership (identified and online, member-after-s not yet over:
 * on a board not remembered yet one side would become a member a moment
 * before the other), at most member-after-s (×time-scale) and a second
 * past the discovery.  The board view itself (BoardState, board_changed)
 * is published all along: it says what is known, and Scanning says that
 * more may come.
 */
static bool initial_discovery_over(const Daemon *d) {
        if (d->discovered)
                return true;
        if (!d->started || d->scanning || board_waits_for_check(d))
                return false;
        for (size_t i = 0; i < d->n_ctls; i++) {
                const Ctl *ctl = d->ctls[i];
                if (ctl->id_stale)
                        continue;
                if (!ctl->c.has_identity && ctl->identify_pending)
                        return false;
                if (ctl->c.has_identity && !ctl->exported)
                        return false;
        }
        return true;
}

static bool members_settling(const Daemon *d, uint64_t now) {
        uint64_t wait = daemon_scaled(d, (uint64_t) d->config->member_after_s * USEC_PER_SEC + USEC_PER_SEC);

        if (now >= d->discovered_usec + wait)
                return false;
        for (size_t i = 0; i < d->n_ctls; i++) {
                const Ctl *ctl = d->ctls[i];
                if (ctl->exported && !ctl->id_stale && ctl->c.candidate && ctl->member_clock_usec != 0)
                        return true;
        }
        return false;
}

/* Log the board's state if it changed since it was last logged, and its
 * mismatch reason when mismatched (once with the state line that says
 * "mismatch", rate-limited on later changes); nothing before the initial
 * discovery is over (see above). */
static void log_verdict(Daemon *d) {
        const Board *b = &d->board;
        bool said_mismatch = false;

        if (!d->verdict_open)
                return;
        if (b->state != d->logged_state) {
                log_notice("Board %s%s%s", board_state_to_string(b->state), b->state_reasons[0] ? ": " : "",
                           b->state_reasons[0] ? b->state_reasons[0] : "");
                said_mismatch = b->state == BOARD_STATE_MISMATCH;
                d->logged_state = b->state;
        }
        if (b->mismatch && !said_mismatch)
                log_rl_notice("Board mismatch: %s", b->reasons[0]);
}

static void update_board(Daemon *d) {
        _cleanup_free_ bool *updating = NULL;
        _cleanup_free_ const char **missing = NULL;
        Board b = BOARD_NULL;
        size_t n_missing = 0;
        int r;

        rebuild_exported(d);
        if (board_waits_for_check(d)) {
                /* recomputed when the check ends ("held silence" below) */
                d->board_stale = true;
                d->board_held = true;
                return;
        }
        updating = calloc(d->n_exported + 1, sizeof(bool));
        missing = calloc(d->members.n + 1, sizeof(char *));
        if (!updating || !missing) {
                log_warning("Out of memory for the board view");
                return;
        }
        for (size_t i = 0; i < d->n_exported; i++)
                updating[i] = uuid_updating(d, d->exported[i]->uuid);
        for (size_t i = 0; i < d->members.n; i++) {
                bool seen = false;
                for (size_t k = 0; k < d->n_exported && !seen; k++)
                        seen = strcmp(d->exported[k]->uuid_str, d->members.uuids[i]) == 0;
                if (!seen)
                        missing[n_missing++] = d->members.uuids[i];
        }
        r = board_compute_extra((const Controller *const *) d->exported, d->n_exported,
                                &(BoardExtra) { .updating = updating, .missing = missing,
                                                .firmware_actions = d->actions_fn, .userdata = d->actions_userdata },
                                &b);
        if (r < 0) {
                log_warning_errno(r, "Failed to compute the board view: %m, keeping the old one");
                return;
        }
        if (!board_equal(&b, &d->board)) {
                board_done(&d->board);
                d->board = b;
                b = BOARD_NULL;
                log_verdict(d);
                EMIT(d, board_changed, &d->board);
        }
        board_done(&b);
        /* a job waiting to announce its end may do so now (rule 4) */
        if (d->board_held) {
                d->board_held = false;
                EMIT(d, board_settled);
        }
}

/**
 * membership_check() - make a candidate a board member once it earned it
 * @d: the daemon
 * @ctl: the record
 * @now: CLOCK_MONOTONIC µs
 *
 * A motor controller remembered in board.json is a member as soon as it
 * identifies.  Any other becomes one (and is remembered) after it stayed
 * identified, confirmed and online for member-after-s (×time-scale) at an
 * id that is not flagged for presenting many UUIDs; going offline, moving
 * or a flag restarts the clock.  Until then it is listed but not part of
 * the board (Mismatch, BoardState, pair, repair), and forgotten like any
 * non-member when it goes silent: phantom UUIDs never become members.
 *
 * Confirmed (Ctl.confirmed: it answered a poll or broadcast a status
 * since it identified) is what a phantom UUID never is: its id answers
 * COMM_FW_VERSION and nothing else.  Online alone is no proof: the clock
 * is read at housekeeping ticks only, and frames are stamped when vescd
 * reads them, so across vescd's own stalls (a loaded machine, a sanitizer
 * build) the identification reply and a NOTIFY_BOOT that waited in the
 * socket kept a phantom online at every tick for member-after-s.
 * member-after-s 0 makes any identified motor controller a member at
 * once, as documented (no wait, so no proof either).
 *
 * Returns: true when it just became a member.
 */
static bool membership_check(Daemon *d, Ctl *ctl, uint64_t now) {
        Controller *c = &ctl->c;

        /* a second motor never becomes a member of its own (its MCU is) */
        if (!c->candidate || !board_is_motor_controller(c) || c->primary_motor[0])
                return false;
        if (!board_members_contains(&d->members, c->uuid_str)) {
                /* member-after-s 0: at once, without the wait nor the proof */
                if (!c->online || (!ctl->confirmed && d->config->member_after_s > 0) || ctl->id_stale ||
                    ctl->suspect || d->idstat[c->id].flagged_until > now) {
                        ctl->member_clock_usec = 0;
                        return false;
                }
                if (ctl->member_clock_usec == 0)
                        ctl->member_clock_usec = now;
                if (now - ctl->member_clock_usec < daemon_scaled(d, (uint64_t) d->config->member_after_s * USEC_PER_SEC))
                        return false;
                if (board_members_add(&d->members, c->uuid_str) == -ENOMEM) {
                        log_warning("Out of memory for the board view");
                        return false;
                }
                if (ctl->exported)
                        log_rl_ctl_info(c, "a member of the board now: identified, confirmed and online for %u s",
                                        d->config->member_after_s);
        }
        c->candidate = false;
        return true;
}

static void arm_telemetry(Daemon *d, uint64_t at) {
        uint64_t now = daemon_now();
        struct timeval tv = usec_to_timeval(at > now ? at - now : 0);

        evtimer_add(d->telemetry_ev, &tv);
}

/* Single-MCU dual-motor controllers (spec §16.3): the second motor answers
 * at the primary's id + 1 with the primary's UUID whose last byte is + 1,
 * same hardware.  It gets PrimaryMotor and is no member of its own (one
 * MCU, one firmware, updated once through the primary). */
static void link_dual_motors(Daemon *d) {
        for (size_t i = 0; i < d->n_ctls; i++) {
                Ctl *b = d->ctls[i];
                const Ctl *primary = NULL;
                char path[RENDER_CONTROLLER_PATH_MAX] = "";

                if (!b->c.has_identity || b->id_stale)
                        continue;
                for (size_t k = 0; k < d->n_ctls && !primary; k++) {
                        const Ctl *a = d->ctls[k];
                        if (a != b && a->c.has_identity && !a->id_stale && a->c.hw_type == 0 && b->c.hw_type == 0 &&
                            vesc_second_motor_id(a->c.id) == b->c.id && strcmp(a->c.hw_name, b->c.hw_name) == 0 &&
                            memcmp(a->c.uuid, b->c.uuid, VESC_UUID_LEN - 1) == 0 &&
                            (uint8_t) (a->c.uuid[VESC_UUID_LEN - 1] + 1) == b->c.uuid[VESC_UUID_LEN - 1])
                                primary = a;
                }
                if (primary)
                        render_controller_path(&primary->c, path);
                if (strcmp(path, b->c.primary_motor) == 0)
                        continue;
                snprintf(b->c.primary_motor, sizeof b->c.primary_motor, "%s", path);
                b->has_primary = primary != NULL;
                if (primary)
                        memcpy(b->primary_uuid, primary->c.uuid, sizeof b->primary_uuid);
                b->c.dirty |= CONTROLLER_DIRTY_IDENTITY;
                if (primary) {
                        log_rl_ctl_info(&b->c, "second motor of %s (id %u): one MCU, updated through it",
                                        primary->c.uuid_str, primary->c.id);
                        (void) board_members_forget(&d->members, b->c.uuid_str);
                }
        }
}

static void release_checks(Daemon *d, uint64_t now);

/* Publish everything dirty: from the deferred flush event (once per loop
 * iteration), or at the end of a batch of received frames. */
static void flush(Daemon *d) {
        uint64_t now = daemon_now();
        uint64_t period = (uint64_t) (USEC_PER_SEC / d->config->telemetry_rate_hz);
        bool board_dirty = false, telemetry_waiting = false;

        d->flush_scheduled = false;
        if (d->checks_due)
                release_checks(d, now);
        if (d->board_stale) {
                d->board_stale = false;
                board_dirty = true;
        }
        link_dual_motors(d);

        /* export newly identified controllers first, so "changed" never
         * precedes "added" */
        for (size_t i = 0; i < d->n_ctls; i++) {
                Ctl *ctl = d->ctls[i];
                if (membership_check(d, ctl, now))
                        board_dirty = true;
                if (ctl->c.has_identity && !ctl->exported && !ctl->id_stale) {
                        ctl->exported = true;
                        rebuild_exported(d);
                        (void) controller_take_dirty(&ctl->c, CONTROLLER_DIRTY_STATE_MASK | CONTROLLER_DIRTY_COUNTERS);
                        ctl->telemetry_pending |= controller_take_dirty(&ctl->c, CONTROLLER_DIRTY_TELEMETRY_MASK);
                        log_rl_ctl_info(&ctl->c, "found: hw %s, firmware %s%s%s", ctl->c.hw_name, ctl->c.fw_version,
                                     ctl->c.fw_name[0] ? " " : "", ctl->c.fw_name);
                        EMIT(d, controller_added, &ctl->c);
                        d->manager_dirty |= DAEMON_CHANGED_CONTROLLERS;
                        board_dirty = true;
                }
        }

        for (size_t i = 0; i < d->n_ctls; i++) {
                Ctl *ctl = d->ctls[i];
                uint64_t m;

                if (!ctl->exported) {
                        (void) controller_take_dirty(&ctl->c, UINT64_MAX);
                        continue;
                }
                m = controller_take_dirty(&ctl->c, CONTROLLER_DIRTY_STATE_MASK | CONTROLLER_DIRTY_COUNTERS);
                if (m) {
                        if (m & CONTROLLER_DIRTY_ONLINE)
                                board_dirty = true;
                        if (m & CONTROLLER_DIRTY_ONLINE) {
                                if (ctl->c.online)
                                        log_rl_ctl_info(&ctl->c, "online");
                                else
                                        log_rl_ctl_warning(&ctl->c, "offline: nothing heard for %u ms",
                                                        d->config->offline_timeout_ms);
                        }
                        if (m & CONTROLLER_DIRTY_FAULT)
                                log_rl_ctl_warning(&ctl->c, "fault %s", controller_fault_name(&ctl->c));
                        if (m & (CONTROLLER_DIRTY_ID | CONTROLLER_DIRTY_IDENTITY | CONTROLLER_DIRTY_SIGNATURES)) {
                                board_dirty = true;
                                if (m & CONTROLLER_DIRTY_ID)
                                        d->manager_dirty |= DAEMON_CHANGED_CONTROLLERS;
                        }
                        EMIT(d, controller_changed, &ctl->c, m);
                }

                /* watchers get every fresh reading, the D-Bus signal only changes */
                m = controller_take_dirty(&ctl->c, CONTROLLER_DIRTY_TELEMETRY_MASK | CONTROLLER_DIRTY_SAMPLE);
                if (m)
                        EMIT(d, telemetry_unthrottled, &ctl->c, m, ctl->c.sample_usec);
                ctl->telemetry_pending |= m & CONTROLLER_DIRTY_TELEMETRY_MASK;
                if (ctl->telemetry_pending) {
                        if (now >= ctl->last_telemetry_usec + period) {
                                uint64_t t = ctl->telemetry_pending;
                                ctl->telemetry_pending = 0;
                                ctl->last_telemetry_usec = now;
                                EMIT(d, telemetry, &ctl->c, t, ctl->c.sample_usec);
                        } else
                                telemetry_waiting = true;
                }
        }

        if (board_dirty)
                update_board(d);
        if (!d->discovered && initial_discovery_over(d)) {
                d->discovered = true;
                d->discovered_usec = now;
                log_debug("Initial discovery over: %zu controller(s) identified", d->n_exported);
        }
        if (d->discovered && !d->verdict_open && !members_settling(d, now)) {
                d->verdict_open = true;
                log_verdict(d);
                mark_manager(d, DAEMON_CHANGED_VERDICT);
        }
        if (d->manager_dirty) {
                uint64_t m = d->manager_dirty;
                d->manager_dirty = 0;
                if (m & DAEMON_CHANGED_CONTROLLERS)
                        rebuild_exported(d);
                EMIT(d, manager_changed, m);
        }

        if (telemetry_waiting && !evtimer_pending(d->telemetry_ev, NULL)) {
                uint64_t next = UINT64_MAX;
                for (size_t i = 0; i < d->n_ctls; i++)
                        if (d->ctls[i]->telemetry_pending)
                                next = MIN(next, d->ctls[i]->last_telemetry_usec + period);
                arm_telemetry(d, next);
        }
}

static void on_flush(evutil_socket_t fd, short what, void *userdata) {
        flush(userdata);
}

/* ------------------------------------------------------- identification */

static void apply_fw_version(Daemon *d, Ctl *ctl, uint8_t replier, const uint8_t *reply, size_t len);

static void on_fw_version(void *userdata, int error, uint8_t replier, const uint8_t *reply, size_t len) {
        Ctl *ctl = userdata;
        Daemon *d = ctl->d;
        uint64_t now = daemon_now();

        ctl->identify_pending = false;
        if (error == -ECANCELED)
                return;
        if (error < 0) {
                d->counters.identify_failures++;
                /* doubling for an id that never identified; a controller
                 * that did is merely slow: no back-off */
                ctl->identify_backoff_usec = schedule_identify_backoff(ctl->c.has_identity, ctl->identify_backoff_usec);
                ctl->next_identify_usec = now + daemon_scaled(d, ctl->identify_backoff_usec);
                if (ctl->c.has_identity)
                        ctl->c.counters.timeouts++;
                log_debug_errno(error, "COMM_FW_VERSION to id %u failed: %m", ctl->c.id);
                /* the board's first verdict may have waited for this one */
                if (!d->discovered)
                        schedule_flush(d);
                return;
        }
        apply_fw_version(d, ctl, replier, reply, len);
}

/* vescd's own traffic to a controller (polls, background identification)
 * pauses while an exclusive hold is on it: a write or a firmware job owns
 * the controller then. */
static bool ctl_held(Daemon *d, const Ctl *ctl) {
        /* a second motor's MCU is held through its primary (one firmware job) */
        return ctl->c.has_identity && (hold_table_exclusive(d->holds, ctl->c.uuid) ||
                                       (ctl->has_primary && hold_table_exclusive(d->holds, ctl->primary_uuid)));
}

/* A UUID not seen before answered at id.  Returns true when the id is
 * (now) flagged for presenting too many UUIDs: the reply is then ignored. */
static bool id_presents_new_uuid(Daemon *d, uint8_t id, uint64_t now) {
        DaemonIdStat *st = &d->idstat[id];

        if (st->flagged_until > now)
                return true;
        if (st->window_start == 0 || now - st->window_start > daemon_scaled(d, PHANTOM_WINDOW_USEC)) {
                st->window_start = now;
                st->n_uuids = 0;
        }
        if (++st->n_uuids < PHANTOM_UUIDS)
                return false;
        st->flagged_until = now + daemon_scaled(d, PHANTOM_FLAG_USEC);
        d->counters.phantom_flags++;
        log_rl_warning("CAN id %u presented %u different UUIDs within %.0f s: not taking in more from it for "
                       "%.0f s, and what it presented is not a board member",
                       id, st->n_uuids, daemon_scaled(d, PHANTOM_WINDOW_USEC) / 1e6,
                       daemon_scaled(d, PHANTOM_FLAG_USEC) / 1e6);
        /* what it presented in this window is suspect too */
        for (size_t i = 0; i < d->n_ctls; i++) {
                Ctl *c = d->ctls[i];
                if (c->origin_id == id && c->identified_usec >= st->window_start)
                        c->suspect = true;
        }
        return true;
}

static void apply_fw_version(Daemon *d, Ctl *ctl, uint8_t replier, const uint8_t *reply, size_t len) {
        uint64_t now = daemon_now();
        Ctl *owner;
        VescFwVersion v;
        int r;

        r = vesc_fw_version_decode(reply, len, &v);
        if (r < 0) {
                d->counters.identify_failures++;
                ctl->next_identify_usec = now + daemon_scaled(d, IDENTIFY_RETRY_USEC);
                log_rl_warning_errno(r, "Malformed COMM_FW_VERSION reply from id %u (%zu bytes), will retry", replier, len);
                return;
        }

        owner = ctl_by_uuid(d, v.uuid);
        if (replier != ctl->c.id && owner && owner != ctl && owner->c.id == replier) {
                /* a late reply of the controller at replier, taken for its
                 * second motor's (spec §16.3): not this id's identity */
                ctl->next_identify_usec = now + daemon_scaled(d, IDENTIFY_RETRY_USEC);
                return;
        }
        if (!owner && !(ctl->c.has_identity && memcmp(ctl->c.uuid, v.uuid, VESC_UUID_LEN) == 0) &&
            id_presents_new_uuid(d, replier, now)) {
                /* a flagged id: what it presents now is not taken in */
                ctl->identify_backoff_usec = SCHEDULE_IDENTIFY_RETRY_MAX_USEC;
                ctl->next_identify_usec = d->idstat[replier].flagged_until;
                return;
        }
        /* from here on ids, stale marks and identities may change */
        ctl_index_reset(d);
        if (owner && owner != ctl) {
                /* the same controller under a new CAN id (update, re-numbering):
                 * the known record takes the new id, the probe record goes */
                log_rl_ctl_info(&owner->c, "now at CAN id %u", ctl->c.id);
                uint8_t id = ctl->c.id;
                if (!ctl->c.has_identity)
                        ctl_remove(d, ctl);
                else
                        ctl->id_stale = true;
                (void) controller_set_id(&owner->c, id);
                owner->id_stale = false;
                ctl = owner;
        } else if (!owner && ctl->c.has_identity && memcmp(ctl->c.uuid, v.uuid, VESC_UUID_LEN) != 0) {
                /* another controller answers at this id: the old one moved away */
                Ctl *n;
                ctl->id_stale = true;
                ctl->c.online = false;
                ctl->c.dirty |= CONTROLLER_DIRTY_ONLINE;
                if (ctl_new(d, ctl->c.id, &n) < 0)
                        return;
                ctl = n;
        }

        if (!ctl->c.has_identity) {
                ctl->identified_usec = now;
                ctl->origin_id = replier;
                ctl->suspect = d->idstat[replier].flagged_until > now;
        }
        ctl->identify_backoff_usec = 0;
        if (controller_apply_fw_version(&ctl->c, &v, now) > 0 && ctl->exported)
                log_rl_ctl_info(&ctl->c, "identity: hw %s, firmware %s", ctl->c.hw_name, ctl->c.fw_version);
        ctl->next_poll_usec = now;
        schedule_flush(d);
}

static void identify(Daemon *d, Ctl *ctl, bool force) {
        static const uint8_t payload[] = { COMM_FW_VERSION };
        uint64_t now = daemon_now();
        int r;

        if (ctl->identify_pending || (!force && (now < ctl->next_identify_usec || ctl_held(d, ctl))))
                return;
        /* a flagged id gets no forced attempts either (NOTIFY_BOOT floods) */
        if (d->idstat[ctl->c.id].flagged_until > now && now < ctl->next_identify_usec)
                return;
        /* a poll of a record that never answered one would hold this
         * identification up behind it (one queue per id): it goes */
        if (ctl->poll_pending && !ctl->confirmed && ctl->c.has_identity)
                (void) request_cancel(d->requests, ctl->poll_handle);
        r = request_send(d->requests,
                         &(RequestParams) {
                                 .dest = ctl->c.id,
                                 .reply = REQUEST_REPLY_LONG,
                                 .payload = payload,
                                 .len = sizeof payload,
                                 .reply_cmd = -1,
                                 .retries = 2,
                                 /* an id nobody knows yet, or a record that never
                                  * answered a poll (a phantom UUID, re-identified
                                  * on every NOTIFY_BOOT), never delays a user */
                                 .background = !ctl->c.has_identity || !ctl->confirmed,
                                 .done = on_fw_version,
                                 .userdata = ctl,
                         },
                         now, NULL);
        if (r < 0) {
                log_debug_errno(r, "Cannot queue COMM_FW_VERSION to id %u: %m", ctl->c.id);
                ctl->next_identify_usec = now + daemon_scaled(d, IDENTIFY_RETRY_USEC);
                return;
        }
        ctl->identify_pending = true;
}

/* ---------------------------------------------------------------- polling */

static void poll_rearm(Daemon *d);

static void check_ended(Ctl *ctl, int error);

static void on_values(void *userdata, int error, uint8_t replier, const uint8_t *reply, size_t len) {
        Ctl *ctl = userdata;
        VescValues v;
        int r = 0;

        ctl->poll_pending = false;
        if (error == 0) {
                r = vesc_values_decode(reply, len, &v);
                if (r >= 0)
                        (void) controller_apply_values(&ctl->c, &v, daemon_now());
        }
        /* a check after a hold (if this was one) has its answer or its
         * timeout: after the answer is applied, so the board sees it */
        check_ended(ctl, error);
        if (error == -ECANCELED)
                return;
        /* no poll in flight: its next deadline counts again (it may be past) */
        if (ctl->poll_periodic)
                poll_rearm(ctl->d);
        if (error < 0) {
                /* online: no back-off, the offline timeout decides its
                 * liveness; offline and never confirmed: core/schedule.h */
                ctl->poll_backoff_usec = schedule_poll_missed(&(SchedulePollIn) {
                        .online = ctl->poll_sent_online,
                        .confirmed = ctl->confirmed,
                        .backoff_usec = ctl->poll_backoff_usec,
                });
                ctl->c.counters.timeouts++;
                ctl->c.dirty |= CONTROLLER_DIRTY_COUNTERS;
                return;
        }
        if (r < 0) {
                log_ctl_debug_errno(&ctl->c, r, "Malformed GET_VALUES reply (%zu bytes): %m", len);
                return;
        }
        ctl->confirmed = true;
        ctl->poll_backoff_usec = 0;
        schedule_flush(ctl->d);
}

/* A BMS or custom module (HW_TYPE 1, 2) answers no GET_VALUES: its
 * liveness is a PING a second (DESIGN "Decisions of 2026-12" item 2). */
#define PING_LIVENESS_USEC (1000 * 1000)

static bool ctl_pinged(const Ctl *ctl) {
        return ctl->c.has_identity && ctl->c.hw_type != 0;
}

static void on_liveness_pong(void *userdata, int error, uint8_t replier, const uint8_t *reply, size_t len) {
        Ctl *ctl = userdata;

        ctl->poll_pending = false;
        if (error == 0 && controller_seen(&ctl->c, daemon_now()) > 0)
                schedule_flush(ctl->d);
        check_ended(ctl, error);
        if (error == -ECANCELED || error == 0)
                return;
        ctl->c.counters.timeouts++;
        ctl->c.dirty |= CONTROLLER_DIRTY_COUNTERS;
}

/* Bits one GET_VALUES poll puts on the bus: the request and the ~75-byte
 * reply through the buffer frames (~13 extended frames of ~150 bits with
 * stuffing), rounded up. */
#define POLL_BUS_BITS 2000
/* Polling may use this share of the bus. */
#define POLL_BUS_SHARE 0.2

/**
 * daemon_poll_rate_hz() - how often a controller without broadcasts is polled
 * @d: the daemon
 * @c: the controller
 *
 * Returns: Hz; 0 when polling is off (poll-rate-hz 0 and nobody watches).
 */
double daemon_poll_rate_hz(Daemon *d, const Controller *c) {
        double hz = d->config->poll_rate_hz, budget;

        for (size_t i = 0; i < d->listeners.n; i++) {
                const DaemonListener *l = d->listeners.v[i].callbacks;
                if (l->watch_rate_hz)
                        hz = MAX(hz, l->watch_rate_hz(d->listeners.v[i].userdata, c));
        }
        if (hz <= 0)
                return 0;
        hz = MIN(hz, d->config->max_poll_rate_hz);
        budget = POLL_BUS_SHARE * d->bitrate / POLL_BUS_BITS / (double) MAX(d->n_polled, (size_t) 1);
        return MIN(hz, budget);
}

static void poll_one(Daemon *d, Ctl *ctl, uint64_t now) {
        static const uint8_t payload[] = { COMM_GET_VALUES };
        SchedulePoll sp;
        uint64_t period;
        int r;

        if (ctl->poll_pending || now < ctl->next_poll_usec)
                return;
        /* due but not sent below: the housekeeping tick looks again, the
         * poll timer leaves it alone until it is sent on a schedule again */
        ctl->poll_periodic = false;
        if (ctl_held(d, ctl))
                return;
        if (ctl_pinged(ctl)) {
                ctl->next_poll_usec = now + PING_LIVENESS_USEC;
                r = request_send(d->requests,
                                 &(RequestParams) {
                                         .dest = ctl->c.id,
                                         .reply = REQUEST_PING,
                                         .done = on_liveness_pong,
                                         .userdata = ctl,
                                 },
                                 now, NULL);
                if (r >= 0) {
                        ctl->poll_pending = true;
                        ctl->c.counters.polls++;
                }
                return;
        }
        /* identified: polled at its rate while online, slowly while
         * offline, never backed off (core/schedule.h) */
        sp = schedule_poll(&(SchedulePollIn) {
                .online = ctl->c.online,
                .confirmed = ctl->confirmed,
                .broadcasting = ctl->c.broadcasting,
                .rate_hz = ctl->c.online && !ctl->c.broadcasting ? daemon_poll_rate_hz(d, &ctl->c) : 0,
                .slow_polls = d->config->poll_rate_hz > 0,
                .backoff_usec = ctl->poll_backoff_usec,
        });
        if (sp.period_usec == 0)
                return;
        period = sp.scaled ? daemon_scaled(d, sp.period_usec) : sp.period_usec;
        /* At its rate on a schedule, each deadline a period after the last
         * (core/schedule.h), kept by the poll timer to the microsecond, not
         * by the 20 ms tick: a 10 Hz watch gets 10 polls a second (from the
         * send and rounded up to the tick it got about 9).  The watch limit
         * (daemon/json/watch-limit.c) takes replies on their receive times
         * with half a period of tolerance, so reply jitter loses none. */
        ctl->next_poll_usec = schedule_poll_next(&sp, period, ctl->next_poll_usec, now);
        ctl->poll_periodic = sp.periodic;

        r = request_send(d->requests,
                         &(RequestParams) {
                                 .dest = ctl->c.id,
                                 .reply = REQUEST_REPLY_LONG,
                                 .payload = payload,
                                 .len = sizeof payload,
                                 .reply_cmd = -1,
                                 /* a controller that never answered since it
                                  * identified (a phantom UUID, a probe that
                                  * was not a device), or an offline one, is
                                  * polled as background work: it never
                                  * delays a user's request */
                                 .background = sp.background,
                                 /* never answered one: after identification */
                                 .yield = !ctl->confirmed,
                                 .done = on_values,
                                 .userdata = ctl,
                         },
                         now, &ctl->poll_handle);
        if (r < 0)
                return;
        ctl->poll_pending = true;
        ctl->poll_sent_online = ctl->c.online;
        ctl->c.counters.polls++;
}

/* The earliest deadline of a controller polled on a schedule (at its
 * rate) with no poll in flight; UINT64_MAX for none.  Everything else
 * (slow polls, liveness PINGs, a controller whose due poll was not sent)
 * is the housekeeping tick's. */
static uint64_t poll_next_due(const Daemon *d) {
        uint64_t next = UINT64_MAX;

        for (size_t i = 0; i < d->n_ctls; i++) {
                const Ctl *ctl = d->ctls[i];

                /* a check due is the poll (release_checks()) */
                if (ctl->poll_periodic && !ctl->poll_pending && !ctl->id_stale && !ctl->check_due)
                        next = MIN(next, ctl->next_poll_usec);
        }
        return next;
}

/* Arm the poll timer for the next periodic deadline (a test clock runs it
 * from daemon_run_due()). */
static void poll_rearm(Daemon *d) {
        uint64_t next = poll_next_due(d), now;

        /* nothing after daemon_shutdown(): the request engine is gone */
        if (next == UINT64_MAX || d->test_clock || !d->requests) {
                evtimer_del(d->poll_ev);
                return;
        }
        now = daemon_now();
        struct timeval tv = usec_to_timeval(next > now ? next - now : 0);
        evtimer_add(d->poll_ev, &tv);
}

/* The periodic polls that are due, then the timer for the next. */
static void poll_due(Daemon *d, uint64_t now) {
        for (size_t i = 0; i < d->n_ctls; i++) {
                Ctl *ctl = d->ctls[i];

                if (ctl->poll_periodic && !ctl->id_stale && ctl->c.has_identity && !ctl->check_due)
                        poll_one(d, ctl, now);
        }
        poll_rearm(d);
}

static void on_poll_timer(evutil_socket_t fd, short what, void *userdata) {
        Daemon *d = userdata;

        if (d->requests)
                poll_due(d, daemon_now());
}

/* The offline timeout, never shorter than three liveness PINGs or three
 * polls (core/schedule.h). */
static uint64_t liveness_timeout(const Daemon *d, const Ctl *ctl, uint64_t timeout) {
        if (ctl_pinged(ctl))
                return MAX(timeout, 3 * PING_LIVENESS_USEC);
        return schedule_liveness_timeout(timeout, ctl->c.broadcasting, d->config->poll_rate_hz);
}

/* ------------------------------------------------------- held silence
 *
 * Liveness around exclusive holds.  A write or a firmware job holds a
 * controller exclusively and vescd's own polls of it pause (hold.h); a
 * controller without status broadcasts then proves it is alive only
 * through the holder's traffic.  The rules:
 *
 *   1. Every reply addressed to vescd counts as heard, whoever asked (a
 *      job's, an operation's, a poll; a late or unmatched one too): the
 *      request engine names its sender (RequestEngineOps.heard).  So a job
 *      that talks to its controller keeps it online.
 *   2. The offline timeout still applies while held: what vescd shows is
 *      what it heard, and a controller the job reboots, or that does not
 *      answer the job, is offline then.  One that goes offline while held
 *      and without broadcasts is marked held_offline: its silence may be
 *      the hold's doing (nobody asked it anything it answered), not
 *      evidence that it is gone.  A broadcasting one that falls silent is
 *      not marked: its broadcasts stopped, which is evidence.
 *   3. When the last exclusive hold on a controller goes, vescd checks it
 *      at once: a GET_VALUES (a PING for a BMS or custom module), in the
 *      foreground, one retry, sent from the next flush (the release runs
 *      inside hold_release(), where no work may start), not at its next
 *      schedule slot.  (A firmware job cancels its requests still waiting
 *      for a reply when it ends, so none of them is ahead of the check in
 *      the controller's queue.)
 *   4. While that check of a held_offline controller that is still offline
 *      runs, the board view is not recomputed: it keeps what it showed
 *      under the hold (updating, for a job).  Why not recompute without
 *      that controller's offline: the board would call itself consistent
 *      while a member's Online says false, and wrongly so if it is really
 *      gone.  Why not compute it with the offline: the board would flip to
 *      degraded for the milliseconds the answer takes, telling the user a
 *      live member is missing (the bug this rule is for).  Holding the
 *      previous view for one check's round trip says nothing false that it
 *      did not already say, and the wait is bounded: the check's answer,
 *      else its timeout (GET_VALUES: 2 × 100 ms, never shortened by
 *      --time-scale; PING: 2 × 20 ms scaled).  A controller really gone
 *      therefore shows offline, and the board degraded, as soon as the
 *      check times out, well within the offline timeout.  A firmware job
 *      announces its end (done, failed, cancelled) only after that wait:
 *      it asks daemon_board_settled() and is told by the board_settled
 *      event, so a client told "done" reads the board's final state, and
 *      the final state is announced before the job's end, never after it
 *      as a step out of "updating".
 *   5. From the release until the check ends, the offline timeout waits
 *      for it: a controller the job last heard from almost a timeout ago
 *      (a lost write it kept resending) is not made offline by the tick
 *      while its check's answer is on the way.  A check without an answer
 *      applies the timeout at once.
 */

/* A reply came from @sender (rule 1). */
static void engine_heard(void *userdata, uint8_t sender, uint64_t now) {
        Daemon *d = userdata;
        Ctl *ctl = ctl_by_id(d, sender);

        if (ctl && ctl->c.has_identity && controller_seen(&ctl->c, now) > 0) {
                /* on the frame path: published when the batch is done */
                d->frames_changed = true;
                schedule_flush(d);
        }
}

/* The last exclusive hold on @uuid went (hold_table_set_released(), from
 * inside hold_release()): check it and its second motor at the next flush
 * (rule 3). */
static void on_hold_released(void *userdata, const uint8_t uuid[static HOLD_UUID_LEN]) {
        Daemon *d = userdata;

        if (!d->requests)
                return;
        for (size_t i = 0; i < d->n_ctls; i++) {
                Ctl *ctl = d->ctls[i];

                if (!ctl->c.has_identity || ctl->id_stale)
                        continue;
                if (memcmp(ctl->c.uuid, uuid, VESC_UUID_LEN) != 0 &&
                    !(ctl->has_primary && memcmp(ctl->primary_uuid, uuid, VESC_UUID_LEN) == 0))
                        continue;
                ctl->check_due = true;
                d->checks_due = true;
        }
        if (d->checks_due)
                schedule_flush(d);
}

/* The check of a controller a hold let go ended (answer, timeout, or
 * cancelled): the board may show it as it is now (rule 4). */
static void check_ended(Ctl *ctl, int error) {
        Daemon *d = ctl->d;

        if (!ctl->checking)
                return;
        ctl->checking = false;
        /* a cancel: the record goes, the engine is freed, or an
         * identification took the poll's place (its answer flushes) */
        if (error == -ECANCELED) {
                if (ctl->held_offline)
                        d->board_stale = true;
                ctl->held_offline = false;
                return;
        }
        /* no answer: silent for the offline timeout is offline now, not
         * at the next tick (rule 5) */
        if (error < 0 && controller_check_liveness(&ctl->c, daemon_now(),
                                                   liveness_timeout(d, ctl, daemon_scaled(d,
                                                           (uint64_t) d->config->offline_timeout_ms * USEC_PER_MSEC))) > 0)
                schedule_flush(d);
        if (!ctl->held_offline)
                return;
        ctl->held_offline = false;
        d->board_stale = true;
        schedule_flush(d);
}

static void check_one(Daemon *d, Ctl *ctl, uint64_t now) {
        static const uint8_t payload[] = { COMM_GET_VALUES };
        bool pinged = ctl_pinged(ctl);
        int r;

        ctl->check_due = false;
        /* held again meanwhile: the next release checks it */
        if (!ctl->c.has_identity || ctl->id_stale || ctl_held(d, ctl))
                return;
        ctl->checking = true;
        /* a poll in flight (sent before the hold): its answer is the check */
        if (ctl->poll_pending)
                return;
        r = request_send(d->requests,
                         &(RequestParams) {
                                 .dest = ctl->c.id,
                                 .reply = pinged ? REQUEST_PING : REQUEST_REPLY_LONG,
                                 .payload = payload,
                                 .len = sizeof payload,
                                 .reply_cmd = -1,
                                 .retries = 1,
                                 .done = pinged ? on_liveness_pong : on_values,
                                 .userdata = ctl,
                         },
                         now, &ctl->poll_handle);
        if (r < 0) {
                log_ctl_debug_errno(&ctl->c, r, "Cannot check it after its hold: %m");
                check_ended(ctl, r);
                return;
        }
        ctl->poll_pending = true;
        ctl->poll_sent_online = ctl->c.online;
        ctl->c.counters.polls++;
}

/* From flush(): the checks rule 3 asked for. */
static void release_checks(Daemon *d, uint64_t now) {
        d->checks_due = false;
        if (!d->requests)
                return;
        for (size_t i = 0; i < d->n_ctls; i++)
                if (d->ctls[i]->check_due)
                        check_one(d, d->ctls[i], now);
}

/* Rule 4: a controller that went offline only because it was held and
 * silent, still offline, and its check under way. */
static bool board_waits_for_check(const Daemon *d) {
        for (size_t i = 0; i < d->n_ctls; i++) {
                const Ctl *ctl = d->ctls[i];

                if (ctl->held_offline && (ctl->check_due || ctl->checking) && !ctl->c.online && !ctl->id_stale)
                        return true;
        }
        return false;
}

/**
 * ctl_is_member() - whether a record is one of the board's motor controllers
 *
 * Members are never forgotten.  The rule is board_is_member()'s, the same
 * the board view and the firmware manager use; membership_check() decides
 * when a candidate becomes one.
 */
static bool ctl_is_member(const Ctl *ctl) {
        return board_is_member(&ctl->c);
}

/* Non-members that never identified, or are offline, for forget-after-s go. */
static bool ctl_forgettable(const Daemon *d, const Ctl *ctl, uint64_t now) {
        uint64_t after = daemon_scaled(d, (uint64_t) d->config->forget_after_s * USEC_PER_SEC);
        uint64_t since;

        /* an operation or a job holds it (holds are by UUID) */
        if (ctl_is_member(ctl) || (ctl->c.has_identity && hold_table_count(d->holds, ctl->c.uuid) > 0))
                return false;
        if (ctl->c.has_identity && ctl->c.online && !ctl->id_stale)
                return false;
        since = MAX(ctl->created_usec, ctl->c.last_seen_usec);
        return now > since && now - since >= after;
}

static void forget(Daemon *d, uint64_t now) {
        unsigned n = 0;

        for (size_t i = 0; i < d->n_ctls;) {
                Ctl *ctl = d->ctls[i];
                if (!ctl_forgettable(d, ctl, now)) {
                        i++;
                        continue;
                }
                d->counters.forgotten++;
                if (ctl->c.has_identity)
                        log_rl_ctl_info(&ctl->c, "forgotten: not a board member, offline for %u s",
                                        d->config->forget_after_s);
                else
                        log_rl_debug("Forgetting CAN id %u: never identified", ctl->c.id);
                ctl_remove(d, ctl);  /* removes d->ctls[i] */
                schedule_flush(d);
                n++;
        }
        if (n > 0)
                log_rl_info("Forgot %u controller record(s): never identified, or not board members and offline, "
                            "for %u s (forget-after-s)", n, d->config->forget_after_s);
}

/* ------------------------------------------------------- own stalls
 *
 * Liveness across vescd's own stalls: descheduled on a loaded machine, or
 * held up by a slow callback, vescd does not run for a while and then
 * finds the offline timeout of a controller expired.  That silence is
 * vescd's, not the controller's: the controller's frames wait in the
 * socket (the event loop may run the expired tick before it reads them),
 * and one without status broadcasts said nothing because vescd asked it
 * nothing.  So the first tick after a stall (it came STALL_USEC or more
 * after the last one):
 *
 *   1. reads the frames waiting before it judges anything;
 *   2. does not make a confirmed, online, unheld controller whose timeout
 *      expired offline, but checks it at once, as after a hold (rule 3
 *      above: a GET_VALUES, or a PING for a BMS or custom module, in the
 *      foreground, one retry), and the offline timeout waits for the check
 *      (rule 5): its answer keeps the controller online, its timeout
 *      (2 × 100 ms for a GET_VALUES) makes it offline then.  A controller
 *      really gone shows offline at most one check later; one that never
 *      confirmed (a phantom UUID) gets no check (no foreground request is
 *      spent on it); a held one keeps the hold's rules.
 *
 * A stall is measured between ticks, so it is seen however it came about;
 * a late tick that finds nothing expired costs one read.
 */

/* The tick at @now came after a stall of vescd's own: take the frames
 * waiting (rule 1). */
static bool own_stall(Daemon *d, uint64_t now) {
        uint64_t last = d->last_tick_usec;

        d->last_tick_usec = now;
        if (last == 0 || now < last + STALL_USEC)
                return false;
        log_rl_debug("No housekeeping tick for %" PRIu64 " ms: a controller silent meanwhile is checked, "
                     "not taken offline", (now - last) / USEC_PER_MSEC);
        transport_receive(d->transport);
        return true;
}

/* Rule 2: check @ctl instead of the offline timeout's verdict at @now. */
static bool stall_check(Daemon *d, Ctl *ctl, uint64_t now, uint64_t timeout) {
        if (!ctl->c.online || !ctl->confirmed || ctl_held(d, ctl) ||
            now < controller_liveness_deadline(&ctl->c, timeout))
                return false;
        ctl->check_due = true;
        d->checks_due = true;
        schedule_flush(d);
        return true;
}

static void on_tick(evutil_socket_t fd, short what, void *userdata) {
        Daemon *d = userdata;
        uint64_t now = daemon_now();
        uint64_t timeout = daemon_scaled(d, (uint64_t) d->config->offline_timeout_ms * USEC_PER_MSEC);
        bool stalled = own_stall(d, now);

        forget(d, now);
        if (d->started && d->config->rescan_interval_s > 0 && now >= d->next_rescan_usec) {
                /* slow background rescan: one PING at a time, so at most a
                 * few frames per second; skipped while a scan runs */
                d->next_rescan_usec = now + (uint64_t) d->config->rescan_interval_s * USEC_PER_SEC;
                if (!d->scanning)
                        (void) daemon_scan(d);
        }

        d->n_polled = 0;
        for (size_t i = 0; i < d->n_ctls; i++)
                if (d->ctls[i]->c.has_identity && d->ctls[i]->c.online && !d->ctls[i]->c.broadcasting &&
                    !ctl_pinged(d->ctls[i]))
                        d->n_polled++;
        for (size_t i = 0; i < d->n_ctls; i++) {
                Ctl *ctl = d->ctls[i];
                bool held, was_broadcasting;

                if (ctl->id_stale)
                        continue;
                if (!ctl->c.has_identity) {
                        identify(d, ctl, false);
                        continue;
                }
                held = ctl_held(d, ctl);
                was_broadcasting = ctl->c.broadcasting;
                /* once a hold let go, or after vescd's own stall, the
                 * check decides ("held silence", "own stalls") */
                if (!ctl->check_due && !ctl->checking &&
                    !(stalled && stall_check(d, ctl, now, liveness_timeout(d, ctl, timeout))) &&
                    controller_check_liveness(&ctl->c, now, liveness_timeout(d, ctl, timeout)) > 0) {
                        schedule_flush(d);
                        /* silent while a hold paused our polls */
                        if (held && !was_broadcasting)
                                ctl->held_offline = true;
                }
                if (!held && !ctl->check_due && !ctl->checking)
                        ctl->held_offline = false;
                if (membership_check(d, ctl, now)) {
                        d->board_stale = true;
                        schedule_flush(d);
                }
                /* a check due is the poll, with its retry */
                if (!ctl->check_due)
                        poll_one(d, ctl, now);
        }
        /* polls the tick sent may have started a schedule */
        poll_rearm(d);
        ride_mode_tick(d, now);
        if (d->manager_counters_due <= now) {
                d->manager_counters_due = now + USEC_PER_SEC;
                mark_manager(d, DAEMON_CHANGED_COUNTERS);
        }
}

/* ------------------------------------------------------------------ scan */

static void scan_next(Daemon *d);

static void on_scan_pong(void *userdata, int error, uint8_t replier, const uint8_t *reply, size_t len) {
        Daemon *d = userdata;

        d->scan_pending = false;
        if (error == -ECANCELED)
                return;
        if (error == 0) {
                Ctl *ctl = ctl_get(d, replier);
                if (ctl) {
                        if (controller_seen(&ctl->c, daemon_now()) > 0)
                                schedule_flush(d);
                        if (!ctl->c.has_identity)
                                identify(d, ctl, true);
                }
        }
        scan_next(d);
}

static void scan_next(Daemon *d) {
        int r;

        while (d->scanning) {
                if (d->scan_id > 254) {
                        d->scanning = false;
                        log_debug("Scan finished");
                        mark_manager(d, DAEMON_CHANGED_SCANNING);
                        return;
                }
                uint8_t id = (uint8_t) d->scan_id++;
                if (id == d->config->can_id)
                        continue;
                r = request_send(d->requests,
                                 &(RequestParams) {
                                         .dest = id,
                                         .reply = REQUEST_PING,
                                         .done = on_scan_pong,
                                         .userdata = d,
                                 },
                                 daemon_now(), NULL);
                if (r < 0) {
                        log_warning_errno(r, "Cannot PING id %u: %m, skipping it", id);
                        continue;
                }
                d->scan_pending = true;
                return;
        }
}

/**
 * daemon_scan() - start a PING scan of ids 0..254
 * @d: the daemon
 *
 * One PING at a time (spec §6.2: never to 255); a running scan restarts
 * from id 0 after its current PING.
 *
 * Returns: 0.
 */
int daemon_scan(Daemon *d) {
        d->scan_id = 0;
        d->counters.scans++;
        if (!d->scanning) {
                d->scanning = true;
                mark_manager(d, DAEMON_CHANGED_SCANNING);
        }
        if (!d->scan_pending && d->started)
                scan_next(d);
        return 0;
}

/* ------------------------------------------------------------ frames in */

/* Every frame but a status broadcast of an identified controller (those
 * take the short way in on_frames()): the request engine only for frames
 * addressed to vescd (it takes nothing else), discovery, boots. */
static __attribute__((noinline)) void on_frame(Daemon *d, const struct can_frame *f, uint64_t now) {
        uint8_t type, addr;
        Ctl *ctl;

        if (vesc_can_id_unpack(f->can_id, &type, &addr) < 0) {
                d->counters.frames_unknown++;
                return;
        }
        if (addr == d->config->can_id) {
                if (type == CAN_PACKET_PONG) {
                        VescPong pong;

                        /* any PONG for us is a controller at its sender id, also one
                         * that came after its PING timed out (a loaded machine, a
                         * busy bus): the scan moved on, but the controller is found */
                        if (vesc_pong_decode(f, &pong) == 0 && (ctl = ctl_get(d, pong.from))) {
                                if (controller_seen(&ctl->c, now) > 0)
                                        d->frames_changed = true;
                                if (!ctl->c.has_identity)
                                        identify(d, ctl, false);
                        }
                }
                if (request_engine_handle_frame(d->requests, f, now) > 0) {
                        d->frames_changed = true;
                        return;
                }
        }

        switch (type) {
        case CAN_PACKET_STATUS:
        case CAN_PACKET_STATUS_2:
        case CAN_PACKET_STATUS_3:
        case CAN_PACKET_STATUS_4:
        case CAN_PACKET_STATUS_5:
        case CAN_PACKET_STATUS_6: {
                VescStatus st;

                if (vesc_status_decode(f, &st) < 0) {
                        d->counters.frames_unknown++;
                        return;
                }
                ctl = ctl_by_id(d, addr) ?: ctl_get(d, addr);
                if (!ctl)
                        return;
                (void) controller_apply_status(&ctl->c, &st, now);
                if (!ctl->c.has_identity)
                        identify(d, ctl, false);
                else
                        ctl->confirmed = true;
                d->frames_changed = true;
                return;
        }
        case CAN_PACKET_NOTIFY_BOOT: {
                char hw[9];

                if (vesc_notify_boot_decode(f, &addr, hw) < 0)
                        return;
                ctl = ctl_get(d, addr);
                if (!ctl)
                        return;
                log_rl_info("Controller at CAN id %u booted (hw %s)", addr, hw);
                (void) controller_seen(&ctl->c, now);
                /* it rebooted: firmware and id may be new; its runtime
                 * limits are the configured ones again */
                identify(d, ctl, true);
                if (ctl->c.has_identity)
                        ride_mode_restarted(d, ctl, 0);
                EMIT(d, controller_booted, addr, hw);
                d->frames_changed = true;
                return;
        }
        default:
                d->counters.frames_unknown++;
                return;
        }
}

/* The per-frame path (bench-ingest counts its instructions): the frames of
 * one read, all stamped with the batch's receive time.  A status broadcast
 * of an identified controller, nearly every frame on a board, is one test
 * of the id (extended, not RTR or error, the high bits zero, not addressed
 * to vescd, a status type, DLC 8), one table load for its record and the
 * fields decoded straight into the model; the change is marked with a flag
 * and the transport calls on_frames_done() once per wake-up, which
 * publishes what the frames changed in one flush. */
static void on_frames_slow(Daemon *d, const struct can_frame *f, size_t n, uint64_t now);

static void on_frames(void *userdata, const struct can_frame *f, size_t n) {
        Daemon *d = userdata;
        const uint8_t own = d->config->can_id;
        /* one receive time for the batch: its frames were read together */
        const uint64_t now = now_usec();

        for (size_t i = 0; i < n; i++) {
                const canid_t id = f[i].can_id;
                const uint8_t type = (uint8_t) (id >> 8), addr = (uint8_t) id;
                Ctl *ctl;

                if ((id & ~(canid_t) 0xFFFF) != CAN_EFF_FLAG || addr == own || !vesc_is_status_type(type) ||
                    f[i].len != 8 || !(ctl = d->by_id[addr])) {
                        /* the rest of the batch the long way: no call in
                         * this loop, so its values stay in scratch registers */
                        on_frames_slow(d, f + i, n - i, now);
                        return;
                }
                (void) controller_apply_status_frame(&ctl->c, type, f[i].data, now);
                ctl->confirmed = true;
                d->frames_changed = true;
        }
}

/* From the first frame that is not a status broadcast of a controller in
 * the per-id table: each frame the short way when it can, else on_frame(). */
static __attribute__((noinline)) void on_frames_slow(Daemon *d, const struct can_frame *f, size_t n,
                                                     uint64_t now) {
        const uint8_t own = d->config->can_id;

        for (size_t i = 0; i < n; i++) {
                const canid_t id = f[i].can_id;
                const uint8_t type = (uint8_t) (id >> 8), addr = (uint8_t) id;
                Ctl *ctl;

                if ((id & ~(canid_t) 0xFFFF) == CAN_EFF_FLAG && addr != own && vesc_is_status_type(type) &&
                    f[i].len == 8 && (ctl = ctl_by_id_indexed(d, addr)) && ctl->c.has_identity) {
                        (void) controller_apply_status_frame(&ctl->c, type, f[i].data, now);
                        ctl->confirmed = true;
                        d->frames_changed = true;
                        continue;
                }
                on_frame(d, &f[i], now);
        }
}

static void on_frames_done(void *userdata) {
        Daemon *d = userdata;

        if (d->frames_changed) {
                d->frames_changed = false;
                flush(d);
        }
}

static void on_bus_state(void *userdata, TransportBusState state) {
        Daemon *d = userdata;

        if (state == TRANSPORT_BUS_OFF || state == TRANSPORT_BUS_DOWN)
                d->bus_was_off = true;
        else if (d->bus_was_off && state == TRANSPORT_BUS_ACTIVE) {
                /* frames may have been lost while the bus was off: rescan */
                d->bus_was_off = false;
                log_rl_info("CAN bus back after bus-off: rescanning");
                if (d->started)
                        (void) daemon_scan(d);
        }
        if (state == TRANSPORT_BUS_OFF && d->config->manage_link && transport_ifname(d->transport) &&
            d->config->restart_ms == 0 && d->kinds->link_restart)
                (void) d->kinds->link_restart(transport_ifname(d->transport));
        mark_manager(d, DAEMON_CHANGED_BUS_STATE);
}

static void on_transport_fatal(void *userdata, int error) {
        Daemon *d = userdata;

        mark_manager(d, DAEMON_CHANGED_BUS_STATE);
        if (d->fatal_fn)
                d->fatal_fn(d->fatal_userdata, error);
}

static const TransportCallbacks transport_callbacks = {
        .frames = on_frames,
        .frames_done = on_frames_done,
        .state = on_bus_state,
        .fatal = on_transport_fatal,
};

/* ------------------------------------------------------------ lifecycle */

/**
 * daemon_new() - create the daemon context and open the transport
 * @base: the event loop (borrowed)
 * @config: configuration; ownership is taken, also on failure
 * @kinds: the transport implementations (borrowed, static)
 * @ret: receives the daemon
 *
 * Returns: 0 or -errno (the transport's open error is logged).
 */
int daemon_new(struct event_base *base, Config *config, const TransportKinds *kinds, Daemon **ret) {
        _cleanup_(daemon_freep) Daemon *d = NULL;
        struct timeval tick = usec_to_timeval(TICK_USEC);
        int r;

        d = calloc(1, sizeof *d);
        if (!d) {
                config_free(config);
                return -ENOMEM;
        }
        d->base = base;
        d->config = config;
        d->kinds = kinds;
        d->board = BOARD_NULL;
        d->logged_state = BOARD_STATE_UNKNOWN;
        d->exported = calloc(512, sizeof(Controller *));
        if (!d->exported)
                return -ENOMEM;
        r = board_members_load(&d->members, config->state_dir);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                log_warning_errno(r, "Cannot read the board's members from %s/board.json: %m", config->state_dir);
        r = hold_table_new(&d->holds);
        if (r < 0)
                return r;
        hold_table_set_released(d->holds, on_hold_released, d);
        r = ride_mode_load(d);
        if (r < 0)
                return r;

        r = transport_new(base, kinds, config->transport, (uint8_t) config->can_id, &transport_callbacks, d, &d->transport);
        if (r < 0)
                return log_error_errno(r, "Failed to open CAN transport %s: %m", config->transport);

        d->bitrate = config->bitrate ? config->bitrate : 500000;
        if (transport_ifname(d->transport) && kinds->link_bitrate) {
                uint32_t bitrate;
                if (kinds->link_bitrate(transport_ifname(d->transport), &bitrate) >= 0)
                        d->bitrate = bitrate;
        }
        log_debug("Polling budget: %u bit/s bus", (unsigned) d->bitrate);

        r = request_engine_new((uint8_t) config->can_id, config->time_scale, &engine_ops, d, &d->requests);
        if (r < 0)
                return r;

        d->requests_timer_ev = evtimer_new(base, on_requests_event, d);
        d->requests_defer_ev = event_new(base, -1, 0, on_requests_event, d);
        d->flush_ev = event_new(base, -1, 0, on_flush, d);
        d->telemetry_ev = evtimer_new(base, on_flush, d);
        d->tick_ev = event_new(base, -1, EV_PERSIST, on_tick, d);
        d->poll_ev = evtimer_new(base, on_poll_timer, d);
        if (!d->requests_timer_ev || !d->requests_defer_ev || !d->flush_ev || !d->telemetry_ev || !d->tick_ev ||
            !d->poll_ev)
                return -ENOMEM;
        /* under a test clock the test runs the tick (daemon_run_due()) */
        d->test_clock = clock_fn != NULL;
        if (!d->test_clock && event_add(d->tick_ev, &tick) < 0)
                return -ENOMEM;

        *ret = TAKE_PTR(d);
        return 0;
}

/**
 * daemon_run_due() - run what is due at a test clock's time
 * @d: a daemon created under daemon_set_clock()
 *
 * The request engine's completions, timeouts and queued sends, then the
 * housekeeping tick (liveness, identification retries, polls, scans) if
 * TICK_USEC of the test clock passed since the last one, then the
 * periodic polls whose deadline came (the poll timer's work).  Running it
 * again at the same time does nothing new.
 */
void daemon_run_due(Daemon *d) {
        uint64_t now = daemon_now();

        if (d->requests) {
                requests_process(d, now);
                schedule_flush(d);
        }
        if (now >= d->next_tick_usec) {
                d->next_tick_usec = now + TICK_USEC;
                on_tick(-1, 0, d);
        }
        if (now >= poll_next_due(d))
                poll_due(d, now);
}

/**
 * daemon_next_due() - when daemon_run_due() has work next
 * @d: a daemon created under daemon_set_clock()
 *
 * Returns: the test clock's time of the next request deadline,
 * housekeeping tick or periodic poll (0: now).
 */
uint64_t daemon_next_due(const Daemon *d) {
        uint64_t next = d->requests ? request_engine_next_deadline(d->requests) : UINT64_MAX;

        return MIN(MIN(next, d->next_tick_usec), poll_next_due(d));
}

static void on_own_id_pong(void *userdata, int error, uint8_t replier, const uint8_t *reply, size_t len) {
        Daemon *d = userdata;

        if (error == -ECANCELED)
                return;
        if (error == 0) {
                log_error("CAN id %u is in use by a controller on %s; choose another can-id", d->config->can_id,
                          d->config->transport);
                if (d->ready_fn)
                        d->ready_fn(d->ready_userdata, -EADDRINUSE);
                return;
        }
        if (error != -ETIMEDOUT) {
                log_error_errno(error, "Cannot check CAN id %u: %m", d->config->can_id);
                if (d->ready_fn)
                        d->ready_fn(d->ready_userdata, error);
                return;
        }
        log_debug("CAN id %u is free", d->config->can_id);
        d->started = true;
        d->next_rescan_usec = daemon_now() + (uint64_t) d->config->rescan_interval_s * USEC_PER_SEC;
        /* e.g. jobs interrupted by a restart continue now that the bus is ours */
        EMIT(d, started);
        if (d->config->scan_on_start)
                (void) daemon_scan(d);
        else if (d->scanning)
                scan_next(d);
        if (d->ready_fn)
                d->ready_fn(d->ready_userdata, 0);
}

/**
 * daemon_start() - check the own id is free, then start discovery
 * @d: the daemon
 * @on_ready: called once with 0 (id free, discovery running),
 *            -EADDRINUSE (a controller answered at our id) or another error
 * @userdata: for @on_ready
 *
 * Returns: 0, or -errno if the check could not even be queued.
 */
int daemon_start(Daemon *d, DaemonReadyFn on_ready, void *userdata) {
        d->ready_fn = on_ready;
        d->ready_userdata = userdata;
        return request_send(d->requests,
                            &(RequestParams) {
                                    .dest = (uint8_t) d->config->can_id,
                                    .reply = REQUEST_PING,
                                    .timeout_usec = REQUEST_TIMEOUT_OWN_ID_USEC,
                                    .done = on_own_id_pong,
                                    .userdata = d,
                            },
                            daemon_now(), NULL);
}

/**
 * daemon_set_fatal_handler() - who to tell when the transport fails for good
 * @d: the daemon
 * @fn: callback with the error
 * @userdata: for @fn
 */
void daemon_set_fatal_handler(Daemon *d, DaemonExitFn fn, void *userdata) {
        d->fatal_fn = fn;
        d->fatal_userdata = userdata;
}

/**
 * daemon_shutdown() - cancel everything in flight
 * @d: the daemon
 *
 * Completions run with -ECANCELED while the adapters still exist.
 * Idempotent.
 */
void daemon_shutdown(Daemon *d) {
        if (!d || !d->requests)
                return;
        d->scanning = false;
        d->requests = request_engine_free(d->requests);
        if (d->poll_ev)
                evtimer_del(d->poll_ev);
}

/**
 * daemon_free() - free the daemon
 * @d: the daemon or NULL
 *
 * Returns: NULL.
 */
Daemon *daemon_free(Daemon *d) {
        if (!d)
                return NULL;
        daemon_shutdown(d);
        if (d->requests_timer_ev)
                event_free(d->requests_timer_ev);
        if (d->requests_defer_ev)
                event_free(d->requests_defer_ev);
        if (d->flush_ev)
                event_free(d->flush_ev);
        if (d->telemetry_ev)
                event_free(d->telemetry_ev);
        if (d->tick_ev)
                event_free(d->tick_ev);
        if (d->poll_ev)
                event_free(d->poll_ev);
        transport_free(d->transport);
        for (size_t i = 0; i < d->n_ctls; i++)
                ctl_free(d->ctls[i]);
        free(d->ctls);
        free(d->exported);
        listener_list_done(&d->listeners);
        board_done(&d->board);
        board_members_done(&d->members);
        ride_mode_free(d);
        config_free(d->config);
        /* last: operations released theirs when daemon_shutdown() cancelled
         * them; the firmware manager is freed before the daemon */
        hold_table_free(d->holds);
        free(d->inhibit_reason);
        free(d->admin_gid_name);
        free(d);
        return NULL;
}

/**
 * daemon_reload() - swap in a new configuration
 * @d: the daemon
 * @new_config: the new config; ownership is taken on success only
 * @ret_key: on -EBUSY receives the key that needs a restart
 *
 * Returns: 0, or -EBUSY (nothing changed).
 */
int daemon_reload(Daemon *d, Config *new_config, const char **ret_key) {
        const char *key = config_reload_incompatible(d->config, new_config);

        if (key) {
                if (ret_key)
                        *ret_key = key;
                return -EBUSY;
        }
        config_free(d->config);
        d->config = new_config;
        log_set_max_level(new_config->log_level);
        ride_mode_reloaded(d);
        return 0;
}

/* --------------------------------------------------------------- queries */

const Config *daemon_config(const Daemon *d) {
        return d->config;
}

struct event_base *daemon_event_base(const Daemon *d) {
        return d->base;
}

Transport *daemon_transport(const Daemon *d) {
        return d->transport;
}

RequestEngine *daemon_requests(const Daemon *d) {
        return d->requests;
}

const Board *daemon_board(const Daemon *d) {
        return &d->board;
}

const DaemonCounters *daemon_counters(const Daemon *d) {
        return &d->counters;
}

bool daemon_scanning(const Daemon *d) {
        return d->scanning;
}

/**
 * daemon_controllers() - the identified controllers, by CAN id
 * @d: the daemon
 * @ret: receives the array (owned by the daemon)
 *
 * Returns: the number of controllers.
 */
size_t daemon_controllers(Daemon *d, Controller *const **ret) {
        *ret = d->exported;
        return d->n_exported;
}

/**
 * daemon_find_uuid() - an identified controller by UUID text
 * @d: the daemon
 * @uuid: 24 hex digits
 *
 * Returns: the controller or NULL.
 */
Controller *daemon_find_uuid(Daemon *d, const char *uuid) {
        uint8_t u[VESC_UUID_LEN];
        Ctl *ctl;

        if (controller_parse_uuid(uuid, u) < 0)
                return NULL;
        ctl = ctl_by_uuid(d, u);
        return ctl && ctl->exported ? &ctl->c : NULL;
}

/**
 * daemon_find_id() - the identified controller currently at a CAN id
 * @d: the daemon
 * @id: CAN id
 *
 * Returns: the controller or NULL.
 */
Controller *daemon_find_id(Daemon *d, uint8_t id) {
        Ctl *ctl = ctl_by_id(d, id);
        return ctl && ctl->exported ? &ctl->c : NULL;
}

/**
 * daemon_find_controller() - a controller named by UUID or CAN id
 * @d: the daemon
 * @name: 24 hex digits or a decimal id
 * @ret: receives the controller
 *
 * Returns: 0, -ENODEV (no such controller), -EINVAL (neither form).
 */
int daemon_find_controller(Daemon *d, const char *name, Controller **ret) {
        uint8_t u[VESC_UUID_LEN];
        Controller *c = NULL;

        if (controller_parse_uuid(name, u) == 0)
                c = daemon_find_uuid(d, name);
        else {
                char *end;
                unsigned long id;
                errno = 0;
                id = strtoul(name, &end, 10);
                if (errno || end == name || *end || id > 254)
                        return -EINVAL;
                c = daemon_find_id(d, (uint8_t) id);
        }
        if (!c)
                return -ENODEV;
        *ret = c;
        return 0;
}

/* how long a looked-up admin group gid is used (daemon_check_admin()) */
#define ADMIN_GID_TTL_USEC (5 * USEC_PER_SEC)

/**
 * daemon_check_admin() - may this caller change controllers
 * @d: the daemon
 * @uid: effective uid
 * @gid: effective gid
 * @groups: supplementary groups
 * @n_groups: their number
 *
 * Returns: 1 for root or a member of the configured admin group, else 0.
 */
int daemon_check_admin(Daemon *d, uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups) {
        const char *name = d->config->admin_group;
        uint64_t now = daemon_now();

        if (uid == 0)
                return 1;
        /* getgrnam() asks NSS (files, but also sssd, LDAP, systemd-userdb), which
         * may block the loop, and peers get here once per connection: a gid
         * found is kept for ADMIN_GID_TTL_USEC.  A group not found is looked up
         * again next time (it may be created after we start). */
        if (!d->admin_gid_name || !name || strcmp(d->admin_gid_name, name) != 0 ||
            now - d->admin_gid_usec >= ADMIN_GID_TTL_USEC) {
                struct group *g = name ? getgrnam(name) : NULL;

                free(d->admin_gid_name);
                d->admin_gid_name = NULL;
                if (!g)
                        return 0;
                d->admin_gid = g->gr_gid;
                d->admin_gid_usec = now;
                d->admin_gid_name = strdup(name); /* NULL: looked up again next time */
        }
        if (gid == d->admin_gid)
                return 1;
        for (size_t i = 0; i < n_groups; i++)
                if (groups[i] == d->admin_gid)
                        return 1;
        return 0;
}

/* For the operations module. */
Ctl *daemon_ctl(Daemon *d, Controller *c) {
        for (size_t i = 0; i < d->n_ctls; i++)
                if (&d->ctls[i]->c == c)
                        return d->ctls[i];
        return NULL;
}

void daemon_model_changed(Daemon *d) {
        schedule_flush(d);
}

/**
 * daemon_holds() - who holds which controller
 * @d: the daemon
 *
 * Operations take their holds here; so does the firmware manager for its
 * jobs (hold.h).
 *
 * Returns: the daemon's table (borrowed, valid until daemon_free()).
 */
HoldTable *daemon_holds(Daemon *d) {
        return d->holds;
}

/**
 * daemon_set_updating_query() - who tells the board view about update jobs
 * @d: the daemon
 * @fn: the query (NULL: no jobs)
 * @userdata: its argument
 */
void daemon_set_updating_query(Daemon *d, DaemonUpdatingFn fn, void *userdata) {
        d->updating_fn = fn;
        d->updating_userdata = userdata;
        update_board(d);
}

/**
 * daemon_set_inhibit() - what the Manager shows as Inhibited / InhibitReason
 */
int daemon_set_inhibit(Daemon *d, bool inhibited, const char *reason) {
        char *copy = strdup(inhibited && reason ? reason : "");

        if (!copy)
                return -ENOMEM;
        free(d->inhibit_reason);
        d->inhibit_reason = copy;
        d->inhibited = inhibited;
        mark_manager(d, DAEMON_CHANGED_INHIBIT);
        return 0;
}

bool daemon_inhibited(const Daemon *d, const char **ret_reason) {
        if (ret_reason)
                *ret_reason = d->inhibit_reason ? d->inhibit_reason : "";
        return d->inhibited;
}

/**
 * daemon_set_actions_provider() - let the firmware planner write the board's
 * Actions (NULL: the plain lines of board.c)
 */
void daemon_set_actions_provider(Daemon *d, DaemonActionsFn fn, void *userdata) {
        d->actions_fn = fn;
        d->actions_userdata = userdata;
}

void daemon_board_update(Daemon *d) {
        update_board(d);
}

/**
 * daemon_board_settled() - whether the board view may show what vescd knows
 * @d: the daemon
 *
 * False while a check after a hold holds the view back ("held silence",
 * rule 4); when it ends, the view is computed again and the listeners'
 * board_settled runs.  The firmware manager asks before a job announces
 * its end, so that a client told "done" reads the board's final state.
 */
bool daemon_board_settled(const Daemon *d) {
        return !board_waits_for_check(d);
}

bool daemon_board_verdict_given(const Daemon *d) {
        return d->verdict_open;
}

/**
 * daemon_absent_members() - remembered members not on the bus
 * @d: the daemon
 * @ret: receives up to @max UUIDs (borrowed)
 * @max: room in @ret
 *
 * The members the board view calls "a member of the board but not on the
 * bus": remembered in board.json, no controller object since the start.
 *
 * Returns: how many there are.
 */
size_t daemon_absent_members(Daemon *d, const char **ret, size_t max) {
        size_t k = 0;

        for (size_t i = 0; i < d->members.n; i++) {
                bool seen = false;
                for (size_t j = 0; j < d->n_exported && !seen; j++)
                        seen = strcmp(d->exported[j]->uuid_str, d->members.uuids[i]) == 0;
                if (seen)
                        continue;
                if (k < max)
                        ret[k] = d->members.uuids[i];
                k++;
        }
        return k;
}

/**
 * daemon_forget_controller() - forget a remembered board member
 * @d: the daemon
 * @uuid: 24 hex digits
 * @ret_error: receives a text for people on failure
 *
 * Returns: 0, -EINVAL, -ENOENT or -EBUSY (see daemon.h).
 */
int daemon_forget_controller(Daemon *d, const char *uuid, char **ret_error) {
        uint8_t raw[VESC_UUID_LEN];
        char norm[CONTROLLER_UUID_STR_LEN + 1];
        Ctl *ctl;

        if (controller_parse_uuid(uuid, raw) < 0) {
                if (asprintf(ret_error, "\"%s\" is not a UUID (24 hex digits)", uuid) < 0)
                        *ret_error = NULL;
                return -EINVAL;
        }
        controller_format_uuid(raw, norm);
        ctl = ctl_by_uuid(d, raw);
        if (ctl && ctl->c.online) {
                if (asprintf(ret_error, "%s (id %u) is online: it stays a member while it is on the bus", norm,
                             ctl->c.id) < 0)
                        *ret_error = NULL;
                return -EBUSY;
        }
        if (!board_members_contains(&d->members, norm) && !ctl) {
                if (asprintf(ret_error, "%s is not a member of the board", norm) < 0)
                        *ret_error = NULL;
                return -ENOENT;
        }
        (void) board_members_forget(&d->members, norm);
        log_info("%s forgotten: no longer a member of the board", norm);
        if (ctl) {
                bool exported = ctl->exported;
                if (exported)
                        EMIT(d, controller_removed, &ctl->c);
                ctl_remove(d, ctl);
                rebuild_exported(d);
                if (exported)
                        d->manager_dirty |= DAEMON_CHANGED_CONTROLLERS;
        }
        update_board(d);
        schedule_flush(d);
        return 0;
}

/**
 * daemon_controller_moved() - a write of ours changed a controller's CAN id
 * @d: the daemon
 * @uuid: the controller
 * @id: its new id (it answered from there)
 */
void daemon_controller_moved(Daemon *d, const uint8_t uuid[static VESC_UUID_LEN], uint8_t id) {
        Ctl *ctl = ctl_by_uuid(d, uuid), *other;

        if (!ctl || ctl->c.id == id)
                return;
        ctl_index_reset(d);
        other = ctl_by_id(d, id);
        if (other && other != ctl) {
                if (other->c.has_identity)
                        other->id_stale = true;
                else
                        ctl_remove(d, other);
        }
        log_ctl_info(&ctl->c, "now at CAN id %u (its configuration moved it)", id);
        (void) controller_set_id(&ctl->c, id);
        ctl->id_stale = false;
        (void) controller_seen(&ctl->c, daemon_now());
        identify(d, ctl, /* force= */ true);
        schedule_flush(d);
}

/**
 * daemon_feed_fw_version() - a COMM_FW_VERSION reply heard by someone else
 * @d: the daemon
 * @id: the id that answered
 * @reply: the reply payload (command byte first)
 * @len: its length
 */
void daemon_feed_fw_version(Daemon *d, uint8_t id, const uint8_t *reply, size_t len) {
        Ctl *ctl = ctl_get(d, id);

        VescFwVersion v;

        if (!ctl)
                return;
        apply_fw_version(d, ctl, id, reply, len);
        /* an update job's identification: the controller (re)started, maybe
         * with new firmware; the ride mode follows once the job lets go */
        if (vesc_fw_version_decode(reply, len, &v) >= 0 && (ctl = ctl_by_uuid(d, v.uuid)) && ctl->c.has_identity)
                ride_mode_restarted(d, ctl, 0);
}
