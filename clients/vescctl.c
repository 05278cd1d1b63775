/* vescctl: command-line client of vescd over D-Bus.
 *
 *   vescctl [--address ADDR] [--json] status|list|show CONTROLLER|watch|scan
 *   vescctl firmware sets|install FILE|remove SET|rollback|update CONTROLLER SET|pair SET|repair SET|job N|
 *           history
 *           [--wait]
 *
 * CONTROLLER is a UUID (24 hex digits) or a CAN id.  Everything is read
 * through the public D-Bus API (org.vescd1), never from vescd's internals;
 * --json prints the same data as JSON with the snake_case field names the
 * JSON socket uses. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "core/fields.h"  /* field_snake(): the names the JSON socket uses */
#include "macro.h"

#define BUS_NAME "org.vescd1"
#define MANAGER_PATH "/org/vescd1"
#define MANAGER_IFACE "org.vescd1.Manager"
#define CONTROLLER_IFACE "org.vescd1.Controller"
#define JOB_IFACE "org.vescd1.Job"
#define JOB_PREFIX "/org/vescd1/job/"

static const char *arg_address;
static bool arg_json;
static double arg_duration;   /* watch: seconds, 0 = until interrupted */
static bool arg_wait;         /* firmware: follow the job to its end */
static bool arg_allow_mismatch; /* firmware update: AllowMismatch */

/* Read one variant into JSON.  Returns a new reference, NULL on error. */
static json_t *read_variant(sd_bus_message *m) {
        const char *contents;
        char type;
        json_t *v = NULL;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r <= 0 || type != 'v')
                return NULL;
        r = sd_bus_message_enter_container(m, 'v', contents);
        if (r < 0)
                return NULL;
        if (contents[0] && !contents[1] && strchr("sobyuitxd", contents[0])) {
                /* one basic value */
                union {
                        const char *s;
                        int b;
                        uint8_t y;
                        uint32_t u;
                        int32_t i;
                        uint64_t t;
                        int64_t x;
                        double d;
                } u;
                if (sd_bus_message_read_basic(m, contents[0], &u) >= 0)
                        switch (contents[0]) {
                        case 's':
                        case 'o': v = json_string(u.s); break;
                        case 'b': v = json_boolean(u.b); break;
                        case 'y': v = json_integer(u.y); break;
                        case 'u': v = json_integer(u.u); break;
                        case 'i': v = json_integer(u.i); break;
                        case 't': v = json_integer((json_int_t) u.t); break;
                        case 'x': v = json_integer(u.x); break;
                        default: v = json_real(u.d); break;
                        }
                (void) sd_bus_message_exit_container(m);
                return v;
        }
        switch (contents[0]) {
        case '(':
                if (strcmp(contents, "(ss)") == 0) {
                        /* Job.Error: (code, text) */
                        const char *a, *b;
                        if (sd_bus_message_read(m, "(ss)", &a, &b) >= 0)
                                v = json_pack("[ss]", a, b);
                        break;
                }
                (void) sd_bus_message_skip(m, contents);
                v = json_null();
                break;
        case 'a':
                if (strcmp(contents, "a{ss}") == 0) {
                        /* Job.Phases */
                        const char *k, *x;
                        v = json_object();
                        if (sd_bus_message_enter_container(m, 'a', "{ss}") >= 0) {
                                while (sd_bus_message_read(m, "{ss}", &k, &x) > 0)
                                        json_object_set_new(v, k, json_string(x));
                                (void) sd_bus_message_exit_container(m);
                        }
                        break;
                }
                if (contents[1] == 's' || contents[1] == 'o') {
                        const char *s;
                        v = json_array();
                        if (sd_bus_message_enter_container(m, 'a', contents + 1) >= 0) {
                                while (sd_bus_message_read_basic(m, contents[1], &s) > 0)
                                        json_array_append_new(v, json_string(s));
                                (void) sd_bus_message_exit_container(m);
                        }
                        break;
                }
                /* fall through */
        default:
                (void) sd_bus_message_skip(m, contents);
                v = json_null();
                break;
        }
        (void) sd_bus_message_exit_container(m);
        return v;
}

/* a{sv} -> JSON object with snake_case keys. */
static int read_dict(sd_bus_message *m, json_t **ret) {
        json_t *o = json_object();
        const char *key;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                goto fail;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                char name[64];
                json_t *v;

                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        goto fail;
                v = read_variant(m);
                if (!v) {
                        r = -EBADMSG;
                        goto fail;
                }
                field_snake(key, name, sizeof name);
                json_object_set_new(o, name, v);
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        goto fail;
        }
        if (r < 0)
                goto fail;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                goto fail;
        *ret = o;
        return 0;
fail:
        json_decref(o);
        return r;
}

static int get_all(sd_bus *bus, const char *path, const char *iface, json_t **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll", &error, &reply, "s",
                               iface);
        if (r < 0) {
                fprintf(stderr, "vescctl: %s: %s\n", path, error.message ? error.message : strerror(-r));
                return r;
        }
        return read_dict(reply, ret);
}

/* Manager properties plus every controller's, as one JSON object. */
static int get_state(sd_bus *bus, json_t **ret) {
        json_t *mgr = NULL, *list, *paths;
        size_t i;
        json_t *p;
        int r;

        r = get_all(bus, MANAGER_PATH, MANAGER_IFACE, &mgr);
        if (r < 0)
                return r;
        list = json_array();
        paths = json_object_get(mgr, "controllers");
        json_array_foreach(paths, i, p) {
                json_t *c = NULL;
                if (get_all(bus, json_string_value(p), CONTROLLER_IFACE, &c) >= 0) {
                        json_object_set_new(c, "path", json_string(json_string_value(p)));
                        json_array_append_new(list, c);
                }
        }
        json_object_set_new(mgr, "controller_objects", list);
        *ret = mgr;
        return 0;
}

static const char *jstr(json_t *o, const char *k) {
        const char *s = json_string_value(json_object_get(o, k));
        return s ? s : "";
}

static long long jint(json_t *o, const char *k) {
        return (long long) json_integer_value(json_object_get(o, k));
}

static void print_json(json_t *o) {
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(6));
        if (s) {
                puts(s);
                free(s);
        }
}

static void print_controller_line(json_t *c) {
        printf("  %s  id %3lld  hw %-8s firmware %s%s%s%s  %s%s%s\n", jstr(c, "uuid"), jint(c, "id"), jstr(c, "hw_name"),
               jstr(c, "firmware_version"), jint(c, "firmware_test_build") ? " (test build)" : "",
               jstr(c, "firmware_name")[0] ? " " : "", jstr(c, "firmware_name"),
               json_is_true(json_object_get(c, "online")) ? "online" : "OFFLINE",
               strcmp(jstr(c, "fault"), "NONE") && jstr(c, "fault")[0] ? "  fault " : "",
               strcmp(jstr(c, "fault"), "NONE") ? jstr(c, "fault") : "");
}

static bool json_array_contains_string(json_t *a, const char *s) {
        json_t *v;
        size_t i;

        json_array_foreach(a, i, v)
                if (s && json_string_value(v) && strcmp(json_string_value(v), s) == 0)
                        return true;
        return false;
}

static int cmd_status(sd_bus *bus) {
        json_t *st = NULL, *c, *s;
        size_t i;
        int r;

        r = get_state(bus, &st);
        if (r < 0)
                return r;
        if (arg_json) {
                print_json(st);
                json_decref(st);
                return 0;
        }
        json_t *cs = json_object_get(st, "controller_objects");
        bool mismatch = json_is_true(json_object_get(st, "mismatch"));
        const char *state = jstr(st, "board_state");
        char upper[32];
        size_t k;

        for (k = 0; state[k] && k < sizeof upper - 1; k++)
                upper[k] = (char) toupper((unsigned char) state[k]);
        upper[k] = '\0';
        printf("Board: %zu controller%s, %s\n", json_array_size(cs), json_array_size(cs) == 1 ? "" : "s",
               upper[0] ? upper : mismatch ? "MISMATCH" : "consistent");
        json_array_foreach(cs, i, c)
                print_controller_line(c);
        if (strcmp(state, "updating") == 0 || strcmp(state, "degraded") == 0) {
                printf("Why:\n");
                json_array_foreach(json_object_get(st, "board_state_reasons"), i, s)
                        if (!mismatch || !json_array_contains_string(json_object_get(st, "mismatch_reasons"),
                                                                     json_string_value(s)))
                                printf("  %s\n", json_string_value(s));
        }
        if (mismatch) {
                printf("Mismatch:\n");
                json_array_foreach(json_object_get(st, "mismatch_reasons"), i, s)
                        printf("  %s\n", json_string_value(s));
                if (json_array_size(json_object_get(st, "actions")) > 0) {
                        printf("To repair:\n");
                        json_array_foreach(json_object_get(st, "actions"), i, s)
                                printf("  %s\n", json_string_value(s));
                }
        }
        printf("Bus: %s on %s (vescd %s, CAN id %lld)%s\n", jstr(st, "bus_state"), jstr(st, "transport"),
               jstr(st, "version"), jint(st, "can_id"), json_is_true(json_object_get(st, "scanning")) ? ", scanning" : "");
        json_decref(st);
        return 0;
}

static int cmd_list(sd_bus *bus) {
        json_t *st = NULL, *c;
        size_t i;
        int r;

        r = get_state(bus, &st);
        if (r < 0)
                return r;
        if (arg_json)
                print_json(json_object_get(st, "controller_objects"));
        else
                json_array_foreach(json_object_get(st, "controller_objects"), i, c)
                        print_controller_line(c);
        json_decref(st);
        return 0;
}

/* UUID or CAN id -> object path. */
static int resolve(sd_bus *bus, const char *name, char **ret_path) {
        json_t *st = NULL, *c;
        size_t i;
        int r;

        r = get_state(bus, &st);
        if (r < 0)
                return r;
        r = -ENODEV;
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
        if (r == -ENODEV)
                fprintf(stderr, "vescctl: no controller '%s' (give a UUID or a CAN id)\n", name);
        return r;
}

static int cmd_show(sd_bus *bus, const char *name) {
        _cleanup_free_ char *path = NULL;
        json_t *c = NULL;
        const char *k;
        json_t *v;
        int r;

        r = resolve(bus, name, &path);
        if (r < 0)
                return r;
        r = get_all(bus, path, CONTROLLER_IFACE, &c);
        if (r < 0)
                return r;
        if (arg_json)
                print_json(c);
        else {
                printf("%s\n", path);
                json_object_foreach(c, k, v) {
                        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(6));
                        printf("  %-22s %s\n", k, s ? s : "?");
                        free(s);
                }
        }
        json_decref(c);
        return 0;
}

static int cmd_scan(sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "Scan", &error, NULL, NULL);
        if (r < 0) {
                fprintf(stderr, "vescctl: scan: %s\n", error.message ? error.message : strerror(-r));
                return r;
        }
        if (!arg_json)
                printf("Scanning CAN ids 0..254; controllers appear as they answer.\n");
        return 0;
}

static void print_telemetry(const char *path, json_t *o);

static int on_telemetry(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *path = sd_bus_message_get_path(m);
        json_t *o = NULL;

        if (read_dict(m, &o) < 0)
                return 0;
        print_telemetry(path, o);
        json_decref(o);
        return 0;
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *iface, *path = sd_bus_message_get_path(m);
        json_t *o = NULL, *online;

        if (sd_bus_message_read(m, "s", &iface) < 0 || strcmp(iface, CONTROLLER_IFACE) != 0)
                return 0;
        if (read_dict(m, &o) < 0)
                return 0;
        online = json_object_get(o, "online");
        if (online) {
                const char *uuid = strrchr(path, '/');
                if (arg_json)
                        printf("{\"path\": \"%s\", \"online\": %s}\n", path, json_is_true(online) ? "true" : "false");
                else
                        printf("%s %s\n", uuid ? uuid + 1 : path, json_is_true(online) ? "online" : "OFFLINE");
                fflush(stdout);
        }
        json_decref(o);
        return 0;
}

static void print_telemetry(const char *path, json_t *o) {
        if (arg_json) {
                json_t *line = json_pack("{s:s, s:O}", "path", path, "telemetry", o);
                char *s = json_dumps(line, JSON_COMPACT | JSON_REAL_PRECISION(6));
                if (s)
                        puts(s);
                free(s);
                json_decref(line);
        } else {
                const char *uuid = strrchr(path, '/');
                const char *k;
                json_t *v;
                printf("%s", uuid ? uuid + 1 : path);
                json_object_foreach(o, k, v) {
                        if (json_is_real(v))
                                printf(" %s=%.2f", k, json_real_value(v));
                        else if (json_is_integer(v))
                                printf(" %s=%lld", k, (long long) json_integer_value(v));
                }
                printf("\n");
        }
        fflush(stdout);
}

static int print_snapshot(sd_bus *bus) {
        static const char *const fields[] = {
                "erpm", "current_motor", "current_in", "duty_cycle", "voltage_in", "temp_fet", "temp_motor",
                "amp_hours", "amp_hours_charged", "watt_hours", "watt_hours_charged", "tachometer",
        };
        json_t *st = NULL, *c;
        size_t i;
        int r;

        r = get_state(bus, &st);
        if (r < 0)
                return r;
        json_array_foreach(json_object_get(st, "controller_objects"), i, c) {
                json_t *o = json_object();
                for (size_t f = 0; f < ELEMENTSOF(fields); f++) {
                        json_t *v = json_object_get(c, fields[f]);
                        if (v)
                                json_object_set(o, fields[f], v);
                }
                print_telemetry(jstr(c, "path"), o);
                json_decref(o);
        }
        json_decref(st);
        return 0;
}

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) {
        interrupted = 1;
}

static int cmd_watch(sd_bus *bus) {
        uint64_t end = arg_duration > 0 ? now_usec() + (uint64_t) (arg_duration * 1e6) : UINT64_MAX;
        int r;

        r = sd_bus_match_signal(bus, NULL, BUS_NAME, NULL, CONTROLLER_IFACE, "Telemetry", on_telemetry, NULL);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, BUS_NAME, NULL, "org.freedesktop.DBus.Properties",
                                        "PropertiesChanged", on_properties_changed, NULL);
        if (r < 0) {
                fprintf(stderr, "vescctl: cannot subscribe: %s\n", strerror(-r));
                return r;
        }
        /* telemetry signals carry changes only: start from a snapshot */
        r = print_snapshot(bus);
        if (r < 0)
                return r;
        signal(SIGINT, on_sigint);
        signal(SIGTERM, on_sigint);
        while (!interrupted) {
                uint64_t now = now_usec();
                if (now >= end)
                        break;
                r = sd_bus_process(bus, NULL);
                if (r < 0) {
                        fprintf(stderr, "vescctl: bus: %s\n", strerror(-r));
                        return r;
                }
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, end == UINT64_MAX ? UINT64_MAX : end - now);
                if (r < 0 && r != -EINTR) {
                        fprintf(stderr, "vescctl: bus: %s\n", strerror(-r));
                        return r;
                }
        }
        return 0;
}

/* ------------------------------------------------------------ firmware */

static int call_error(const char *what, sd_bus_error *error, int r) {
        if (error->name)
                fprintf(stderr, "vescctl: %s: %s (%s)\n", what, error->message ? error->message : strerror(-r),
                        error->name);
        else
                fprintf(stderr, "vescctl: %s: %s\n", what, strerror(-r));
        return r;
}

/* A JSON string result of a Manager method. */
static int call_json(sd_bus *bus, const char *method, json_t **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *s;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, method, &error, &reply, NULL);
        if (r < 0)
                return call_error(method, &error, r);
        r = sd_bus_message_read(reply, "s", &s);
        if (r < 0)
                return r;
        *ret = json_loads(s, 0, NULL);
        return *ret ? 0 : -EBADMSG;
}

/* An image set named by id or by name ("vesc-5.03-test"; the newest wins). */
static int resolve_set(sd_bus *bus, const char *name, char **ret_id) {
        json_t *sets = NULL, *s;
        size_t i;
        int r;

        r = call_json(bus, "ListImageSets", &sets);
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
                fprintf(stderr, "vescctl: no installed image set '%s' (see vescctl firmware sets)\n", name);
        return r;
}

/* A Manager method that lists things as a JSON array: printed as it is
 * with --json (returns 0); else the line saying the list is empty, if it
 * is, and the array in *ret for the caller's table (returns 1). */
static int call_list(sd_bus *bus, const char *method, const char *none, json_t **ret) {
        json_t *list = NULL;
        int r;

        r = call_json(bus, method, &list);
        if (r < 0)
                return r;
        if (arg_json) {
                print_json(list);
                json_decref(list);
                return 0;
        }
        if (json_array_size(list) == 0)
                printf("%s\n", none);
        *ret = list;
        return 1;
}

static int cmd_sets(sd_bus *bus) {
        json_t *sets = NULL, *s, *hw;
        size_t i, k;
        int r;

        r = call_list(bus, "ListImageSets", "No image sets installed.", &sets);
        if (r <= 0)
                return r;
        json_array_foreach(sets, i, s) {
                printf("%s  %-20s %-8s signature %-9s%s%s  hw", jstr(s, "id"), jstr(s, "name"), jstr(s, "version"),
                       jstr(s, "signature"), json_is_true(json_object_get(s, "current")) ? "  current" : "",
                       json_is_true(json_object_get(s, "previous")) ? "  previous" : "");
                json_array_foreach(json_object_get(s, "hardware"), k, hw)
                        printf(" %s", jstr(hw, "hw_name"));
                printf("\n");
        }
        json_decref(sets);
        return 0;
}

static int cmd_install(sd_bus *bus, const char *file) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *abs = NULL;
        const char *id;
        int r;

        fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                fprintf(stderr, "vescctl: %s: %s\n", file, strerror(errno));
                return -errno;
        }
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode)) {
                /* a directory set cannot travel as one fd: vescd reads it itself */
                abs = realpath(file, NULL);
                if (!abs)
                        return -errno;
                r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "InstallImageSetFromPath", &error,
                                       &reply, "s", abs);
        } else
                r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "InstallImageSet", &error, &reply,
                                       "h", fd);
        if (r < 0)
                return call_error(file, &error, r);
        r = sd_bus_message_read(reply, "s", &id);
        if (r < 0)
                return r;
        printf("%s\n", id);
        return 0;
}

static int cmd_rollback(sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *id;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "RollbackImageSet", &error, &reply, NULL);
        if (r < 0)
                return call_error("RollbackImageSet", &error, r);
        r = sd_bus_message_read(reply, "s", &id);
        if (r < 0)
                return r;
        printf("%s\n", id);
        return 0;
}

static int cmd_remove(sd_bus *bus, const char *name) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *id = NULL;
        int r;

        r = resolve_set(bus, name, &id);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "RemoveImageSet", &error, NULL, "s", id);
        if (r < 0)
                return call_error("RemoveImageSet", &error, r);
        return 0;
}

typedef struct Follow {
        char *path;
        unsigned last_percent;
        char last_phase[32];
        bool tty;
        bool ended;
} Follow;

static void print_progress(Follow *f, json_t *job) {
        long long eta = jint(job, "eta_seconds");
        unsigned pct = (unsigned) jint(job, "progress");
        const char *phase = jstr(job, "phase");
        bool dnpo = json_is_true(json_object_get(job, "do_not_power_off"));
        char eta_s[48] = "";

        if (strcmp(jstr(job, "state"), "running") != 0)
                return;
        if (eta >= 0)
                snprintf(eta_s, sizeof eta_s, ", about %llds left", eta);
        if (f->tty) {
                fprintf(stderr, "\r\033[K%3u%%  %-11s %lld/%lld bytes%s%s", pct, phase, jint(job, "bytes_done"),
                        jint(job, "bytes_total"), eta_s, dnpo ? "  DO NOT POWER OFF" : "");
                fflush(stderr);
        } else if (strcmp(phase, f->last_phase) != 0 || pct >= f->last_percent + 10) {
                /* a log: one line per phase and per 10 % */
                printf("%3u%%  %-11s %lld/%lld bytes%s%s\n", pct, phase, jint(job, "bytes_done"), jint(job, "bytes_total"),
                       eta_s, dnpo ? "  DO NOT POWER OFF" : "");
                fflush(stdout);
                f->last_percent = pct;
        }
        snprintf(f->last_phase, sizeof f->last_phase, "%s", phase);
}

static int on_job_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Follow *f = userdata;
        json_t *job = NULL;

        if (get_all(sd_bus_message_get_bus(m), f->path, JOB_IFACE, &job) < 0)
                return 0;
        print_progress(f, job);
        if (strcmp(jstr(job, "state"), "running") != 0)
                f->ended = true;
        json_decref(job);
        return 0;
}

static void print_job(json_t *job) {
        json_t *phases = json_object_get(job, "phases"), *err = json_object_get(job, "error"), *v;
        const char *k;

        if (arg_json) {
                print_json(job);
                return;
        }
        printf("job %lld (%s, image set %s): %s, phase %s, %lld%%\n", jint(job, "id"), jstr(job, "kind"),
               jstr(job, "image_set"), jstr(job, "state"), jstr(job, "phase"), jint(job, "progress"));
        json_object_foreach(phases, k, v)
                printf("  %s  %s\n", k, json_string_value(v));
        if (json_is_array(err) && json_array_size(err) == 2 && json_string_value(json_array_get(err, 0))[0])
                printf("error %s: %s\n", json_string_value(json_array_get(err, 0)),
                       json_string_value(json_array_get(err, 1)));
        const char *report = jstr(job, "report");
        if (report[0]) {
                json_t *rep = json_loads(report, 0, NULL), *side;
                size_t i;
                json_array_foreach(json_object_get(rep, "sides"), i, side) {
                        printf("  %s (id %lld): was %s, runs %s, target %s%s%s\n", jstr(side, "uuid"),
                               jint(side, "can_id"), jstr(side, "before"), jstr(side, "runs"), jstr(side, "target"),
                               json_is_true(json_object_get(side, "updated")) ? ", updated" : "",
                               jstr(side, "redo")[0] ? "" : "");
                        if (jstr(side, "redo")[0])
                                printf("    redo: %s\n", jstr(side, "redo"));
                }
                json_decref(rep);
        }
}

/* Show a job; with --wait follow its progress until it ends.  Returns 0
 * for a job that is done (or still running without --wait), 1 otherwise. */
static int follow_job(sd_bus *bus, const char *path) {
        Follow f = { .path = (char *) path, .tty = isatty(STDERR_FILENO), .last_percent = 0 };
        json_t *job = NULL;
        int r;

        if (arg_wait) {
                r = sd_bus_match_signal(bus, NULL, BUS_NAME, path, "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                        on_job_changed, &f);
                if (r < 0)
                        return r;
                signal(SIGINT, on_sigint);
                r = get_all(bus, path, JOB_IFACE, &job);
                if (r < 0)
                        return r;
                f.ended = strcmp(jstr(job, "state"), "running") != 0;
                if (!f.ended)
                        print_progress(&f, job);
                json_decref(job);
                job = NULL;
                while (!f.ended && !interrupted) {
                        r = sd_bus_process(bus, NULL);
                        if (r < 0)
                                return r;
                        if (r > 0)
                                continue;
                        r = sd_bus_wait(bus, UINT64_MAX);
                        if (r < 0 && r != -EINTR)
                                return r;
                }
                if (f.tty)
                        fputc('\n', stderr);
        }
        r = get_all(bus, path, JOB_IFACE, &job);
        if (r < 0)
                return r;
        print_job(job);
        r = strcmp(jstr(job, "state"), "done") == 0 || (!arg_wait && strcmp(jstr(job, "state"), "running") == 0) ? 0 : 1;
        json_decref(job);
        return r;
}

static int cmd_start(sd_bus *bus, const char *method, const char *controller, const char *set_name) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *id = NULL, *path = NULL;
        const char *job;
        int r;

        r = resolve_set(bus, set_name, &id);
        if (r < 0)
                return r;
        if (controller) {
                const char *uuid;
                r = resolve(bus, controller, &path);
                if (r < 0)
                        return r;
                uuid = strrchr(path, '/') + 1;
                if (arg_allow_mismatch)
                        r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, method, &error, &reply,
                                               "ssa{sv}", uuid, id, 1, "AllowMismatch", "b", 1);
                else
                        r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, method, &error, &reply,
                                               "ssa{sv}", uuid, id, 0);
        } else
                r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, method, &error, &reply, "sa{sv}", id,
                                       0);
        if (r < 0)
                return call_error(method, &error, r);
        r = sd_bus_message_read(reply, "o", &job);
        if (r < 0)
                return r;
        printf("%s\n", job);
        fflush(stdout);
        return follow_job(bus, job);
}

static int cmd_job(sd_bus *bus, const char *n) {
        char path[64];

        if (strncmp(n, JOB_PREFIX, strlen(JOB_PREFIX)) == 0)
                snprintf(path, sizeof path, "%s", n);
        else
                snprintf(path, sizeof path, JOB_PREFIX "%s", n);
        return follow_job(bus, path);
}

static int cmd_history(sd_bus *bus) {
        json_t *h = NULL, *e;
        size_t i;
        int r;

        r = call_list(bus, "GetHistory", "No firmware jobs yet.", &h);
        if (r <= 0)
                return r;
        json_array_foreach(h, i, e) {
                json_t *err = json_object_get(e, "error");
                printf("%s  job %lld  %-6s set %s  %s%s%s\n", jstr(e, "ended"), jint(e, "id"), jstr(e, "kind"),
                       jstr(e, "image_set"), jstr(e, "state"), jstr(err, "code")[0] ? " " : "", jstr(err, "code"));
        }
        json_decref(h);
        return 0;
}

static int cmd_forget(sd_bus *bus, const char *uuid) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "ForgetController", &error, NULL, "s", uuid);
        if (r < 0)
                return call_error("ForgetController", &error, r);
        printf("%s is no longer a member of the board\n", uuid);
        return 0;
}

static int cmd_firmware(sd_bus *bus, int argc, char **argv) {
        const char *sub = optind < argc ? argv[optind++] : "sets";
        const char *a1 = optind < argc ? argv[optind] : NULL, *a2 = optind + 1 < argc ? argv[optind + 1] : NULL;

        if (strcmp(sub, "sets") == 0)
                return cmd_sets(bus);
        if (strcmp(sub, "history") == 0)
                return cmd_history(bus);
        if (strcmp(sub, "install") == 0 && a1)
                return cmd_install(bus, a1);
        if (strcmp(sub, "remove") == 0 && a1)
                return cmd_remove(bus, a1);
        if (strcmp(sub, "rollback") == 0)
                return cmd_rollback(bus);
        if (strcmp(sub, "update") == 0 && a1 && a2)
                return cmd_start(bus, "UpdateController", a1, a2);
        if (strcmp(sub, "pair") == 0 && a1)
                return cmd_start(bus, "UpdatePair", NULL, a1);
        if (strcmp(sub, "repair") == 0 && a1)
                return cmd_start(bus, "Repair", NULL, a1);
        if (strcmp(sub, "board") == 0 && a1)
                return cmd_start(bus, "UpdateBoard", NULL, a1);
        if (strcmp(sub, "job") == 0 && a1)
                return cmd_job(bus, a1);
        fprintf(stderr, "vescctl: usage: firmware sets|install FILE|remove SET|rollback|update CONTROLLER SET|"
                        "board SET|pair SET|repair SET|job N|history [--wait]\n");
        return -EINVAL;
}

static void help(void) {
        printf("vescctl — talk to vescd over D-Bus\n\n"
               "Usage: vescctl [OPTIONS] COMMAND\n\n"
               "Commands:\n"
               "  status               the board first: controllers, versions, mismatch and what to do\n"
               "  list                 one line per controller\n"
               "  show CONTROLLER      every property of one controller (UUID or CAN id)\n"
               "  watch                live telemetry and online/offline changes\n"
               "  scan                 ask vescd to PING-scan the bus\n"
               "  firmware sets        installed image sets\n"
               "  firmware install FILE  verify and install an image set (.tar or directory)\n"
               "  firmware remove SET  remove an installed set (id or name)\n"
               "  firmware rollback    make the previous set current again (prints its id)\n"
               "  forget UUID          forget a remembered board member that is gone for good\n"
               "  firmware update CONTROLLER SET   update one controller (refused if the board would then differ)\n"
               "  firmware board SET   update every motor controller of the board in one transaction\n"
               "  firmware pair SET    update both controllers of the pair together\n"
               "  firmware repair SET  bring a mismatched pair to SET, updating only the side that differs\n"
               "  firmware job N       show job N (with --wait: follow it to its end)\n"
               "  firmware history     past firmware jobs\n\n"
               "Options:\n"
               "  -A --address ADDR    D-Bus address instead of the system bus\n"
               "  -j --json            JSON output (snake_case field names)\n"
               "     --duration SEC    watch: stop after SEC seconds\n"
               "  -w --wait            firmware: follow the job with a live progress line until it ends\n"
               "     --allow-mismatch  firmware update: allow leaving the board mismatched (root only)\n"
               "  -h --help            this text\n");
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "address", required_argument, NULL, 'A' },
                { "json", no_argument, NULL, 'j' },
                { "duration", required_argument, NULL, 'd' },
                { "wait", no_argument, NULL, 'w' },
                { "allow-mismatch", no_argument, NULL, 'M' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const char *cmd;
        int c, r;

        while ((c = getopt_long(argc, argv, "A:jwhM", options, NULL)) >= 0) {
                switch (c) {
                case 'A':
                        arg_address = optarg;
                        break;
                case 'j':
                        arg_json = true;
                        break;
                case 'd':
                        arg_duration = strtod(optarg, NULL);
                        break;
                case 'w':
                        arg_wait = true;
                        break;
                case 'M':
                        arg_allow_mismatch = true;
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        return 2;
                }
        }
        /* GNU getopt permutes: options may also follow the command */
        cmd = optind < argc ? argv[optind++] : "status";

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
                fprintf(stderr, "vescctl: cannot connect to %s: %s\n", arg_address ? arg_address : "the system bus",
                        strerror(-r));
                return 1;
        }

        if (strcmp(cmd, "status") == 0)
                r = cmd_status(bus);
        else if (strcmp(cmd, "list") == 0)
                r = cmd_list(bus);
        else if (strcmp(cmd, "show") == 0) {
                if (optind >= argc) {
                        fprintf(stderr, "vescctl: show needs a CONTROLLER (UUID or CAN id)\n");
                        return 2;
                }
                r = cmd_show(bus, argv[optind]);
        } else if (strcmp(cmd, "watch") == 0)
                r = cmd_watch(bus);
        else if (strcmp(cmd, "scan") == 0)
                r = cmd_scan(bus);
        else if (strcmp(cmd, "forget") == 0) {
                if (optind >= argc) {
                        fprintf(stderr, "vescctl: forget needs a UUID\n");
                        return 2;
                }
                r = cmd_forget(bus, argv[optind]);
        }
        else if (strcmp(cmd, "firmware") == 0) {
                r = cmd_firmware(bus, argc, argv);
                if (r > 0)
                        return 1;     /* the job did not end done */
                if (r == -EINVAL)
                        return 2;
        }
        else {
                fprintf(stderr, "vescctl: unknown command '%s' (try --help)\n", cmd);
                return 2;
        }
        return r < 0 ? 1 : 0;
}
