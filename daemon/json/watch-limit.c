/* The watch rate limit: see watch-limit.h. */

#include "json/watch-limit.h"
#include "macro.h"

/**
 * watch_limit_release() - when a reading may go out
 * @w: the watch's limit
 * @period_usec: the watch period (> 0)
 * @time_usec: the reading's receive time (CLOCK_MONOTONIC)
 *
 * Returns: @time_usec when it may go out at once (the first one, or no earlier
 * than half a period before its slot); the slot less half a period when that
 * is at most WATCH_LIMIT_HOLD_MAX_USEC (or a quarter period) away; else one and
 * a half periods after the reading (by then the next reading has taken the
 * slot, unless the source stopped), never before the slot less half a period.
 */
uint64_t watch_limit_release(const WatchLimit *w, uint64_t period_usec, uint64_t time_usec) {
        uint64_t early = period_usec / 2, due;

        if (w->slot_usec == 0 || time_usec + early >= w->slot_usec)
                return time_usec;
        due = w->slot_usec - early;
        if (due - time_usec <= MIN(period_usec / 4, (uint64_t) WATCH_LIMIT_HOLD_MAX_USEC))
                return due;
        return MAX(due, time_usec + period_usec + early);
}

/**
 * watch_limit_sent() - account for a reading that went out
 * @w: the watch's limit
 * @period_usec: the watch period (> 0)
 * @release_usec: what watch_limit_release() returned for it (its receive
 *                time when it went out at once), not the clock
 *
 * The next slot is one period after this one; after the first reading one
 * period after it, and after one released more than half a period past its
 * slot one period after the release less half a period of credit.
 */
void watch_limit_sent(WatchLimit *w, uint64_t period_usec, uint64_t release_usec) {
        uint64_t credit = period_usec / 2;

        if (w->slot_usec == 0)
                w->slot_usec = release_usec + period_usec;
        else if (release_usec > w->slot_usec + credit)
                w->slot_usec = release_usec - credit + period_usec;
        else
                w->slot_usec += period_usec;
}
