/* test-hub: a vbus hub for scripted tests.  Creates the hub at PATH and
 * reports on stdout, one line each: "ready", then "members N" whenever a
 * member joins or leaves.  Commands on stdin, one per line:
 *   busoff USEC   simulate a bus-off (answers "ok")
 *   stats         print "stats frames=… bits=… dropped_members=… invalid=…
 *                 dropped_bus_off=… members=…"
 *   quit          exit (so does EOF on stdin)
 * Usage: test-hub PATH [BITRATE] */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "macro.h"
#include "simbus.h"

typedef struct Hub {
        struct event_base *base;
        SimBus *bus;
        char line[256];
        size_t len;
} Hub;

static void on_members(void *userdata _unused_, unsigned members) {
        printf("members %u\n", members);
        fflush(stdout);
}

static void run_command(Hub *h, const char *cmd) {
        unsigned long long usec;

        if (sscanf(cmd, "busoff %llu", &usec) == 1) {
                int r = simbus_bus_off(h->bus, usec);

                printf(r < 0 ? "error %s\n" : "ok\n", strerror(-r));
        } else if (strcmp(cmd, "stats") == 0) {
                SimBusStats st;

                simbus_get_stats(h->bus, &st);
                printf("stats frames=%" PRIu64 " bits=%" PRIu64 " dropped_members=%" PRIu64
                       " invalid=%" PRIu64 " dropped_bus_off=%" PRIu64 " members=%u\n",
                       st.frames, st.bits, st.dropped_members, st.invalid, st.dropped_bus_off, st.members);
        } else if (strcmp(cmd, "quit") == 0)
                (void) event_base_loopbreak(h->base);
        else
                printf("error unknown command\n");
        fflush(stdout);
}

static void on_stdin(evutil_socket_t fd, short what _unused_, void *userdata) {
        Hub *h = userdata;
        ssize_t n = read(fd, h->line + h->len, sizeof(h->line) - 1 - h->len);
        char *nl;

        if (n <= 0) {
                (void) event_base_loopbreak(h->base);
                return;
        }
        h->len += (size_t) n;
        h->line[h->len] = '\0';
        while ((nl = strchr(h->line, '\n'))) {
                *nl = '\0';
                run_command(h, h->line);
                h->len -= (size_t) (nl + 1 - h->line);
                memmove(h->line, nl + 1, h->len + 1);
        }
        if (h->len == sizeof(h->line) - 1)
                h->len = 0; /* overlong line: drop it */
}

int main(int argc, char *argv[]) {
        Hub h = {};
        struct event *ev = NULL;
        uint32_t bitrate = 0;
        int r;

        if (argc < 2 || argc > 3) {
                fprintf(stderr, "Usage: test-hub PATH [BITRATE]\n");
                return 2;
        }
        if (argc == 3)
                bitrate = (uint32_t) strtoul(argv[2], NULL, 10);

        h.base = event_base_new();
        if (!h.base)
                return 1;
        r = simbus_new_hub(h.base, argv[1], bitrate, &h.bus);
        if (r < 0) {
                fprintf(stderr, "test-hub: cannot create hub at '%s': %s\n", argv[1], strerror(-r));
                event_base_free(h.base);
                return 1;
        }
        simbus_set_members_handler(h.bus, on_members, &h);
        ev = event_new(h.base, STDIN_FILENO, EV_READ | EV_PERSIST, on_stdin, &h);
        if (!ev || event_add(ev, NULL) < 0)
                return 1;

        printf("ready\n");
        fflush(stdout);
        (void) event_base_dispatch(h.base);

        event_free(ev);
        h.bus = simbus_free(h.bus);
        event_base_free(h.base);
        return 0;
}
