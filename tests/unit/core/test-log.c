/* Unit tests of the log rate limit (daemon/core/log.c): a burst goes out,
 * the rest is counted, the next interval reports how many were dropped,
 * and a rate-limited call site really stays quiet on stderr. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/log.h"

static void test_burst_then_suppressed(void **state) {
        LogRatelimit rl = { 0 };
        unsigned k, passed = 0;
        uint64_t t = 5 * USEC_PER_SEC;

        for (unsigned i = 0; i < 100; i++) {
                passed += (unsigned) log_ratelimit_test(&rl, t + i, 10 * USEC_PER_SEC, 10, &k);
                assert_int_equal(k, 0);
        }
        assert_int_equal(passed, 10);
        /* still inside the interval: dropped */
        assert_int_equal(log_ratelimit_test(&rl, t + 9 * USEC_PER_SEC, 10 * USEC_PER_SEC, 10, &k), 0);
        /* a new interval: goes out and reports the 91 dropped */
        assert_int_equal(log_ratelimit_test(&rl, t + 10 * USEC_PER_SEC, 10 * USEC_PER_SEC, 10, &k), 1);
        assert_int_equal(k, 91);
        assert_int_equal(log_ratelimit_test(&rl, t + 10 * USEC_PER_SEC + 1, 10 * USEC_PER_SEC, 10, &k), 1);
        assert_int_equal(k, 0);
}

static void test_time_going_back(void **state) {
        LogRatelimit rl = { 0 };
        unsigned k;

        for (unsigned i = 0; i < 3; i++)
                (void) log_ratelimit_test(&rl, 1000, 100, 1, &k);
        /* an earlier time starts a new interval rather than muting forever */
        assert_int_equal(log_ratelimit_test(&rl, 10, 100, 1, &k), 1);
        assert_int_equal(k, 2);
}

static void test_flood_on_stderr(void **state) {
        char path[] = "/tmp/test-log-XXXXXX", line[512];
        unsigned lines = 0, summaries = 0;
        int fd = mkstemp(path), saved = dup(STDERR_FILENO);
        FILE *f;

        assert_true(fd >= 0 && saved >= 0);
        assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
        for (unsigned i = 0; i < 10000; i++)
                log_rl_warning("peer message %u", i);
        fflush(stderr);
        assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
        close(saved);
        f = fopen(path, "r");
        assert_non_null(f);
        while (fgets(line, sizeof line, f)) {
                lines++;
                if (strstr(line, "suppressed"))
                        summaries++;
        }
        fclose(f);
        unlink(path);
        close(fd);
        /* one interval's burst (the loop takes far less than 10 s; if the
         * machine stalls past an interval, one summary and one more burst) */
        assert_true(lines >= LOG_RATELIMIT_BURST);
        assert_true(lines <= 2 * LOG_RATELIMIT_BURST + 1 + summaries * LOG_RATELIMIT_BURST);
        assert_true(lines < 100);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_burst_then_suppressed),
                cmocka_unit_test(test_time_going_back),
                cmocka_unit_test(test_flood_on_stderr),
        };
        log_set_max_level(LOG_DEBUG);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
