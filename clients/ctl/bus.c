/* vescctl: connecting to vescd and turning its D-Bus answers into JSON.
 *
 * Everything vescctl shows is read through the public API (org.vescd1) and
 * rendered as JSON with the snake_case of the D-Bus names, which are the
 * JSON socket's field names.  This file also decides what a failure means
 * to the user: no bus, no vescd on it, missing permission, a method this
 * vescd does not have — each with its own message and exit code. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/fields.h"
#include "vescctl.h"

volatile int interrupted;

static void on_signal(int sig) {
        interrupted = 1;
}

void catch_interrupts(void) {
        struct sigaction sa = { .sa_handler = on_signal };

        (void) sigaction(SIGINT, &sa, NULL);
        (void) sigaction(SIGTERM, &sa, NULL);
}

int errno_to_exit(int r) {
        switch (r) {
        case 0: return EXIT_OK;
        case -EINVAL: return EXIT_USAGE;
        case -EHOSTDOWN: return EXIT_UNREACHABLE;
        case -EACCES: return EXIT_PERMISSION;
        case -EOPNOTSUPP: return EXIT_UNSUPPORTED;
        case -ENOENT: return EXIT_NOT_FOUND;
        default: return r > 0 ? EXIT_FAILED : EXIT_FAILED;
        }
}

/**
 * usage_error() - say what is wrong with the command line.
 * @cmd: the command ("watch"), or NULL for the global options
 * Returns -EINVAL (exit code 2).
 */
int usage_error(const char *cmd, const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "vescctl: %s%s", cmd ? cmd : "", cmd ? ": " : "");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nTry 'vescctl help%s%s'.\n", cmd ? " " : "", cmd ? cmd : "");
        return -EINVAL;
}

static bool has_owner(sd_bus *bus, int *ret_r) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r, owned = 0;

        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "NameHasOwner", &error, &reply, "s", BUS_NAME);
        if (r >= 0)
                r = sd_bus_message_read(reply, "b", &owned);
        *ret_r = r;
        return r >= 0 && owned;
}

/**
 * bus_connect() - connect to the bus vescd is on and check that it is there.
 * Returns 0, or -EHOSTDOWN / -EACCES after a message saying precisely
 * what is missing: the bus itself, or vescd on it.
 */
int bus_connect(sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const char *env = getenv("DBUS_SYSTEM_BUS_ADDRESS");
        const char *where;
        int r;

        if (arg_address) {
                r = sd_bus_new(&bus);
                if (r >= 0)
                        r = sd_bus_set_address(bus, arg_address);
                if (r >= 0)
                        r = sd_bus_set_bus_client(bus, true);
                if (r >= 0)
                        r = sd_bus_start(bus);
        } else
                r = sd_bus_open_system(&bus);
        if (r < 0) {
                if (r == -EACCES || r == -EPERM) {
                        fprintf(stderr, "vescctl: permission denied connecting to %s%s\n",
                                arg_address ? "the D-Bus at " : "the system D-Bus",
                                arg_address ? arg_address : "");
                        return -EACCES;
                }
                if (arg_address)
                        fprintf(stderr, "vescctl: cannot reach vescd: no D-Bus answers at %s (%s)\n", arg_address,
                                strerror(-r));
                else
                        fprintf(stderr,
                                "vescctl: cannot reach vescd: the system D-Bus is not running (nothing answers at %s: "
                                "%s)\n",
                                env ? env : "/run/dbus/system_bus_socket", strerror(-r));
                return -EHOSTDOWN;
        }
        where = arg_address ? "on the D-Bus at" : "on the system bus";
        if (!has_owner(bus, &r)) {
                if (r < 0)
                        fprintf(stderr, "vescctl: cannot reach vescd: the bus does not answer (%s)\n", strerror(-r));
                else
                        fprintf(stderr,
                                "vescctl: vescd is not running: nobody owns %s %s%s%s\n"
                                "(start it with 'systemctl start vescd', or see 'journalctl -u vescd')\n",
                                BUS_NAME, where, arg_address ? " " : "", arg_address ? arg_address : "");
                return -EHOSTDOWN;
        }
        *ret = TAKE_PTR(bus);
        return 0;
}

/**
 * bus_report() - print a failed call once, in the user's terms.
 * @what: the operation, e.g. "config set" or a method name
 * Returns the negative errno main() maps to an exit code.
 */
int bus_report(const char *what, const sd_bus_error *error, int r) {
        const char *name = error && error->name ? error->name : NULL;
        const char *msg = error && error->message ? error->message : strerror(r < 0 ? -r : EIO);

        if (!name) {
                fprintf(stderr, "vescctl: %s: %s\n", what, msg);
                return r == -EACCES ? -EACCES : -EIO;
        }
        if (strcmp(name, "org.freedesktop.DBus.Error.UnknownMethod") == 0 ||
            strcmp(name, "org.freedesktop.DBus.Error.UnknownInterface") == 0 ||
            strcmp(name, "org.freedesktop.DBus.Error.UnknownProperty") == 0) {
                fprintf(stderr, "vescctl: %s: not supported by this vescd (%s)\n", what, msg);
                return -EOPNOTSUPP;
        }
        if (strcmp(name, "org.vescd1.Error.PermissionDenied") == 0 ||
            strcmp(name, "org.freedesktop.DBus.Error.AccessDenied") == 0) {
                /* vescd's text already names the group; D-Bus's own does not */
                if (strcmp(name, "org.vescd1.Error.PermissionDenied") == 0)
                        fprintf(stderr, "vescctl: %s: permission denied: %s\n", what, msg);
                else
                        fprintf(stderr, "vescctl: %s: permission denied: this needs root or vescd's admin group (%s)\n",
                                what, msg);
                fprintf(stderr, "Run it with sudo, or have an administrator add you to that group "
                                "('sudo adduser USER GROUP', then log in again).\n");
                return -EACCES;
        }
        if (strcmp(name, "org.freedesktop.DBus.Error.ServiceUnknown") == 0 ||
            strcmp(name, "org.freedesktop.DBus.Error.NameHasNoOwner") == 0 ||
            strcmp(name, "org.freedesktop.DBus.Error.NoReply") == 0 ||
            strcmp(name, "org.freedesktop.DBus.Error.Disconnected") == 0) {
                fprintf(stderr, "vescctl: %s: vescd is not reachable (%s)\n", what, msg);
                return -EHOSTDOWN;
        }
        if (strcmp(name, "org.freedesktop.DBus.Error.UnknownObject") == 0 ||
            strcmp(name, "org.vescd1.Error.NoSuchController") == 0 ||
            strcmp(name, "org.vescd1.Error.NotFound") == 0) {
                fprintf(stderr, "vescctl: %s: %s\n", what, msg);
                return -ENOENT;
        }
        if (strncmp(name, "org.vescd1.Error.", 17) == 0) {
                /* some texts start with the error's name: say it once */
                size_t n = strlen(name + 17);
                if (strncmp(msg, name + 17, n) == 0 && strncmp(msg + n, ": ", 2) == 0)
                        msg += n + 2;
                fprintf(stderr, "vescctl: %s: %s (%s)\n", what, msg, name + 17);
        }
        else
                fprintf(stderr, "vescctl: %s: %s (%s)\n", what, msg, name);
        /* what to do next, for the errors a rider meets */
        if (strcmp(name, "org.vescd1.Error.Offline") == 0)
                fprintf(stderr, "Check that the controller has power and is on the CAN bus; 'vescctl status' shows "
                                "when it is online again.\n");
        else if (strcmp(name, "org.vescd1.Error.Timeout") == 0)
                fprintf(stderr, "The controller did not answer in time; check its power and the CAN wiring, then "
                                "try again.\n");
        else if (strcmp(name, "org.vescd1.Error.NotReady") == 0)
                fprintf(stderr, "vescd has not identified the controller yet; try again in a few seconds.\n");
        else if (strcmp(name, "org.vescd1.Error.Busy") == 0 && strcmp(what, "firmware remove") == 0)
                fprintf(stderr, "The current set and a set a running job uses cannot be removed; 'vescctl firmware "
                                "rollback' makes the previous set current.\n");
        else if (strcmp(name, "org.vescd1.Error.Busy") == 0 && strcmp(what, "firmware cancel") == 0)
                fprintf(stderr, "From its commit until it is confirmed a job cannot be stopped; 'vescctl firmware "
                                "job N --wait' follows it.\n");
        else if (strcmp(name, "org.vescd1.Error.Busy") == 0)
                fprintf(stderr, "'vescctl status' shows the firmware job holding it; try again when it has "
                                "ended.\n");
        return -EIO;
}

/* With ret_error, a failed call is left to the caller (nothing printed). */
static int bus_callv(sd_bus *bus, const char *what, const char *path, const char *iface, const char *method,
                     sd_bus_message **ret_reply, sd_bus_error *ret_error, const char *types, va_list ap) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, path, iface, method);
        if (r >= 0 && types)
                r = sd_bus_message_appendv(m, types, ap);
        if (r < 0)
                return bus_report(what, NULL, r);
        /* jobs and configuration writes may take a while on a slow bus */
        r = sd_bus_call(bus, m, 60 * USEC_PER_SEC, &error, &reply);
        if (r < 0) {
                if (ret_error) {
                        *ret_error = error;
                        error = SD_BUS_ERROR_NULL;
                        return r;
                }
                return bus_report(what, &error, r);
        }
        if (ret_reply)
                *ret_reply = TAKE_PTR(reply);
        return 0;
}

/**
 * bus_try_call() - like bus_call(), but a failure is returned in @ret_error
 * unprinted, for callers that fall back to an older method.
 */
int bus_try_call(sd_bus *bus, const char *path, const char *iface, const char *method, sd_bus_message **ret_reply,
                 sd_bus_error *ret_error, const char *types, ...) {
        va_list ap;
        int r;

        va_start(ap, types);
        r = bus_callv(bus, method, path, iface, method, ret_reply, ret_error, types, ap);
        va_end(ap);
        return r;
}

/* A vescd with an older signature of the method: sd-bus answers InvalidArgs
 * "... expecting '<signature>'". */
bool bus_error_old_signature(const sd_bus_error *error) {
        return bus_error_unknown_method(error) ||
               (sd_bus_error_has_name(error, "org.freedesktop.DBus.Error.InvalidArgs") && error->message &&
                strstr(error->message, "expecting '"));
}

bool bus_error_unknown_method(const sd_bus_error *error) {
        return sd_bus_error_has_names(error, "org.freedesktop.DBus.Error.UnknownMethod",
                                      "org.freedesktop.DBus.Error.UnknownInterface",
                                      "org.freedesktop.DBus.Error.UnknownProperty");
}

/**
 * bus_call() - call a method of vescd, report a failure (bus_report()).
 * @what: names the operation in messages (NULL: the method name)
 * @types, ...: the arguments, as sd_bus_message_append()
 */
int bus_call(sd_bus *bus, const char *what, const char *path, const char *iface, const char *method,
             sd_bus_message **ret_reply, const char *types, ...) {
        va_list ap;
        int r;

        va_start(ap, types);
        r = bus_callv(bus, what ? what : method, path, iface, method, ret_reply, NULL, types, ap);
        va_end(ap);
        return r;
}

/**
 * bus_call_json() - call a method whose result is one JSON string ("s").
 * @ret: the parsed JSON (new reference)
 */
int bus_call_json(sd_bus *bus, const char *what, const char *path, const char *iface, const char *method,
                  json_t **ret, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        json_error_t jerr;
        const char *s;
        va_list ap;
        int r;

        va_start(ap, types);
        r = bus_callv(bus, what ? what : method, path, iface, method, &reply, NULL, types, ap);
        va_end(ap);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "s", &s);
        if (r < 0)
                return bus_report(what ? what : method, NULL, r);
        *ret = json_loads(s, JSON_DECODE_ANY, &jerr);
        if (!*ret) {
                fprintf(stderr, "vescctl: %s: vescd answered invalid JSON: %s\n", what ? what : method, jerr.text);
                return -EIO;
        }
        return 0;
}

/* "FirmwareVersion" -> "firmware_version": the daemon's one rule, so the
 * names are the JSON socket's. */
void snake_case(const char *s, char *out, size_t size) {
        field_snake(s, out, size);
}

static json_t *read_variant_contents(sd_bus_message *m, const char *contents);

/* The value at the read pointer, of D-Bus type contents, as JSON. */
static json_t *read_value(sd_bus_message *m, const char *contents) {
        json_t *v = NULL;
        int r;

        if (contents[0] && !contents[1] && strchr("sobyuitxdnqg", contents[0])) {
                union {
                        const char *s;
                        int b;
                        uint8_t y;
                        uint16_t q;
                        int16_t n;
                        uint32_t u;
                        int32_t i;
                        uint64_t t;
                        int64_t x;
                        double d;
                } u;
                r = sd_bus_message_read_basic(m, contents[0], &u);
                if (r <= 0)
                        return NULL;
                switch (contents[0]) {
                case 's':
                case 'o':
                case 'g': return json_string(u.s);
                case 'b': return json_boolean(u.b);
                case 'y': return json_integer(u.y);
                case 'q': return json_integer(u.q);
                case 'n': return json_integer(u.n);
                case 'u': return json_integer(u.u);
                case 'i': return json_integer(u.i);
                case 't': return json_integer((json_int_t) u.t);
                case 'x': return json_integer(u.x);
                default: return json_real(u.d);
                }
        }
        if (contents[0] == 'v') {
                const char *inner;
                char type;
                r = sd_bus_message_peek_type(m, &type, &inner);
                if (r <= 0)
                        return NULL;
                return read_variant_contents(m, inner);
        }
        if (strcmp(contents, "(ss)") == 0) {
                /* Job.Error: (code, text) */
                const char *a, *b;
                if (sd_bus_message_read(m, "(ss)", &a, &b) < 0)
                        return NULL;
                return json_pack("{s:s, s:s}", "code", a, "text", b);
        }
        if (contents[0] == 'a' && contents[1] == '{') {
                /* a{sX}: an object */
                char entry[64];
                size_t len = strlen(contents);
                if (contents[2] != 's' || len < 5 || len - 2 >= sizeof entry)
                        goto skip;
                snprintf(entry, sizeof entry, "%.*s", (int) (len - 3), contents + 2);   /* "sv" of "a{sv}" */
                v = json_object();
                if (sd_bus_message_enter_container(m, 'a', contents + 1) < 0)
                        return json_decref(v), NULL;
                while (sd_bus_message_enter_container(m, 'e', entry) > 0) {
                        const char *k;
                        char name[96];
                        json_t *x;
                        if (sd_bus_message_read(m, "s", &k) < 0)
                                break;
                        x = read_value(m, entry + 1);
                        if (!x)
                                break;
                        snake_case(k, name, sizeof name);
                        json_object_set_new(v, strcmp(entry, "ss") == 0 ? k : name, x);
                        (void) sd_bus_message_exit_container(m);
                }
                (void) sd_bus_message_exit_container(m);
                return v;
        }
        if (contents[0] == 'a') {
                v = json_array();
                if (sd_bus_message_enter_container(m, 'a', contents + 1) < 0)
                        return json_decref(v), NULL;
                for (;;) {
                        json_t *x;
                        r = sd_bus_message_at_end(m, false);
                        if (r != 0)
                                break;
                        x = read_value(m, contents + 1);
                        if (!x)
                                break;
                        json_array_append_new(v, x);
                }
                (void) sd_bus_message_exit_container(m);
                return v;
        }
skip:
        (void) sd_bus_message_skip(m, contents);
        return json_null();
}

static json_t *read_variant_contents(sd_bus_message *m, const char *contents) {
        json_t *v;

        if (sd_bus_message_enter_container(m, 'v', contents) < 0)
                return NULL;
        v = read_value(m, contents);
        (void) sd_bus_message_exit_container(m);
        return v;
}

/**
 * message_read_dict() - read an a{sv} into a JSON object with snake_case keys.
 */
int message_read_dict(sd_bus_message *m, json_t **ret) {
        json_t *o = read_value(m, "a{sv}");

        if (!o || !json_is_object(o)) {
                json_decref(o);
                return -EBADMSG;
        }
        *ret = o;
        return 0;
}

int bus_get_all(sd_bus *bus, const char *path, const char *iface, json_t **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = bus_call(bus, path, path, PROPERTIES_IFACE, "GetAll", &reply, "s", iface);
        if (r < 0)
                return r;
        r = message_read_dict(reply, ret);
        if (r < 0)
                return bus_report(path, NULL, r);
        return 0;
}

/**
 * bus_get_state() - the Manager's properties, and every controller's
 * properties as an array "controller_objects" (each with its "path").
 */
int bus_get_state(sd_bus *bus, json_t **ret) {
        json_t *mgr = NULL, *list, *p;
        size_t i;
        int r;

        r = bus_get_all(bus, MANAGER_PATH, MANAGER_IFACE, &mgr);
        if (r < 0)
                return r;
        list = json_array();
        json_array_foreach(json_object_get(mgr, "controllers"), i, p) {
                json_t *c = NULL;
                /* a controller removed in between is simply not listed */
                if (bus_get_all(bus, json_string_value(p), CONTROLLER_IFACE, &c) >= 0) {
                        json_object_set_new(c, "path", json_string(json_string_value(p)));
                        json_array_append_new(list, c);
                }
        }
        json_object_set_new(mgr, "controller_objects", list);
        *ret = mgr;
        return 0;
}

/* A UUID (24 hex digits) or a CAN id (0..254). */
bool controller_name_valid(const char *name) {
        size_t n = strlen(name);
        char *end;
        long id;

        if (n == 24 && strspn(name, "0123456789abcdefABCDEF") == 24)
                return true;
        if (n == 0 || n > 3 || strspn(name, "0123456789") != n)
                return false;
        id = strtol(name, &end, 10);
        return *end == 0 && id >= 0 && id <= 254;
}

const char *path_uuid(const char *path) {
        const char *s = strrchr(path, '/');
        return s ? s + 1 : path;
}

/**
 * resolve_controller() - a controller named by UUID or CAN id -> its object path.
 * Returns -ENOENT (message printed) when vescd knows no such controller.
 */
int resolve_controller(sd_bus *bus, const char *name, char **ret_path) {
        json_t *st = NULL, *c;
        size_t i;
        int r;

        r = bus_get_state(bus, &st);
        if (r < 0)
                return r;
        r = -ENOENT;
        json_array_foreach(json_object_get(st, "controller_objects"), i, c) {
                char id[8];
                snprintf(id, sizeof id, "%lld", jint(c, "id"));
                if (strcasecmp(jstr(c, "uuid"), name) == 0 || strcmp(id, name) == 0) {
                        *ret_path = strdup(jstr(c, "path"));
                        r = *ret_path ? 0 : -ENOMEM;
                        break;
                }
        }
        json_decref(st);
        if (r == -ENOENT)
                fprintf(stderr, "vescctl: no controller '%s' (give a UUID or a CAN id; see 'vescctl list')\n", name);
        return r;
}

/* An image set named by id or by name ("vesc-5.03-test"; the newest wins). */
int resolve_set(sd_bus *bus, const char *name, char **ret_id) {
        json_t *sets = NULL, *s;
        size_t i;
        int r;

        r = bus_call_json(bus, "firmware sets", MANAGER_PATH, MANAGER_IFACE, "ListImageSets", &sets, NULL);
        if (r < 0)
                return r;
        r = -ENOENT;
        json_array_foreach(sets, i, s)
                if (strcmp(jstr(s, "id"), name) == 0 || strcmp(jstr(s, "name"), name) == 0) {
                        free(*ret_id);
                        *ret_id = strdup(jstr(s, "id"));
                        r = *ret_id ? 0 : -ENOMEM;
                }
        json_decref(sets);
        if (r == -ENOENT)
                fprintf(stderr, "vescctl: no installed image set '%s' (see 'vescctl firmware sets')\n", name);
        return r;
}

const char *jstr(json_t *o, const char *k) {
        const char *s = json_string_value(json_object_get(o, k));
        return s ? s : "";
}

long long jint(json_t *o, const char *k) {
        json_t *v = json_object_get(o, k);
        return json_is_real(v) ? (long long) json_real_value(v) : (long long) json_integer_value(v);
}

double jreal(json_t *o, const char *k) {
        return json_number_value(json_object_get(o, k));
}

void print_json(json_t *o) {
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENCODE_ANY | JSON_REAL_PRECISION(6));
        if (s) {
                puts(s);
                free(s);
        }
        fflush(stdout);
}

void print_json_line(json_t *o) {
        char *s = json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(6));
        if (s) {
                puts(s);
                free(s);
        }
        fflush(stdout);
}

/* Local wall-clock time with milliseconds: "2026-12-03 14:05:01.250". */
void format_wall_time(uint64_t usec, char *buf, size_t size) {
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;
        char s[32];

        if (!localtime_r(&t, &tm) || strftime(s, sizeof s, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(s, sizeof s, "%lld", (long long) t);
        snprintf(buf, size, "%s.%03u", s, (unsigned) (usec % USEC_PER_SEC / 1000));
}

uint64_t now_usec(int clock) {
        struct timespec ts;

        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}
