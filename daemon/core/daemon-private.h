/* Daemon internals shared between daemon.c and operations.c. */
#pragma once

#include "core/daemon.h"
#include "core/members.h"
#include "core/hold.h"
#include "core/limits.h"
#include "core/listeners.h"

struct event;

typedef struct Ctl {
        Controller c;               /* the model (what adapters see) */
        Daemon *d;
        bool exported;              /* announced to listeners (identity known) */
        bool id_stale;              /* another controller now has this id */
        bool identify_pending;
        uint64_t next_identify_usec;
        bool poll_pending;
        uint64_t next_poll_usec;
        bool poll_periodic;         /* polled at its rate: the poll timer keeps its deadlines */
        uint64_t telemetry_pending; /* telemetry bits waiting for the rate limit */
        uint64_t last_telemetry_usec;
        uint64_t identify_backoff_usec; /* nominal; core/schedule.h */
        uint64_t created_usec;
        uint64_t identified_usec;
        uint8_t origin_id;          /* the id it was first heard at */
        bool suspect;               /* identified at an id that presented many UUIDs */
        bool confirmed;             /* heard (status, values) after identification */
        uint64_t poll_backoff_usec; /* nominal; offline and never confirmed (core/schedule.h) */
        bool poll_sent_online;      /* the poll in flight went to it while online */
        uint64_t poll_handle;       /* the pending poll's request (request_cancel()) */
        /* liveness around exclusive holds (daemon.c, "held silence") */
        bool held_offline;          /* went offline while held, polled only (no broadcasts) */
        bool check_due;             /* its last exclusive hold went: check it at the next flush */
        bool checking;              /* that check (a poll or PING) is in flight */
        uint64_t member_clock_usec; /* identified, online, unflagged since (0: not now) */
        bool has_primary;           /* the second motor of a dual-motor MCU (c.primary_motor) */
        uint8_t primary_uuid[VESC_UUID_LEN]; /* its primary motor's UUID (the MCU's) */
        /* ride modes and limits (ride-mode.c); reset when it (re)starts */
        bool mode_pending;          /* the active ride mode is to be applied */
        bool mode_running;          /* an application is under way */
        bool mode_seen_online;
        unsigned mode_failures;
        uint64_t mode_next_usec;
        bool has_mode_base;         /* the configured limits, read since it started */
        double mode_base[_LIMIT_MAX];
        uint32_t limits_mask;       /* the limits vescd set since it started */
        double limits[_LIMIT_MAX];
        void *adapter_data[DAEMON_ADAPTER_SLOTS]; /* daemon_adapter_data() */
} Ctl;

/* Per CAN id: UUIDs presented recently (phantom detection). */
typedef struct DaemonIdStat {
        uint64_t window_start;
        unsigned n_uuids;
        uint64_t flagged_until;
} DaemonIdStat;

struct Daemon {
        struct event_base *base;
        Config *config;
        /* the admin group's gid as last looked up (daemon_check_admin()) */
        char *admin_gid_name;        /* the group it is of; NULL: none cached */
        gid_t admin_gid;
        uint64_t admin_gid_usec;     /* when (daemon_now()) */
        const TransportKinds *kinds;
        Transport *transport;
        RequestEngine *requests;

        struct event *requests_timer_ev, *requests_defer_ev;
        bool requests_scheduled;
        struct event *flush_ev, *telemetry_ev, *tick_ev;
        struct event *poll_ev;       /* the next deadline of a periodic poll (poll_rearm()) */
        bool test_clock;            /* daemon_set_clock(): timers run from daemon_run_due() */
        uint64_t next_tick_usec;    /* under a test clock */
        uint64_t last_tick_usec;    /* the last housekeeping tick ran (own stalls: on_tick()) */
        bool flush_scheduled;
        bool frames_changed;         /* frames of the current read batch changed the model */

        Ctl **ctls;
        size_t n_ctls;
        /* per CAN id, the identified record ctl_by_id() found there, for
         * the per-frame path; filled on use, emptied by ctl_index_reset()
         * whenever records, their ids or their identities change */
        Ctl *by_id[256];
        Controller **exported;
        size_t n_exported;
        Board board;

        ListenerList listeners;     /* of DaemonListener */
        int n_adapter_slots;        /* daemon_adapter_slot_new() */
        uint64_t manager_dirty;
        uint64_t manager_counters_due;

        bool started;
        bool scanning, scan_pending;
        unsigned scan_id;
        uint64_t next_rescan_usec;  /* background rescan (rescan-interval-s) */
        bool bus_was_off;           /* rescan once the bus is back */
        bool board_stale;           /* membership changed: recompute the board at the next flush */
        bool board_held;            /* a recomputation waited for a check ("held silence", rule 4) */
        /* the board's verdict in the log waits for the initial discovery
         * (daemon.c, "first verdict"): the start-up scan ended and what
         * answered had its first identification */
        bool discovered;
        uint64_t discovered_usec;   /* when it was over */
        bool verdict_open;          /* ... and no candidate of then is still earning membership */
        BoardState logged_state;    /* the last "Board <state>" logged */
        bool checks_due;            /* some Ctl.check_due */
        DaemonIdStat idstat[256];

        DaemonReadyFn ready_fn;
        void *ready_userdata;
        DaemonExitFn fatal_fn;
        void *fatal_userdata;

        DaemonCounters counters;
        uint32_t bitrate;           /* of the bus: kernel, else the bitrate key */
        size_t n_polled;            /* controllers polled at the fast rate (last tick) */

        /* the remembered members of the board (board.json) */
        BoardMembers members;
        /* whether an update job holds a controller (daemon_set_updating_query()) */
        DaemonUpdatingFn updating_fn;
        void *updating_userdata;
        bool inhibited;
        char *inhibit_reason;
        DaemonActionsFn actions_fn;
        void *actions_userdata;

        /* who holds which controller (operations, firmware jobs) */
        HoldTable *holds;
        /* the text of the last -EBUSY an operation's start returned */
        char busy_text[256];

        /* the active ride mode ("" none) and where it is kept (ride-mode.c) */
        char *ride_mode;
        char *ride_mode_path;
};

/* ride-mode.c, called by daemon.c */
int ride_mode_load(Daemon *d);            /* daemon_new(): the persisted mode */
void ride_mode_tick(Daemon *d, uint64_t now);
/* it starts afresh (NOTIFY_BOOT, our reboot, a job's identification): apply
 * the mode again, not before delay_usec (nominal) from now */
void ride_mode_restarted(Daemon *d, Ctl *ctl, uint64_t delay_usec);
void ride_mode_reloaded(Daemon *d);       /* SIGHUP: the modes may have changed */
void ride_mode_free(Daemon *d);

Ctl *daemon_ctl(Daemon *d, Controller *c);
void daemon_model_changed(Daemon *d);
