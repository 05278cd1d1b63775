/* Benchmark plumbing (see bench-util.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/can.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench-util.h"
#include "macro.h"
#include "proto/vesc-can.h"

#define SIM_READY_TIMEOUT_MS 15000
#define DBUS_READY_TIMEOUT_MS 15000
#define VESCD_READY_TIMEOUT_MS 20000

/**
 * bench_now_usec() - CLOCK_MONOTONIC in µs
 *
 * Returns: the time.
 */
uint64_t bench_now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000u;
}

/**
 * bench_cpu_usec() - CPU time consumed by this process so far
 *
 * Returns: user + system time in µs.
 */
uint64_t bench_cpu_usec(void) {
        struct timespec ts;

        /* the scheduler's exact run time, not tick samples */
        if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) < 0)
                return 0;
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000u;
}

/**
 * bench_builddir() - the top build directory
 *
 * Returns: $top_builddir, or "." (a static string or the environment's).
 */
const char *bench_builddir(void) {
        const char *top = getenv("top_builddir");

        return top && *top ? top : ".";
}

/**
 * bench_find_exe() - locate a program of the build tree
 * @rel: path relative to the top build directory ("sim/vesc-sim")
 * @buf: receives the path
 * @size: size of buf
 *
 * Returns: 0, -ENOENT when it is not built, -ENAMETOOLONG.
 */
int bench_find_exe(const char *rel, char *buf, size_t size) {
        int n = snprintf(buf, size, "%s/%s", bench_builddir(), rel);

        if (n < 0 || (size_t) n >= size)
                return -ENAMETOOLONG;
        return access(buf, X_OK) < 0 ? -ENOENT : 0;
}

/**
 * bench_mkdtemp() - create a private temporary directory
 * @prefix: name prefix
 * @buf: receives the path
 * @size: size of buf
 *
 * Returns: 0 or -errno.
 */
int bench_mkdtemp(const char *prefix, char *buf, size_t size) {
        const char *tmp = getenv("TMPDIR");
        int n = snprintf(buf, size, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);

        if (n < 0 || (size_t) n >= size)
                return -ENAMETOOLONG;
        return mkdtemp(buf) ? 0 : -errno;
}

/**
 * bench_rmtree() - remove a benchmark's temporary directory
 * @dir: the directory; its subdirectories (one level) are removed too
 */
void bench_rmtree(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        char path[1024];

        if (!d)
                return;
        while ((de = readdir(d))) {
                struct stat st;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                (void) snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
                if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
                        bench_rmtree(path);
                else
                        (void) unlink(path);
        }
        closedir(d);
        (void) rmdir(dir);
}

/**
 * bench_proc_spawn() - start a child process
 * @p: receives the process
 * @argv: NULL-terminated argument vector; argv[0] is the path
 * @env: NULL-terminated "KEY=VALUE" strings added to the environment, or NULL
 * @capture: read the child's stdout through a pipe
 *
 * The child gets SIGTERM when this process dies, so a crashed benchmark
 * leaves no daemons behind.
 *
 * Returns: 0 or -errno.
 */
int bench_proc_spawn(BenchProc *p, const char *const *argv, const char *const *env, bool capture) {
        int pfd[2] = { -1, -1 };
        pid_t parent = getpid();

        memset(p, 0, sizeof *p);
        p->out_fd = -1;
        if (capture && pipe2(pfd, O_CLOEXEC) < 0)
                return -errno;
        p->pid = fork();
        if (p->pid < 0) {
                int r = -errno;
                p->pid = 0;
                if (capture) {
                        close(pfd[0]);
                        close(pfd[1]);
                }
                return r;
        }
        if (p->pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
                if (getppid() != parent)
                        _exit(127);
                if (capture && dup2(pfd[1], STDOUT_FILENO) < 0)
                        _exit(127);
                for (size_t i = 0; env && env[i]; i++)
                        (void) putenv((char *) env[i]);
                execv(argv[0], (char *const *) argv);
                _exit(127);
        }
        if (capture) {
                close(pfd[1]);
                p->out_fd = pfd[0];
        }
        return 0;
}

static int remaining_ms(uint64_t deadline) {
        uint64_t now = bench_now_usec();

        return now >= deadline ? 0 : (int) ((deadline - now + 999) / 1000);
}

/* Wait until fd is readable or the deadline (bench_now_usec() time) has
 * passed.  Returns 0, -ETIMEDOUT or -errno. */
static int wait_readable(int fd, uint64_t deadline) {
        for (;;) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                int r = poll(&pfd, 1, remaining_ms(deadline));

                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return -errno;
                return r == 0 ? -ETIMEDOUT : 0;
        }
}

/**
 * bench_proc_wait_line() - wait for a line of the child's output
 * @p: a process started with capture
 * @needle: text to look for
 * @timeout_ms: bound of the wait
 * @rest: receives the rest of the line after needle, or NULL
 * @rest_size: size of rest
 *
 * Returns: 0, -ETIMEDOUT, -EPIPE when the child closed its output.
 */
int bench_proc_wait_line(BenchProc *p, const char *needle, int timeout_ms, char *rest, size_t rest_size) {
        uint64_t deadline = bench_now_usec() + (uint64_t) timeout_ms * 1000u;

        if (p->out_fd < 0)
                return -EBADF;
        for (;;) {
                char *nl;

                while ((nl = memchr(p->line, '\n', p->line_len))) {
                        size_t n = (size_t) (nl - p->line) + 1;
                        char *hit;

                        *nl = '\0';
                        hit = strstr(p->line, needle);
                        if (hit && rest)
                                (void) snprintf(rest, rest_size, "%s", hit + strlen(needle));
                        memmove(p->line, p->line + n, p->line_len - n);
                        p->line_len -= n;
                        if (hit)
                                return 0;
                }
                if (p->line_len >= sizeof p->line - 1)
                        p->line_len = 0; /* an overlong line cannot be the one we want */

                int r = wait_readable(p->out_fd, deadline);
                ssize_t k;

                if (r < 0)
                        return r;
                k = read(p->out_fd, p->line + p->line_len, sizeof p->line - 1 - p->line_len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return -EPIPE;
                p->line_len += (size_t) k;
        }
}

/**
 * bench_proc_stop() - terminate a child and reap it
 * @p: the process (nothing happens when it is not running)
 * @timeout_ms: how long SIGTERM may take before SIGKILL
 *
 * Returns: the wait status, or -errno.
 */
int bench_proc_stop(BenchProc *p, int timeout_ms) {
        uint64_t deadline = bench_now_usec() + (uint64_t) timeout_ms * 1000u;
        int status = 0;
        pid_t r;

        if (p->pid <= 0)
                return -ECHILD;
        (void) kill(p->pid, SIGTERM);
        for (;;) {
                r = waitpid(p->pid, &status, WNOHANG);
                if (r == p->pid || (r < 0 && errno != EINTR))
                        break;
                if (bench_now_usec() >= deadline) {
                        (void) kill(p->pid, SIGKILL);
                        r = waitpid(p->pid, &status, 0);
                        break;
                }
                /* A bounded reap loop: waitpid has no timeout of its own. */
                (void) poll(NULL, 0, 10);
        }
        p->pid = 0;
        if (p->out_fd >= 0)
                close(p->out_fd);
        p->out_fd = -1;
        return r < 0 ? -errno : status;
}

/* Append the NULL-terminated extra (may be NULL) to the n arguments in
 * argv (size entries), as far as they fit, and terminate argv. */
static void append_extra(const char **argv, size_t n, size_t size, const char *const *extra) {
        for (size_t i = 0; extra && extra[i] && n < size - 1; i++)
                argv[n++] = extra[i];
        argv[n] = NULL;
}

/**
 * bench_sim_start() - start vesc-sim on a new vbus hub in dir
 * @p: receives the process
 * @dir: directory for the hub socket (DIR/bus)
 * @board: preset name
 * @extra: further arguments (NULL-terminated), or NULL
 *
 * Returns: 0, -ENOENT when vesc-sim is not built, -ETIMEDOUT.
 */
int bench_sim_start(BenchProc *p, const char *dir, const char *board, const char *const *extra) {
        char exe[512], bus[512];
        const char *argv[32];
        size_t n = 0;
        int r;

        r = bench_find_exe("sim/vesc-sim", exe, sizeof exe);
        if (r < 0)
                return r;
        (void) snprintf(bus, sizeof bus, "%s/bus", dir);
        argv[n++] = exe;
        argv[n++] = "--vbus";
        argv[n++] = bus;
        argv[n++] = "--board";
        argv[n++] = board;
        append_extra(argv, n, ELEMENTSOF(argv), extra);

        r = bench_proc_spawn(p, argv, NULL, /* capture= */ true);
        if (r < 0)
                return r;
        r = bench_proc_wait_line(p, "vesc-sim: ready", SIM_READY_TIMEOUT_MS, NULL, 0);
        if (r < 0) {
                fprintf(stderr, "vesc-sim did not become ready: %s\n", strerror(-r));
                (void) bench_proc_stop(p, 5000);
                return r;
        }
        return 0;
}

/**
 * bench_dbus_start() - start a private dbus-daemon
 * @p: receives the process
 * @dir: directory for its configuration and socket
 * @addr: receives the bus address
 * @addr_size: size of addr
 *
 * Returns: 0, -ENOENT without dbus-daemon, -ETIMEDOUT.
 */
int bench_dbus_start(BenchProc *p, const char *dir, char *addr, size_t addr_size) {
        const char *exe = getenv("DBUS_DAEMON");
        char conf[512], arg[600];
        FILE *f;
        int r;

        if (!exe || !*exe)
                exe = "/usr/bin/dbus-daemon";
        if (access(exe, X_OK) < 0)
                return -ENOENT;
        (void) snprintf(conf, sizeof conf, "%s/bus.conf", dir);
        f = fopen(conf, "we");
        if (!f)
                return -errno;
        /* Permissive on purpose: the benchmark owns this bus alone. */
        fprintf(f,
                "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
                " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
                "<busconfig>\n"
                "  <type>system</type>\n"
                "  <listen>unix:path=%s/dbus.sock</listen>\n"
                "  <auth>EXTERNAL</auth>\n"
                "  <policy context=\"default\">\n"
                "    <allow user=\"*\"/>\n"
                "    <allow own=\"*\"/>\n"
                "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
                "    <allow receive_sender=\"*\"/>\n"
                "  </policy>\n"
                "</busconfig>\n",
                dir);
        if (fclose(f) != 0)
                return -errno;
        (void) snprintf(arg, sizeof arg, "--config-file=%s", conf);
        const char *argv[] = { exe, arg, "--nofork", "--nopidfile", "--print-address=1", NULL };

        r = bench_proc_spawn(p, argv, NULL, /* capture= */ true);
        if (r < 0)
                return r;
        r = bench_proc_wait_line(p, "unix:", DBUS_READY_TIMEOUT_MS, addr + 5, addr_size - 5);
        if (r < 0) {
                (void) bench_proc_stop(p, 5000);
                return r;
        }
        memcpy(addr, "unix:", 5);
        return 0;
}

/* A Unix socket of the given type bound (do_bind) or connected to path.
 * Returns the fd (close-on-exec, blocking), or -errno. */
static int unix_socket(const char *path, int type, bool do_bind) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;
        int r;

        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        r = do_bind ? bind(fd, (struct sockaddr *) &sa, sizeof sa) : connect(fd, (struct sockaddr *) &sa, sizeof sa);
        if (r < 0)
                return -errno;
        return TAKE_FD(fd);
}

/**
 * bench_notify_open() - a socket for sd_notify() messages
 * @path: where to bind it
 *
 * Returns: the fd, or -errno.
 */
int bench_notify_open(const char *path) {
        return unix_socket(path, SOCK_DGRAM, /* do_bind= */ true);
}

/**
 * bench_notify_wait() - wait for a notification containing needle
 * @fd: from bench_notify_open()
 * @needle: e.g. "READY=1"
 * @timeout_ms: bound of the wait
 *
 * Returns: 0 or -ETIMEDOUT.
 */
int bench_notify_wait(int fd, const char *needle, int timeout_ms) {
        uint64_t deadline = bench_now_usec() + (uint64_t) timeout_ms * 1000u;
        char buf[4096];

        for (;;) {
                ssize_t k;

                if (wait_readable(fd, deadline) < 0)
                        return -ETIMEDOUT;
                k = recv(fd, buf, sizeof buf - 1, 0);
                if (k < 0)
                        continue;
                buf[k] = '\0';
                if (strstr(buf, needle))
                        return 0;
        }
}

/* Set by bench_vescd_set_wrapper(): a program vescd runs under (valgrind). */
static const char *const *vescd_wrapper;
static unsigned vescd_ready_timeout_ms = VESCD_READY_TIMEOUT_MS;

/**
 * bench_vescd_set_wrapper() - run the next vescd under a program
 * @wrapper: NULL-terminated argv prefix (borrowed, e.g. valgrind and its
 *           options), or NULL for vescd itself
 * @ready_timeout_ms: how long to wait for READY=1 (0: the default)
 */
void bench_vescd_set_wrapper(const char *const *wrapper, unsigned ready_timeout_ms) {
        vescd_wrapper = wrapper;
        vescd_ready_timeout_ms = ready_timeout_ms ? ready_timeout_ms : VESCD_READY_TIMEOUT_MS;
}

/**
 * bench_vescd_start() - start vescd on a vbus with a private D-Bus
 * @p: receives the process
 * @dir: directory for its state, JSON socket, config and notify socket
 * @bus_path: the vbus hub
 * @dbus_addr: the private D-Bus address
 * @extra: further arguments (NULL-terminated), or NULL
 *
 * Returns: 0, -ENOENT when vescd is not built, -ETIMEDOUT without READY=1.
 */
int bench_vescd_start(BenchProc *p, const char *dir, const char *bus_path, const char *dbus_addr,
                      const char *const *extra) {
        char exe[512], transport[600], state[600], json[600], conf[600], notify[600], env_notify[700];
        const char *argv[48];
        _cleanup_close_ int nfd = -1;
        size_t n = 0;
        FILE *f;
        int r;

        r = bench_find_exe("daemon/vescd", exe, sizeof exe);
        if (r < 0)
                return r;
        (void) snprintf(transport, sizeof transport, "vbus:%s", bus_path);
        (void) snprintf(state, sizeof state, "%s/state", dir);
        (void) snprintf(json, sizeof json, "%s/json.sock", dir);
        (void) snprintf(conf, sizeof conf, "%s/vescd.conf", dir);
        (void) snprintf(notify, sizeof notify, "%s/notify", dir);
        (void) snprintf(env_notify, sizeof env_notify, "NOTIFY_SOCKET=%s", notify);
        if (mkdir(state, 0700) < 0 && errno != EEXIST)
                return -errno;
        f = fopen(conf, "we");
        if (!f)
                return -errno;
        fputs("# vescd benchmark: everything on the command line\n", f);
        /* controllers are board members at once (no member-after-s wait) */
        fputs("member-after-s = 0\n", f);
        if (fclose(f) != 0)
                return -errno;

        nfd = bench_notify_open(notify);
        if (nfd < 0)
                return nfd;

        for (size_t i = 0; vescd_wrapper && vescd_wrapper[i] && i < 16; i++)
                argv[n++] = vescd_wrapper[i];
        argv[n++] = exe;
        argv[n++] = "--config";
        argv[n++] = conf;
        argv[n++] = "--transport";
        argv[n++] = transport;
        argv[n++] = "--bus-address";
        argv[n++] = dbus_addr;
        argv[n++] = "--state-dir";
        argv[n++] = state;
        argv[n++] = "--json-socket";
        argv[n++] = json;
        append_extra(argv, n, ELEMENTSOF(argv), extra);

        const char *env[] = { env_notify, NULL };
        r = bench_proc_spawn(p, argv, env, /* capture= */ false);
        if (r < 0)
                return r;
        r = bench_notify_wait(nfd, "READY=1", vescd_ready_timeout_ms);
        if (r < 0) {
                fprintf(stderr, "vescd did not report READY=1\n");
                (void) bench_proc_stop(p, 5000);
                return r;
        }
        return 0;
}

/**
 * bench_vbus_join() - become a member of a vbus hub
 * @fd: the socket connected to the hub
 * @to: a controller on the bus that answers PING
 * @own_id: the id the PONG is addressed to
 *
 * The hub relays only to accepted members: a PONG proves we are one.
 *
 * Returns: 0, -EIO, -ETIMEDOUT (5 s).
 */
int bench_vbus_join(int fd, uint8_t to, uint8_t own_id) {
        uint64_t deadline = bench_now_usec() + 5 * USEC_PER_SEC;

        while (bench_now_usec() < deadline) {
                struct can_frame f;
                VescPong pong;

                vesc_ping_encode(&f, to, own_id);
                if (bench_vbus_send(fd, &f) < 0)
                        return -EIO;
                while (bench_vbus_recv(fd, &f, 200) == 0)
                        if (vesc_pong_decode(&f, &pong) == 0 && pong.to == own_id)
                                return 0;
        }
        return -ETIMEDOUT;
}

/**
 * bench_unix_connect() - connect to a Unix socket
 * @path: socket path
 * @type: SOCK_SEQPACKET or SOCK_STREAM
 *
 * Returns: the fd (close-on-exec, blocking), or -errno.
 */
int bench_unix_connect(const char *path, int type) {
        return unix_socket(path, type, /* do_bind= */ false);
}

/**
 * bench_vbus_send() - put one frame on the vbus
 * @fd: member socket
 * @f: the frame
 *
 * Returns: 0 or -errno.
 */
int bench_vbus_send(int fd, const struct can_frame *f) {
        for (;;) {
                ssize_t k = send(fd, f, sizeof *f, MSG_NOSIGNAL);

                if (k == (ssize_t) sizeof *f)
                        return 0;
                if (k < 0 && errno == EINTR)
                        continue;
                return k < 0 ? -errno : -EIO;
        }
}

/**
 * bench_vbus_recv() - the next frame from the vbus
 * @fd: member socket
 * @f: receives the frame
 * @timeout_ms: bound of the wait
 *
 * Returns: 0, -ETIMEDOUT, -EPIPE when the hub went away.
 */
int bench_vbus_recv(int fd, struct can_frame *f, int timeout_ms) {
        uint64_t deadline = bench_now_usec() + (uint64_t) timeout_ms * 1000u;

        for (;;) {
                int r = wait_readable(fd, deadline);
                ssize_t k;

                if (r < 0)
                        return r;
                k = recv(fd, f, sizeof *f, MSG_DONTWAIT);
                if (k < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (k <= 0)
                        return -EPIPE;
                if (k == (ssize_t) sizeof *f)
                        return 0;
        }
}

/**
 * bench_line_reader_init() - start reading lines from a stream socket
 * @r: the reader
 * @fd: the socket (borrowed)
 */
void bench_line_reader_init(BenchLineReader *r, int fd) {
        r->fd = fd;
        r->len = 0;
}

/**
 * bench_line_next_buffered() - take a complete line already received
 * @r: the reader
 * @line: receives the line without its newline (truncated to size - 1)
 * @size: size of line
 *
 * Returns: the length, or -EAGAIN when no complete line is buffered.
 */
ssize_t bench_line_next_buffered(BenchLineReader *r, char *line, size_t size) {
        char *nl = memchr(r->buf, '\n', r->len);
        size_t n, copy;

        if (!nl) {
                if (r->len == sizeof r->buf)
                        r->len = 0; /* an overlong line: drop it rather than stall */
                return -EAGAIN;
        }
        n = (size_t) (nl - r->buf);
        copy = MIN(n, size - 1);
        memcpy(line, r->buf, copy);
        line[copy] = '\0';
        memmove(r->buf, nl + 1, r->len - n - 1);
        r->len -= n + 1;
        return (ssize_t) copy;
}

/**
 * bench_line_read() - the next line from the socket
 * @r: the reader
 * @line: receives the line without its newline
 * @size: size of line
 * @timeout_ms: bound of the wait
 *
 * Returns: the length, -ETIMEDOUT, -EPIPE.
 */
ssize_t bench_line_read(BenchLineReader *r, char *line, size_t size, int timeout_ms) {
        uint64_t deadline = bench_now_usec() + (uint64_t) timeout_ms * 1000u;

        for (;;) {
                ssize_t n = bench_line_next_buffered(r, line, size);

                if (n >= 0)
                        return n;

                int k = wait_readable(r->fd, deadline);
                ssize_t got;

                if (k < 0)
                        return k;
                got = recv(r->fd, r->buf + r->len, sizeof r->buf - r->len, MSG_DONTWAIT);
                if (got < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (got <= 0)
                        return -EPIPE;
                r->len += (size_t) got;
        }
}

/**
 * bench_write_all() - write a whole buffer to a blocking socket
 * @fd: the socket
 * @s: bytes
 * @n: their number
 *
 * Returns: 0 or -errno.
 */
int bench_write_all(int fd, const char *s, size_t n) {
        while (n > 0) {
                ssize_t k = send(fd, s, n, MSG_NOSIGNAL);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                s += k;
                n -= (size_t) k;
        }
        return 0;
}

/**
 * bench_proc_kib() - a "kB" field of a /proc/PID file
 * @pid: the process
 * @file: "status", "smaps_rollup", ...
 * @key: "VmRSS", "Private_Dirty", ...
 *
 * Returns: the value in KiB, or -errno.
 */
long bench_proc_kib(pid_t pid, const char *file, const char *key) {
        char path[96], line[256];
        size_t klen = strlen(key);
        long v = -ENOENT;
        FILE *f;

        (void) snprintf(path, sizeof path, "/proc/%d/%s", (int) pid, file);
        f = fopen(path, "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof line, f))
                if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
                        v = strtol(line + klen + 1, NULL, 10);
                        break;
                }
        fclose(f);
        return v;
}

/** bench_proc_status_kib() - a "kB" field of /proc/PID/status ("VmRSS", "VmHWM"...), or -errno. */
long bench_proc_status_kib(pid_t pid, const char *key) {
        return bench_proc_kib(pid, "status", key);
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return (x > y) - (x < y);
}

/**
 * bench_quantile() - nearest-rank quantile
 * @v: values (sorted in place)
 * @n: their number (> 0)
 * @q: 0..1
 *
 * Returns: the quantile, 0 when n is 0.
 */
double bench_quantile(double *v, size_t n, double q) {
        size_t k;

        if (n == 0)
                return 0;
        qsort(v, n, sizeof *v, cmp_double);
        k = (size_t) (q * (double) n + 0.999999);
        k = CLAMP(k, (size_t) 1, n);
        return v[k - 1];
}

/**
 * bench_skip() - exit with the automake SKIP code
 * @fmt: printf format of the reason, printed on stdout (so `make bench`
 *       shows it)
 */
_Noreturn void bench_skip(const char *fmt, ...) {
        va_list ap;

        fputs("SKIP: ", stdout);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        fflush(stdout);
        exit(BENCH_EXIT_SKIP);
}

/* Store optarg into o->value; -EINVAL outside o's range. */
static int option_store(const BenchOption *o, const char *arg) {
        double v;

        /* Converted to the field's type first, so the range applies to what
         * is stored. */
        switch (o->type) {
        case BENCH_OPT_UNSIGNED:
                v = *(unsigned *) o->value = (unsigned) strtoul(arg, NULL, 10);
                break;
        case BENCH_OPT_ULONG:
                v = (double) (*(unsigned long *) o->value = strtoul(arg, NULL, 10));
                break;
        case BENCH_OPT_SIZE:
                v = (double) (*(size_t *) o->value = (size_t) strtoull(arg, NULL, 10));
                break;
        case BENCH_OPT_DOUBLE:
                v = *(double *) o->value = strtod(arg, NULL);
                break;
        case BENCH_OPT_FLAG:
                *(bool *) o->value = true;
                return 0;
        default:
                return -EINVAL;
        }
        if (!((o->min_exclusive ? v > o->min : v >= o->min) && v <= o->max))
                return -EINVAL;
        return 0;
}

/**
 * bench_main_init() - parse a benchmark's command line
 * @argc: from main()
 * @argv: from main()
 * @opts: its options (besides --help)
 * @n_opts: their number (at most 15)
 * @usage: prints the usage text
 *
 * Returns: 0, or -EINVAL after printing the usage.  Exits on --help.
 */
int bench_main_init(int argc, char **argv, const BenchOption *opts, size_t n_opts, void (*usage)(void)) {
        struct option longopts[16 + 1] = {};
        size_t n = 0;
        int c, r = 0;

        if (n_opts >= ELEMENTSOF(longopts) - 1)
                return -E2BIG;
        for (size_t i = 0; i < n_opts; i++)
                longopts[n++] = (struct option) { opts[i].name,
                                                  opts[i].type == BENCH_OPT_FLAG ? no_argument : required_argument,
                                                  NULL, 0x100 + (int) i };
        longopts[n++] = (struct option) { "help", no_argument, NULL, 'h' };

        while (r >= 0 && (c = getopt_long(argc, argv, "h", longopts, NULL)) >= 0) {
                if (c == 'h') {
                        usage();
                        exit(EXIT_SUCCESS);
                }
                if (c < 0x100 || c >= 0x100 + (int) n_opts)
                        r = -EINVAL;
                else
                        r = option_store(&opts[c - 0x100], optarg);
        }
        if (r < 0) {
                usage();
                return r;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        return 0;
}

/**
 * bench_stack_init() - the directory of a benchmark's processes
 * @s: the stack (zeroed before)
 * @prefix: of the directory's name
 *
 * Returns: 0 or -errno.
 */
int bench_stack_init(BenchStack *s, const char *prefix) {
        int r;

        s->sim.out_fd = s->dbus.out_fd = s->vescd.out_fd = -1;
        r = bench_mkdtemp(prefix, s->dir, sizeof s->dir);
        if (r < 0) {
                s->dir[0] = '\0';
                return r;
        }
        (void) snprintf(s->bus, sizeof s->bus, "%s/bus", s->dir);
        (void) snprintf(s->json_path, sizeof s->json_path, "%s/json.sock", s->dir);
        return 0;
}

/**
 * bench_stack_start() - start vesc-sim, a private dbus-daemon and vescd
 * @s: from bench_stack_init()
 * @board: vesc-sim's preset
 * @sim_extra: further vesc-sim arguments (NULL-terminated), or NULL
 * @vescd_extra: further vescd arguments (NULL-terminated), or NULL
 * @ret_skip: set on -ENOENT to what is missing, else left alone
 *
 * Returns: 0, or what the first start that failed returned.
 */
int bench_stack_start(BenchStack *s, const char *board, const char *const *sim_extra,
                      const char *const *vescd_extra, const char **ret_skip) {
        int r;

        r = bench_sim_start(&s->sim, s->dir, board, sim_extra);
        if (r == -ENOENT)
                *ret_skip = "sim/vesc-sim is not built";
        if (r < 0)
                return r;
        r = bench_dbus_start(&s->dbus, s->dir, s->addr, sizeof s->addr);
        if (r == -ENOENT)
                *ret_skip = "no dbus-daemon";
        if (r < 0)
                return r;
        r = bench_vescd_start(&s->vescd, s->dir, s->bus, s->addr, vescd_extra);
        if (r == -ENOENT)
                *ret_skip = "daemon/vescd is not built";
        return r;
}

/**
 * bench_stack_stop() - stop the processes and remove the directory
 * @s: the stack (what was never started is passed over)
 */
void bench_stack_stop(BenchStack *s) {
        (void) bench_proc_stop(&s->vescd, 5000);
        (void) bench_proc_stop(&s->dbus, 5000);
        (void) bench_proc_stop(&s->sim, 5000);
        if (s->dir[0])
                bench_rmtree(s->dir);
        s->dir[0] = '\0';
}

void bench_cpus_awake_stop(const pid_t *pids, unsigned n) {
        for (unsigned i = 0; i < n; i++)
                (void) kill(pids[i], SIGKILL);
        for (unsigned i = 0; i < n; i++)
                (void) waitpid(pids[i], NULL, 0);
}

/**
 * bench_cpus_awake_start() - keep the CPUs out of their idle state
 * @pids: the spinners' pids
 * @max: room in @pids
 *
 * One child per CPU of our affinity mask, pinned to it, in SCHED_IDLE, that
 * spins until killed (or until we die: PR_SET_PDEATHSIG).  A SCHED_IDLE task
 * is preempted by any other task that wakes on its CPU, so what is measured
 * keeps the CPU the moment it wants it; the CPU just never halts.
 *
 * Returns: the number of spinners started.
 */
unsigned bench_cpus_awake_start(pid_t *pids, unsigned max) {
        const struct sched_param sp = { .sched_priority = 0 };
        cpu_set_t set, one;
        unsigned n = 0;

        if (sched_getaffinity(0, sizeof set, &set) < 0)
                return 0;
        for (int cpu = 0; cpu < CPU_SETSIZE && n < max; cpu++) {
                pid_t pid;

                if (!CPU_ISSET(cpu, &set))
                        continue;
                pid = fork();
                if (pid < 0)
                        break;
                if (pid == 0) {
                        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                        for (;;)
                                __asm__ volatile("" ::: "memory");
                }
                CPU_ZERO(&one);
                CPU_SET(cpu, &one);
                if (sched_setaffinity(pid, sizeof one, &one) < 0 || sched_setscheduler(pid, SCHED_IDLE, &sp) < 0) {
                        bench_cpus_awake_stop(&pid, 1);
                        continue;
                }
                pids[n++] = pid;
        }
        return n;
}
