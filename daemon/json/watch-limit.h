/* A telemetry watch's rate limit, on the readings' own receive times.
 *
 * A watch at rate R (period T = 1/R) promises about R samples a second, each
 * sent as soon as vescd read it.  Counting the period from the moment the last
 * sample went out (the first design) makes a source that runs at the watch rate
 * a queue at full load: a sample a little early is held, so the next period
 * starts late, and every jitter spike of the source, the bus or vescd's loop
 * becomes a lasting delay.  This limiter keeps a virtual schedule of slots one
 * period apart instead (a GCRA, i.e. a token bucket of one sample), driven by
 * the readings' receive times, never by when the flush or a timer ran:
 *
 *  - a reading that comes no earlier than half a period before its slot goes
 *    out at once, and takes the slot; the next slot is one period later;
 *  - a late reading keeps the schedule when it is at most half a period late
 *    (the punctual reading after it goes out at once too); later than that,
 *    the schedule restarts half a period after it;
 *  - an early reading waits for the slot (half a period before it) when that is
 *    at most WATCH_LIMIT_HOLD_MAX_USEC (a quarter period at most) away; one
 *    that would wait longer leaves the slot to the next reading, which is then
 *    sent on arrival, and goes out itself only when no newer reading comes
 *    within one and a half periods.  This is how a lead left by a burst (two
 *    readings bunched by a stall) is shed instead of becoming a lasting hold.
 *
 * Nothing goes out before its slot less half a period, and the schedule counts
 * from the release times (a reading's receive time, or the slot it waited for),
 * so over any window of W µs a watch sends at most W/T + 2 samples of a
 * controller, and on average never more than R.  Times are CLOCK_MONOTONIC µs.
 *
 * PURE: no clocks, no I/O. */
#pragma once

#include <stdint.h>

/* The longest an early reading is held for its slot (see above). */
#define WATCH_LIMIT_HOLD_MAX_USEC 250U

typedef struct WatchLimit {
        uint64_t slot_usec; /* the next slot; 0: nothing sent yet */
} WatchLimit;

#define WATCH_LIMIT_NULL ((WatchLimit) {})

/* When the reading received at time_usec may go out: time_usec itself for
 * "at once", else later (the caller sends it then unless a newer reading
 * replaced it). */
uint64_t watch_limit_release(const WatchLimit *w, uint64_t period_usec, uint64_t time_usec);
/* A reading went out at release_usec: what watch_limit_release() returned for it
 * (its receive time when it went out at once). */
void watch_limit_sent(WatchLimit *w, uint64_t period_usec, uint64_t release_usec);
