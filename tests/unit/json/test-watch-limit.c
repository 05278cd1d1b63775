/* Unit tests for daemon/json/watch-limit.c: a small discrete-event run of a watch
 * (readings arrive; each one goes out at its release time unless a newer reading
 * replaced it) over sources at, above and below the watch rate, with jitter,
 * stalls and bursts.  Checked: a reading that comes no earlier than half a period
 * before its slot is never delayed; nothing is ever sent before it was read; at
 * most W/T + 2 samples in any window of W; the lead a burst leaves is shed
 * within two readings. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json/watch-limit.h"
#include "macro.h"

#define T 10000U /* 100 Hz */
#define N_MAX 4096

typedef struct Run {
        size_t n_sent;
        uint64_t sent_at[N_MAX];    /* when it went out */
        uint64_t sent_time[N_MAX];  /* its receive time */
        uint64_t delay[N_MAX];      /* sent_at - receive time, per reading; UINT64_MAX: replaced */
} Run;

/* Readings at times[0..n-1] (non-decreasing); the watch sends each at its
 * release unless the next reading comes first. */
static void simulate(const uint64_t *times, size_t n, uint64_t period, Run *run) {
        WatchLimit w = WATCH_LIMIT_NULL;

        memset(run, 0, sizeof *run);
        for (size_t i = 0; i < n; i++) {
                uint64_t rel = watch_limit_release(&w, period, times[i]);

                assert_true(rel >= times[i]);
                run->delay[i] = UINT64_MAX;
                if (i + 1 < n && times[i + 1] <= rel && rel > times[i])
                        continue; /* replaced while it waited */
                run->sent_at[run->n_sent] = rel;
                run->sent_time[run->n_sent++] = times[i];
                run->delay[i] = rel - times[i];
                watch_limit_sent(&w, period, rel);
        }
}

/* At most W/T + 2 samples in any window [a, a + W]. */
static void check_windows(const Run *run, uint64_t period) {
        for (size_t i = 0; i < run->n_sent; i++)
                for (size_t j = i; j < run->n_sent; j++) {
                        uint64_t w = run->sent_at[j] - run->sent_at[i];
                        assert_true((double) (j - i + 1) <= (double) w / period + 2.0 + 1e-9);
                }
}

static uint64_t rnd(uint64_t n) {
        return n ? (uint64_t) random() % n : 0;
}

/* A source at the watch rate whose readings come up to half a period late, in any
 * order of lateness: every reading goes out the moment it is read. */
static void test_jitter_never_held(void **state) {
        static uint64_t times[2000];
        static Run run;

        srandom(1);
        for (size_t i = 0; i < ELEMENTSOF(times); i++)
                times[i] = 1000000 + i * T + rnd(T / 2); /* up to half a period late */
        simulate(times, ELEMENTSOF(times), T, &run);
        assert_int_equal(run.n_sent, ELEMENTSOF(times));
        for (size_t i = 0; i < ELEMENTSOF(times); i++)
                assert_int_equal(run.delay[i], 0);
        check_windows(&run, T);
}

/* Late readings (up to almost a period) keep the schedule: the punctual ones after
 * them go out at once, also right after a late one. */
static void test_late_keeps_schedule(void **state) {
        uint64_t times[40];
        Run run;

        for (size_t i = 0; i < ELEMENTSOF(times); i++)
                times[i] = 1000000 + i * T + (i % 5 == 2 ? T * 9 / 10 : 0);
        simulate(times, ELEMENTSOF(times), T, &run);
        assert_int_equal(run.n_sent, ELEMENTSOF(times));
        for (size_t i = 0; i < ELEMENTSOF(times); i++)
                assert_int_equal(run.delay[i], 0);
        check_windows(&run, T);
}

/* A stall of the sender: after 1.6 periods two readings come back to back, then the
 * source goes on at its own schedule.  Both of the burst go out at once; the lead
 * they leave costs at most one reading (left to the next), and from the second
 * punctual reading on every reading goes out at once again. */
static void test_burst_lead_is_shed(void **state) {
        uint64_t times[60];
        size_t n = 0, burst;
        Run run;

        for (size_t i = 0; i < 20; i++)
                times[n++] = 1000000 + i * T;
        burst = n;
        times[n++] = 1000000 + 19 * T + T * 16 / 10 + T; /* frame 20, 1.6 periods late */
        times[n] = times[n - 1] + 50;                     /* frame 21, right behind it */
        n++;
        for (size_t i = 22; i < 60; i++)
                times[n++] = 1000000 + i * T;
        simulate(times, n, T, &run);
        assert_int_equal(run.delay[burst], 0);
        assert_int_equal(run.delay[burst + 1], 0);
        for (size_t i = burst + 3; i < n; i++)
                assert_int_equal(run.delay[i], 0);
        /* the one in between is either replaced or sent late, never early */
        assert_true(run.n_sent >= n - 1);
        check_windows(&run, T);
}

/* A source ten times faster than the watch: about R samples a second, none before
 * half a period after the previous slot, each sent when it was read. */
static void test_fast_source(void **state) {
        static uint64_t times[3000];
        static Run run;

        srandom(2);
        for (size_t i = 0; i < ELEMENTSOF(times); i++)
                times[i] = 1000000 + i * (T / 10) + rnd(T / 40);
        simulate(times, ELEMENTSOF(times), T, &run);
        /* 300 periods */
        assert_true(run.n_sent >= 290 && run.n_sent <= 302);
        /* (the last reading may wait for a successor that never comes) */
        for (size_t i = 0; i + 1 < run.n_sent; i++)
                assert_true(run.sent_at[i] - run.sent_time[i] <= WATCH_LIMIT_HOLD_MAX_USEC);
        check_windows(&run, T);
}

/* A slow source (a polled controller at 5 Hz, watched at 100 Hz): every reading at
 * once. */
static void test_slow_source(void **state) {
        uint64_t times[50];
        Run run;

        for (size_t i = 0; i < ELEMENTSOF(times); i++)
                times[i] = 1000000 + i * 200000 + (i % 3) * 3000;
        simulate(times, ELEMENTSOF(times), T, &run);
        assert_int_equal(run.n_sent, ELEMENTSOF(times));
        for (size_t i = 0; i < ELEMENTSOF(times); i++)
                assert_int_equal(run.delay[i], 0);
}

/* Arbitrary arrivals: never more than the window bound, never sent before read,
 * and a reading that came no earlier than half a period before its slot (here:
 * at least 1.5 periods after the previous reading sent, on the schedule the
 * limiter keeps) is never delayed. */
static void test_random_bound(void **state) {
        static uint64_t times[N_MAX];
        static Run run;

        for (unsigned seed = 10; seed < 30; seed++) {
                uint64_t t = 1000000;

                srandom(seed);
                for (size_t i = 0; i < N_MAX; i++) {
                        t += rnd(seed % 2 ? 3 * T : T / 3);
                        times[i] = t;
                }
                simulate(times, N_MAX, T, &run);
                check_windows(&run, T);
                for (size_t i = 1; i < run.n_sent; i++)
                        assert_true(run.sent_at[i] >= run.sent_at[i - 1]);
        }
}

/* The first reading and one after a long silence go out at once. */
static void test_first_and_after_silence(void **state) {
        WatchLimit w = WATCH_LIMIT_NULL;

        assert_int_equal(watch_limit_release(&w, T, 5000000), 5000000);
        watch_limit_sent(&w, T, 5000000);
        /* half a period early against the slot: still at once */
        assert_int_equal(watch_limit_release(&w, T, 5000000 + T / 2), 5000000 + T / 2);
        /* earlier: held (briefly) or left to the next reading, never at once */
        assert_true(watch_limit_release(&w, T, 5000000 + T / 2 - 100) > 5000000 + T / 2 - 100);
        assert_int_equal(watch_limit_release(&w, T, 5000000 + T / 2 - 100), 5000000 + T / 2);
        assert_int_equal(watch_limit_release(&w, T, 5000000 + 1000), 5000000 + 1000 + T + T / 2);
        assert_int_equal(watch_limit_release(&w, T, 9000000), 9000000);
        watch_limit_sent(&w, T, 9000000);
        assert_int_equal(watch_limit_release(&w, T, 9000000 + T / 2), 9000000 + T / 2);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_first_and_after_silence),
                cmocka_unit_test(test_jitter_never_held),
                cmocka_unit_test(test_late_keeps_schedule),
                cmocka_unit_test(test_burst_lead_is_shed),
                cmocka_unit_test(test_fast_source),
                cmocka_unit_test(test_slow_source),
                cmocka_unit_test(test_random_bound),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
