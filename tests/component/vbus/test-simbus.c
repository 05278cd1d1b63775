/* The vbus hub and the join kind, driven in one process: the test's own
 * members are plain SOCK_SEQPACKET sockets on the same libevent base as the
 * hub, so every wait is "loop until this condition holds", bounded by a
 * deadline, never a sleep. */

#include <errno.h>
#include <fcntl.h>
#include <linux/can/error.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "canbits.h"
#include "macro.h"
#include "simbus.h"

#define MAX_GOT 4096
#define WAIT_USEC (20 * USEC_PER_SEC) /* generous: sanitizers, busy machines */

typedef struct Ctx Ctx;

typedef struct Peer {
        Ctx *ctx;
        int fd;                 /* member socket, or -1 for a local port */
        struct event *ev;
        SimPort *port;
        struct can_frame got[MAX_GOT];
        uint64_t when[MAX_GOT]; /* CLOCK_MONOTONIC ns of arrival */
        unsigned n_got;
        /* Port tests: reply with `reply` when a frame with id `reply_to` arrives. */
        uint32_t reply_to;
        struct can_frame reply;
        SimPort **free_on_recv;
} Peer;

struct Ctx {
        char dir[256];
        char path[300];
        struct event_base *base;
        SimBus *hub;
        unsigned members;
};

static uint64_t mono_nsec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static void on_members(void *userdata, unsigned members) {
        Ctx *c = userdata;

        c->members = members;
}

static int setup(void **state) {
        Ctx *c = calloc(1, sizeof(*c));
        const char *tmp = getenv("TMPDIR");

        assert_non_null(c);
        snprintf(c->dir, sizeof(c->dir), "%s/test-simbus.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        assert_non_null(mkdtemp(c->dir));
        snprintf(c->path, sizeof(c->path), "%s/hub", c->dir);
        c->base = event_base_new();
        assert_non_null(c->base);
        *state = c;
        return 0;
}

static int teardown(void **state) {
        Ctx *c = *state;

        c->hub = simbus_free(c->hub);
        event_base_free(c->base);
        (void) unlink(c->path);
        (void) rmdir(c->dir);
        free(c);
        return 0;
}

static void start_hub(Ctx *c, uint32_t bitrate) {
        assert_int_equal(simbus_new_hub(c->base, c->path, bitrate, &c->hub), 0);
        simbus_set_members_handler(c->hub, on_members, c);
}

typedef bool (*CondFn)(Ctx *c, const void *arg);

static void on_deadline(evutil_socket_t fd _unused_, short what _unused_, void *userdata) {
        *(bool *) userdata = true;
}

/* Run the loop until cond holds; fail the test after WAIT_USEC. */
#define wait_for(c, cond, arg) wait_for_at(c, cond, arg, __LINE__)
static void wait_for_at(Ctx *c, CondFn cond, const void *arg, int line) {
        bool expired = false;
        struct event *ev = evtimer_new(c->base, on_deadline, &expired);
        struct timeval tv = { .tv_sec = WAIT_USEC / USEC_PER_SEC };

        assert_non_null(ev);
        evtimer_add(ev, &tv);
        while (!cond(c, arg) && !expired)
                event_base_loop(c->base, EVLOOP_ONCE);
        event_free(ev);
        if (!cond(c, arg))
                fail_msg("condition at line %d not reached", line);
}

static bool cond_members(Ctx *c, const void *arg) {
        return c->members == *(const unsigned *) arg;
}

typedef struct GotArg {
        const Peer *peer;
        unsigned n;
} GotArg;

static bool cond_got(Ctx *c _unused_, const void *arg) {
        const GotArg *g = arg;

        return g->peer->n_got >= g->n;
}

static void record(Peer *p, const struct can_frame *f) {
        assert_true(p->n_got < MAX_GOT);
        p->when[p->n_got] = mono_nsec();
        p->got[p->n_got++] = *f;
}

static void on_member_read(evutil_socket_t fd, short what _unused_, void *userdata) {
        Peer *p = userdata;
        struct can_frame f;

        while (recv(fd, &f, sizeof(f), MSG_DONTWAIT) == (ssize_t) sizeof(f))
                record(p, &f);
}

static void member_join(Ctx *c, Peer *p, bool reading) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        unsigned want = c->members + 1;

        p->ctx = c;
        strcpy(sa.sun_path, c->path);
        p->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        assert_true(p->fd >= 0);
        assert_int_equal(connect(p->fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(fcntl(p->fd, F_SETFL, O_NONBLOCK), 0);
        if (reading) {
                p->ev = event_new(c->base, p->fd, EV_READ | EV_PERSIST, on_member_read, p);
                event_add(p->ev, NULL);
        }
        /* Connected is not yet accepted: wait until the hub counts us. */
        wait_for(c, cond_members, &want);
}

static void member_leave(Peer *p) {
        if (p->ev)
                event_free(p->ev);
        p->ev = NULL;
        p->fd = safe_close(p->fd);
}

static void on_port_recv(void *userdata, const struct can_frame *f) {
        Peer *p = userdata;

        record(p, f);
        if (p->free_on_recv)
                *p->free_on_recv = simport_free(*p->free_on_recv);
        if (p->reply.can_dlc > 0 && f->can_id == p->reply_to)
                assert_int_equal(simport_send(p->port, &p->reply), 0);
}

static void port_attach(SimBus *bus, Peer *p) {
        p->fd = -1;
        assert_int_equal(simbus_attach(bus, on_port_recv, p, &p->port), 0);
}

/* Wait until the peer got n frames in all. */
#define wait_got(c, p, n) wait_got_at(c, p, n, __LINE__)
static void wait_got_at(Ctx *c, Peer *p, unsigned n, int line) {
        GotArg g = { .peer = p, .n = n };

        wait_for_at(c, cond_got, &g, line);
}

static struct can_frame mkframe(uint32_t id, uint8_t dlc, uint8_t seed) {
        struct can_frame f = { .can_id = id | CAN_EFF_FLAG, .can_dlc = dlc };

        for (unsigned i = 0; i < dlc; i++)
                f.data[i] = (uint8_t) (seed + i * 37);
        return f;
}

/* Send from a member; a full socket makes us run the loop, never drop. */
static void member_send(Ctx *c, Peer *p, const void *buf, size_t len) {
        while (send(p->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
                assert_true(errno == EAGAIN || errno == ENOBUFS);
                event_base_loop(c->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        }
}

static void assert_frame_equal(const struct can_frame *a, const struct can_frame *b) {
        assert_memory_equal(a, b, sizeof(*a));
}

/* ------------------------------------------------------------------------ */

static void test_relay_order(void **state) {
        Ctx *c = *state;
        Peer *a = calloc(1, sizeof(Peer)), *b = calloc(1, sizeof(Peer)), *m3 = calloc(1, sizeof(Peer));
        Peer *p = calloc(1, sizeof(Peer)), *q = calloc(1, sizeof(Peer));
        SimBusStats st;
        const unsigned n = 200;

        start_hub(c, 0);
        member_join(c, a, true);
        member_join(c, b, true);
        member_join(c, m3, true);
        port_attach(c->hub, p);
        port_attach(c->hub, q);

        /* q answers frame 0x0ABC at once, from inside its callback. */
        q->reply_to = 0x0ABC | CAN_EFF_FLAG;
        q->reply = mkframe(0x0DEF, 2, 9);

        for (unsigned i = 0; i < n; i++) {
                struct can_frame f = mkframe(i == 100 ? 0x0ABC : i, (uint8_t) (i % 9), (uint8_t) i);

                member_send(c, a, &f, sizeof(f));
        }
        /* n frames from a, plus q's reply. */
        wait_got(c, b, n + 1);
        wait_got(c, m3, n + 1);
        wait_got(c, p, n + 1);
        wait_got(c, q, n);

        for (unsigned i = 0, k = 0; i < n; i++, k++) {
                struct can_frame f = mkframe(i == 100 ? 0x0ABC : i, (uint8_t) (i % 9), (uint8_t) i);

                assert_frame_equal(&b->got[k], &f);
                assert_frame_equal(&m3->got[k], &f);
                assert_frame_equal(&p->got[k], &f);
                assert_frame_equal(&q->got[i], &f);
                if (i == 100) {
                        /* The reply follows the frame it answers everywhere. */
                        k++;
                        assert_frame_equal(&b->got[k], &q->reply);
                        assert_frame_equal(&m3->got[k], &q->reply);
                        assert_frame_equal(&p->got[k], &q->reply);
                }
        }

        /* A port's frame reaches all members and the other port. */
        struct can_frame g = mkframe(0x1234, 8, 1);
        assert_int_equal(simport_send(p->port, &g), 0);
        /* a, the sender of 0x0ABC, did get q's reply to it. */
        wait_got(c, a, 2);
        wait_got(c, q, n + 1);
        assert_frame_equal(&a->got[0], &q->reply);
        assert_frame_equal(&a->got[1], &g);
        assert_frame_equal(&q->got[n], &g);
        wait_got(c, b, n + 2);
        assert_frame_equal(&b->got[n + 1], &g);

        /* Never back to the sender: a got only the ports' frames. */
        wait_got(c, m3, n + 2);
        assert_int_equal(a->n_got, 2);
        assert_int_equal(p->n_got, n + 1);
        assert_int_equal(q->n_got, n + 1);

        simbus_get_stats(c->hub, &st);
        assert_int_equal(st.frames, n + 2);
        assert_int_equal(st.members, 3);
        assert_int_equal(st.dropped_members, 0);

        /* A member that leaves is removed. */
        unsigned want = 2;
        member_leave(m3);
        wait_for(c, cond_members, &want);

        member_leave(a);
        member_leave(b);
        simport_free(p->port);
        simport_free(q->port);
        free(a), free(b), free(m3), free(p), free(q);
}

static void test_invalid_sizes(void **state) {
        Ctx *c = *state;
        Peer *a = calloc(1, sizeof(Peer)), *b = calloc(1, sizeof(Peer));
        uint8_t junk[32] = { 1, 2, 3 };
        struct can_frame bad = mkframe(5, 8, 0), good = mkframe(6, 3, 1);
        SimBusStats st;

        start_hub(c, 0);
        member_join(c, a, true);
        member_join(c, b, true);

        member_send(c, a, junk, 8);
        member_send(c, a, junk, 17);
        member_send(c, a, junk, 32);
        bad.can_dlc = 9;
        member_send(c, a, &bad, sizeof(bad));
        /* Garbage in the unused bytes is cleared, not relayed. */
        good.data[5] = 0xEE;
        good.__pad = 0x55;
        member_send(c, a, &good, sizeof(good));

        wait_got(c, b, 1);
        good.data[5] = 0;
        good.__pad = 0;
        assert_frame_equal(&b->got[0], &good);
        simbus_get_stats(c->hub, &st);
        assert_int_equal(st.invalid, 4);
        assert_int_equal(st.frames, 1);

        member_leave(a);
        member_leave(b);
        free(a), free(b);
}

static void test_slow_member(void **state) {
        Ctx *c = *state;
        Peer *a = calloc(1, sizeof(Peer)), *b = calloc(1, sizeof(Peer)), *slow = calloc(1, sizeof(Peer));
        const unsigned n = 3000;
        uint64_t drops[4];
        unsigned queued = 0;
        struct can_frame f;
        SimBusStats st;

        start_hub(c, 0);
        member_join(c, a, true);
        member_join(c, slow, /* reading= */ false);
        member_join(c, b, true);

        for (unsigned i = 0; i < n; i++) {
                f = mkframe(i, 8, (uint8_t) i);
                member_send(c, a, &f, sizeof(f));
        }
        wait_got(c, b, n);
        for (unsigned i = 0; i < n; i++) {
                f = mkframe(i, 8, (uint8_t) i);
                assert_frame_equal(&b->got[i], &f);
        }

        assert_int_equal(simbus_get_member_drops(c->hub, drops, ELEMENTSOF(drops)), 3);
        assert_int_equal(drops[0], 0);
        assert_int_equal(drops[2], 0);
        assert_true(drops[1] > 0);
        simbus_get_stats(c->hub, &st);
        assert_int_equal(st.dropped_members, drops[1]);

        /* What the slow member has is the first frames, in order; the rest
         * is exactly what was counted as lost. */
        while (recv(slow->fd, &f, sizeof(f), MSG_DONTWAIT) == (ssize_t) sizeof(f)) {
                struct can_frame e = mkframe(queued, 8, (uint8_t) queued);

                assert_frame_equal(&f, &e);
                queued++;
        }
        assert_int_equal(queued + drops[1], n);

        member_leave(a);
        member_leave(b);
        member_leave(slow);
        free(a), free(b), free(slow);
}

static void test_pacing(void **state) {
        Ctx *c = *state;
        Peer *a = calloc(1, sizeof(Peer)), *b = calloc(1, sizeof(Peer)), *p = calloc(1, sizeof(Peer));
        const uint32_t bitrate = 500000;
        const unsigned n = 60;
        uint64_t t0, bits = 0;
        SimBusStats st;

        start_hub(c, bitrate);
        member_join(c, a, true);
        member_join(c, b, true);
        port_attach(c->hub, p);

        t0 = mono_nsec();
        for (unsigned i = 0; i < n; i++) {
                struct can_frame f = mkframe(0x0900 | i, (uint8_t) (i % 9), (uint8_t) (i * 7));

                bits += can_frame_wire_bits(&f);
                if (i % 2)
                        member_send(c, a, &f, sizeof(f));
                else
                        assert_int_equal(simport_send(p->port, &f), 0);
        }
        wait_got(c, b, n);

        /* Lower bounds only: frame i never arrives before every frame up
         * to it could have crossed a real 500 kbit/s wire. */
        uint64_t cum = 0;
        for (unsigned i = 0; i < n; i++) {
                cum += can_frame_wire_bits(&b->got[i]);
                assert_true(b->when[i] - t0 >= cum * 1000000000u / bitrate);
        }
        assert_int_equal(cum, bits);
        simbus_get_stats(c->hub, &st);
        assert_int_equal(st.frames, n);
        assert_int_equal(st.bits, bits);

        member_leave(a);
        member_leave(b);
        simport_free(p->port);
        free(a), free(b), free(p);
}

static bool cond_bus_off_drop(Ctx *c, const void *arg) {
        SimBusStats st;

        simbus_get_stats(c->hub, &st);
        return st.dropped_bus_off >= *(const uint64_t *) arg;
}

static void test_bus_off(void **state) {
        Ctx *c = *state;
        Peer *a = calloc(1, sizeof(Peer)), *b = calloc(1, sizeof(Peer)), *p = calloc(1, sizeof(Peer));
        struct can_frame x = mkframe(0x111, 4, 1), y = mkframe(0x222, 4, 2);
        uint64_t two = 2;

        start_hub(c, 500000);
        member_join(c, a, true);
        member_join(c, b, true);
        port_attach(c->hub, p);

        assert_int_equal(simbus_bus_off(c->hub, 1500 * USEC_PER_MSEC), 0);
        wait_got(c, b, 1);
        wait_got(c, p, 1);
        wait_got(c, a, 1);
        for (Peer *q = a; q; q = q == a ? b : q == b ? p : NULL) {
                assert_int_equal(q->got[0].can_id, CAN_ERR_FLAG | CAN_ERR_BUSOFF);
                assert_int_equal(q->got[0].can_dlc, CAN_ERR_DLC);
        }

        /* Meanwhile every frame is lost. */
        assert_int_equal(simport_send(p->port, &x), -ENETDOWN);
        member_send(c, a, &x, sizeof(x));
        wait_for(c, cond_bus_off_drop, &two);

        wait_got(c, b, 2);
        assert_int_equal(b->got[1].can_id, CAN_ERR_FLAG | CAN_ERR_RESTARTED);
        assert_int_equal(b->got[1].can_dlc, CAN_ERR_DLC);
        wait_got(c, p, 2);
        assert_int_equal(p->got[1].can_id, CAN_ERR_FLAG | CAN_ERR_RESTARTED);

        /* And afterwards the bus carries frames again. */
        member_send(c, a, &y, sizeof(y));
        wait_got(c, b, 3);
        assert_frame_equal(&b->got[2], &y);
        assert_int_equal(simport_send(p->port, &y), 0);
        wait_got(c, a, 3);
        assert_frame_equal(&a->got[2], &y);

        member_leave(a);
        member_leave(b);
        simport_free(p->port);
        free(a), free(b), free(p);
}

static void test_join(void **state) {
        Ctx *c = *state;
        Peer *a = calloc(1, sizeof(Peer)), *hp = calloc(1, sizeof(Peer));
        Peer *j1 = calloc(1, sizeof(Peer)), *j2 = calloc(1, sizeof(Peer));
        struct can_frame f1 = mkframe(0x0101, 8, 1), f2 = mkframe(0x0202, 1, 2), f3 = mkframe(0x0303, 0, 3);
        SimBus *join = NULL;
        SimBusStats st;
        unsigned two = 2;

        start_hub(c, 0);
        port_attach(c->hub, hp);
        assert_int_equal(simbus_new_join(c->base, c->path, &join), 0);
        assert_int_equal(simbus_bus_off(join, 1), -EOPNOTSUPP);
        port_attach(join, j1);
        port_attach(join, j2);
        unsigned one_member = 1;
        wait_for(c, cond_members, &one_member);
        member_join(c, a, true);
        assert_int_equal(c->members, two);

        /* A joined port's frame: to its sibling at once, to the hub's
         * members and ports through the hub. */
        assert_int_equal(simport_send(j1->port, &f1), 0);
        wait_got(c, j2, 1);
        wait_got(c, a, 1);
        wait_got(c, hp, 1);
        assert_frame_equal(&j2->got[0], &f1);
        assert_frame_equal(&a->got[0], &f1);
        assert_frame_equal(&hp->got[0], &f1);

        member_send(c, a, &f2, sizeof(f2));
        wait_got(c, j1, 1);
        wait_got(c, j2, 2);
        wait_got(c, hp, 2);
        assert_frame_equal(&j1->got[0], &f2);
        assert_frame_equal(&j2->got[1], &f2);

        assert_int_equal(simport_send(hp->port, &f3), 0);
        wait_got(c, j1, 2);
        wait_got(c, j2, 3);
        wait_got(c, a, 2);
        assert_frame_equal(&j1->got[1], &f3);
        assert_frame_equal(&a->got[1], &f3);

        /* The sender never hears itself back through the hub. */
        assert_int_equal(j1->n_got, 2);
        assert_int_equal(hp->n_got, 2);
        simbus_get_stats(join, &st);
        assert_int_equal(st.frames, 3);
        assert_int_equal(st.tx_errors, 0);

        join = simbus_free(join); /* frees j1, j2's ports */
        unsigned one = 1;
        wait_for(c, cond_members, &one);
        member_leave(a);
        simport_free(hp->port);
        free(a), free(hp), free(j1), free(j2);
}

static void on_closed(void *userdata, int error) {
        *(int *) userdata = error == 0 ? 1 : error;
}

static bool cond_flag(Ctx *c _unused_, const void *arg) {
        return *(const int *) arg != 0;
}

static void test_join_closed(void **state) {
        Ctx *c = *state;
        SimBus *join = NULL;
        int closed = 0;

        assert_int_equal(simbus_new_join(c->base, c->path, &join), -ENOENT);
        start_hub(c, 0);
        assert_int_equal(simbus_new_join(c->base, c->path, &join), 0);
        simbus_set_closed_handler(join, on_closed, &closed);
        c->hub = simbus_free(c->hub);
        wait_for(c, cond_flag, &closed);
        assert_int_equal(closed, 1);
        simbus_free(join);
}

static void test_port_free_in_callback(void **state) {
        Ctx *c = *state;
        Peer *p = calloc(1, sizeof(Peer)), *q = calloc(1, sizeof(Peer)), *r = calloc(1, sizeof(Peer));
        struct can_frame f = mkframe(1, 1, 1);

        start_hub(c, 0);
        port_attach(c->hub, p);
        port_attach(c->hub, q);
        port_attach(c->hub, r);
        q->free_on_recv = &r->port; /* q frees r, the next port, mid-delivery */
        assert_int_equal(simport_send(p->port, &f), 0);
        assert_int_equal(q->n_got, 1);
        assert_int_equal(r->n_got, 0);
        assert_null(r->port);
        simport_free(p->port);
        simport_free(q->port);
        free(p), free(q), free(r);
}

static void test_stale_socket(void **state) {
        Ctx *c = *state;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        SimBus *second = NULL;
        int fd;

        /* A socket file nobody listens on is replaced... */
        strcpy(sa.sun_path, c->path);
        fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        close(fd);
        start_hub(c, 0);
        /* ...a live hub is not. */
        assert_int_equal(simbus_new_hub(c->base, c->path, 0, &second), -EADDRINUSE);
        /* Freeing the hub removes its socket. */
        c->hub = simbus_free(c->hub);
        assert_int_equal(access(c->path, F_OK), -1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_relay_order, setup, teardown),
                cmocka_unit_test_setup_teardown(test_invalid_sizes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_slow_member, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pacing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bus_off, setup, teardown),
                cmocka_unit_test_setup_teardown(test_join, setup, teardown),
                cmocka_unit_test_setup_teardown(test_join_closed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_port_free_in_callback, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stale_socket, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
