/* bench-ingest: what one telemetry frame costs vescd.
 *
 * The ingest path is the pure part of vescd's frame handler (daemon.c
 * on_frames()): test the CAN id, find the controller, decode the status
 * frame straight into the controller model.  It is built here from the
 * same sources (core/controller-status.h, daemon/libvescd.a + libvesc).
 *
 *  (a) instructions per status frame, counted by callgrind (repeatable,
 *      independent of the machine's speed) when valgrind is installed;
 *  (b) CPU time of reading + ingesting a full 1 Mbit/s bus of STATUS frames
 *      (frames/s = 1e6 / wire bits of the frames, exact bits with stuffing
 *      from common/canbits.c), compared in the same run with a bare reader
 *      that reads the same frames from a SOCK_SEQPACKET socketpair and
 *      throws them away: the floor any CAN reader pays.
 *
 * Prints figures; never judges them. */
#include <errno.h>
#include <limits.h>
#include <linux/can.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench-json.h"
#include "bench-util.h"
#include "canbits.h"
#include "core/controller.h"
#include "core/controller-status.h"
#include "macro.h"
#include "proto/vesc-can.h"

#define SYNTH_FRAMES 1000u       /* distinct frames, replayed round robin */
#define N_CONTROLLERS 2
#define CALLGRIND_TIMEOUT_MS 120000
#define ROUNDS 6                 /* alternating rounds of each reader in (b) */

typedef struct Ingest {
        Controller ctls[N_CONTROLLERS];
        size_t n_ctls;
        uint64_t unknown;
        uint64_t applied;
} Ingest;

typedef struct Args {
        double seconds;          /* per mode in (b) */
        unsigned long frames;    /* frames counted in (a) */
        unsigned long worker;    /* > 0: internal callgrind worker mode */
        unsigned long bare_worker; /* > 0: internal bare reader worker mode */
        unsigned long path_frames; /* frames sent to vescd under callgrind */
        double rate;             /* their rate */
} Args;

/* --------------------------------------------------------- the path */

static Controller *ingest_ctl(Ingest *in, uint8_t id) {
        for (size_t i = 0; i < in->n_ctls; i++)
                if (in->ctls[i].id == id)
                        return &in->ctls[i];
        if (in->n_ctls == ELEMENTSOF(in->ctls))
                return NULL;
        controller_init(&in->ctls[in->n_ctls], id);
        return &in->ctls[in->n_ctls++];
}

/* The same steps as vescd's on_frames() for a status frame of a known
 * controller: one test of the id, the controller, the fields decoded
 * straight into the model (core/controller-status.h). */
static void ingest_frame(Ingest *in, const struct can_frame *f, uint64_t now_usec) {
        const canid_t id = f->can_id;
        const uint8_t type = (uint8_t) (id >> 8), addr = (uint8_t) id;
        Controller *c;

        if ((id & ~(canid_t) 0xFFFF) != CAN_EFF_FLAG || !vesc_is_status_type(type) || f->len != 8) {
                in->unknown++;
                return;
        }
        c = ingest_ctl(in, addr);
        if (!c)
                return;
        (void) controller_apply_status_frame(c, type, f->data, now_usec);
        in->applied++;
}

/* callgrind counts only inside this function (--toggle-collect), so the
 * figure excludes start-up and frame synthesis.  noinline keeps the symbol. */
__attribute__((noinline)) static void ingest_frames(Ingest *in, const struct can_frame *frames, size_t n_frames,
                                                    unsigned long total) {
        for (unsigned long i = 0; i < total; i++)
                ingest_frame(in, &frames[i % n_frames], (uint64_t) i * 140u);
}

/* -------------------------------------------------------- the frames */

/* STATUS 1-5 from ids 12 and 74 (the dual-ok pair), values moving like a
 * ride so that decoding and the model's change detection do real work. */
static void synth_frames(struct can_frame *frames, size_t n, unsigned n_ids) {
        static const uint8_t types[] = {
                CAN_PACKET_STATUS, CAN_PACKET_STATUS_2, CAN_PACKET_STATUS_3,
                CAN_PACKET_STATUS_4, CAN_PACKET_STATUS_5,
        };
        static const uint8_t ids[N_CONTROLLERS] = { 12, 74 };

        for (size_t i = 0; i < n; i++) {
                double t = (double) i / 50.0;
                VescStatus st = {
                        .type = types[(i / n_ids) % ELEMENTSOF(types)],
                        .sender = ids[i % n_ids],
                };

                switch (st.type) {
                case CAN_PACKET_STATUS:
                        st.s1.erpm = (int32_t) (12000.0 * sin(t) + 15000.0);
                        st.s1.current = 20.0 * sin(t * 1.3);
                        st.s1.duty = 0.4 + 0.3 * sin(t);
                        break;
                case CAN_PACKET_STATUS_2:
                        st.s2.ah = t * 0.01;
                        st.s2.ah_charged = t * 0.001;
                        break;
                case CAN_PACKET_STATUS_3:
                        st.s3.wh = t * 0.4;
                        st.s3.wh_charged = t * 0.04;
                        break;
                case CAN_PACKET_STATUS_4:
                        st.s4.temp_fet = 35.0 + 5.0 * sin(t * 0.1);
                        st.s4.temp_motor = 45.0 + 8.0 * sin(t * 0.1);
                        st.s4.current_in = 12.0 * sin(t * 1.3);
                        st.s4.pid_pos = fmod(t * 90.0, 360.0);
                        break;
                default:
                        st.s5.tachometer = (int32_t) (i * 7);
                        st.s5.v_in = 50.4 - t * 0.001;
                        break;
                }
                memset(&frames[i], 0, sizeof frames[i]);
                if (vesc_status_encode(&st, &frames[i]) < 0)
                        abort(); /* a programming error: the types above are all status types */
        }
}

/* ------------------------------------------------- (a) callgrind */

static int find_in_path(const char *name, char *buf, size_t size) {
        const char *path = getenv("PATH");
        char dirs[4096];

        if (!path)
                return -ENOENT;
        (void) snprintf(dirs, sizeof dirs, "%s", path);
        for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                (void) snprintf(buf, size, "%s/%s", d, name);
                if (access(buf, X_OK) == 0)
                        return 0;
        }
        return -ENOENT;
}

static int run_worker(unsigned long total) {
        struct can_frame *frames = calloc(SYNTH_FRAMES, sizeof *frames);
        Ingest in = {};

        if (!frames)
                return EXIT_FAILURE;
        synth_frames(frames, SYNTH_FRAMES, N_CONTROLLERS);
        ingest_frames(&in, frames, SYNTH_FRAMES, total);
        free(frames);
        /* the result is used, so nothing above can be optimised away */
        return in.applied == total && in.unknown == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Total instructions of a callgrind output file ("summary:" or "totals:"). */
static int callgrind_total(const char *path, unsigned long long *ret) {
        char line[512];
        FILE *f = fopen(path, "re");
        int r = -ENOENT;

        if (!f)
                return -errno;
        while (fgets(line, sizeof line, f))
                if (strncmp(line, "summary:", 8) == 0 || strncmp(line, "totals:", 7) == 0) {
                        *ret = strtoull(strchr(line, ':') + 1, NULL, 10);
                        r = 0;
                        break;
                }
        fclose(f);
        return r;
}

/* How often the function named fn was called in a callgrind output (names
 * are compressed: "(id) name" at the first mention, "(id)" after it). */
static int callgrind_calls(const char *path, const char *fn, unsigned long long *ret) {
        char line[1024];
        long target = -1;
        bool pending = false;
        unsigned long long n = 0;
        FILE *f = fopen(path, "re");

        if (!f)
                return -errno;
        while (fgets(line, sizeof line, f)) {
                bool call = strncmp(line, "cfn=(", 5) == 0;

                if (call || strncmp(line, "fn=(", 4) == 0) {
                        char *p = strchr(line, '('), *end;
                        long id = strtol(p + 1, &end, 10);

                        if (*end == ')' && end[1] == ' ' && strcspn(end + 2, "\n") == strlen(fn) &&
                            strncmp(end + 2, fn, strlen(fn)) == 0)
                                target = id;
                        pending = call && id == target;
                } else if (strncmp(line, "calls=", 6) == 0) {
                        if (pending)
                                n += strtoull(line + 6, NULL, 10);
                        pending = false;
                }
        }
        fclose(f);
        *ret = n;
        return 0;
}

static void figure_path(const char *valgrind, const char *self, unsigned long frames, double fps);

static void figure_instructions(unsigned long frames, unsigned long path_frames, double rate) {
        char valgrind[512], self[512], out[600], outarg[700], nframes[32], dir[512];
        unsigned long long total = 0;
        BenchProc p;
        ssize_t k;
        int r, status;

#if defined(__SANITIZE_ADDRESS__)
        printf("bench-ingest: instructions per status frame, model only: skipped (built with AddressSanitizer, "
               "which valgrind cannot run)\n");
        printf("bench-ingest: instructions per status frame, whole path in vescd: skipped (built with "
               "AddressSanitizer)\n");
        return;
#endif
        if (find_in_path("valgrind", valgrind, sizeof valgrind) < 0) {
                printf("bench-ingest: instructions per status frame, model only: skipped (valgrind not installed)\n");
                return;
        }
        k = readlink("/proc/self/exe", self, sizeof self - 1);
        if (k < 0) {
                printf("bench-ingest: instructions per status frame, model only: skipped (no /proc/self/exe)\n");
                return;
        }
        self[k] = '\0';
        r = bench_mkdtemp("bench-ingest", dir, sizeof dir);
        if (r < 0) {
                printf("bench-ingest: instructions per status frame, model only: skipped (mkdtemp: %s)\n", strerror(-r));
                return;
        }
        (void) snprintf(out, sizeof out, "%s/callgrind.out", dir);
        (void) snprintf(outarg, sizeof outarg, "--callgrind-out-file=%s", out);
        (void) snprintf(nframes, sizeof nframes, "%lu", frames);
        const char *argv[] = {
                valgrind, "--tool=callgrind", "--quiet", outarg, "--toggle-collect=ingest_frames*",
                self, "--callgrind-worker", nframes, NULL,
        };

        r = bench_proc_spawn(&p, argv, NULL, /* capture= */ false);
        if (r >= 0) {
                uint64_t deadline = bench_now_usec() + CALLGRIND_TIMEOUT_MS * USEC_PER_MSEC;

                /* Reap with a bound: a wedged valgrind must not hang `make bench`. */
                for (;;) {
                        pid_t w = waitpid(p.pid, &status, WNOHANG);

                        if (w == p.pid) {
                                p.pid = 0;
                                r = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
                                break;
                        }
                        if (bench_now_usec() > deadline) {
                                (void) bench_proc_stop(&p, 1000);
                                r = -ETIMEDOUT;
                                break;
                        }
                        (void) poll(NULL, 0, 20);
                }
        }
        if (r >= 0)
                r = callgrind_total(out, &total);
        if (r < 0 || total == 0)
                printf("bench-ingest: instructions per status frame, model only: skipped (callgrind run failed: %s)\n",
                       strerror(r < 0 ? -r : EIO));
        else
                printf("bench-ingest: instructions per status frame, model only: %.1f (callgrind, %lu frames, "
                       "decode + controller model, linked into this program)\n",
                       (double) total / (double) frames, frames);
        bench_rmtree(dir);
        if (path_frames == 0)
                printf("bench-ingest: instructions per status frame, whole path in vescd: skipped "
                       "(--path-frames 0)\n");
        else
                figure_path(valgrind, self, path_frames, rate);
}

/* ------------------------------- (a') the whole path in vescd, callgrind */

/* The bare frame reader: what any reader of a SOCK_SEQPACKET bus socket pays
 * per wake-up, recv() until EAGAIN, frames thrown away.  callgrind counts
 * inside this function only; the caller sleeps in poll() between wake-ups,
 * as vescd sleeps in epoll_wait() before its transport's on_read(). */
__attribute__((noinline)) static unsigned long bare_drain(int fd) {
        struct can_frame f;
        unsigned long n = 0;

        while (recv(fd, &f, sizeof f, MSG_DONTWAIT) == (ssize_t) sizeof f)
                n++;
        return n;
}

static void writer_paced(int fd, const struct can_frame *frames, size_t n_frames, unsigned long total,
                         double fps);

/* --bare-worker N (under callgrind): N frames at --rate through bare_drain(). */
static int run_bare_worker(unsigned long total, double fps) {
        struct can_frame frames[SYNTH_FRAMES];
        unsigned long got = 0, wakeups = 0;
        int sv[2], status;
        pid_t pid;

        synth_frames(frames, SYNTH_FRAMES, 1);
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return EXIT_FAILURE;
        pid = fork();
        if (pid < 0)
                return EXIT_FAILURE;
        if (pid == 0) {
                close(sv[0]);
                writer_paced(sv[1], frames, SYNTH_FRAMES, total, fps);
        }
        close(sv[1]);
        while (got < total) {
                struct pollfd pfd = { .fd = sv[0], .events = POLLIN };

                if (poll(&pfd, 1, 10000) <= 0)
                        break;
                got += bare_drain(sv[0]);
                wakeups++;
        }
        (void) waitpid(pid, &status, 0);
        /* the parent reads this line: frames per wake-up of the bare reader */
        printf("wakeups %lu\n", wakeups);
        return got == total ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Run argv to its end within CALLGRIND_TIMEOUT_MS; with capture, its output
 * is read (the text after needle into rest) and otherwise thrown away. */
static int run_bounded(const char *const *argv, bool capture, const char *needle, char *rest, size_t rest_size) {
        uint64_t deadline = bench_now_usec() + CALLGRIND_TIMEOUT_MS * USEC_PER_MSEC;
        BenchProc p;
        int r, status;

        r = bench_proc_spawn(&p, argv, NULL, capture);
        if (r < 0)
                return r;
        if (capture) {
                /* to the needle, or to the end of its output */
                r = bench_proc_wait_line(&p, needle ?: "\001", CALLGRIND_TIMEOUT_MS, rest, rest_size);
                if (r < 0 && (needle || r != -EPIPE)) {
                        (void) bench_proc_stop(&p, 1000);
                        return r;
                }
        }
        /* Reap with a bound: a wedged valgrind must not hang `make bench`. */
        for (;;) {
                pid_t w = waitpid(p.pid, &status, WNOHANG);

                if (w == p.pid) {
                        p.pid = 0;
                        if (p.out_fd >= 0)
                                close(p.out_fd);
                        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
                }
                if (bench_now_usec() > deadline) {
                        (void) bench_proc_stop(&p, 1000);
                        return -ETIMEDOUT;
                }
                (void) poll(NULL, 0, 20);
        }
}

/* BENCH_INGEST_PROFILE=FILE keeps vescd's callgrind output for
 * `callgrind_annotate FILE` (where the instructions of the path go). */
static void keep_profile(const char *out) {
        const char *keep = getenv("BENCH_INGEST_PROFILE");
        char buf[8192];
        FILE *in, *to;
        size_t n;

        if (!keep || !*keep)
                return;
        in = fopen(out, "re");
        to = in ? fopen(keep, "we") : NULL;
        while (to && (n = fread(buf, 1, sizeof buf, in)) > 0)
                if (fwrite(buf, 1, n, to) != n)
                        break;
        if (in)
                fclose(in);
        if (!to || fclose(to) != 0)
                fprintf(stderr, "bench-ingest: cannot write the profile to %s\n", keep);
}

/* The frame path as vescd runs it, in vescd itself: vescd runs under
 * callgrind, collecting only inside its transport's read callback (on_read
 * in daemon/core/transport.c: one recvmmsg() per batch, the receive time,
 * the error-frame check, the id test, the controller's table entry, the
 * fields decoded into the model, change marking).  The flush that hands
 * changes to adapters at the end of a wake-up (on_frames_done) is toggled
 * out: it depends on the watchers, not on the frame.  Counters are zeroed
 * (callgrind_control -z) once the controller is identified, so only the
 * status frames this benchmark sends are counted.  The calls of the vbus
 * read give vescd's wake-ups with frames (frames per wake-up). */
static void figure_path(const char *valgrind, const char *self, unsigned long frames, double fps) {
        char cgctl[512], out[700], outarg[800], pidarg[32], nframes[32], rate[32], rest[64] = "";
        char uuids[1][BENCH_UUID_LEN + 1];
        unsigned long long total = 0, bare_total = 0, reads = 0;
        unsigned long bare_wakeups = 0;
        _cleanup_free_ struct can_frame *f = calloc(SYNTH_FRAMES, sizeof *f);
        const char *skip = NULL;
        BenchStack st = {};
        BenchJson j = { .fd = -1 };
        int bus_fd = -1, r;
        size_t found;

        if (!f)
                return;
        if (find_in_path("callgrind_control", cgctl, sizeof cgctl) < 0) {
                printf("bench-ingest: instructions per status frame, whole path in vescd: skipped "
                       "(callgrind_control not installed)\n");
                return;
        }
        synth_frames(f, SYNTH_FRAMES, 1);
        r = bench_stack_init(&st, "bench-ingest");
        if (r < 0)
                return;
        (void) snprintf(out, sizeof out, "%s/callgrind.vescd", st.dir);
        (void) snprintf(outarg, sizeof outarg, "--callgrind-out-file=%s", out);
        /* collect inside on_read, except inside the flush it calls at the end
         * of a batch (publishing to adapters: its cost depends on watchers) */
        const char *wrapper[] = { valgrind, "--tool=callgrind", "--quiet", outarg, "--toggle-collect=on_read",
                                  "--toggle-collect=on_frames_done", NULL };
        const char *extra[] = { "--poll-rate-hz", "0", NULL };

        bench_vescd_set_wrapper(wrapper, 120000);
        r = bench_stack_start(&st, "single", NULL, extra, &skip);
        bench_vescd_set_wrapper(NULL, 0);
        if (r >= 0)
                r = bench_json_open(&j, st.json_path, 60000);
        if (r >= 0)
                r = bench_json_wait_controllers(&j, 1, 60000, uuids, &found);
        if (r >= 0) {
                bus_fd = bench_unix_connect(st.bus, SOCK_SEQPACKET);
                r = bus_fd < 0 ? bus_fd : bench_vbus_join(bus_fd, 12, 200);
        }
        /* no client while the frames are counted */
        bench_json_close(&j);
        if (r >= 0) {
                (void) snprintf(pidarg, sizeof pidarg, "%d", (int) st.vescd.pid);
                const char *zero[] = { cgctl, "-z", pidarg, NULL };
                r = run_bounded(zero, /* capture= */ true, NULL, NULL, 0);
        }
        if (r >= 0) {
                /* paced as a bus would, one frame per wake-up */
                uint64_t period = (uint64_t) (1e6 / fps), next = bench_now_usec();

                for (unsigned long i = 0; i < frames && r >= 0; i++) {
                        uint64_t now = bench_now_usec();

                        if (now < next)
                                (void) poll(NULL, 0, 0), usleep((useconds_t) (next - now));
                        next += period;
                        r = bench_vbus_send(bus_fd, &f[i % SYNTH_FRAMES]);
                }
                /* vescd reads them at its own pace under callgrind */
                (void) poll(NULL, 0, 1500);
        }
        if (bus_fd >= 0)
                close(bus_fd);
        bench_json_close(&j);
        if (r >= 0) {
                /* SIGTERM: vescd exits cleanly and callgrind writes its totals */
                r = bench_proc_stop(&st.vescd, 30000);
                if (r >= 0)
                        r = callgrind_total(out, &total);
                if (r >= 0)
                        (void) callgrind_calls(out, "vbus_read", &reads);
                if (r >= 0)
                        keep_profile(out);
        }
        bench_stack_stop(&st);
        if (skip || r < 0 || total == 0) {
                printf("bench-ingest: instructions per status frame, whole path in vescd: skipped (%s)\n",
                       skip ?: strerror(r < 0 ? -r : EIO));
                return;
        }

        /* the bare reader, the same frames at the same pace */
        char dir[512];
        r = bench_mkdtemp("bench-ingest-bare", dir, sizeof dir);
        if (r >= 0) {
                (void) snprintf(out, sizeof out, "%s/callgrind.bare", dir);
                (void) snprintf(outarg, sizeof outarg, "--callgrind-out-file=%s", out);
                (void) snprintf(nframes, sizeof nframes, "%lu", frames);
                (void) snprintf(rate, sizeof rate, "%g", fps);
                const char *argv[] = { valgrind, "--tool=callgrind", "--quiet", outarg,
                                       "--toggle-collect=bare_drain*", self, "--bare-worker", nframes,
                                       "--rate", rate, NULL };
                r = run_bounded(argv, /* capture= */ true, "wakeups ", rest, sizeof rest);
                if (r >= 0)
                        r = callgrind_total(out, &bare_total);
                bare_wakeups = strtoul(rest, NULL, 10);
                bench_rmtree(dir);
        }
        printf("bench-ingest: instructions per status frame, whole path in vescd: %.1f (callgrind, %lu "
               "STATUS frames at %g/s, %.2f frames per wake-up: transport read -> decode -> model apply -> "
               "change marking; budget 250)\n",
               (double) total / (double) frames, frames, fps, reads ? (double) frames / (double) reads : 0.0);
        if (r >= 0 && bare_total > 0)
                printf("bench-ingest: bare frame reader (recv until EAGAIN): %.1f instructions per frame "
                       "(%.2f frames per wake-up); ratio vescd/bare %.2f\n",
                       (double) bare_total / (double) frames,
                       bare_wakeups ? (double) frames / (double) bare_wakeups : 0.0,
                       (double) total / (double) bare_total);
        else
                printf("bench-ingest: bare frame reader: skipped (%s)\n", strerror(r < 0 ? -r : EIO));
}

/* ------------------------------------------------ (b) CPU at 1 Mbit/s */

static void writer_paced(int fd, const struct can_frame *frames, size_t n_frames, unsigned long total,
                         double fps) {
        struct timespec start, due;
        double period_ns = 1e9 / fps;

        (void) clock_gettime(CLOCK_MONOTONIC, &start);
        for (unsigned long i = 0; i < total; i++) {
                double at = (double) i * period_ns;
                long long ns = (long long) start.tv_nsec + (long long) at;

                due.tv_sec = start.tv_sec + (time_t) (ns / 1000000000LL);
                due.tv_nsec = (long) (ns % 1000000000LL);
                while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) == EINTR)
                        ;
                if (send(fd, &frames[i % n_frames], sizeof frames[0], MSG_NOSIGNAL) < 0)
                        _exit(EXIT_FAILURE);
        }
        _exit(EXIT_SUCCESS);
}

typedef struct CpuFigure {
        uint64_t cpu_usec;
        uint64_t wall_usec;
        unsigned long frames;
} CpuFigure;

/* Read `total` frames arriving at the bus rate, each through poll() + recv()
 * as an event loop does; with `ingest`, run each through the ingest path. */
static int measure_reader(bool ingest, const struct can_frame *frames, size_t n_frames, unsigned long total,
                          double fps, CpuFigure *ret) {
        int sv[2], status;
        Ingest in = {};
        uint64_t cpu0, wall0;
        unsigned long got = 0;
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(sv[0]);
                close(sv[1]);
                return r;
        }
        if (pid == 0) {
                close(sv[0]);
                writer_paced(sv[1], frames, n_frames, total, fps);
        }
        close(sv[1]);

        cpu0 = bench_cpu_usec();
        wall0 = bench_now_usec();
        while (got < total) {
                struct pollfd pfd = { .fd = sv[0], .events = POLLIN };
                struct can_frame f;
                ssize_t k;

                if (poll(&pfd, 1, 10000) <= 0)
                        break;
                /* drain what is there, as vescd's transport reads until EAGAIN */
                while ((k = recv(sv[0], &f, sizeof f, MSG_DONTWAIT)) == (ssize_t) sizeof f) {
                        got++;
                        if (ingest)
                                ingest_frame(&in, &f, bench_now_usec());
                }
                if (k == 0)
                        break;
        }
        ret->cpu_usec = bench_cpu_usec() - cpu0;
        ret->wall_usec = bench_now_usec() - wall0;
        ret->frames = got;
        close(sv[0]);
        (void) waitpid(pid, &status, 0);
        if (got != total || (ingest && in.applied != total))
                return -EIO;
        return 0;
}

static void cpu_figure_add(CpuFigure *sum, const CpuFigure *c) {
        sum->cpu_usec += c->cpu_usec;
        sum->wall_usec += c->wall_usec;
        sum->frames += c->frames;
}

static void print_cpu(const char *what, const CpuFigure *c, double fps) {
        double bus_seconds = (double) c->frames / fps;

        printf("bench-ingest: %-22s %7.2f %% of one core at a full 1 Mbit/s bus "
               "(%.0f ns CPU per frame, %lu frames in %.2f s)\n",
               what, 100.0 * (double) c->cpu_usec / 1e6 / bus_seconds,
               1000.0 * (double) c->cpu_usec / (double) c->frames, c->frames, (double) c->wall_usec / 1e6);
}

/* ------------------------------------------------------------ main */

static void usage(void) {
        printf("Usage: bench-ingest [--seconds S] [--frames N]\n\n"
               "  --seconds S   bus time per reader in the CPU comparison (default 3)\n"
               "  --frames N    frames counted by callgrind, model only (default 100000)\n"
               "  --path-frames N  STATUS frames sent to vescd under callgrind for the whole\n"
               "                path (default 5000; 0 skips it)\n"
               "  --rate R      their rate, frames/s (default 500)\n");
}

int main(int argc, char **argv) {
        _cleanup_free_ struct can_frame *frames = NULL;
        CpuFigure bare, ingest;
        unsigned long total;
        double bits = 0, fps;
        unsigned bmin = UINT32_MAX, bmax = 0;
        Args a = { .seconds = 3.0, .frames = 100000, .path_frames = 5000, .rate = 500 };
        const BenchOption options[] = {
                { .name = "seconds", .type = BENCH_OPT_DOUBLE, .value = &a.seconds, .min = 0, .max = 600,
                  .min_exclusive = true },
                { .name = "frames", .type = BENCH_OPT_ULONG, .value = &a.frames, .min = 1, .max = (double) ULONG_MAX },
                { .name = "path-frames", .type = BENCH_OPT_ULONG, .value = &a.path_frames, .min = 0,
                  .max = 1000000 },
                { .name = "rate", .type = BENCH_OPT_DOUBLE, .value = &a.rate, .min = 1, .max = 100000 },
                { .name = "bare-worker", .type = BENCH_OPT_ULONG, .value = &a.bare_worker, .min = 1,
                  .max = (double) ULONG_MAX },
                { .name = "callgrind-worker", .type = BENCH_OPT_ULONG, .value = &a.worker, .min = 1,
                  .max = (double) ULONG_MAX },
        };
        int r;

        if (bench_main_init(argc, argv, options, ELEMENTSOF(options), usage) < 0)
                return EXIT_FAILURE;
        if (a.worker > 0)
                return run_worker(a.worker);
        if (a.bare_worker > 0)
                return run_bare_worker(a.bare_worker, a.rate);

        frames = calloc(SYNTH_FRAMES, sizeof *frames);
        if (!frames)
                return EXIT_FAILURE;
        synth_frames(frames, SYNTH_FRAMES, N_CONTROLLERS);
        for (size_t i = 0; i < SYNTH_FRAMES; i++) {
                unsigned b = can_frame_wire_bits(&frames[i]);

                bits += b;
                bmin = MIN(bmin, b);
                bmax = MAX(bmax, b);
        }
        bits /= SYNTH_FRAMES;
        fps = 1e6 / bits;
        printf("bench-ingest: STATUS 1-5 frames from 2 controllers: %.1f wire bits mean (%u..%u, stuffing "
               "included) -> %.0f frames/s fill a 1 Mbit/s bus\n",
               bits, bmin, bmax, fps);

        figure_instructions(a.frames, a.path_frames, a.rate);

        /* Alternate short rounds of both readers, so that drift in the load
         * of a shared machine falls on both alike. */
        total = (unsigned long) (a.seconds * fps / ROUNDS);
        total = MAX(total, 10ul);
        bare = ingest = (CpuFigure) {};
        for (unsigned round = 0; round < ROUNDS; round++) {
                CpuFigure b, i;

                r = measure_reader(/* ingest= */ false, frames, SYNTH_FRAMES, total, fps, &b);
                if (r >= 0)
                        r = measure_reader(/* ingest= */ true, frames, SYNTH_FRAMES, total, fps, &i);
                if (r < 0) {
                        fprintf(stderr, "bench-ingest: reader comparison failed: %s\n", strerror(-r));
                        return EXIT_FAILURE;
                }
                cpu_figure_add(&bare, &b);
                cpu_figure_add(&ingest, &i);
        }
        print_cpu("bare reader (floor):", &bare, fps);
        print_cpu("reader + ingest path:", &ingest, fps);
        printf("bench-ingest: ratio ingest/bare CPU: %.2f (ingest adds %.0f ns per frame)\n",
               bare.cpu_usec > 0 ? (double) ingest.cpu_usec / (double) bare.cpu_usec : 0.0,
               1000.0 * ((double) ingest.cpu_usec - (double) bare.cpu_usec) / (double) bare.frames);
        return EXIT_SUCCESS;
}
