/* A JSON socket server over a fake board, for the adapter's tests: the real
 * json-server.c and json-proto.c, with JsonServerOps served from two fixed controllers
 * (the dual-mismatch pair) whose telemetry ticks at a chosen rate.  No daemon, bus or
 * simulator needed, so the tests can push the server's limits quickly.
 *
 *   json-test-server --socket PATH [--tcp ADDR:PORT] [--rate HZ] [--max-clients N]
 *                    [--stall-ms MS] [--soft-limit BYTES] [--admin-group NAME]
 *                    [--call-delay-ms MS] [--socket-activation]
 *
 * Prints "READY" on stdout once listening; runs until SIGTERM or SIGINT.
 * Fake behaviour: controller.reboot and config.compare answer at once, limits.set
 * after --call-delay-ms (so requests can be in flight), every other daemon method is
 * "not supported yet".  Every second the board and controller A report a change. */

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "json/json-server.h"
#include "macro.h"

#define UUID_A "3c0029000d51393236353934"
#define UUID_B "2f002b001451363336333531"

typedef struct PendingCall PendingCall;

typedef struct Fake {
        struct event_base *base;
        JsonServer *server;
        JsonCtl *ctl[2];         /* the server's state of A and B, kept here as the core would */
        int index[2];            /* "the controllers" handed to the server: 0 and 1 */
        uint64_t tick;
        uint64_t call_delay_usec;
        PendingCall *pending;
} Fake;

struct PendingCall {
        Fake *fake;
        JsonCall *call;
        struct event *timer;
        PendingCall *prev, *next;
};

static void pending_finish(PendingCall *p, int error) {
        Fake *f = p->fake;

        if (p->prev)
                p->prev->next = p->next;
        else
                f->pending = p->next;
        if (p->next)
                p->next->prev = p->prev;
        json_call_complete(p->call, error, error < 0 ? NULL : json_pack("{s:b}", "applied", true));
        event_free(p->timer);
        free(p);
}

static int fake_index(const char *uuid) {
        if (strcmp(uuid, UUID_A) == 0)
                return 0;
        if (strcmp(uuid, UUID_B) == 0)
                return 1;
        return -ENODEV;
}

static json_t *fake_controller(int i) {
        return json_pack("{s:s, s:i, s:s, s:s, s:i, s:s, s:b, s:s}",
                         "uuid", i == 0 ? UUID_A : UUID_B,
                         "id", i == 0 ? 12 : 74,
                         "hw_name", "60",
                         "firmware_version", i == 0 ? "5.03" : "3.58",
                         "firmware_test_build", 0,
                         "firmware_name", "",
                         "online", true,
                         "fault", "NONE");
}

static int op_list(void *userdata, json_t **ret) {
        *ret = json_pack("[o, o]", fake_controller(0), fake_controller(1));
        return *ret ? 0 : -ENOMEM;
}

static int op_get(void *userdata, const char *uuid, json_t **ret) {
        int i = fake_index(uuid);

        if (i < 0)
                return i;
        *ret = fake_controller(i);
        return *ret ? 0 : -ENOMEM;
}

static int op_board(void *userdata, json_t **ret) {
        *ret = json_pack("{s:b, s:[s], s:s, s:i}", "mismatch", true,
                         "mismatch_reasons", "firmware 5.03 \xe2\x89\xa0 3.58",
                         "mismatch_reason", "firmware 5.03 \xe2\x89\xa0 3.58",
                         "controllers", 2);
        return *ret ? 0 : -ENOMEM;
}

static int op_snapshot(void *userdata, void *ctl, json_t **ret) {
        *ret = fake_controller(*(int *) ctl);
        return *ret ? 0 : -ENOMEM;
}

static JsonCtl *op_find(void *userdata, const char *uuid) {
        Fake *f = userdata;
        int i = fake_index(uuid);

        return i < 0 ? NULL : f->ctl[i];
}

static int op_telemetry(void *userdata, void *ctl, json_t **ret, int *ret_id) {
        Fake *f = userdata;
        int i = *(int *) ctl;

        *ret = json_pack("{s:f, s:f, s:f, s:f, s:f, s:I}",
                         "erpm", 1000.0 * (i + 1) + (double) (f->tick % 100),
                         "duty_cycle", 0.1 * (i + 1),
                         "current_motor", 2.5,
                         "voltage_in", 36.6,
                         "temp_fet", 31.5,
                         "tachometer", (json_int_t) f->tick);
        *ret_id = i == 0 ? 12 : 74;
        return *ret ? 0 : -ENOMEM;
}

static int op_job(void *userdata, uint32_t job, json_t **ret) {
        return -ENOENT;
}

static void pending_cb(evutil_socket_t fd, short what, void *userdata) {
        pending_finish(userdata, 0);
}

static int op_call(void *userdata, JsonMethod m, json_t *params, JsonCall *call, json_t **ret) {
        Fake *f = userdata;
        const char *uuid = json_string_value(json_object_get(params, "uuid"));
        PendingCall *p;
        struct timeval tv;

        switch (m) {
        case JSON_METHOD_CONTROLLER_REBOOT:
                if (fake_index(uuid) < 0)
                        return -ENODEV;
                *ret = json_object();
                return 0;
        case JSON_METHOD_CONFIG_COMPARE:
                *ret = json_pack("{s:b, s:[s]}", "equal", false, "differences", "motor configuration signature");
                return 0;
        case JSON_METHOD_LIMITS_SET:
                if (fake_index(uuid) < 0)
                        return -ENODEV;
                p = calloc(1, sizeof(*p));
                if (!p)
                        return -ENOMEM;
                p->call = call;
                p->fake = f;
                p->timer = evtimer_new(f->base, pending_cb, p);
                if (!p->timer) {
                        free(p);
                        return -ENOMEM;
                }
                p->next = f->pending;
                if (p->next)
                        p->next->prev = p;
                tv = (struct timeval) { .tv_sec = (time_t) (f->call_delay_usec / USEC_PER_SEC),
                                        .tv_usec = (suseconds_t) (f->call_delay_usec % USEC_PER_SEC) };
                (void) evtimer_add(p->timer, &tv);
                f->pending = p;
                return 1;
        default:
                return -EOPNOTSUPP;
        }
}

static void tick_cb(evutil_socket_t fd, short what, void *userdata) {
        Fake *f = userdata;

        f->tick++;
        json_server_telemetry(f->server, f->ctl[0], 0, 0);
        json_server_telemetry(f->server, f->ctl[1], 0, 0);
}

static void change_cb(evutil_socket_t fd, short what, void *userdata) {
        Fake *f = userdata;

        json_server_controller_changed(f->server, f->ctl[0]);
        json_server_board_changed(f->server);
}

static void signal_cb(evutil_socket_t fd, short what, void *userdata) {
        event_base_loopbreak(userdata);
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "socket", required_argument, NULL, 's' },
                { "tcp", required_argument, NULL, 't' },
                { "rate", required_argument, NULL, 'r' },
                { "max-clients", required_argument, NULL, 'm' },
                { "stall-ms", required_argument, NULL, 'S' },
                { "soft-limit", required_argument, NULL, 'l' },
                { "admin-group", required_argument, NULL, 'g' },
                { "call-delay-ms", required_argument, NULL, 'd' },
                { "socket-activation", no_argument, NULL, 'A' },
                {}
        };
        JsonServerConfig cfg = { .version = "test" };
        JsonServerOps ops = {
                .list_controllers = op_list,
                .get_controller = op_get,
                .snapshot_controller = op_snapshot,
                .find_controller = op_find,
                .get_board = op_board,
                .get_telemetry = op_telemetry,
                .get_job = op_job,
                .call = op_call,
        };
        Fake f = { .call_delay_usec = 200 * USEC_PER_MSEC, .index = { 0, 1 } };
        double rate = 100.0;
        struct event *tick = NULL, *change = NULL, *sigterm = NULL, *sigint = NULL;
        struct timeval tv;
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 's': cfg.socket_path = optarg; break;
                case 't': cfg.tcp_listen = optarg; break;
                case 'r': rate = atof(optarg); break;
                case 'm': cfg.max_clients = (unsigned) atoi(optarg); break;
                case 'S': cfg.stall_timeout_usec = (uint64_t) atoi(optarg) * USEC_PER_MSEC; break;
                case 'l': cfg.output_soft_limit = (size_t) atoi(optarg); break;
                case 'g': cfg.admin_group = optarg; break;
                case 'd': f.call_delay_usec = (uint64_t) atoi(optarg) * USEC_PER_MSEC; break;
                case 'A': cfg.socket_activation = true; break;
                default: return 2;
                }
        if (!cfg.socket_path || rate <= 0) {
                fprintf(stderr, "usage: json-test-server --socket PATH [options]\n");
                return 2;
        }

        /* Writes to a client that hung up must fail with EPIPE, not kill us. */
        (void) signal(SIGPIPE, SIG_IGN);

        f.base = event_base_new();
        if (!f.base)
                return 1;
        r = json_server_new_with_ops(f.base, &cfg, &ops, &f, &f.server);
        if (r < 0) {
                fprintf(stderr, "json_server_new_with_ops: %s\n", strerror(-r));
                event_base_free(f.base);
                return 1;
        }
        f.ctl[0] = json_server_controller_added(f.server, UUID_A, &f.index[0]);
        f.ctl[1] = json_server_controller_added(f.server, UUID_B, &f.index[1]);
        if (!f.ctl[0] || !f.ctl[1])
                return 1;

        tick = event_new(f.base, -1, EV_PERSIST, tick_cb, &f);
        change = event_new(f.base, -1, EV_PERSIST, change_cb, &f);
        sigterm = evsignal_new(f.base, SIGTERM, signal_cb, f.base);
        sigint = evsignal_new(f.base, SIGINT, signal_cb, f.base);
        if (!tick || !change || !sigterm || !sigint)
                return 1;
        tv = (struct timeval) { .tv_sec = 0, .tv_usec = (suseconds_t) MIN(999999.0, 1e6 / rate) };
        (void) event_add(tick, &tv);
        tv = (struct timeval) { .tv_sec = 1 };
        (void) event_add(change, &tv);
        (void) event_add(sigterm, NULL);
        (void) event_add(sigint, NULL);

        printf("READY\n");
        fflush(stdout);

        r = event_base_dispatch(f.base);

        /* the daemon completes what is pending even after the server is gone */
        json_server_free(f.server);
        json_ctl_free(f.ctl[0]);
        json_ctl_free(f.ctl[1]);
        while (f.pending)
                pending_finish(f.pending, -ECANCELED);
        event_free(tick);
        event_free(change);
        event_free(sigterm);
        event_free(sigint);
        event_base_free(f.base);
        return r < 0 ? 1 : 0;
}
