/* vesc-sim test harness (see sim-harness.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim-harness.h"
#include "proto/vesc-can.h"

#define READY_TIMEOUT_MS 15000
#define STOP_TIMEOUT_MS 10000

uint64_t harness_now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

_Noreturn void harness_skip(const char *why) {
        fprintf(stderr, "SKIP: %s\n", why);
        exit(77);
}

static int set_path(struct sockaddr_un *sa, const char *path) {
        size_t n = strlen(path);

        if (n >= sizeof sa->sun_path)
                return -ENAMETOOLONG;
        memcpy(sa->sun_path, path, n + 1);
        return 0;
}

static int remaining_ms(uint64_t deadline) {
        uint64_t now = harness_now_usec();
        return now >= deadline ? 0 : (int) ((deadline - now + 999) / 1000);
}

static int read_ready(Harness *h) {
        char buf[256];
        size_t len = 0;
        uint64_t deadline = harness_now_usec() + (uint64_t) READY_TIMEOUT_MS * 1000;

        for (;;) {
                struct pollfd p = { .fd = h->out_fd, .events = POLLIN };
                ssize_t k;
                int r = poll(&p, 1, remaining_ms(deadline));

                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        return -ETIMEDOUT;
                k = read(h->out_fd, buf + len, sizeof buf - 1 - len);
                if (k <= 0)
                        return -EPIPE;
                len += (size_t) k;
                buf[len] = 0;
                if (strstr(buf, "vesc-sim: ready\n"))
                        return 0;
                if (len >= sizeof buf - 1)
                        return -EPROTO;
        }
}

int harness_start(Harness *h, const char *board, const char *const *extra) {
        const char *top = getenv("top_builddir");
        const char *tmp = getenv("TMPDIR");
        /* a cross build's tests run under qemu-user (scripts/cross-test),
         * which cannot follow an exec of a foreign binary by itself:
         * VESCD_TEST_EMULATOR="qemu-aarch64-static -L SYSROOT" runs vesc-sim
         * under the same emulator */
        const char *emu = getenv("VESCD_TEST_EMULATOR");
        char exe[512], emu_words[512];
        const char *argv[48];
        int n = 0, pfd[2];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        memset(h, 0, sizeof *h);
        h->sock = -1;
        h->out_fd = -1;
        snprintf(exe, sizeof exe, "%s/sim/vesc-sim", top ? top : ".");
        if (access(exe, X_OK) < 0)
                harness_skip("sim/vesc-sim not built");

        snprintf(h->dir, sizeof h->dir, "%s/vesc-sim-test.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(h->dir))
                return -errno;
        snprintf(h->bus_path, sizeof h->bus_path, "%s/bus", h->dir);
        snprintf(h->ctl_path, sizeof h->ctl_path, "%s/ctl", h->dir);

        if (emu && *emu) {
                char *save = NULL;

                snprintf(emu_words, sizeof emu_words, "%s", emu);
                for (char *w = strtok_r(emu_words, " ", &save); w && n < 8; w = strtok_r(NULL, " ", &save))
                        argv[n++] = w;
        }
        argv[n++] = exe;
        argv[n++] = "--vbus";
        argv[n++] = h->bus_path;
        argv[n++] = "--control";
        argv[n++] = h->ctl_path;
        argv[n++] = "--board";
        argv[n++] = board;
        for (size_t i = 0; extra && extra[i] && n < 46; i++)
                argv[n++] = extra[i];
        argv[n] = NULL;

        if (pipe2(pfd, O_CLOEXEC) < 0)
                return -errno;
        h->pid = fork();
        if (h->pid < 0)
                return -errno;
        if (h->pid == 0) {
                dup2(pfd[1], STDOUT_FILENO);
                execvp(argv[0], (char *const *) argv);
                _exit(127);
        }
        close(pfd[1]);
        h->out_fd = pfd[0];
        if (read_ready(h) < 0) {
                fprintf(stderr, "vesc-sim did not become ready\n");
                harness_stop(h);
                return -ETIMEDOUT;
        }

        h->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (h->sock < 0)
                return -errno;
        if (set_path(&sa, h->bus_path) < 0 || connect(h->sock, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int r = -errno;
                harness_stop(h);
                return r;
        }
        vesc_reassembler_init(&h->ra, HARNESS_OWN_ID, VESC_REASSEMBLER_TIMEOUT_USEC);
        return 0;
}

int harness_setup(void **state, Harness *h, const char *board, const char *const *extra) {
        if (harness_start(h, board, extra) < 0)
                return -1;
        *state = h;
        return 0;
}

int harness_teardown(void **state) {
        return harness_stop(*state) == 0 ? 0 : -1;
}

int harness_stop(Harness *h) {
        int status = 0, r = -ECHILD;
        uint64_t deadline = harness_now_usec() + (uint64_t) STOP_TIMEOUT_MS * 1000;
        char path[400];

        if (h->sock >= 0)
                close(h->sock);
        h->sock = -1;
        if (h->pid > 0) {
                kill(h->pid, SIGTERM);
                for (;;) {
                        pid_t p = waitpid(h->pid, &status, WNOHANG);
                        if (p == h->pid) {
                                r = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                                break;
                        }
                        if (harness_now_usec() > deadline) {
                                kill(h->pid, SIGKILL);
                                waitpid(h->pid, &status, 0);
                                r = -ETIMEDOUT;
                                break;
                        }
                        /* bounded wait for the child to exit */
                        poll(NULL, 0, 10);
                }
                h->pid = 0;
        }
        if (h->out_fd >= 0)
                close(h->out_fd);
        h->out_fd = -1;
        if (h->dir[0]) {
                unlink(h->bus_path);
                unlink(h->ctl_path);
                snprintf(path, sizeof path, "%s", h->dir);
                rmdir(path);
                h->dir[0] = 0;
        }
        return r;
}

int harness_send(Harness *h, const struct can_frame *f) {
        if (send(h->sock, f, sizeof *f, 0) != (ssize_t) sizeof *f)
                return -errno;
        return 0;
}

int harness_recv(Harness *h, struct can_frame *f, int timeout_ms) {
        uint64_t deadline = harness_now_usec() + (uint64_t) timeout_ms * 1000;

        for (;;) {
                struct pollfd p = { .fd = h->sock, .events = POLLIN };
                int r = poll(&p, 1, remaining_ms(deadline));
                ssize_t k;

                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        return -ETIMEDOUT;
                k = recv(h->sock, f, sizeof *f, 0);
                if (k == (ssize_t) sizeof *f)
                        return 0;
                if (k <= 0)
                        return -EPIPE;
        }
}

int harness_send_buffer(Harness *h, uint8_t dest, uint8_t sender, uint8_t mode, const uint8_t *p, size_t n) {
        VescSegmenter s;
        struct can_frame f;
        int r = vesc_segmenter_init(&s, dest, sender, (VescSendMode) mode, p, n);

        if (r < 0)
                return r;
        while (vesc_segmenter_next(&s, &f) > 0) {
                r = harness_send(h, &f);
                if (r < 0)
                        return r;
        }
        return 0;
}

ssize_t harness_wait_reply(Harness *h, uint8_t cmd, uint8_t *buf, size_t size, uint8_t *ret_from, int timeout_ms) {
        uint64_t deadline = harness_now_usec() + (uint64_t) timeout_ms * 1000;

        for (;;) {
                struct can_frame f;
                VescMessage m;
                int r = harness_recv(h, &f, remaining_ms(deadline));

                if (r < 0)
                        return r;
                r = vesc_reassembler_feed(&h->ra, &f, harness_now_usec(), &m);
                if (r <= 0 || m.len == 0 || m.payload[0] != cmd)
                        continue;
                if (ret_from)
                        *ret_from = m.sender;
                if (m.len > size)
                        return -ENOBUFS;
                memcpy(buf, m.payload, m.len);
                return m.len;
        }
}

ssize_t harness_request(Harness *h, uint8_t dest, const uint8_t *p, size_t n, uint8_t *buf, size_t size,
                        int timeout_ms) {
        int r = harness_send_buffer(h, dest, HARNESS_OWN_ID, 0, p, n);

        if (r < 0)
                return r;
        return harness_wait_reply(h, p[0], buf, size, NULL, timeout_ms);
}

int harness_ping(Harness *h, uint8_t dest, uint8_t from, uint8_t data[8], int timeout_ms) {
        struct can_frame f;
        uint64_t deadline = harness_now_usec() + (uint64_t) timeout_ms * 1000;
        int r;

        vesc_ping_encode(&f, dest, from);
        r = harness_send(h, &f);
        if (r < 0)
                return r;
        for (;;) {
                r = harness_recv(h, &f, remaining_ms(deadline));
                if (r < 0)
                        return r;
                if (f.can_id == vesc_can_id(CAN_PACKET_PONG, from)) {
                        memcpy(data, f.data, 8);
                        return f.can_dlc;
                }
        }
}

int harness_control(Harness *h, const char *cmd, char *buf, size_t size) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        size_t len = 0;
        uint64_t deadline = harness_now_usec() + 5000000u;

        if (fd < 0)
                return -errno;
        if (set_path(&sa, h->ctl_path) < 0 || connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0 || write(fd, cmd, strlen(cmd)) < 0 ||
            write(fd, "\n", 1) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        while (len < size - 1) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                ssize_t k;

                if (poll(&p, 1, remaining_ms(deadline)) <= 0)
                        break;
                k = read(fd, buf + len, size - 1 - len);
                if (k <= 0)
                        break;
                len += (size_t) k;
                if (memchr(buf, '\n', len))
                        break;
        }
        close(fd);
        buf[len] = 0;
        if (len && buf[len - 1] == '\n')
                buf[--len] = 0;
        return len ? 0 : -ETIMEDOUT;
}

int harness_wait_status(Harness *h, const char *needle, int timeout_ms) {
        uint64_t deadline = harness_now_usec() + (uint64_t) timeout_ms * 1000;
        char buf[8192];

        for (;;) {
                if (harness_control(h, "status", buf, sizeof buf) == 0 && strstr(buf, needle))
                        return 0;
                if (harness_now_usec() > deadline)
                        return -ETIMEDOUT;
                /* poll the control socket every 20 ms; bounded by the deadline */
                poll(NULL, 0, 20);
        }
}
