/* bench-rss: vescd's resident memory with a pair and many clients.
 *
 * vescd runs on a vbus with vesc-sim --board dual-ok (two 6.05 controllers
 * broadcasting STATUS 1-4 at 50 Hz each) and a private dbus-daemon; once
 * both controllers are identified, N JSON clients (default 50) connect and
 * each watches both controllers' telemetry.  The clients keep reading, so
 * vescd's per-client buffers stay at their working size.  VmRSS is read
 * from /proc before the clients, and sampled while they watch; VmHWM is the
 * peak.  Budget (DESIGN.md): under 4 MiB.  Printed, never judged. */
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

#define BUDGET_RSS_KIB 5120      /* DESIGN.md "Decisions of 2026-12" item 14 */
#define BUDGET_PRIVATE_KIB 1024  /* own memory: Private_Dirty */
#define SETUP_TIMEOUT_MS 20000
#define SAMPLE_MS 200
#define WATCH_RATE_HZ 50.0

typedef struct Args {
        unsigned clients;
        double seconds;
        unsigned detail;
} Args;

/* Read whatever the clients have; count telemetry lines per client. */
static int pump_clients(BenchJson *cl, unsigned n, unsigned *samples, int timeout_ms) {
        _cleanup_free_ struct pollfd *p = NULL;
        int r;

        if (n == 0) {
                (void) poll(NULL, 0, timeout_ms); /* nobody to read: just the sampling period */
                return 0;
        }
        p = calloc(n, sizeof *p);
        if (!p)
                return -ENOMEM;
        for (unsigned i = 0; i < n; i++)
                p[i] = (struct pollfd) { .fd = cl[i].fd, .events = POLLIN };
        r = poll(p, n, timeout_ms);
        if (r < 0)
                return errno == EINTR ? 0 : -errno;
        for (unsigned i = 0; i < n; i++) {
                ssize_t k;

                if (!(p[i].revents & (POLLIN | POLLHUP)))
                        continue;
                k = recv(cl[i].fd, cl[i].rd.buf + cl[i].rd.len, sizeof cl[i].rd.buf - cl[i].rd.len, MSG_DONTWAIT);
                if (k == 0)
                        return -EPIPE;
                if (k < 0)
                        continue;
                cl[i].rd.len += (size_t) k;
                while (bench_line_next_buffered(&cl[i].rd, cl[i].line, sizeof cl[i].line) >= 0)
                        if (strstr(cl[i].line, "\"telemetry\""))
                                samples[i]++;
        }
        return 0;
}

/* Both motors pull a steady current for a minute: amp-hours, ERPM and current move
 * in every status frame. */
static int start_ride(const char *control) {
        static const char cmd[] = "ride all current 20 60\n";
        _cleanup_close_ int fd = bench_unix_connect(control, SOCK_STREAM);
        BenchLineReader rd;
        char line[256];
        ssize_t n;
        int r;

        if (fd < 0)
                return fd;
        r = bench_write_all(fd, cmd, sizeof cmd - 1);
        if (r < 0)
                return r;
        bench_line_reader_init(&rd, fd);
        n = bench_line_read(&rd, line, sizeof line, SETUP_TIMEOUT_MS);
        if (n < 0)
                return (int) n;
        return strncmp(line, "ok", 2) == 0 ? 0 : -EPROTO;
}

/* Where the resident pages are, from /proc/PID/smaps: libraries (file pages
 * every process using them shares: libc, libsystemd and its dependencies...),
 * vescd's own binary, its heap, other anonymous memory (libraries' bss, mmap
 * allocations) and the stack; and the PSS (shared pages divided among their
 * users).  The budget is VmRSS, all of it; the split says what is ours. */
typedef struct RssSplit {
        long libs, exe, heap, anon, stack, pss, private_kib;
        /* Private_Dirty of the same regions: the pages that are vescd's own */
        long d_libs, d_exe, d_heap, d_anon, d_stack;
} RssSplit;

static int rss_split(pid_t pid, bool detail, RssSplit *ret) {
        char path[64], line[512];
        char cur_name[300] = "";
        long *cur = NULL, *cur_d = NULL;
        FILE *f;

        *ret = (RssSplit) {};
        (void) snprintf(path, sizeof path, "/proc/%d/smaps", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof line, f)) {
                char name[256] = "", perms[8];
                unsigned long lo, hi;
                long kib;

                /* a mapping's header: "lo-hi perms offset dev inode [name]" */
                if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %255s", &lo, &hi, perms, name) >= 3) {
                        size_t n = strlen(name);

                        if (n >= 6 && strcmp(name + n - 6, "/vescd") == 0)
                                cur = &ret->exe, cur_d = &ret->d_exe;
                        else if (name[0] == '/')
                                cur = &ret->libs, cur_d = &ret->d_libs;
                        else if (strcmp(name, "[heap]") == 0)
                                cur = &ret->heap, cur_d = &ret->d_heap;
                        else if (strcmp(name, "[stack]") == 0)
                                cur = &ret->stack, cur_d = &ret->d_stack;
                        else
                                cur = &ret->anon, cur_d = &ret->d_anon;
                        (void) snprintf(cur_name, sizeof cur_name, "%s %s", perms, name[0] ? name : "[anon]");
                        continue;
                }
                if (sscanf(line, "Rss: %ld kB", &kib) == 1 && cur)
                        *cur += kib;
                else if (sscanf(line, "Pss: %ld kB", &kib) == 1)
                        ret->pss += kib;
                else if (sscanf(line, "Private_Clean: %ld kB", &kib) == 1)
                        ret->private_kib += kib;
                else if (sscanf(line, "Private_Dirty: %ld kB", &kib) == 1) {
                        ret->private_kib += kib;
                        if (cur_d)
                                *cur_d += kib;
                        if (detail && kib > 0)
                                printf("bench-rss: private dirty %4ld KiB  %s\n", kib, cur_name);
                }
        }
        fclose(f);
        return 0;
}

static void usage(void) {
        printf("Usage: bench-rss [--clients N] [--seconds S]\n\n"
               "  --clients N   JSON clients watching telemetry (default 64)\n"
               "  --seconds S   how long they watch while VmRSS is sampled (default 5)\n"
               "  --detail 1    list every mapping with private dirty pages\n");
}

int main(int argc, char **argv) {
        char control[600];
        char uuids[2][BENCH_UUID_LEN + 1];
        BenchStack st = {};
        _cleanup_free_ BenchJson *cl = NULL;
        _cleanup_free_ unsigned *samples = NULL;
        long rss0 = 0, rss = 0, rss_max = 0, hwm, dirty0 = 0, dirty = 0, dirty_max = 0;
        RssSplit split;
        bool have_split;
        unsigned opened = 0, starved = 0, refused = 0;
        uint64_t end;
        size_t found;
        int r, exit_code = EXIT_FAILURE;
        const char *skip = NULL;
        Args a = { .clients = 64, .seconds = 5 };
        const BenchOption options[] = {
                { .name = "clients", .type = BENCH_OPT_UNSIGNED, .value = &a.clients, .min = 1, .max = 500 },
                { .name = "seconds", .type = BENCH_OPT_DOUBLE, .value = &a.seconds, .min = 0, .max = 600,
                  .min_exclusive = true },
                { .name = "detail", .type = BENCH_OPT_UNSIGNED, .value = &a.detail, .min = 0, .max = 1 },
        };

        if (bench_main_init(argc, argv, options, ELEMENTSOF(options), usage) < 0)
                return EXIT_FAILURE;
        /* client 0 does the setup; 1..clients watch */
        cl = calloc(a.clients + 1, sizeof *cl);
        samples = calloc(a.clients + 1, sizeof *samples);
        if (!cl || !samples)
                return EXIT_FAILURE;

        r = bench_stack_init(&st, "bench-rss");
        if (r < 0)
                return EXIT_FAILURE;
        (void) snprintf(control, sizeof control, "%s/control", st.dir);
        const char *sim_extra[] = { "--control", control, NULL };
        /* vescd's default cap (32 JSON clients) is below the budget's 50 */
        char max_clients[16];
        (void) snprintf(max_clients, sizeof max_clients, "%u", a.clients + 1);
        const char *extra[] = { "--max-clients", max_clients, NULL };
        r = bench_stack_start(&st, "dual-ok", sim_extra, extra, &skip);
        if (r < 0)
                goto out;
        if (access(st.json_path, F_OK) < 0) {
                /* READY=1 came, so a JSON adapter would be listening by now.
                 * Still worth a figure: the daemon with the pair and no client. */
                printf("bench-rss: vescd does not serve the JSON socket yet: measuring with 0 clients\n");
                a.clients = 0;
        }

        if (a.clients > 0)
                r = bench_json_open(&cl[0], st.json_path, SETUP_TIMEOUT_MS);
        opened = r < 0 || a.clients == 0 ? 0 : 1;
        if (r >= 0 && a.clients > 0)
                r = bench_json_wait_controllers(&cl[0], 2, SETUP_TIMEOUT_MS, uuids, &found);
        if (r < 0) {
                fprintf(stderr, "bench-rss: the pair was not identified: %s\n", strerror(-r));
                goto out;
        }
        rss0 = bench_proc_status_kib(st.vescd.pid, "VmRSS");
        dirty0 = bench_proc_kib(st.vescd.pid, "smaps_rollup", "Private_Dirty");

        /* A pair at rest broadcasts the same values over and over, and vescd only
         * passes on changes: ride, so that every watch really carries telemetry. */
        r = start_ride(control);
        if (r < 0) {
                fprintf(stderr, "bench-rss: vesc-sim control socket: %s\n", strerror(-r));
                goto out;
        }

        for (unsigned i = 1; i <= a.clients; i++) {
                r = bench_json_open(&cl[i], st.json_path, SETUP_TIMEOUT_MS);
                if (r < 0) {
                        /* vescd caps its clients; measure with those it took, and say so */
                        printf("bench-rss: vescd refused client %u of %u (%s): measuring with %u clients\n", i,
                               a.clients, strerror(-r), i - 1);
                        refused = a.clients - (i - 1);
                        a.clients = i - 1;
                        r = 0;
                        break;
                }
                opened++;
                r = bench_json_call(&cl[i], "telemetry.watch",
                                    json_pack("{s:[s,s], s:f}", "controllers", uuids[0], uuids[1], "rate_hz",
                                              WATCH_RATE_HZ),
                                    SETUP_TIMEOUT_MS, NULL);
                if (r < 0)
                        goto out;
        }

        end = bench_now_usec() + (uint64_t) (a.seconds * 1e6);
        while (bench_now_usec() < end) {
                r = pump_clients(cl + 1, a.clients, samples + 1, SAMPLE_MS);
                if (r < 0)
                        goto out;
                rss = bench_proc_status_kib(st.vescd.pid, "VmRSS");
                rss_max = MAX(rss_max, rss);
                dirty = bench_proc_kib(st.vescd.pid, "smaps_rollup", "Private_Dirty");
                dirty_max = MAX(dirty_max, dirty);
        }
        hwm = bench_proc_status_kib(st.vescd.pid, "VmHWM");
        have_split = rss_split(st.vescd.pid, a.detail > 0, &split) >= 0;
        for (unsigned i = 1; i <= a.clients; i++)
                if (samples[i] == 0)
                        starved++;

        printf("bench-rss: vescd, vesc-sim dual-ok (2 controllers, STATUS 1-4 at 50 Hz), %u JSON clients "
               "watching both at %g Hz (both motors riding), sampled for %.1f s\n",
               a.clients, WATCH_RATE_HZ, a.seconds);
#if defined(__SANITIZE_ADDRESS__)
        printf("bench-rss: note: built with AddressSanitizer, the figures below are not vescd's real size\n");
#endif
        printf("bench-rss: before clients: VmRSS %ld KiB, Private_Dirty %ld KiB\n", rss0, dirty0);
        printf("bench-rss: VmRSS with %u clients: %ld KiB (max sampled %ld, VmHWM %ld) vs budget %d KiB: %.0f %%\n",
               a.clients, rss, rss_max, hwm, BUDGET_RSS_KIB, 100.0 * (double) MAX(rss_max, rss) / BUDGET_RSS_KIB);
        printf("bench-rss: own memory (Private_Dirty, smaps_rollup) with %u clients: %ld KiB (max sampled %ld) "
               "vs budget %d KiB: %.0f %%\n",
               a.clients, dirty, dirty_max, BUDGET_PRIVATE_KIB,
               100.0 * (double) MAX(dirty_max, dirty) / BUDGET_PRIVATE_KIB);
        if (have_split)
                printf("bench-rss: VmRSS split: libraries %ld KiB (file pages shared with every process using "
                       "them), vescd binary %ld, heap %ld, other anonymous %ld, stack %ld; PSS %ld KiB, "
                       "private %ld KiB\n",
                       split.libs, split.exe, split.heap, split.anon, split.stack, split.pss, split.private_kib);
        if (have_split)
                printf("bench-rss: Private_Dirty split: libraries' writable pages %ld KiB (data, bss, relocations), "
                       "vescd binary %ld, heap %ld, other anonymous %ld, stack %ld\n",
                       split.d_libs, split.d_exe, split.d_heap, split.d_anon, split.d_stack);
        printf("bench-rss: clients without any telemetry sample: %u; clients refused by vescd: %u\n", starved,
               refused);
        exit_code = EXIT_SUCCESS;
out:
        if (exit_code != EXIT_SUCCESS && !skip && r < 0)
                fprintf(stderr, "bench-rss: failed: %s\n", strerror(-r));
        for (unsigned i = 0; i < opened; i++)
                bench_json_close(&cl[i]);
        bench_stack_stop(&st);
        if (skip)
                bench_skip("bench-rss: %s", skip);
        return exit_code;
}
