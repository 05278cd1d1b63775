/* The JSON listener yields to the other clients under a connection flood
 * (issue 15, log flood): libevent's listener accepts until accept() says
 * EAGAIN, so a peer connecting as fast as the daemon accepts kept every
 * other client's request waiting.  json-server.c takes a bounded number of
 * connections per loop iteration.
 *
 * Deterministic, no clock: the test drives the event loop one iteration at a
 * time.  A served client X sends a request while 100 connections wait in the
 * listen queue; the server (max-clients 1: X) refuses each flood connection
 * at once with a line, so the number of flood sockets holding a line shows
 * how many it took.  When X's answer is out, most must still wait. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "json/json-server.h"

#define FLOOD 100 /* below the listener's backlog (128), so every connect() is queued */
#define MAX_ITERATIONS 1000

static int connect_to(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_true(strlen(path) < sizeof sa.sun_path);
        strcpy(sa.sun_path, path);
        assert_int_equal(connect(fd, (struct sockaddr *) &sa, sizeof sa), 0);
        return fd;
}

static bool readable(int fd) {
        struct pollfd p = { .fd = fd, .events = POLLIN };

        return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

/* Runs loop iterations until fd is readable; returns how many it took. */
static int run_until_readable(struct event_base *base, int fd) {
        int n = 0;

        while (!readable(fd) && n < MAX_ITERATIONS) {
                assert_true(event_base_loop(base, EVLOOP_ONCE) >= 0);
                n++;
        }
        assert_true(readable(fd));
        return n;
}

/* Reads what is there (one or more whole lines, each a reply or a notification). */
static void read_all(int fd, char *buf, size_t size) {
        ssize_t n = recv(fd, buf, size - 1, MSG_DONTWAIT);

        assert_true(n > 0);
        buf[n] = '\0';
}

static unsigned count_readable(const int *fds, size_t n) {
        unsigned k = 0;

        for (size_t i = 0; i < n; i++)
                k += readable(fds[i]);
        return k;
}

static void test_listener_yields_to_clients(void **state) {
        static const char request[] = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"no.such.method\"}\n";
        char dir[] = "/tmp/test-accept-fairness.XXXXXX", path[128], buf[4096];
        JsonServerConfig cfg = { .max_clients = 1, .version = "test" };
        JsonServerOps ops = {};
        struct event_base *base;
        JsonServer *server = NULL;
        int x, flood[FLOOD];
        unsigned taken;
        int iterations;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/json.sock", dir);
        cfg.socket_path = path;
        base = event_base_new();
        assert_non_null(base);
        assert_int_equal(json_server_new_with_ops(base, &cfg, &ops, NULL, &server), 0);

        /* X is connected and greeted */
        x = connect_to(path);
        run_until_readable(base, x);
        read_all(x, buf, sizeof buf);
        assert_non_null(strstr(buf, "\"hello\""));

        /* the flood waits in the listen queue; X asks something */
        for (size_t i = 0; i < FLOOD; i++)
                flood[i] = connect_to(path);
        assert_int_equal(send(x, request, strlen(request), MSG_NOSIGNAL), (ssize_t) strlen(request));

        iterations = run_until_readable(base, x);
        taken = count_readable(flood, FLOOD);
        read_all(x, buf, sizeof buf);
        print_message("X answered after %d loop iterations, %u of %d flood connections taken by then\n",
                      iterations, taken, FLOOD);
        assert_non_null(strstr(buf, "\"id\":7"));
        /* before the fix: all of them, in the first iteration */
        assert_true(taken < FLOOD);
        assert_true(taken > 0);

        /* and the rest are still taken (each refused: max-clients is X) */
        for (int i = 0; i < MAX_ITERATIONS && count_readable(flood, FLOOD) < FLOOD; i++)
                assert_true(event_base_loop(base, EVLOOP_ONCE) >= 0);
        assert_int_equal(count_readable(flood, FLOOD), FLOOD);
        read_all(flood[FLOOD - 1], buf, sizeof buf);
        assert_non_null(strstr(buf, "TooManyClients"));

        for (size_t i = 0; i < FLOOD; i++)
                close(flood[i]);
        close(x);
        json_server_free(server);
        event_base_free(base);
        (void) rmdir(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_listener_yields_to_clients),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
