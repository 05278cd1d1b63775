/* sd-bus inside libevent, and the D-Bus adapter's shared helpers.
 *
 * The loop integration follows sd-bus's own glue for sd-event: a
 * persistent EV_READ on the bus fd, an EV_WRITE present only while
 * sd_bus_get_events() asks for POLLOUT, and one timer from the ABSOLUTE
 * sd_bus_get_timeout().  Every wakeup drains sd_bus_process() and then
 * re-arms.  libevent 2.1 has no "prepare" hook, so sends made outside
 * dispatch (signals emitted from CAN callbacks) ask for a deferred re-arm
 * through bus_schedule_rearm(): one per loop iteration however many
 * messages were queued. */
#include <errno.h>
#include <event2/event.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dbus/bus.h"
#include "core/daemon.h"
#include "core/errors.h"
#include "core/fields.h"
#include "core/format.h"
#include "core/log.h"
#include "core/methods.h"
#include "macro.h"

/* sd-bus wants an errno for every name: the job errors (errno 0) map to EIO
 * for clients that convert names back to errnos */
#define BUS_ERROR_MAP_ROW(n, e, code, desc) SD_BUS_ERROR_MAP(VESCD_ERROR_PREFIX #n, (e) ? (e) : EIO),

const sd_bus_error_map bus_error_map[] = {
        VESCD_ERRORS(BUS_ERROR_MAP_ROW)
        SD_BUS_ERROR_MAP_END
};

struct Bus {
        Daemon *d;
        FwManager *fw;              /* NULL: firmware management unavailable */
        sd_bus *bus;
        struct event *read_ev, *write_ev, *timer_ev, *rearm_ev;
        bool rearm_scheduled;
        bool write_armed;
        bool dead;
        BusFatalFn fatal_fn;
        void *fatal_userdata;
        void *listener_token;
        BusCreds *creds;            /* callers' credentials from the bus (bus-creds.c) */
        sd_bus_vtable *vtables[4];  /* built from field tables; freed after the bus */
};

static void bus_rearm(Bus *b);

static void bus_dead(Bus *b, int r) {
        if (b->dead)
                return;
        b->dead = true;
        log_error_errno(r, "D-Bus connection failed: %m");
        event_del(b->read_ev);
        event_del(b->write_ev);
        event_del(b->timer_ev);
        if (b->fatal_fn)
                b->fatal_fn(b->fatal_userdata, r);
}

static void bus_dispatch(Bus *b) {
        int r;

        if (b->dead)
                return;
        while ((r = sd_bus_process(b->bus, NULL)) > 0)
                ;
        if (r < 0) {
                bus_dead(b, r);
                return;
        }
        bus_rearm(b);
}

static void on_bus_event(evutil_socket_t fd, short what, void *userdata) {
        Bus *b = userdata;

        if (what & EV_WRITE)
                b->write_armed = false;
        bus_dispatch(b);
}

static void bus_rearm(Bus *b) {
        uint64_t until, now;
        struct timespec ts;
        int events, r;

        if (b->dead)
                return;
        events = sd_bus_get_events(b->bus);
        if (events < 0) {
                bus_dead(b, events);
                return;
        }
        if (events & POLLOUT) {
                if (!b->write_armed) {
                        event_add(b->write_ev, NULL);
                        b->write_armed = true;
                }
        } else if (b->write_armed) {
                event_del(b->write_ev);
                b->write_armed = false;
        }

        r = sd_bus_get_timeout(b->bus, &until);
        if (r < 0) {
                bus_dead(b, r);
                return;
        }
        if (until == UINT64_MAX) {
                event_del(b->timer_ev);
                return;
        }
        /* absolute CLOCK_MONOTONIC µs: convert to relative, rounding up */
        clock_gettime(CLOCK_MONOTONIC, &ts);
        now = (uint64_t) ts.tv_sec * USEC_PER_SEC + ((uint64_t) ts.tv_nsec + 999) / NSEC_PER_USEC;
        uint64_t rel = until > now ? until - now : 0;
        struct timeval tv = { .tv_sec = (time_t) (rel / USEC_PER_SEC), .tv_usec = (suseconds_t) (rel % USEC_PER_SEC) };
        event_add(b->timer_ev, &tv);
}

static void on_rearm(evutil_socket_t fd, short what, void *userdata) {
        Bus *b = userdata;

        b->rearm_scheduled = false;
        /* messages queued from outside dispatch may already be writable:
         * dispatching also flushes them */
        bus_dispatch(b);
}

/**
 * bus_schedule_rearm() - re-arm after sends made outside dispatch
 * @b: the bus
 */
void bus_schedule_rearm(Bus *b) {
        if (b && !b->rearm_scheduled && !b->dead) {
                b->rearm_scheduled = true;
                event_active(b->rearm_ev, EV_TIMEOUT, 0);
        }
}

/**
 * bus_set_fatal_handler() - who to tell when the connection is lost
 * @b: the bus
 * @fn: callback
 * @userdata: for @fn
 */
void bus_set_fatal_handler(Bus *b, BusFatalFn fn, void *userdata) {
        b->fatal_fn = fn;
        b->fatal_userdata = userdata;
}

sd_bus *bus_get(Bus *b) {
        return b->bus;
}

FwManager *bus_firmware(Bus *b) {
        return b->fw;
}

Daemon *bus_daemon(Bus *b) {
        return b->d;
}

/**
 * bus_set_errno() - fill an sd_bus_error from an errno via the error table
 * @error: the error to set (may already be set: then left alone)
 * @r: -errno
 *
 * Returns: @r (negative).
 */
int bus_set_errno(sd_bus_error *error, int r) {
        const VescdError *ve = vescd_error_from_errno(r);

        if (error && !sd_bus_error_is_set(error))
                (void) sd_bus_error_set(error, ve->bus_name, ve->description);
        return r < 0 ? r : -r;
}

/**
 * bus_reply_errno() - reply with the org.vescd1.Error for an errno
 * @m: the method call
 * @error: -errno
 * @fmt: message text (printf), or NULL for the error table's description
 *
 * Returns: what sd_bus_reply_method_error() returns.
 */
int bus_reply_errno(sd_bus_message *m, int error, const char *fmt, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        const VescdError *ve = vescd_error_from_errno(error);
        _cleanup_free_ char *text = NULL;

        /* the whole text, however long (never cut at a buffer's size) */
        if (fmt)
                FORMAT_ARGS(text, fmt);
        sd_bus_error_set(&e, ve->bus_name, text ? text : ve->description);
        return sd_bus_reply_method_error(m, &e);
}

/**
 * bus_append_paths() - append an array of object paths ("ao")
 * @reply: the message
 * @items: what path() is given
 * @n: how many paths
 * @path: writes the i-th path
 *
 * Returns: 0 or -errno.
 */
int bus_append_paths(sd_bus_message *reply, const void *items, size_t n, BusPathFn path) {
        int r;

        r = sd_bus_message_open_container(reply, 'a', "o");
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                char p[BUS_OBJECT_PATH_MAX];
                path(items, i, p);
                r = sd_bus_message_append(reply, "o", p);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

/**
 * bus_path_strv() - object paths as a strv, for node enumerators
 * @items: what path() is given
 * @n: how many paths
 * @path: writes the i-th path
 * @ret: receives the strv (the caller, i.e. sd-bus, frees it)
 *
 * Returns: 0 or -ENOMEM.
 */
int bus_path_strv(const void *items, size_t n, BusPathFn path, char ***ret) {
        char **v = calloc(n + 1, sizeof(char *));

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                char p[BUS_OBJECT_PATH_MAX];
                path(items, i, p);
                v[i] = strdup(p);
                if (!v[i]) {
                        for (size_t k = 0; k < i; k++)
                                free(v[k]);
                        free(v);
                        return -ENOMEM;
                }
        }
        *ret = v;
        return 0;
}

/**
 * bus_open_entry() - open {name: variant} inside an open a{sv}
 * @m: the message
 * @name: the key
 * @sig: the variant's signature
 *
 * Returns: 0 or -errno; close with bus_close_entry().
 */
int bus_open_entry(sd_bus_message *m, const char *name, const char *sig) {
        int r = sd_bus_message_open_container(m, 'e', "sv");

        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', sig);
        return r;
}

/**
 * bus_close_entry() - close what bus_open_entry() opened
 * @m: the message
 *
 * Returns: 0 or -errno.
 */
int bus_close_entry(sd_bus_message *m) {
        int r = sd_bus_message_close_container(m);

        return r < 0 ? r : sd_bus_message_close_container(m);
}

/**
 * bus_read_bool_options() - read an a{sv} of boolean options
 * @m: the message, at the a{sv}
 * @table: the known names and where each goes in @base
 * @n: rows of @table
 * @base: the options structure
 * @ret_key: (optional) the offending key for -ENOKEY/-EINVAL (valid while @m is)
 *
 * Returns: 0, -ENOKEY (a name not in @table), -EINVAL (a value that is not a
 * boolean) or another -errno from reading @m.
 */
int bus_read_bool_options(sd_bus_message *m, const BusBoolOption *table, size_t n, void *base,
                          const char **ret_key) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const BusBoolOption *o = NULL;
                const char *key;
                int v;

                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                if (ret_key)
                        *ret_key = key;
                for (size_t i = 0; i < n && !o; i++)
                        if (strcmp(key, table[i].name) == 0)
                                o = &table[i];
                if (!o)
                        return -ENOKEY;
                if (sd_bus_message_read(m, "v", "b", &v) < 0)
                        return -EINVAL;
                *(bool *) ((uint8_t *) base + o->offset) = o->invert ? !v : !!v;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* Owns a built vtable until the bus is gone: 0, or -ENOBUFS (then @v is
 * freed). */
static int keep_vtable(Bus *b, sd_bus_vtable *v) {
        for (size_t i = 0; i < ELEMENTSOF(b->vtables); i++)
                if (!b->vtables[i]) {
                        b->vtables[i] = v;
                        return 0;
                }
        free(v);
        return -ENOBUFS;
}

/**
 * bus_append_field() - append one field of a table as its D-Bus type
 * @m: the message (a property reply, or inside an open variant)
 * @f: the field
 * @object: the object its getter takes
 *
 * Absent fields (never received) are sent as the getter left them (zero).
 *
 * Returns: 0 or -errno.
 */
int bus_append_field(sd_bus_message *m, const Field *f, const void *object) {
        FieldValue v = {};
        int r;

        (void) f->get(object, &v);
        switch (f->type[0]) {
        case 'y':
                r = sd_bus_message_append(m, "y", (uint8_t) v.u);
                break;
        case 'u':
                r = sd_bus_message_append(m, "u", (uint32_t) v.u);
                break;
        case 't':
                r = sd_bus_message_append(m, "t", v.u);
                break;
        case 'x':
                r = sd_bus_message_append(m, "x", v.x);
                break;
        case 'd':
                r = sd_bus_message_append(m, "d", v.d);
                break;
        case 'b':
                r = sd_bus_message_append(m, "b", (int) v.b);
                break;
        case 's':
                r = sd_bus_message_append_basic(m, 's', v.s ? v.s : "");
                break;
        case 'o':
                /* no object: "" in the table, "/" on D-Bus */
                r = sd_bus_message_append_basic(m, 'o', v.s && v.s[0] ? v.s : "/");
                break;
        case 'a':
                r = sd_bus_message_open_container(m, 'a', f->type + 1);
                for (char *const *p = v.strv; r >= 0 && p && *p; p++)
                        r = sd_bus_message_append_basic(m, f->type[1], *p);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                break;
        default:
                r = -EINVAL;
                break;
        }
        field_value_done(f, &v);
        return r;
}

/* The names of a method's arguments, in then out, each ended by \0, as
 * SD_BUS_METHOD_WITH_NAMES() concatenates them; size with the final \0. */
static size_t names_size(const char *names) {
        const char *p = names;

        while (*p)
                p += strlen(p) + 1;
        return (size_t) (p - names);
}

/**
 * bus_vtable_new() - an interface's vtable: field-table properties, fixed members, the method table's methods
 * @b: the adapter (owns the vtable until the bus is gone)
 * @t: the field table (each field becomes a property served by @getter), or NULL
 * @getter: the property getter (finds the field by name)
 * @members: further properties and signals, ended by SD_BUS_VTABLE_END (no START, no methods)
 * @interface: the interface's name in the method table ("Controller")
 * @handlers: a handler for each method of @interface in core/methods.c, ended by a NULL member
 * @dispatch: the interface's dispatcher (calls bus_method_run() with @handlers)
 * @ret: receives the vtable, for sd_bus_add_object_vtable() or bus_add_fallback()
 *
 * Flags follow the field: FIELD_CONST -> CONST, FIELD_INVALIDATES ->
 * EMITS_INVALIDATION, FIELD_ON_REQUEST -> no change signal, else EMITS_CHANGE.
 * The methods' signatures and argument names are their rows of the method
 * table; every method goes through @dispatch, which checks the row's
 * privilege before the handler runs.
 *
 * Returns: 0, -ENOMEM, -ENOBUFS (more interfaces than the adapter keeps), or
 * -EINVAL when a method of the table has no handler or a handler no row
 * (logged).
 */
int bus_vtable_new(Bus *b, const FieldTable *t, sd_bus_property_get_t getter, const sd_bus_vtable *members,
                   const char *interface, const BusMethod *handlers, sd_bus_message_handler_t dispatch,
                   sd_bus_vtable **ret) {
        size_t n_members = 0, n_methods = 0, n_fields = t ? t->n : 0, n_table, n_names = 0, k = 0;
        const Method *table = method_table(&n_table);
        sd_bus_vtable *v;
        char *names;
        int r;

        while (members[n_members].type != _SD_BUS_VTABLE_END)
                n_members++;
        for (const BusMethod *h = handlers; h->member; h++)
                if (!method_find_dbus(interface, h->member)) {
                        log_error("D-Bus %s.%s has a handler but no row in the method table", interface, h->member);
                        return -EINVAL;
                }
        for (size_t i = 0; i < n_table; i++) {
                const BusMethod *h;

                if (!table[i].member || strcmp(table[i].interface, interface) != 0)
                        continue;
                for (h = handlers; h->member && strcmp(h->member, table[i].member) != 0; h++)
                        ;
                if (!h->member) {
                        log_error("D-Bus %s.%s of the method table has no handler", interface, table[i].member);
                        return -EINVAL;
                }
                n_methods++;
                n_names += names_size(table[i].in_names) + names_size(table[i].out_names) + 1;
        }

        /* one block: the entries, then the methods' argument names */
        v = calloc(1, (1 + n_fields + n_methods + n_members + 1) * sizeof *v + n_names);
        if (!v)
                return -ENOMEM;
        names = (char *) (v + 1 + n_fields + n_methods + n_members + 1);
        v[k++] = (sd_bus_vtable) SD_BUS_VTABLE_START(0);
        for (size_t i = 0; i < n_fields; i++) {
                const Field *f = &t->fields[i];
                uint64_t flags = f->flags & FIELD_CONST        ? SD_BUS_VTABLE_PROPERTY_CONST
                                 : f->flags & FIELD_INVALIDATES ? SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION
                                 : f->flags & FIELD_ON_REQUEST  ? 0
                                                                : SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE;
                v[k++] = (sd_bus_vtable) SD_BUS_PROPERTY(f->name, f->type, getter, 0, flags);
        }
        for (size_t i = 0; i < n_table; i++) {
                const Method *m = &table[i];
                size_t in, out;

                if (!m->member || strcmp(m->interface, interface) != 0)
                        continue;
                in = names_size(m->in_names);
                out = names_size(m->out_names);
                memcpy(names, m->in_names, in);
                memcpy(names + in, m->out_names, out);
                names[in + out] = '\0';
                v[k++] = (sd_bus_vtable) {
                        .type = _SD_BUS_VTABLE_METHOD,
                        .flags = SD_BUS_VTABLE_UNPRIVILEGED,
                        .x.method = {
                                .member = m->member,
                                .signature = m->in,
                                .result = m->out,
                                .handler = dispatch,
                                .offset = 0,
                                .names = names,
                        },
                };
                names += in + out + 1;
        }
        for (size_t i = 0; i <= n_members; i++)
                v[k++] = members[i];
        r = keep_vtable(b, v);
        if (r < 0)
                return r;
        *ret = v;
        return 0;
}

/**
 * bus_add_fallback() - serve an interface on every object below a prefix
 * @b: the adapter
 * @prefix: the object path prefix ("/org/vescd1/controller")
 * @interface: the interface's D-Bus name
 * @vtable: from bus_vtable_new()
 * @find: says which paths below @prefix are objects
 * @enumerate: lists the objects (introspection, GetManagedObjects)
 *
 * Both callbacks get @b as their userdata.
 *
 * Returns: 0 or -errno.
 */
int bus_add_fallback(Bus *b, const char *prefix, const char *interface, const sd_bus_vtable *vtable,
                     sd_bus_object_find_t find, sd_bus_node_enumerator_t enumerate) {
        int r;

        r = sd_bus_add_fallback_vtable(b->bus, NULL, prefix, interface, vtable, find, b);
        if (r < 0)
                return r;
        return sd_bus_add_node_enumerator(b->bus, NULL, prefix, enumerate, b);
}

/**
 * bus_method_run() - run a method after the check its row asks for
 * @interface: the interface's name in the method table
 * @handlers: the interface's handlers (as given to bus_vtable_new())
 * @m: the method call
 * @userdata: the object's userdata, handed to the handler
 * @error: set on refusal
 *
 * METHOD_ADMIN: root or the admin group (bus_check_admin(); a call waiting
 * for the caller's credentials is parked and comes here again);
 * METHOD_ROOT: root only.  Both refuse with PermissionDenied before any
 * argument is read, as the JSON adapter does.
 *
 * Returns: what the handler returns, or the refusal.
 */
int bus_method_run(const char *interface, const BusMethod *handlers, sd_bus_message *m, void *userdata,
                   sd_bus_error *error) {
        const char *member = sd_bus_message_get_member(m);
        const Method *spec = method_find_dbus(interface, member);
        Bus *b = sd_bus_slot_get_userdata(sd_bus_get_current_slot(sd_bus_message_get_bus(m)));
        const BusMethod *h;
        int r;

        for (h = handlers; h->member && (!member || strcmp(h->member, member) != 0); h++)
                ;
        if (!spec || !h->member)
                return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_METHOD, "No method %s.%s", interface,
                                         member ?: "(null)");
        if (spec->privilege != METHOD_ANYONE) {
                r = bus_check_admin(b, m, error);
                if (r <= 0)
                        return r < 0 ? r : 1; /* 0: dispatched again once the caller is known */
        }
        if (spec->privilege == METHOD_ROOT) {
                uid_t uid;

                if (bus_caller_uid(b, m, &uid) < 0 || uid != 0)
                        return bus_reply_errno(m, -EPERM, "%s.%s is allowed for root only", interface, member);
        }
        return h->handler(m, userdata, error);
}

/**
 * bus_check_admin() - is the caller root or in the admin group
 * @b: the bus
 * @m: the method call
 * @error: set to PermissionDenied on refusal
 *
 * Uses the caller's credentials as the bus daemon knows them
 * (GetConnectionCredentials, asked once per caller: bus-creds.c), never
 * /proc, so the check works under ProtectProc=invisible and does not depend
 * on the bus policy alone.
 *
 * Returns: 1 allowed; 0 not known yet (the call is dispatched again once it
 * is: the handler returns 1 now); -EPERM refused (error set); other -errno.
 */
int bus_check_admin(Bus *b, sd_bus_message *m, sd_bus_error *error) {
        return bus_creds_check_admin(b->creds, b->d, m, error);
}

int bus_caller_uid(Bus *b, sd_bus_message *m, uid_t *ret) {
        return bus_creds_uid(b->creds, m, ret);
}

/* Register the objects on b->bus, take the name (when on a bus) and hook
 * the connection into the loop.  Frees b on failure. */
static int bus_setup(Bus *b, bool take_name, Bus **ret) {
        struct event_base *base = daemon_event_base(b->d);
        int r, fd;

        r = sd_bus_error_add_map(bus_error_map);
        if (r < 0) {
                bus_free(b);
                return r;
        }
        r = bus_creds_new(b->bus, &b->creds);
        if (r >= 0)
                r = sd_bus_add_object_manager(b->bus, NULL, BUS_PATH);
        if (r >= 0)
                r = bus_manager_register(b);
        if (r >= 0)
                r = bus_controller_register(b);
        if (r >= 0)
                r = bus_job_register(b);
        if (r >= 0 && take_name)
                r = sd_bus_request_name(b->bus, BUS_NAME, 0);
        if (r < 0) {
                log_error_errno(r, "Failed to publish " BUS_NAME " on D-Bus: %m");
                bus_free(b);
                return r;
        }

        fd = sd_bus_get_fd(b->bus);
        b->read_ev = event_new(base, fd, EV_READ | EV_PERSIST, on_bus_event, b);
        b->write_ev = event_new(base, fd, EV_WRITE, on_bus_event, b);
        b->timer_ev = evtimer_new(base, on_bus_event, b);
        b->rearm_ev = event_new(base, -1, 0, on_rearm, b);
        if (!b->read_ev || !b->write_ev || !b->timer_ev || !b->rearm_ev || event_add(b->read_ev, NULL) < 0) {
                bus_free(b);
                return -ENOMEM;
        }
        bus_rearm(b);
        *ret = b;
        return 0;
}

/**
 * bus_new() - connect, register objects and take the bus name
 * @d: the daemon
 * @fw: the firmware manager, or NULL when unavailable
 * @address: D-Bus address, or NULL for the system bus
 * @ret: receives the adapter
 *
 * Returns: 0 or -errno (logged).
 */
int bus_new(Daemon *d, FwManager *fw, const char *address, Bus **ret) {
        Bus *b;
        int r;

        b = calloc(1, sizeof *b);
        if (!b)
                return -ENOMEM;
        b->d = d;
        b->fw = fw;

        if (address) {
                r = sd_bus_new(&b->bus);
                if (r >= 0)
                        r = sd_bus_set_address(b->bus, address);
                if (r >= 0)
                        r = sd_bus_set_bus_client(b->bus, true);
                if (r >= 0)
                        r = sd_bus_set_trusted(b->bus, false);
                if (r >= 0)
                        r = sd_bus_start(b->bus);
        } else
                r = sd_bus_open_system(&b->bus);
        if (r < 0) {
                log_error_errno(r, "Failed to connect to %s: %m", address ? address : "the system bus");
                bus_free(b);
                return r;
        }
        return bus_setup(b, /* take_name= */ true, ret);
}

/**
 * bus_new_peer() - serve the objects on a direct connection, without a bus daemon
 * @d: the daemon
 * @fw: the firmware manager, or NULL
 * @fd: a connected stream socket (e.g. one end of a socketpair); owned from now on
 * @ret: receives the adapter
 *
 * The server side of a peer-to-peer D-Bus connection (the component tests in
 * tests/component/dbus/): the same objects and handlers as on a bus, no
 * name.  Privileged methods are refused there: the admin check asks a bus
 * daemon for the caller's credentials, and there is none.
 *
 * Returns: 0 or -errno (logged).
 */
int bus_new_peer(Daemon *d, FwManager *fw, int fd, Bus **ret) {
        sd_id128_t id;
        Bus *b;
        int r;

        b = calloc(1, sizeof *b);
        if (!b) {
                close(fd);
                return -ENOMEM;
        }
        b->d = d;
        b->fw = fw;
        r = sd_id128_randomize(&id);
        if (r >= 0)
                r = sd_bus_new(&b->bus);
        if (r >= 0)
                r = sd_bus_set_fd(b->bus, fd, fd);
        else
                close(fd);
        if (r >= 0)
                r = sd_bus_set_server(b->bus, true, id);
        if (r >= 0)
                r = sd_bus_set_trusted(b->bus, false);
        if (r >= 0)
                r = sd_bus_start(b->bus);
        if (r < 0) {
                log_error_errno(r, "Failed to serve D-Bus on fd %d: %m", fd);
                bus_free(b);
                return r;
        }
        return bus_setup(b, /* take_name= */ false, ret);
}

/**
 * bus_free() - flush, close and free the adapter
 * @b: the adapter or NULL
 *
 * Returns: NULL.
 */
Bus *bus_free(Bus *b) {
        if (!b)
                return NULL;
        bus_manager_unregister(b);
        bus_job_unregister(b);
        b->creds = bus_creds_free(b->creds);
        if (b->read_ev)
                event_free(b->read_ev);
        if (b->write_ev)
                event_free(b->write_ev);
        if (b->timer_ev)
                event_free(b->timer_ev);
        if (b->rearm_ev)
                event_free(b->rearm_ev);
        if (b->bus)
                sd_bus_flush_close_unref(b->bus);
        for (size_t i = 0; i < ELEMENTSOF(b->vtables); i++)
                free(b->vtables[i]);
        free(b);
        return NULL;
}
