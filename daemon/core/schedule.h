/* When vescd asks a CAN id for its identity and polls a controller: the
 * rules of DESIGN "Decisions of 2026-12" item 7, apart from the event loop
 * that applies them (daemon.c), so a unit test can hold them down.
 *
 * Two kinds of record, two rules:
 *   - an id that never identified (no UUID yet: a ghost STATUS frame, a
 *     PONG) is asked for COMM_FW_VERSION with back-off, 1 s, 2 s, 4 s ...
 *     up to 5 min, as background work;
 *   - a controller that did identify (has a UUID) is not backed off while
 *     online: a slow or loaded one is polled at its rate, missed polls
 *     change nothing, and only the offline timeout makes it offline.
 *     Offline, it is polled every POLL_SLOW (1 s) until it answers again
 *     or, not being a board member, forget-after-s removes it; one that
 *     never answered a poll or broadcast since it identified (not
 *     "confirmed": a phantom UUID never does, a slow controller that
 *     missed its first polls looks the same) is still polled, but with
 *     back-off 1 s, 2 s, 4 s ... up to 1 min, never dropped: 550 phantom
 *     records then cost the bus little, and a slow real controller is back
 *     within a minute of its first answer.  Until confirmed, and while
 *     offline, its polls are background work: they never delay a user's
 *     request and stay within the background share of the long-reply slot.
 *
 * Pure: no clock, no I/O; times are nominal µs (the caller scales them by
 * --time-scale). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define SCHEDULE_IDENTIFY_RETRY_USEC     (1000 * 1000)
#define SCHEDULE_IDENTIFY_RETRY_MAX_USEC (300ULL * 1000 * 1000)
/* Polling of controllers that broadcast status anyway (faults, voltages
 * not in their broadcasts) and of offline ones (to notice them coming back). */
#define SCHEDULE_POLL_SLOW_USEC          (1000 * 1000)
#define SCHEDULE_POLL_BACKOFF_MAX_USEC   (60ULL * 1000 * 1000)

/* The wait before the next COMM_FW_VERSION after one failed: doubling from
 * 1 s up to 5 min for an id that never identified (@prev_usec: the last
 * wait, 0 for none); a flat 1 s for a controller that did identify
 * (a re-identification after NOTIFY_BOOT, say). */
uint64_t schedule_identify_backoff(bool identified, uint64_t prev_usec);

typedef struct SchedulePollIn {
        bool online;
        bool confirmed;     /* answered a poll, or broadcast, since it identified */
        bool broadcasting;  /* sends status frames */
        double rate_hz;     /* its poll rate while online and silent (0: not polled then) */
        bool slow_polls;    /* poll-rate-hz > 0: broadcasting and offline ones are polled slowly */
        uint64_t backoff_usec; /* schedule_poll_missed()'s, nominal */
} SchedulePollIn;

typedef struct SchedulePoll {
        uint64_t period_usec;   /* 0: not polled; else between one poll and the next */
        bool scaled;            /* period_usec is nominal protocol time (--time-scale applies) */
        bool background;        /* never before a user's request, within the share */
        bool periodic;          /* at its rate: on a schedule (schedule_poll_next()), not from the send */
} SchedulePoll;

/* How an identified motor controller is polled (GET_VALUES). */
SchedulePoll schedule_poll(const SchedulePollIn *in);
/* When the poll after one sent at @now_usec is due: one period after its
 * deadline @deadline_usec for a periodic poll (the rate holds however late
 * each send was), from the send for the others and for a periodic poll
 * that fell a whole period behind (it starts afresh). */
uint64_t schedule_poll_next(const SchedulePoll *p, uint64_t period_usec, uint64_t deadline_usec, uint64_t now_usec);
/* The poll back-off after a poll went unanswered (@in as when it was
 * sent): doubling from 1 s up to 1 min for an offline controller that was
 * never confirmed, else 0.  Any answer resets it (0). */
uint64_t schedule_poll_missed(const SchedulePollIn *in);

/* How long an identified controller may stay silent before it is offline:
 * the offline timeout (@timeout_usec, already scaled), but never less
 * than three polls at poll-rate-hz (@poll_rate_hz, real time) for one
 * that proves it is alive only through our polls. */
uint64_t schedule_liveness_timeout(uint64_t timeout_usec, bool broadcasting, double poll_rate_hz);
