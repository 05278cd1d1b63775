/* simbus_new_socketcan() on vcan0 (run inside the test VM, tools/vm/vm-run, by test-socketcan.sh):
 * two local ports see each other's frames although the kernel does not
 * echo them to their socket; candump on the interface sees what a port
 * sends; a frame injected with cansend reaches both ports; a burst goes out
 * complete and in order.  Exit 77 when there is no vcan0 here. */

#include <errno.h>
#include <fcntl.h>
#include <linux/can/raw.h>
#include <net/if.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "macro.h"
#include "simbus.h"

#define IFACE "vcan0"
#define BURST 500
#define WAIT_SEC 20

extern char **environ;

typedef struct Port {
        SimPort *port;
        struct can_frame got[BURST + 8];
        unsigned n_got;
} Port;

#define FAIL(...)                                                   \
        do {                                                        \
                fprintf(stderr, "FAIL line %d: ", __LINE__);        \
                fprintf(stderr, __VA_ARGS__);                       \
                fputc('\n', stderr);                                \
                exit(1);                                            \
        } while (0)

static void on_recv(void *userdata, const struct can_frame *f) {
        Port *p = userdata;

        if (p->n_got < ELEMENTSOF(p->got))
                p->got[p->n_got++] = *f;
}

static uint64_t mono_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

/* Run the loop until *counter reaches n; bounded. */
static void wait_count(struct event_base *base, const unsigned *counter, unsigned n, const char *what) {
        uint64_t deadline = mono_usec() + WAIT_SEC * USEC_PER_SEC;
        struct timeval tick = { .tv_usec = 10000 };

        while (*counter < n) {
                if (mono_usec() > deadline)
                        FAIL("timed out waiting for %s (%u of %u)", what, *counter, n);
                (void) event_base_loopexit(base, &tick);
                (void) event_base_loop(base, EVLOOP_ONCE);
        }
}

static bool frame_eq(const struct can_frame *a, const struct can_frame *b) {
        return a->can_id == b->can_id && a->can_dlc == b->can_dlc && memcmp(a->data, b->data, a->can_dlc) == 0;
}

/* Receivers the kernel has registered on IFACE: how we know candump has
 * bound its socket before anything is sent. */
static unsigned count_receivers(void) {
        FILE *f = fopen("/proc/net/can/rcvlist_all", "re");
        char line[256];
        unsigned n = 0;

        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f))
                if (strstr(line, IFACE))
                        n++;
        fclose(f);
        return n;
}

static pid_t spawn(char *const argv[], int stdout_fd) {
        posix_spawn_file_actions_t fa;
        pid_t pid;
        int r;

        posix_spawn_file_actions_init(&fa);
        if (stdout_fd >= 0)
                posix_spawn_file_actions_adddup2(&fa, stdout_fd, STDOUT_FILENO);
        r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                FAIL("cannot run %s: %s", argv[0], strerror(r));
        return pid;
}

static int wait_exit(pid_t pid) {
        int status;

        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
                return -1;
        return WEXITSTATUS(status);
}

int main(void) {
        struct event_base *base;
        SimBus *bus = NULL;
        Port *p = calloc(1, sizeof(Port)), *q = calloc(1, sizeof(Port));
        struct can_frame ping = { .can_id = 0x110C | CAN_EFF_FLAG, .can_dlc = 1, .data = { 0xFD } };
        struct can_frame status = { .can_id = 0x090A | CAN_EFF_FLAG, .can_dlc = 8, .data = { 1, 2, 3, 4, 5, 6, 7, 8 } };
        char *candump_argv[] = { (char *) "candump", (char *) "-L", (char *) "-n", (char *) "2", (char *) IFACE, NULL };
        char *cansend_argv[] = { (char *) "cansend", (char *) IFACE, (char *) "0000090A#0102030405060708", NULL };
        char out[512] = "";
        size_t out_len = 0;
        unsigned before;
        int pipefd[2], obs, r;
        pid_t dump_pid;
        SimBusStats st;

        if (if_nametoindex(IFACE) == 0) {
                printf("SKIP: no %s here\n", IFACE);
                return 77;
        }
        base = event_base_new();
        if (!base || !p || !q)
                FAIL("out of memory");
        r = simbus_new_socketcan(base, IFACE, &bus);
        if (r == -EAFNOSUPPORT) {
                printf("SKIP: no kernel CAN support\n");
                return 77;
        }
        if (r < 0)
                FAIL("simbus_new_socketcan: %s", strerror(-r));
        if (simbus_attach(bus, on_recv, p, &p->port) < 0 || simbus_attach(bus, on_recv, q, &q->port) < 0)
                FAIL("simbus_attach");

        /* An independent observer on the interface, like candump. */
        obs = socket(PF_CAN, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, CAN_RAW);
        {
                struct sockaddr_can sa = { .can_family = AF_CAN, .can_ifindex = (int) if_nametoindex(IFACE) };
                int big = 8 * 1024 * 1024;

                if (obs < 0 || bind(obs, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                        FAIL("observer socket: %m");
                /* Root in the test VM: room for the whole burst below. */
                (void) setsockopt(obs, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
        }

        /* candump, bound before anything is sent. */
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                FAIL("pipe: %m");
        before = count_receivers();
        dump_pid = spawn(candump_argv, pipefd[1]);
        close(pipefd[1]);
        {
                uint64_t deadline = mono_usec() + WAIT_SEC * USEC_PER_SEC;

                while (count_receivers() <= before) {
                        struct timespec ts = { .tv_nsec = 10 * 1000 * 1000 };

                        if (mono_usec() > deadline)
                                FAIL("candump did not bind to %s", IFACE);
                        nanosleep(&ts, NULL);
                }
        }

        /* A port's frame: the other port gets it from us, the interface
         * from the kernel; the sender does not hear itself. */
        if (simport_send(p->port, &ping) < 0)
                FAIL("simport_send");
        wait_count(base, &q->n_got, 1, "local delivery");
        if (!frame_eq(&q->got[0], &ping))
                FAIL("q got the wrong frame");

        /* A frame from outside reaches both ports. */
        if (wait_exit(spawn(cansend_argv, -1)) != 0)
                FAIL("cansend failed");
        wait_count(base, &p->n_got, 1, "cansend frame at p");
        wait_count(base, &q->n_got, 2, "cansend frame at q");
        if (!frame_eq(&p->got[0], &status) || !frame_eq(&q->got[1], &status))
                FAIL("ports got the wrong frame from cansend");

        /* candump saw exactly the port's frame and cansend's, in order. */
        for (;;) {
                ssize_t n = read(pipefd[0], out + out_len, sizeof(out) - 1 - out_len);

                if (n <= 0)
                        break;
                out_len += (size_t) n;
        }
        out[out_len] = '\0';
        if (wait_exit(dump_pid) != 0)
                FAIL("candump failed");
        {
                const char *l1 = strstr(out, " " IFACE " 0000110C#FD\n");
                const char *l2 = strstr(out, " " IFACE " 0000090A#0102030405060708\n");

                if (!l1 || !l2 || l2 < l1)
                        FAIL("candump log unexpected:\n%s", out);
        }

        /* A burst: complete and in order at the other port and on the wire
         * (a full kernel queue is retried, never dropped). */
        for (unsigned i = 0; i < BURST; i++) {
                struct can_frame f = { .can_id = (0x0100 + i) | CAN_EFF_FLAG, .can_dlc = 2, .data = { (uint8_t) i, (uint8_t) (i >> 8) } };

                if (simport_send(q->port, &f) < 0)
                        FAIL("simport_send %u", i);
        }
        wait_count(base, &p->n_got, 1 + BURST, "burst at p");
        {
                unsigned seen = 0;
                uint64_t deadline = mono_usec() + WAIT_SEC * USEC_PER_SEC;

                /* The observer has the ping and cansend's frame first. */
                while (seen < 2 + BURST) {
                        struct can_frame f;
                        struct timeval tick = { .tv_usec = 10000 };

                        if (read(obs, &f, sizeof(f)) == (ssize_t) sizeof(f)) {
                                if (seen >= 2 && f.can_id != ((0x0100 + seen - 2) | CAN_EFF_FLAG))
                                        FAIL("burst frame %u out of order: %08x", seen - 2, f.can_id);
                                seen++;
                                continue;
                        }
                        if (mono_usec() > deadline)
                                FAIL("observer saw %u of %u frames", seen, 2 + BURST);
                        /* Let the TX retry timer run. */
                        (void) event_base_loopexit(base, &tick);
                        (void) event_base_loop(base, EVLOOP_ONCE);
                }
        }
        for (unsigned i = 0; i < BURST; i++)
                if (p->got[1 + i].can_id != ((0x0100 + i) | CAN_EFF_FLAG))
                        FAIL("p: burst frame %u out of order", i);
        if (q->n_got != 2)
                FAIL("q heard its own frames (%u)", q->n_got);

        simbus_get_stats(bus, &st);
        if (st.tx_errors != 0 || st.dropped_queue != 0)
                FAIL("frames lost: tx_errors=%llu dropped_queue=%llu", (unsigned long long) st.tx_errors,
                     (unsigned long long) st.dropped_queue);
        printf("ok: frames=%llu tx_retries=%llu\n", (unsigned long long) st.frames, (unsigned long long) st.tx_retries);

        close(obs);
        close(pipefd[0]);
        simbus_free(bus);
        event_base_free(base);
        free(p);
        free(q);
        return 0;
}
