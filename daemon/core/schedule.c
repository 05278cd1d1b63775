/* Identification back-off and the polling of identified controllers.
 * See schedule.h. */
#include "core/schedule.h"
#include "macro.h"

/**
 * schedule_identify_backoff() - the wait before the next identification attempt
 * @identified: the record has a UUID
 * @prev_usec: the previous wait (0: none yet)
 *
 * Returns: nominal µs.
 */
uint64_t schedule_identify_backoff(bool identified, uint64_t prev_usec) {
        if (identified || prev_usec == 0)
                return SCHEDULE_IDENTIFY_RETRY_USEC;
        return MIN(2 * prev_usec, (uint64_t) SCHEDULE_IDENTIFY_RETRY_MAX_USEC);
}

/**
 * schedule_poll() - how an identified controller is polled
 * @in: its state
 *
 * Online and silent: at its rate.  Broadcasting or offline: every
 * SCHEDULE_POLL_SLOW_USEC when slow polls are on, an offline one never
 * confirmed at its back-off if longer.  Misses never slow down the polls
 * of an online controller: liveness is the offline timeout's business.
 *
 * Returns: the period, whether it is nominal (scaled) time, and whether
 * the polls are background work.
 */
SchedulePoll schedule_poll(const SchedulePollIn *in) {
        SchedulePoll p = { .background = !in->online || !in->confirmed };

        if (!in->online || in->broadcasting) {
                if (in->slow_polls) {
                        p.period_usec = SCHEDULE_POLL_SLOW_USEC;
                        if (!in->online && !in->confirmed)
                                p.period_usec = MAX(p.period_usec, in->backoff_usec);
                        p.scaled = true;
                }
        } else if (in->rate_hz > 0) {
                p.period_usec = (uint64_t) (USEC_PER_SEC / in->rate_hz);
                p.periodic = true;
        }
        return p;
}

/**
 * schedule_poll_next() - when the next poll is due
 * @p: schedule_poll()'s answer for the poll just sent
 * @period_usec: its period as the caller uses it (scaled when @p->scaled)
 * @deadline_usec: when the poll just sent was due (0: it had no deadline)
 * @now_usec: when it was sent (not before @deadline_usec)
 *
 * A controller polled at its rate (a watch's, or poll-rate-hz) is polled
 * on a schedule, each deadline one period after the last: a send that came
 * late (the timer's wake-up, a reply still pending at the deadline) does
 * not push the later ones back, so the polls average exactly the rate and
 * a watch at that rate gets a reply for every slot.  One that fell a whole
 * period behind (a long pending reply, a hold) starts afresh from the send
 * rather than catching up in a burst.  Slow polls count from the send.
 *
 * Returns: the next deadline, µs on the caller's clock.
 */
uint64_t schedule_poll_next(const SchedulePoll *p, uint64_t period_usec, uint64_t deadline_usec, uint64_t now_usec) {
        if (!p->periodic || deadline_usec == 0 || now_usec < deadline_usec || now_usec - deadline_usec >= period_usec)
                return now_usec + period_usec;
        return deadline_usec + period_usec;
}

/**
 * schedule_poll_missed() - the poll back-off after an unanswered poll
 * @in: the controller's state when the poll was sent, with its back-off
 *
 * Returns: the new back-off, nominal µs (0: none).
 */
uint64_t schedule_poll_missed(const SchedulePollIn *in) {
        if (in->online || in->confirmed)
                return 0;
        return MIN(MAX(2 * in->backoff_usec, (uint64_t) SCHEDULE_POLL_SLOW_USEC), (uint64_t) SCHEDULE_POLL_BACKOFF_MAX_USEC);
}

/**
 * schedule_liveness_timeout() - silence that makes an identified controller offline
 * @timeout_usec: the (scaled) offline timeout
 * @broadcasting: it sends status frames
 * @poll_rate_hz: poll-rate-hz (0: polling off)
 *
 * A silent controller proves it is alive only through our polls, which
 * run at poll-rate-hz in real time: never offline before three polls could
 * have been answered, however small --time-scale makes the nominal
 * offline timeout.
 *
 * Returns: µs.
 */
uint64_t schedule_liveness_timeout(uint64_t timeout_usec, bool broadcasting, double poll_rate_hz) {
        if (broadcasting || poll_rate_hz <= 0)
                return timeout_usec;
        return MAX(timeout_usec, (uint64_t) (3.0 * USEC_PER_SEC / poll_rate_hz));
}
