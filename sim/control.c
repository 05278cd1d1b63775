/* Control socket of vesc-sim (see control.h): parsing and executing the
 * commands, and the Unix socket that carries them. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <jansson.h>

#include "control.h"
#include "macro.h"
#include "simbus.h"
#include "vctl.h"

#define LINE_MAX_LEN 4096
#define CLIENTS_MAX 16

typedef struct Client Client;

struct SimControl {
        struct event_base *base;
        SimBus *bus;
        Vctl *const *ctls;
        size_t n;
        char *path;
        struct evconnlistener *listener;
        Client *clients;
        unsigned n_clients;
};

struct Client {
        SimControl *owner;
        struct bufferevent *bev;
        Client *next;
};

static const char help_text[] =
        "commands: status | help | drop F [NAME|all] | corrupt F [NAME|all] | mute NAME on|off"
        " | powercycle NAME [erase|write|bootloader|now] | busoff MS | leave NAME | join NAME"
        " | missjump NAME | lose NAME appconf|mcconf on|off | set NAME erpm|current|v_in|temp_fet|temp_motor|load VALUE | set NAME drv on|off"
        " | ride NAME 'MODE VALUE SECONDS; ...'";

static int reply(char **ret, const char *fmt, ...) _printf_(2, 3);
static int reply(char **ret, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(ret, fmt, ap);
        va_end(ap);
        if (r < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

/* Controllers selected by NAME: a bitmask over ctls; 0 when none match. */
static uint64_t select_ctls(Vctl *const *ctls, size_t n, const char *name) {
        uint64_t m = 0;

        for (size_t i = 0; i < n && i < 64; i++)
                if (strcmp(name, "all") == 0 || vctl_matches(ctls[i], name))
                        m |= UINT64_C(1) << i;
        return m;
}

/* 0, or 1 when NAME designates the second motor of a dual-motor board. */
static unsigned motor_of(const Vctl *c, const char *name) {
        return vctl_match_motor(c, name) == 2 ? 1 : 0;
}

static json_t *motor_json(const VctlMotorInfo *m) {
        return json_pack("{s:i, s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:b, s:i, s:s}",
                         "id", (int) m->id, "uuid", m->uuid, "erpm", m->erpm, "current", m->current,
                         "v_in", m->v_in, "temp_fet", m->temp_fet, "temp_motor", m->temp_motor, "load", m->load,
                         "drv", m->drv, "fault", (int) m->fault, "fault_name", m->fault_name);
}

static int parse_fraction(const char *s, double *ret) {
        char *end;
        double v = strtod(s, &end);

        if (end == s || *end || !(v >= 0 && v <= 1))
                return -EINVAL;
        *ret = v;
        return 0;
}

/* The runtime limits in force, by the names of vescd's SetLimits. */
static json_t *limits_json(const VctlMotorInfo *m) {
        return json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "current_min_scale",
                         m->current_min_scale, "current_max_scale", m->current_max_scale, "min_erpm", m->erpm_min,
                         "max_erpm", m->erpm_max, "min_duty", m->duty_min, "max_duty", m->duty_max, "watt_min",
                         m->watt_min, "watt_max", m->watt_max, "in_current_min", m->in_current_min,
                         "in_current_max", m->in_current_max);
}

static json_t *status_json(SimBus *bus, Vctl *const *ctls, size_t n) {
        json_t *arr = json_array(), *root;
        SimBusStats bs = {};

        for (size_t i = 0; i < n; i++) {
                VctlInfo in;
                char ver[16];
                json_t *j;

                vctl_get_info(ctls[i], &in);
                snprintf(ver, sizeof ver, "%u.%02u", in.major, in.minor);
                j = json_pack(
                        "{s:s, s:s, s:i, s:s, s:s, s:i, s:b, s:s, s:b, s:b, s:b, s:f, s:f, s:f, s:f,"
                        " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
                        "name", in.name, "uuid", in.uuid, "id", (int) in.id, "version", ver,
                        "hw", in.hw_name, "bootloader_generation", (int) in.bootloader_generation,
                        "bootloader_intact", in.bootloader_generation > 0, "phase", in.phase,
                        "on_bus", in.on_bus, "muted", in.muted, "riding", in.riding,
                        "erpm", in.erpm, "current", in.current, "v_in", in.v_in, "temp_fet", in.temp_fet,
                        "counters",
                        "rx_frames", (json_int_t) in.counters.rx_frames,
                        "tx_frames", (json_int_t) in.counters.tx_frames,
                        "injected_drops", (json_int_t) in.counters.injected_drops,
                        "injected_corruptions", (json_int_t) in.counters.injected_corruptions,
                        "fifo_overwritten", (json_int_t) in.counters.fifo_overwritten,
                        "unheard", (json_int_t) in.counters.unheard,
                        "tx_muted", (json_int_t) in.counters.tx_muted,
                        "commands", (json_int_t) in.counters.commands,
                        "crc_drops", (json_int_t) in.counters.crc_drops,
                        "boots", (json_int_t) in.counters.boots,
                        "erases", (json_int_t) in.counters.erases,
                        "writes", (json_int_t) in.counters.writes,
                        "values_replies", (json_int_t) in.counters.values_replies,
                        "id_clashes", (json_int_t) in.counters.id_clashes,
                        "lost_conf", (json_int_t) in.counters.lost_conf);
                if (!j)
                        continue;
                /* Motor 1's fault and environment; a dual-motor board adds
                 * its second motor. */
                json_object_set_new(j, "hw_type", json_integer(in.hw_type));
                json_object_set_new(j, "temp_motor", json_real(in.motor[0].temp_motor));
                json_object_set_new(j, "load", json_real(in.motor[0].load));
                json_object_set_new(j, "drv", json_boolean(in.motor[0].drv));
                json_object_set_new(j, "fault", json_integer(in.motor[0].fault));
                json_object_set_new(j, "fault_name", json_string(in.motor[0].fault_name));
                json_object_set_new(j, "limits", limits_json(&in.motor[0]));
                if (in.n_motors > 1)
                        json_object_set_new(j, "motor2", motor_json(&in.motor[1]));
                json_array_append_new(arr, j);
        }
        if (bus)
                simbus_get_stats(bus, &bs);
        root = json_pack("{s:o, s:{s:I, s:I, s:I, s:i}}", "controllers", arr, "bus",
                         "frames", (json_int_t) bs.frames, "bits", (json_int_t) bs.bits,
                         "dropped_members", (json_int_t) bs.dropped_members, "members", (int) bs.members);
        return root;
}

/**
 * sim_control_exec() - execute one control command
 * @bus: the bus (for busoff and statistics)
 * @ctls: controllers
 * @n: their number
 * @line: the command line, without newline
 * @ret_reply: receives a malloc'd reply line (no newline)
 *
 * Returns 0 (the reply may still be an "error: ..." line) or -ENOMEM.
 */
int sim_control_exec(SimBus *bus, Vctl *const *ctls, size_t n, const char *line, char **ret_reply) {
        char cmd[32] = "", a1[64] = "", a2[64] = "", a3[64] = "";
        int used = 0, nf, r;
        uint64_t sel;
        double f;

        nf = sscanf(line, " %31s %n", cmd, &used);
        if (nf < 1)
                return reply(ret_reply, "error: empty command");
        nf = sscanf(line + used, "%63s %63s %63s", a1, a2, a3);
        if (nf < 0)
                nf = 0;

        if (strcmp(cmd, "help") == 0)
                return reply(ret_reply, "ok %s", help_text);

        if (strcmp(cmd, "status") == 0) {
                json_t *j = status_json(bus, ctls, n);
                char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

                json_decref(j);
                if (!s)
                        return -ENOMEM;
                *ret_reply = s;
                return 0;
        }

        if (strcmp(cmd, "busoff") == 0) {
                char *end;
                unsigned long ms = nf >= 1 ? strtoul(a1, &end, 10) : 0;

                if (nf < 1 || *end || ms == 0 || ms > 600000)
                        return reply(ret_reply, "error: usage: busoff MS");
                r = simbus_bus_off(bus, (uint64_t) ms * 1000);
                if (r < 0)
                        return reply(ret_reply, "error: bus-off failed: %s", strerror(-r));
                return reply(ret_reply, "ok bus off for %lu ms", ms);
        }

        if (strcmp(cmd, "drop") == 0 || strcmp(cmd, "corrupt") == 0) {
                if (nf < 1 || parse_fraction(a1, &f) < 0)
                        return reply(ret_reply, "error: usage: %s FRACTION [NAME|all]", cmd);
                sel = select_ctls(ctls, n, nf >= 2 ? a2 : "all");
                if (!sel)
                        return reply(ret_reply, "error: no controller '%s'", a2);
                for (size_t i = 0; i < n; i++)
                        if (sel & (UINT64_C(1) << i)) {
                                if (cmd[0] == 'd')
                                        vctl_set_drop(ctls[i], f);
                                else
                                        vctl_set_corrupt(ctls[i], f);
                        }
                return reply(ret_reply, "ok %s %g", cmd, f);
        }

        /* Everything below names controllers first. */
        if (nf < 1)
                return reply(ret_reply, "error: usage: %s NAME ...; try 'help'", cmd);
        sel = select_ctls(ctls, n, a1);

        if (strcmp(cmd, "mute") == 0 || strcmp(cmd, "powercycle") == 0 || strcmp(cmd, "leave") == 0 ||
            strcmp(cmd, "join") == 0 || strcmp(cmd, "missjump") == 0 || strcmp(cmd, "lose") == 0 ||
            strcmp(cmd, "set") == 0 ||
            strcmp(cmd, "ride") == 0) {
                if (!sel)
                        return reply(ret_reply, "error: no controller '%s'", a1);
        } else
                return reply(ret_reply, "error: unknown command '%s'; try 'help'", cmd);

        if (strcmp(cmd, "mute") == 0) {
                bool on;

                if (strcmp(a2, "on") == 0)
                        on = true;
                else if (strcmp(a2, "off") == 0)
                        on = false;
                else
                        return reply(ret_reply, "error: usage: mute NAME on|off");
                for (size_t i = 0; i < n; i++)
                        if (sel & (UINT64_C(1) << i))
                                vctl_set_mute(ctls[i], on);
                return reply(ret_reply, "ok mute %s", a2);
        }

        if (strcmp(cmd, "powercycle") == 0) {
                VctlPowerCycleAt at = nf >= 2 ? vctl_power_cycle_at_from_string(a2) : VCTL_PC_NOW;

                if (at < 0 || at == VCTL_PC_NONE)
                        return reply(ret_reply, "error: usage: powercycle NAME [erase|write|bootloader|now]");
                for (size_t i = 0; i < n; i++)
                        if (sel & (UINT64_C(1) << i))
                                (void) vctl_power_cycle(ctls[i], at);
                return reply(ret_reply, "ok powercycle %s", nf >= 2 ? a2 : "now");
        }

        if (strcmp(cmd, "leave") == 0 || strcmp(cmd, "join") == 0) {
                for (size_t i = 0; i < n; i++)
                        if (sel & (UINT64_C(1) << i)) {
                                r = cmd[0] == 'l' ? vctl_leave(ctls[i]) : vctl_join(ctls[i]);
                                if (r < 0)
                                        return reply(ret_reply, "error: %s failed: %s", cmd, strerror(-r));
                        }
                return reply(ret_reply, "ok %s", cmd);
        }

        if (strcmp(cmd, "missjump") == 0) {
                for (size_t i = 0; i < n; i++)
                        if (sel & (UINT64_C(1) << i))
                                vctl_miss_jump(ctls[i]);
                return reply(ret_reply, "ok the next JUMP will be missed");
        }

        if (strcmp(cmd, "lose") == 0) {
                bool app = strcmp(a2, "appconf") == 0, on = strcmp(a3, "on") == 0;

                if (nf < 3 || (!app && strcmp(a2, "mcconf") != 0) || (!on && strcmp(a3, "off") != 0))
                        return reply(ret_reply, "error: usage: lose NAME appconf|mcconf on|off");
                for (size_t i = 0; i < n; i++)
                        if (sel & (UINT64_C(1) << i))
                                vctl_set_lose_conf(ctls[i], app, on);
                return reply(ret_reply, "ok lose %s %s", a2, a3);
        }

        if (strcmp(cmd, "set") == 0) {
                if (nf < 3)
                        return reply(ret_reply, "error: usage: set NAME erpm|current|v_in|temp_fet VALUE");
                for (size_t i = 0; i < n; i++)
                        if (sel & (UINT64_C(1) << i))
                                if (vctl_set_value(ctls[i], motor_of(ctls[i], a1), a2, a3) < 0)
                                        return reply(ret_reply, "error: cannot set '%s' to '%s'", a2, a3);
                return reply(ret_reply, "ok set %s %s", a2, a3);
        }

        /* ride NAME SCRIPT: the script is the rest of the line, quotes optional. */
        {
                const char *s = line + used;
                char script[LINE_MAX_LEN];
                size_t k;

                s += strspn(s, " \t");
                s += strcspn(s, " \t");
                s += strspn(s, " \t");
                snprintf(script, sizeof script, "%s", s);
                for (k = 0; script[k]; k++)
                        if (script[k] == '\'' || script[k] == '"')
                                script[k] = ' ';
                for (size_t i = 0; i < n; i++)
                        if (sel & (UINT64_C(1) << i))
                                if (vctl_ride(ctls[i], motor_of(ctls[i], a1), script) < 0)
                                        return reply(ret_reply, "error: bad ride script; steps are 'MODE VALUE SECONDS' separated by ';'");
                return reply(ret_reply, "ok riding");
        }
}

/* ------------------------------------------------------------ socket */

static void client_free(Client *cl) {
        SimControl *s = cl->owner;

        for (Client **pp = &s->clients; *pp; pp = &(*pp)->next)
                if (*pp == cl) {
                        *pp = cl->next;
                        break;
                }
        s->n_clients--;
        bufferevent_free(cl->bev);
        free(cl);
}

static void on_client_read(struct bufferevent *bev, void *userdata) {
        Client *cl = userdata;
        SimControl *s = cl->owner;
        struct evbuffer *in = bufferevent_get_input(bev);
        char *line;
        size_t len;

        while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF))) {
                _cleanup_free_ char *rep = NULL;

                if (sim_control_exec(s->bus, s->ctls, s->n, line, &rep) < 0 || !rep)
                        evbuffer_add_printf(bufferevent_get_output(bev), "error: out of memory\n");
                else
                        evbuffer_add_printf(bufferevent_get_output(bev), "%s\n", rep);
                free(line);
        }
        if (evbuffer_get_length(in) > LINE_MAX_LEN) {
                /* A line this long is not a control command. */
                client_free(cl);
        }
}

static void on_client_event(struct bufferevent *bev, short events, void *userdata) {
        if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
                client_free(userdata);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int socklen, void *userdata) {
        SimControl *s = userdata;
        Client *cl;

        if (s->n_clients >= CLIENTS_MAX) {
                close(fd);
                return;
        }
        cl = calloc(1, sizeof *cl);
        if (!cl) {
                close(fd);
                return;
        }
        cl->owner = s;
        cl->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
        if (!cl->bev) {
                close(fd);
                free(cl);
                return;
        }
        bufferevent_setcb(cl->bev, on_client_read, NULL, on_client_event, cl);
        bufferevent_enable(cl->bev, EV_READ | EV_WRITE);
        cl->next = s->clients;
        s->clients = cl;
        s->n_clients++;
}

/**
 * sim_control_new() - open the control socket
 * @base: event loop
 * @path: Unix socket path (an existing socket file there is replaced)
 * @bus: bus for busoff/statistics (borrowed)
 * @ctls: controllers (borrowed)
 * @n: their number
 * @ret: the control socket (free with sim_control_free())
 *
 * Returns 0, -ENAMETOOLONG, -ENOMEM or the errno of bind/listen.
 */
int sim_control_new(struct event_base *base, const char *path, SimBus *bus, Vctl *const *ctls, size_t n,
                    SimControl **ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        SimControl *s;

        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        *s = (SimControl) { .base = base, .bus = bus, .ctls = ctls, .n = n, .path = strdup(path) };
        if (!s->path) {
                free(s);
                return -ENOMEM;
        }
        (void) unlink(path);
        s->listener = evconnlistener_new_bind(base, on_accept, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 8,
                                              (struct sockaddr *) &sa, (int) sizeof sa);
        if (!s->listener) {
                int r = errno ? -errno : -EIO;
                free(s->path);
                free(s);
                return r;
        }
        *ret = s;
        return 0;
}

/**
 * sim_control_free() - close the control socket and its clients
 * @s: control socket or NULL
 *
 * Removes the socket file.  Returns NULL.
 */
SimControl *sim_control_free(SimControl *s) {
        if (!s)
                return NULL;
        while (s->clients)
                client_free(s->clients);
        if (s->listener)
                evconnlistener_free(s->listener);
        if (s->path)
                (void) unlink(s->path);
        free(s->path);
        free(s);
        return NULL;
}
