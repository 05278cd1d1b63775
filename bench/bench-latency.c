/* bench-latency: frame-to-client latency through vescd's JSON socket.
 *
 * vescd runs on an unpaced vbus with vesc-sim --board single (controller A,
 * id 12, status broadcasts off, so it answers identification and nothing
 * else moves its telemetry).  This program joins the bus as a second
 * member and sends STATUS_1 frames "from id 12" at a fixed rate, the ERPM
 * field carrying a sequence number whose send time it keeps; a JSON client
 * watches A's erpm at a rate equal to the frame rate (no coalescing wanted)
 * and each telemetry sample is matched to its frame: latency = time the
 * sample was read - time the frame was written to the bus socket.
 *
 * vescd runs with poll-rate-hz 0 (no GET_VALUES replies moving erpm) and
 * telemetry-rate-hz 1000 (which limits only the D-Bus signal now: JSON
 * watches have their own rates).  The budget
 * (DESIGN.md) is p99 under 1 ms on loopback; this prints p50/p99/max and
 * never judges them. */
#include <errno.h>
#include <linux/can.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "bench-json.h"
#include "bench-util.h"
#include "macro.h"
#include "proto/vesc-can.h"

#define ID_A 12
#define OWN_ID 200               /* this member's PING reply address */
#define SEQ_BASE 1000000         /* erpm values no real sample has here */
#define WARMUP 10                /* samples not counted: the watch settling */
#define SETUP_TIMEOUT_MS 20000
#define DRAIN_TIMEOUT_MS 1000

typedef struct Args {
        double rate_hz;
        unsigned frames;
} Args;

static int join_bus(int fd) {
        uint64_t deadline = bench_now_usec() + 5 * USEC_PER_SEC;

        /* The hub relays only to accepted members: a PONG proves we are one. */
        while (bench_now_usec() < deadline) {
                struct can_frame f;
                VescPong pong;

                vesc_ping_encode(&f, ID_A, OWN_ID);
                if (bench_vbus_send(fd, &f) < 0)
                        return -EIO;
                while (bench_vbus_recv(fd, &f, 200) == 0)
                        if (vesc_pong_decode(&f, &pong) == 0 && pong.to == OWN_ID)
                                return 0;
        }
        return -ETIMEDOUT;
}

static void status_frame(uint32_t base, uint32_t seq, struct can_frame *f) {
        VescStatus st = { .type = CAN_PACKET_STATUS, .sender = ID_A };

        st.s1.erpm = (int32_t) (base + seq);
        memset(f, 0, sizeof *f);
        (void) vesc_status_encode(&st, f);
}

/* A telemetry notification's erpm, or -1. */
static long sample_seq(const char *line, uint32_t base) {
        json_t *msg, *v;
        long seq = -1;

        if (!strstr(line, "\"telemetry\""))
                return -1;
        msg = json_loads(line, 0, NULL);
        if (!msg)
                return -1;
        v = json_object_get(json_object_get(json_object_get(msg, "params"), "values"), "erpm");
        if (json_is_number(v)) {
                double e = json_number_value(v);

                if (e >= base)
                        seq = (long) (e - base + 0.5);
        }
        json_decref(msg);
        return seq;
}

static int measure(BenchJson *j, int bus_fd, const Args *a, uint32_t base, double *lat, size_t *ret_n,
                   unsigned *ret_lost) {
        _cleanup_free_ uint64_t *sent_at = calloc(a->frames, sizeof(uint64_t));
        _cleanup_free_ bool *seen = calloc(a->frames, sizeof(bool));
        _cleanup_close_ int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        uint64_t period_ns = (uint64_t) (1e9 / a->rate_hz), done_at = 0;
        struct itimerspec its = {
                .it_value = { .tv_sec = 0, .tv_nsec = 1000 },
                .it_interval = { .tv_sec = (time_t) (period_ns / 1000000000u),
                                 .tv_nsec = (long) (period_ns % 1000000000u) },
        };
        unsigned next = 0, matched = 0;
        size_t n = 0;

        if (!sent_at || !seen || tfd < 0)
                return -ENOMEM;
        if (timerfd_settime(tfd, 0, &its, NULL) < 0)
                return -errno;

        for (;;) {
                struct pollfd p[2] = {
                        { .fd = tfd, .events = next < a->frames ? POLLIN : 0 },
                        { .fd = j->fd, .events = POLLIN },
                };
                int r;

                if (next >= a->frames && (matched + WARMUP >= a->frames || bench_now_usec() > done_at))
                        break;
                r = poll(p, 2, 100);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return -errno;
                if (p[0].revents & POLLIN) {
                        uint64_t ticks;
                        struct can_frame f;

                        if (read(tfd, &ticks, sizeof ticks) == (ssize_t) sizeof ticks && next < a->frames) {
                                /* one frame per tick; a late tick does not send a burst */
                                status_frame(base, next, &f);
                                sent_at[next] = bench_now_usec();
                                r = bench_vbus_send(bus_fd, &f);
                                if (r < 0)
                                        return r;
                                next++;
                                if (next == a->frames)
                                        done_at = bench_now_usec() + DRAIN_TIMEOUT_MS * USEC_PER_MSEC;
                        }
                }
                if (p[1].revents & (POLLIN | POLLHUP)) {
                        ssize_t k;

                        k = recv(j->fd, j->rd.buf + j->rd.len, sizeof j->rd.buf - j->rd.len, MSG_DONTWAIT);
                        if (k == 0)
                                return -EPIPE;
                        if (k > 0) {
                                uint64_t now = bench_now_usec();

                                j->rd.len += (size_t) k;
                                while (bench_line_next_buffered(&j->rd, j->line, sizeof j->line) >= 0) {
                                        long seq = sample_seq(j->line, base);

                                        if (seq < 0 || seq >= (long) next || seen[seq])
                                                continue;
                                        seen[seq] = true;
                                        if (seq < WARMUP)
                                                continue;
                                        matched++;
                                        lat[n++] = (double) (now - sent_at[seq]);
                                }
                        }
                }
        }
        *ret_n = n;
        *ret_lost = a->frames - WARMUP - matched;
        return 0;
}

static void usage(void) {
        printf("Usage: bench-latency [--rate HZ] [--frames N]\n\n"
               "  --rate HZ    STATUS_1 frame rate = watch rate (default 100)\n"
               "  --frames N   frames sent (default 1000; the first %d are warm-up)\n",
               WARMUP);
}

int main(int argc, char **argv) {
        char uuids[1][BENCH_UUID_LEN + 1];
        BenchStack st = {};
        BenchJson j = { .fd = -1 };
        _cleanup_free_ double *lat = NULL;
        _cleanup_close_ int bus_fd = -1;
        size_t n = 0, found;
        unsigned lost = 0;
        int r, exit_code = EXIT_FAILURE;
        const char *skip = NULL;
        Args a = { .rate_hz = 100, .frames = 1000 };
        const BenchOption options[] = {
                { .name = "rate", .type = BENCH_OPT_DOUBLE, .value = &a.rate_hz, .min = 1, .max = 1000 },
                { .name = "frames", .type = BENCH_OPT_UNSIGNED, .value = &a.frames, .min = WARMUP + 1,
                  .max = 1000000 },
        };

        if (bench_main_init(argc, argv, options, ELEMENTSOF(options), usage) < 0)
                return EXIT_FAILURE;
        lat = calloc(a.frames, sizeof *lat);
        if (!lat)
                return EXIT_FAILURE;

        r = bench_stack_init(&st, "bench-latency");
        if (r < 0)
                return EXIT_FAILURE;
        const char *extra[] = { "--telemetry-rate-hz", "1000", "--poll-rate-hz", "0", NULL };
        r = bench_stack_start(&st, "single", NULL, extra, &skip);
        if (r < 0)
                goto out;
        if (access(st.json_path, F_OK) < 0) {
                /* READY=1 came, so a JSON adapter would be listening by now */
                skip = "vescd does not serve the JSON socket yet (JSON adapter not wired into vescd)";
                r = -ENOENT;
                goto out;
        }

        r = bench_json_open(&j, st.json_path, SETUP_TIMEOUT_MS);
        if (r < 0) {
                fprintf(stderr, "bench-latency: JSON socket: %s\n", strerror(-r));
                goto out;
        }
        r = bench_json_wait_controllers(&j, 1, SETUP_TIMEOUT_MS, uuids, &found);
        if (r < 0) {
                fprintf(stderr, "bench-latency: controller A not identified: %s\n", strerror(-r));
                goto out;
        }
        bus_fd = bench_unix_connect(st.bus, SOCK_SEQPACKET);
        if (bus_fd < 0) {
                r = bus_fd;
                goto out;
        }
        r = join_bus(bus_fd);
        if (r < 0)
                goto out;

        printf("bench-latency: vescd on vbus (unpaced) + vesc-sim single; STATUS_1 at %g Hz, %u frames\n",
               a.rate_hz, a.frames);
        /* First the budget's case, watch rate = frame rate; then the watch at
         * its maximum rate, which shows how much of it the rate limiter adds. */
        const double watch_rates[] = { a.rate_hz, 1000.0 };
        for (unsigned k = 0; k < ELEMENTSOF(watch_rates); k++) {
                uint32_t base = SEQ_BASE * (k + 1);

                r = bench_json_call(&j, "telemetry.watch",
                                    json_pack("{s:[s], s:[s], s:f}", "controllers", uuids[0], "fields", "erpm",
                                              "rate_hz", watch_rates[k]),
                                    SETUP_TIMEOUT_MS, NULL);
                if (r < 0)
                        goto out;
                r = measure(&j, bus_fd, &a, base, lat, &n, &lost);
                if (r < 0)
                        goto out;
                if (n == 0) {
                        fprintf(stderr, "bench-latency: no sample matched a frame\n");
                        r = -EIO;
                        goto out;
                }
                double p50 = bench_quantile(lat, n, 0.50), p99 = bench_quantile(lat, n, 0.99),
                       max = bench_quantile(lat, n, 1.0);
                printf("bench-latency: watch at %g Hz%s: samples %zu of %u frames (%u coalesced or lost)\n",
                       watch_rates[k], k == 0 ? " (= frame rate)" : "", n, a.frames - WARMUP, lost);
                printf("bench-latency: frame-to-client latency, watch %g Hz: p50 %.0f us, p99 %.0f us, "
                       "max %.0f us%s\n",
                       watch_rates[k], p50, p99, max, k == 0 ? " (budget: p99 < 1000 us)" : "");
        }
        exit_code = EXIT_SUCCESS;
out:
        if (exit_code != EXIT_SUCCESS && !skip && r < 0)
                fprintf(stderr, "bench-latency: failed: %s\n", strerror(-r));
        bench_json_close(&j);
        bench_stack_stop(&st);
        if (skip)
                bench_skip("bench-latency: %s", skip);
        return exit_code;
}
