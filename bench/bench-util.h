/* Shared plumbing of the benchmarks: clocks, temporary directories, child
 * processes (vesc-sim, dbus-daemon, vescd) started with bounded waits for
 * their readiness, vbus and JSON socket connections, and small statistics.
 *
 * Benchmarks print figures; nothing here decides pass or fail on time.
 * Every wait is bounded and waits on an event (a line, a notification, a
 * reply), never on a sleep. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct can_frame;

/* Exit code of a benchmark that cannot run here (automake SKIP). */
#define BENCH_EXIT_SKIP 77

uint64_t bench_now_usec(void);
/* CPU time (user + system) of this process, µs. */
uint64_t bench_cpu_usec(void);

/* $top_builddir, or "." when unset. */
const char *bench_builddir(void);
/* $top_builddir/rel if it is an executable file: 0, else -ENOENT. */
int bench_find_exe(const char *rel, char *buf, size_t size);

/* mkdtemp under $TMPDIR (or /tmp) with the given prefix. */
int bench_mkdtemp(const char *prefix, char *buf, size_t size);
/* Remove the files directly inside dir, then dir (benchmarks create no
 * subdirectories). */
void bench_rmtree(const char *dir);

typedef struct BenchProc {
        pid_t pid;       /* 0 = not running */
        int out_fd;      /* its stdout when captured, else -1 */
        char line[1024]; /* partial output kept between bench_proc_wait_line() calls */
        size_t line_len;
} BenchProc;

/* Start argv[0] with argv; env: NULL-terminated "KEY=VALUE" additions.
 * With capture, the child's stdout is readable through bench_proc_wait_line().
 * The child dies with us (PR_SET_PDEATHSIG). */
int bench_proc_spawn(BenchProc *p, const char *const *argv, const char *const *env, bool capture);
/* Wait until a line of the child's stdout contains needle; the text after
 * the needle on that line is copied into rest (if given).  -ETIMEDOUT,
 * -EPIPE (child closed its stdout). */
int bench_proc_wait_line(BenchProc *p, const char *needle, int timeout_ms, char *rest, size_t rest_size);
/* SIGTERM, bounded wait, then SIGKILL.  Returns the wait status or -errno. */
int bench_proc_stop(BenchProc *p, int timeout_ms);

/* vesc-sim --vbus DIR/bus --board board [extra...] until "vesc-sim: ready".
 * -ENOENT when sim/vesc-sim is not built. */
int bench_sim_start(BenchProc *p, const char *dir, const char *board, const char *const *extra);

/* A private dbus-daemon with a permissive configuration written into dir;
 * its address goes into addr. */
int bench_dbus_start(BenchProc *p, const char *dir, char *addr, size_t addr_size);

/* A Unix datagram socket at path for NOTIFY_SOCKET; wait for a datagram
 * containing needle ("READY=1"). */
int bench_notify_open(const char *path);
int bench_notify_wait(int fd, const char *needle, int timeout_ms);

/* vescd --transport vbus:BUS --bus-address ADDR --state-dir DIR/state
 * --json-socket DIR/json.sock --config DIR/vescd.conf [extra...] with
 * NOTIFY_SOCKET, waiting for READY=1.  -ENOENT when daemon/vescd is not built. */
/* Run the next vescd under a program (argv prefix, borrowed; NULL: none) and
 * wait ready_timeout_ms for READY=1 (0: the default). */
void bench_vescd_set_wrapper(const char *const *wrapper, unsigned ready_timeout_ms);
int bench_vescd_start(BenchProc *p, const char *dir, const char *bus_path, const char *dbus_addr,
                      const char *const *extra);

/* Connect a SOCK_SEQPACKET (vbus) or SOCK_STREAM (JSON) Unix socket. */
int bench_unix_connect(const char *path, int type);

/* One frame to/from a vbus member socket.  recv: 0, or -ETIMEDOUT. */
int bench_vbus_send(int fd, const struct can_frame *f);
/* Join the hub: PING `to` until its PONG to own_id comes (5 s). */
int bench_vbus_join(int fd, uint8_t to, uint8_t own_id);
int bench_vbus_recv(int fd, struct can_frame *f, int timeout_ms);

/* A line-oriented JSON client: read the next '\n'-terminated line into
 * buf (without the newline).  Returns its length, -ETIMEDOUT, -EPIPE. */
typedef struct BenchLineReader {
        int fd;
        char buf[65536];
        size_t len;
} BenchLineReader;
void bench_line_reader_init(BenchLineReader *r, int fd);
ssize_t bench_line_read(BenchLineReader *r, char *line, size_t size, int timeout_ms);
/* Lines already buffered, without reading the socket. */
ssize_t bench_line_next_buffered(BenchLineReader *r, char *line, size_t size);
int bench_write_all(int fd, const char *s, size_t n);

/* VmRSS / VmHWM of a process in KiB, -errno. */
long bench_proc_status_kib(pid_t pid, const char *key);
long bench_proc_kib(pid_t pid, const char *file, const char *key);

/* The q-quantile (0..1, nearest rank) of n values; sorts v in place. */
double bench_quantile(double *v, size_t n, double q);

/* Skip with a reason (printf format) on stdout. */
_Noreturn void bench_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One "--name VALUE" option of a benchmark: parsed into *value, refused
 * outside [min, max] ((min, max] with min_exclusive). */
typedef enum BenchOptionType {
        BENCH_OPT_UNSIGNED, /* unsigned (also uint32_t) */
        BENCH_OPT_ULONG,    /* unsigned long */
        BENCH_OPT_SIZE,     /* size_t */
        BENCH_OPT_DOUBLE,   /* double */
        BENCH_OPT_FLAG,     /* bool, set by "--name" alone (no value) */
} BenchOptionType;

typedef struct BenchOption {
        const char *name;
        BenchOptionType type;
        void *value;
        double min, max;
        bool min_exclusive;
} BenchOption;

/* The start of a benchmark's main(): parse the options (values keep their
 * defaults unless given; --help prints usage and exits), then make stdout
 * line-buffered.  -EINVAL after printing usage for a bad command line. */
int bench_main_init(int argc, char **argv, const BenchOption *opts, size_t n_opts, void (*usage)(void));

/* Keep every CPU this process may run on out of its idle state: one
 * spinner per CPU, pinned, in SCHED_IDLE (it runs only when nothing else
 * wants that CPU and gives way at once to any task that wakes there), dying
 * with us.  In a virtual machine a halted vCPU can take milliseconds to be
 * woken by the host; on hardware a CPU leaves its idle state in
 * microseconds.  Returns the number started (0 when none could be), pids in
 * pids[] (at most max). */
unsigned bench_cpus_awake_start(pid_t *pids, unsigned max);
void bench_cpus_awake_stop(const pid_t *pids, unsigned n);

/* The usual setup of a benchmark of vescd: a temporary directory, vesc-sim
 * on a vbus hub in it, a private dbus-daemon and vescd. */
typedef struct BenchStack {
        char dir[512];       /* "" until bench_stack_init() made it */
        char bus[600];       /* DIR/bus, the vbus hub */
        char json_path[600]; /* DIR/json.sock, vescd's JSON socket */
        char addr[1024];     /* the private D-Bus address */
        BenchProc sim, dbus, vescd;
} BenchStack;

/* Make the directory (prefix as for bench_mkdtemp()) and the paths in it. */
int bench_stack_init(BenchStack *s, const char *prefix);
/* Start vesc-sim (board, sim_extra), dbus-daemon and vescd (vescd_extra),
 * stopping at the first failure.  On -ENOENT (a program not built or not
 * installed), *ret_skip says which, for a SKIP. */
int bench_stack_start(BenchStack *s, const char *board, const char *const *sim_extra,
                      const char *const *vescd_extra, const char **ret_skip);
/* Stop what runs (vescd first) and remove the directory. */
void bench_stack_stop(BenchStack *s);
