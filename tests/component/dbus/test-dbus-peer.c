/* Component test: the D-Bus adapter (daemon/dbus) over a socketpair.
 *
 * The server side is the real adapter code (bus_new_peer(): the same
 * objects, vtables from the field and method tables, handlers) on one end
 * of a socketpair, over a core fed by the replay transport of
 * tests/component/core (the dual-mismatch discovery transcript: ids 12 and
 * 74).  The client is an sd-bus connection on the other end; there is no
 * dbus-daemon.  Both run in this one thread: the client sends its call
 * asynchronously and the loop turns (replay_pump()) until the answer came.
 *
 * Checked: the Manager's properties (Controllers, Mismatch), a controller's
 * properties (Id, FirmwareVersion) as the golden model of test-core-replay
 * has them, a method (Manager.Scan, whose PINGs the replay answers), the
 * method table's privilege check (Controller.Reboot is refused without a
 * bus daemon to tell who calls), an unknown controller (the object does not
 * exist), and PropertiesChanged naming Erpm after a status frame is fed,
 * the property then reading the frame's value. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "core/daemon.h"
#include "core/log.h"
#include "dbus/bus.h"
#include "proto/vesc-can.h"
#include "../core/replay.h"

#define PATH_12 "/org/vescd1/controller/3c0029000d51393236353934"
#define PATH_74 "/org/vescd1/controller/2f002b001451363336333531"
#define CALL_USEC (5 * 1000 * 1000)



typedef struct Pending {
        bool done;
        sd_bus_message *reply;
} Pending;

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Pending *p = userdata;

        p->reply = sd_bus_message_ref(m);
        p->done = true;
        return 0;
}

/* Turn the loop and the client until cond(userdata) or the time is up. */
static bool run_until(Replay *r, sd_bus *client, bool (*cond)(void *), void *userdata) {
        uint64_t until = replay_now_usec() + CALL_USEC;

        while (!cond(userdata)) {
                if (replay_now_usec() > until)
                        return false;
                replay_pump(r);
                while (sd_bus_process(client, NULL) > 0)
                        ;
                usleep(500);
        }
        return true;
}

static bool pending_done(void *userdata) {
        return ((Pending *) userdata)->done;
}

/* Call and wait; returns the reply (an error reply too), or NULL on timeout. */
static sd_bus_message *call(Replay *r, sd_bus *client, sd_bus_message *m) {
        Pending p = {};

        if (sd_bus_call_async(client, NULL, m, on_reply, &p, CALL_USEC) < 0)
                return NULL;
        if (!run_until(r, client, pending_done, &p)) {
                fprintf(stderr, "no answer to %s.%s\n", sd_bus_message_get_interface(m), sd_bus_message_get_member(m));
                return NULL;
        }
        return p.reply;
}

static sd_bus_message *get_property(Replay *r, sd_bus *client, const char *path, const char *iface,
                                    const char *name) {
        sd_bus_message *m = NULL, *reply;

        if (sd_bus_message_new_method_call(client, &m, NULL, path, "org.freedesktop.DBus.Properties", "Get") < 0 ||
            sd_bus_message_append(m, "ss", iface, name) < 0)
                abort();
        reply = call(r, client, m);
        sd_bus_message_unref(m);
        return reply;
}

static sd_bus_message *method(Replay *r, sd_bus *client, const char *path, const char *iface, const char *member) {
        sd_bus_message *m = NULL, *reply;

        if (sd_bus_message_new_method_call(client, &m, NULL, path, iface, member) < 0)
                abort();
        reply = call(r, client, m);
        sd_bus_message_unref(m);
        return reply;
}

static void check_manager(Replay *r, sd_bus *client) {
        sd_bus_message *reply;
        char **paths = NULL;
        int mismatch = 0;

        reply = get_property(r, client, BUS_PATH, BUS_MANAGER_INTERFACE, "Controllers");
        CHECK(reply && !sd_bus_message_is_method_error(reply, NULL), "Manager.Controllers: %s",
              reply ? sd_bus_message_get_error(reply)->message : "no answer");
        if (reply && !sd_bus_message_is_method_error(reply, NULL)) {
                CHECK(sd_bus_message_enter_container(reply, 'v', "ao") >= 0 && sd_bus_message_read_strv(reply, &paths) >= 0,
                      "Manager.Controllers is not ao");
                CHECK(paths && paths[0] && paths[1] && !paths[2], "Manager.Controllers: not 2 controllers");
                for (size_t i = 0; paths && paths[i]; i++)
                        CHECK(strcmp(paths[i], PATH_12) == 0 || strcmp(paths[i], PATH_74) == 0, "unexpected controller %s",
                              paths[i]);
        }
        for (size_t i = 0; paths && paths[i]; i++)
                free(paths[i]);
        free(paths);
        sd_bus_message_unref(reply);

        reply = get_property(r, client, BUS_PATH, BUS_MANAGER_INTERFACE, "Mismatch");
        CHECK(reply && sd_bus_message_read(reply, "v", "b", &mismatch) >= 0 && mismatch,
              "Manager.Mismatch is not true (3.58 and 5.03)");
        sd_bus_message_unref(reply);
        fprintf(stderr, "# Manager properties\n");
}

static void check_controller(Replay *r, sd_bus *client) {
        sd_bus_message *reply;
        const char *version = NULL;
        uint8_t id = 0;

        reply = get_property(r, client, PATH_74, BUS_CONTROLLER_INTERFACE, "FirmwareVersion");
        CHECK(reply && sd_bus_message_read(reply, "v", "s", &version) >= 0 && version && strcmp(version, "3.58") == 0,
              "74: FirmwareVersion is %s, want 3.58", version ?: "(unread)");
        sd_bus_message_unref(reply);
        reply = get_property(r, client, PATH_12, BUS_CONTROLLER_INTERFACE, "Id");
        CHECK(reply && sd_bus_message_read(reply, "v", "y", &id) >= 0 && id == 12, "12: Id is %u", id);
        sd_bus_message_unref(reply);

        reply = get_property(r, client, "/org/vescd1/controller/000000000000000000000000", BUS_CONTROLLER_INTERFACE,
                             "Id");
        CHECK(reply && sd_bus_message_is_method_error(reply, NULL), "an unknown controller answers its properties");
        sd_bus_message_unref(reply);
        fprintf(stderr, "# Controller properties\n");
}

static void check_methods(Replay *r, sd_bus *client) {
        sd_bus_message *reply;
        size_t sent = r->sent.n;

        reply = method(r, client, BUS_PATH, BUS_MANAGER_INTERFACE, "Scan");
        CHECK(reply && !sd_bus_message_is_method_error(reply, NULL), "Manager.Scan: %s",
              reply ? sd_bus_message_get_error(reply)->message : "no answer");
        sd_bus_message_unref(reply);
        CHECK(replay_settle(r) >= 0 && r->sent.n > sent, "Manager.Scan sent nothing to the bus");

        /* an admin method: the privilege check of its method-table row runs
         * before the handler, and without a bus daemon nobody can vouch for
         * the caller */
        sent = r->sent.n;
        reply = method(r, client, PATH_74, BUS_CONTROLLER_INTERFACE, "Reboot");
        CHECK(reply && sd_bus_message_is_method_error(reply, NULL), "Controller.Reboot ran without an admin check");
        if (reply && sd_bus_message_is_method_error(reply, NULL))
                fprintf(stderr, "# Reboot refused: %s\n", sd_bus_message_get_error(reply)->name);
        sd_bus_message_unref(reply);
        CHECK(r->sent.n == sent, "a refused Reboot sent %zu frames", r->sent.n - sent);
        fprintf(stderr, "# methods\n");
}

typedef struct Changed {
        bool erpm;
} Changed;

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Changed *c = userdata;
        const char *iface, *name;

        if (strcmp(sd_bus_message_get_path(m), PATH_74) != 0 || sd_bus_message_read(m, "s", &iface) < 0 ||
            strcmp(iface, BUS_CONTROLLER_INTERFACE) != 0)
                return 0;
        /* changed values a{sv}, then invalidated as */
        if (sd_bus_message_skip(m, "a{sv}") < 0 || sd_bus_message_enter_container(m, 'a', "s") < 0)
                return 0;
        while (sd_bus_message_read(m, "s", &name) > 0)
                if (strcmp(name, "Erpm") == 0)
                        c->erpm = true;
        return 0;
}

static bool changed_erpm(void *userdata) {
        return ((Changed *) userdata)->erpm;
}

static void check_properties_changed(Replay *r, sd_bus *client) {
        struct can_frame f = {
                .can_id = (CAN_PACKET_STATUS << 8 | 74) | CAN_EFF_FLAG,
                .can_dlc = 8,
                /* erpm 12345, current 1.5 A (x10), duty 0.25 (x1000) */
                .data = { 0x00, 0x00, 0x30, 0x39, 0x00, 0x0f, 0x00, 0xfa },
        };
        sd_bus_slot *slot = NULL;
        sd_bus_message *reply;
        Changed c = {};
        double erpm = 0;

        CHECK(sd_bus_match_signal(client, &slot, NULL, PATH_74, "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                  on_properties_changed, &c) >= 0,
              "cannot match PropertiesChanged");
        replay_feed(&f);
        CHECK(run_until(r, client, changed_erpm, &c), "no PropertiesChanged naming Erpm after a status frame");
        sd_bus_slot_unref(slot);
        reply = get_property(r, client, PATH_74, BUS_CONTROLLER_INTERFACE, "Erpm");
        CHECK(reply && sd_bus_message_read(reply, "v", "d", &erpm) >= 0 && erpm == 12345.0, "Erpm reads %g, want 12345",
              erpm);
        sd_bus_message_unref(reply);
        fprintf(stderr, "# PropertiesChanged after a status frame\n");
}

int main(void) {
        const char *srcdir = getenv("top_srcdir") ?: ".";
        Replay r = {};
        sd_bus *client = NULL;
        Bus *server = NULL;
        int sv[2], k;

        log_set_max_level(getenv("VESCD_TEST_DEBUG") ? 7 : 3);
        k = replay_start(&r);
        if (k >= 0)
                k = replay_transcript(&r, srcdir, "discovery.log");
        if (k >= 0)
                k = replay_settle(&r);
        if (k < 0) {
                fprintf(stderr, "the core did not come up over the replay: %s\n", strerror(-k));
                return 1;
        }
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
                return 1;
        k = bus_new_peer(r.daemon, NULL, sv[0], &server);
        if (k < 0) {
                fprintf(stderr, "bus_new_peer: %s\n", strerror(-k));
                return 1;
        }
        if (sd_bus_new(&client) < 0 || sd_bus_set_fd(client, sv[1], sv[1]) < 0 || sd_bus_start(client) < 0) {
                fprintf(stderr, "cannot start the client\n");
                return 1;
        }

        check_manager(&r, client);
        check_controller(&r, client);
        check_methods(&r, client);
        check_properties_changed(&r, client);

        sd_bus_flush_close_unref(client);
        bus_free(server);
        replay_stop(&r);
        return replay_exit_status();
}
