/* Unit tests of the identification back-off and the polling rules
 * (daemon/core/schedule.c), with the controller model's offline timeout
 * (daemon/core/controller.c): an id that never identified backs off up to
 * 5 min; a controller that did identify is never backed off while online:
 * a slow one that misses its first polls is polled at its rate, goes
 * offline only by the offline timeout, is still polled while offline (with
 * a back-off of at most 1 min while it never answered: phantom UUIDs look
 * the same), and comes back with its next answer. */
#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/controller.h"
#include "core/schedule.h"

#define S 1000000ULL
#define MS 1000ULL
#define US 1ULL

static void test_identify_backoff_unidentified(void **state) {
        uint64_t b = 0, want[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300 };

        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
                b = schedule_identify_backoff(/* identified= */ false, b);
                assert_int_equal(b, want[i] * S);
        }
}

static void test_identify_no_backoff_identified(void **state) {
        /* a controller with a UUID whose re-identification failed (after
         * its NOTIFY_BOOT on a loaded bus) is asked again a second later,
         * however often that failed */
        uint64_t b = 0;

        for (int i = 0; i < 20; i++) {
                b = schedule_identify_backoff(/* identified= */ true, b);
                assert_int_equal(b, SCHEDULE_IDENTIFY_RETRY_USEC);
        }
        /* also when it carried an unidentified record's back-off */
        assert_int_equal(schedule_identify_backoff(true, SCHEDULE_IDENTIFY_RETRY_MAX_USEC), SCHEDULE_IDENTIFY_RETRY_USEC);
}

static void test_poll_rules(void **state) {
        SchedulePoll p;

        /* online, silent, confirmed: at its rate, a user's peer */
        p = schedule_poll(&(SchedulePollIn) { .online = true, .confirmed = true, .rate_hz = 5, .slow_polls = true });
        assert_int_equal(p.period_usec, 200 * MS);
        assert_false(p.scaled);
        assert_false(p.background);
        /* online, not yet confirmed (identified, never answered a poll):
         * the same rate, as background work */
        p = schedule_poll(&(SchedulePollIn) { .online = true, .rate_hz = 5, .slow_polls = true });
        assert_int_equal(p.period_usec, 200 * MS);
        assert_true(p.background);
        /* offline, confirmed or not: slowly, as background, never dropped */
        p = schedule_poll(&(SchedulePollIn) { .confirmed = true, .slow_polls = true });
        assert_int_equal(p.period_usec, SCHEDULE_POLL_SLOW_USEC);
        assert_true(p.scaled);
        assert_true(p.background);
        p = schedule_poll(&(SchedulePollIn) { .slow_polls = true });
        assert_int_equal(p.period_usec, SCHEDULE_POLL_SLOW_USEC);
        assert_true(p.background);
        /* broadcasting: slowly, in the foreground */
        p = schedule_poll(&(SchedulePollIn) { .online = true, .confirmed = true, .broadcasting = true, .rate_hz = 5,
                                              .slow_polls = true });
        assert_int_equal(p.period_usec, SCHEDULE_POLL_SLOW_USEC);
        assert_false(p.background);
        /* polling off (poll-rate-hz 0, nobody watches) */
        p = schedule_poll(&(SchedulePollIn) { .online = true, .confirmed = true });
        assert_int_equal(p.period_usec, 0);
        p = schedule_poll(&(SchedulePollIn) { .slow_polls = false });
        assert_int_equal(p.period_usec, 0);
}

/* A controller polled at a watch's rate keeps the schedule: late sends do
 * not push the later deadlines back, so the polls average the rate. */
static void test_poll_periodic(void **state) {
        SchedulePoll p = schedule_poll(&(SchedulePollIn) { .online = true, .confirmed = true, .rate_hz = 10 });
        uint64_t deadline = 0, now = 1000 * MS, lateness[] = { 0, 3 * MS, 19 * MS, 50 * US, 0, 7 * MS };
        unsigned sent = 0;

        assert_true(p.periodic);
        /* the first poll has no deadline: from the send */
        deadline = schedule_poll_next(&p, 100 * MS, 0, now);
        assert_int_equal(deadline, 1100 * MS);
        /* each send late by up to a fifth of a period: still 10 per second */
        for (size_t i = 0; i < sizeof lateness / sizeof lateness[0]; i++) {
                now = deadline + lateness[i];
                deadline = schedule_poll_next(&p, 100 * MS, deadline, now);
                assert_int_equal(deadline, (1200 + 100 * i) * MS);
                sent++;
        }
        assert_int_equal(sent, 6);
        /* a whole period behind (a reply pending that long, a hold): afresh
         * from the send, no burst to catch up */
        now = deadline + 100 * MS;
        assert_int_equal(schedule_poll_next(&p, 100 * MS, deadline, now), now + 100 * MS);
        now = deadline + 250 * MS;
        assert_int_equal(schedule_poll_next(&p, 100 * MS, deadline, now), now + 100 * MS);
        /* slow polls (broadcasting, offline) count from the send */
        p = schedule_poll(&(SchedulePollIn) { .online = true, .confirmed = true, .broadcasting = true, .rate_hz = 10,
                                              .slow_polls = true });
        assert_false(p.periodic);
        assert_int_equal(schedule_poll_next(&p, SCHEDULE_POLL_SLOW_USEC, 5000 * MS, 5003 * MS),
                         5003 * MS + SCHEDULE_POLL_SLOW_USEC);
        p = schedule_poll(&(SchedulePollIn) { .confirmed = true, .slow_polls = true });
        assert_false(p.periodic);
}

static void test_poll_backoff(void **state) {
        SchedulePollIn in = { .slow_polls = true };
        uint64_t want[] = { 1, 2, 4, 8, 16, 32, 60, 60 };

        /* offline, never confirmed: doubling up to 1 min, never dropped */
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
                in.backoff_usec = schedule_poll_missed(&in);
                assert_int_equal(in.backoff_usec, want[i] * S);
                SchedulePoll p = schedule_poll(&in);
                assert_int_equal(p.period_usec, want[i] * S);
                assert_true(p.background);
        }
        /* a miss while online, or of a confirmed controller: no back-off */
        in.online = true;
        in.rate_hz = 5;
        assert_int_equal(schedule_poll_missed(&in), 0);
        assert_int_equal(schedule_poll(&in).period_usec, 200 * MS);
        in.online = false;
        in.confirmed = true;
        assert_int_equal(schedule_poll_missed(&in), 0);
        assert_int_equal(schedule_poll(&in).period_usec, SCHEDULE_POLL_SLOW_USEC);
}

static void test_liveness_timeout(void **state) {
        /* three polls at 5 Hz (600 ms) when the scaled offline timeout is shorter */
        assert_int_equal(schedule_liveness_timeout(100 * MS, false, 5), 600 * MS);
        assert_int_equal(schedule_liveness_timeout(1 * S, false, 5), 1 * S);
        assert_int_equal(schedule_liveness_timeout(100 * MS, true, 5), 100 * MS);
        assert_int_equal(schedule_liveness_timeout(100 * MS, false, 0), 100 * MS);
}

/* A polled controller (no status broadcasts) that identified on a loaded
 * machine and missed its polls for 3 s: polled at its rate while online,
 * offline only after the offline timeout, then polled every second, and
 * back online (and confirmed) with the first answer, at its rate again. */
static void test_slow_identified_controller(void **state) {
        Controller c;
        VescFwVersion v = { .major = 6, .minor = 5, .hw_type = 0 };
        bool confirmed = false;
        uint64_t now = 10 * S, next = now, timeout = schedule_liveness_timeout(1 * S, false, 5), backoff = 0;
        unsigned polls_online = 0, polls_offline = 0;
        uint64_t went_offline = 0;

        controller_init(&c, 12);
        for (size_t i = 0; i < sizeof v.uuid; i++)
                v.uuid[i] = (uint8_t) (i + 1);
        snprintf(v.hw_name, sizeof v.hw_name, "60");
        assert_true(controller_apply_fw_version(&c, &v, now) >= 0);
        assert_true(c.online);

        /* every poll misses until 13 s; the tick runs every 20 ms */
        for (; now < 13 * S; now += 20 * MS) {
                if (controller_check_liveness(&c, now, timeout) > 0)
                        went_offline = now;
                if (now < next)
                        continue;
                SchedulePollIn in = { .online = c.online, .confirmed = confirmed, .rate_hz = 5, .slow_polls = true,
                                      .backoff_usec = backoff };
                SchedulePoll p = schedule_poll(&in);
                assert_int_not_equal(p.period_usec, 0);
                assert_true(p.background);
                if (c.online)
                        polls_online++;
                else
                        polls_offline++;
                next = now + p.period_usec;
                backoff = schedule_poll_missed(&in);   /* it missed */
                if (c.online)
                        assert_int_equal(backoff, 0);
        }
        /* offline by the offline timeout, not earlier */
        assert_int_equal(went_offline, 11 * S);
        assert_true(polls_online >= 5);
        /* still asked while offline: at 11 s and 12 s (back-off 1 s, then 2 s) */
        assert_int_equal(polls_offline, 2);
        assert_int_equal(backoff, 2 * S);

        /* its answer: online, confirmed, at its rate in the foreground */
        assert_true(controller_seen(&c, now) > 0);
        confirmed = true;
        assert_true(c.online);
        SchedulePoll p = schedule_poll(&(SchedulePollIn) { .online = c.online, .confirmed = confirmed, .rate_hz = 5,
                                                           .slow_polls = true });
        assert_int_equal(p.period_usec, 200 * MS);
        assert_false(p.background);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_identify_backoff_unidentified),
                cmocka_unit_test(test_identify_no_backoff_identified),
                cmocka_unit_test(test_poll_rules),
                cmocka_unit_test(test_poll_periodic),
                cmocka_unit_test(test_poll_backoff),
                cmocka_unit_test(test_liveness_timeout),
                cmocka_unit_test(test_slow_identified_controller),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
