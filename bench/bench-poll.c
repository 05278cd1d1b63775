/* bench-poll: the telemetry rate of a controller without status broadcasts.
 *
 * vesc-sim "single" (A on 6.05, broadcasts off) with vescd at its default
 * poll-rate-hz (5); a JSON client watches A at --rate Hz for --seconds.  vescd
 * polls A with GET_VALUES at the highest watch rate (DESIGN 2026-12 item 8),
 * so the client should get about --rate samples per second.  Printed: the
 * samples per second, the GET_VALUES replies vesc-sim counted in the same
 * window (its control socket's values_replies), and their ratio.  Figures
 * only; never a pass/fail on time. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench-json.h"
#include "bench-util.h"
#include "macro.h"

#define SETUP_TIMEOUT_MS 20000

typedef struct Args {
        double rate_hz;
        double seconds;
} Args;

/* values_replies of the first controller in vesc-sim's status; -errno. */
static int sim_values_replies(const char *ctl_path, long long *ret) {
        _cleanup_close_ int fd = bench_unix_connect(ctl_path, SOCK_STREAM);
        BenchLineReader *rd;
        char *line;
        json_t *st, *c;
        ssize_t n;
        int r = 0;

        if (fd < 0)
                return fd;
        r = bench_write_all(fd, "status\n", 7);
        if (r < 0)
                return r;
        rd = malloc(sizeof *rd);
        line = malloc(65536);
        if (!rd || !line) {
                free(rd);
                free(line);
                return -ENOMEM;
        }
        bench_line_reader_init(rd, fd);
        n = bench_line_read(rd, line, 65536, 5000);
        st = n >= 0 ? json_loads(line, 0, NULL) : NULL;
        c = json_array_get(json_object_get(st, "controllers"), 0);
        if (n < 0)
                r = (int) n;
        else if (!json_is_integer(json_object_get(json_object_get(c, "counters"), "values_replies")))
                r = -EPROTO;
        else
                *ret = json_integer_value(json_object_get(json_object_get(c, "counters"), "values_replies"));
        json_decref(st);
        free(rd);
        free(line);
        return r;
}

/* Telemetry samples that arrive within seconds. */
static int count_samples(BenchJson *j, double seconds, unsigned *ret) {
        uint64_t end = bench_now_usec() + (uint64_t) (seconds * USEC_PER_SEC);
        unsigned n = 0;

        for (;;) {
                uint64_t now = bench_now_usec();
                ssize_t k;

                if (now >= end)
                        break;
                k = bench_line_read(&j->rd, j->line, sizeof j->line, (int) ((end - now + 999) / 1000));
                if (k == -ETIMEDOUT)
                        break;
                if (k < 0)
                        return (int) k;
                if (strstr(j->line, "\"method\":\"telemetry\""))
                        n++;
        }
        *ret = n;
        return 0;
}

static void usage(void) {
        printf("Usage: bench-poll [--rate HZ] [--seconds S]\n\n"
               "  --rate HZ     watch rate of the polled controller (default 10)\n"
               "  --seconds S   measuring window (default 5)\n");
}

int main(int argc, char **argv) {
        char uuids[1][BENCH_UUID_LEN + 1];
        char ctl_path[700];
        BenchStack st = {};
        BenchJson j = { .fd = -1 };
        long long before = 0, after = 0;
        unsigned samples = 0, settle = 0;
        size_t found;
        int r, exit_code = EXIT_FAILURE;
        const char *skip = NULL;
        Args a = { .rate_hz = 10, .seconds = 5 };
        const BenchOption options[] = {
                { .name = "rate", .type = BENCH_OPT_DOUBLE, .value = &a.rate_hz, .min = 0.1, .max = 100 },
                { .name = "seconds", .type = BENCH_OPT_DOUBLE, .value = &a.seconds, .min = 0.1, .max = 3600 },
        };

        if (bench_main_init(argc, argv, options, ELEMENTSOF(options), usage) < 0)
                return EXIT_FAILURE;
        r = bench_stack_init(&st, "bench-poll");
        if (r < 0)
                return EXIT_FAILURE;
        snprintf(ctl_path, sizeof ctl_path, "%s/sim.ctl", st.dir);
        const char *sim_extra[] = { "--control", ctl_path, NULL };
        r = bench_stack_start(&st, "single", sim_extra, NULL, &skip);
        if (r < 0)
                goto out;
        r = bench_json_open(&j, st.json_path, SETUP_TIMEOUT_MS);
        if (r < 0)
                goto out;
        r = bench_json_wait_controllers(&j, 1, SETUP_TIMEOUT_MS, uuids, &found);
        if (r < 0)
                goto out;
        r = bench_json_call(&j, "telemetry.watch",
                            json_pack("{s:[s], s:[s], s:f}", "controllers", uuids[0], "fields", "voltage_in", "rate_hz",
                                      a.rate_hz),
                            SETUP_TIMEOUT_MS, NULL);
        if (r < 0)
                goto out;
        /* a second for the raised poll rate to settle */
        r = count_samples(&j, 1.0, &settle);
        if (r >= 0)
                r = sim_values_replies(ctl_path, &before);
        if (r >= 0)
                r = count_samples(&j, a.seconds, &samples);
        if (r >= 0)
                r = sim_values_replies(ctl_path, &after);
        if (r < 0)
                goto out;
        printf("bench-poll: vescd + vesc-sim single (no status broadcasts), poll-rate-hz 5, watch %g Hz, %g s\n",
               a.rate_hz, a.seconds);
        printf("bench-poll: polled controller: %.2f samples/s to the watcher, %.2f GET_VALUES answered/s "
               "(ratio %.2f; goal: about the watch rate, ratio >= 0.9)\n",
               samples / a.seconds, (double) (after - before) / a.seconds,
               after > before ? samples / (double) (after - before) : 0.0);
        exit_code = EXIT_SUCCESS;
out:
        if (exit_code != EXIT_SUCCESS && !skip && r < 0)
                fprintf(stderr, "bench-poll: failed: %s\n", strerror(-r));
        bench_json_close(&j);
        bench_stack_stop(&st);
        if (skip)
                bench_skip("bench-poll: %s", skip);
        return exit_code;
}
