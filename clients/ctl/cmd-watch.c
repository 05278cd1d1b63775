/* vescctl watch: live telemetry as a log — one row per sample with the
 * wall-clock time, fixed columns with units, and a line for every online/
 * offline or fault change; `--json` prints one JSON object per line.
 *
 * The Telemetry signal carries only the values that changed, so each
 * controller's last values are kept and every row is complete. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vescctl.h"

typedef struct Column {
        const char *field;      /* snake_case telemetry name */
        const char *header;     /* name and unit, right-aligned in width */
        int width, precision;
        double scale;           /* duty cycle is shown in % */
} Column;

static const Column columns[] = {
        { "erpm", "ERPM", 9, 0, 1 },
        { "duty_cycle", "DUTY %", 7, 1, 100 },
        { "current_motor", "MOTOR A", 8, 2, 1 },
        { "current_in", "BATT A", 8, 2, 1 },
        { "voltage_in", "VOLT V", 7, 2, 1 },
        { "temp_fet", "FET C", 6, 1, 1 },
        { "temp_motor", "MOT C", 6, 1, 1 },
};

typedef struct Watch {
        json_t *last;           /* object path -> {uuid, id, online, fault, values...} */
        bool gone;              /* vescd left the bus */
} Watch;

static void print_header(void) {
        if (arg_json)
                return;
        printf("%-23s  %-24s %3s", "TIME", "CONTROLLER", "ID");
        for (size_t i = 0; i < ELEMENTSOF(columns); i++)
                printf(" %*s", columns[i].width, columns[i].header);
        printf("\n");
}

static void print_row(json_t *c, uint64_t wall) {
        char t[40];

        if (arg_json) {
                json_t *o = json_object();
                json_object_set_new(o, "event", json_string("telemetry"));
                json_object_set_new(o, "wall_time_usec", json_integer((json_int_t) wall));
                format_wall_time(wall, t, sizeof t);
                json_object_set_new(o, "time", json_string(t));
                json_object_set(o, "uuid", json_object_get(c, "uuid"));
                json_object_set(o, "id", json_object_get(c, "id"));
                for (size_t i = 0; i < ELEMENTSOF(columns); i++) {
                        json_t *v = json_object_get(c, columns[i].field);
                        if (v)
                                json_object_set(o, columns[i].field, v);
                }
                print_json_line(o);
                json_decref(o);
                return;
        }
        format_wall_time(wall, t, sizeof t);
        printf("%-23s  %-24s %3lld", t, jstr(c, "uuid"), jint(c, "id"));
        for (size_t i = 0; i < ELEMENTSOF(columns); i++) {
                json_t *v = json_object_get(c, columns[i].field);
                if (json_is_number(v))
                        printf(" %*.*f", columns[i].width, columns[i].precision, json_number_value(v) * columns[i].scale);
                else
                        printf(" %*s", columns[i].width, "-");
        }
        printf("\n");
        fflush(stdout);
}

static void print_event(json_t *c, const char *event, const char *detail) {
        uint64_t wall = now_usec(CLOCK_REALTIME);
        char t[40];

        format_wall_time(wall, t, sizeof t);
        if (arg_json) {
                json_t *o = json_pack("{s:s, s:I, s:s, s:O, s:O}", "event", event, "wall_time_usec", (json_int_t) wall,
                                      "time", t, "uuid", json_object_get(c, "uuid"), "id", json_object_get(c, "id"));
                if (detail)
                        json_object_set_new(o, "fault", json_string(detail));
                print_json_line(o);
                json_decref(o);
                return;
        }
        printf("%-23s  %-24s %3lld %s%s%s\n", t, jstr(c, "uuid"), jint(c, "id"), event, detail ? " " : "",
               detail ? detail : "");
        fflush(stdout);
}

static int on_telemetry(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Watch *w = userdata;
        const char *path = sd_bus_message_get_path(m);
        json_t *o = NULL, *c, *v;
        uint64_t wall;
        const char *k;

        if (message_read_dict(m, &o) < 0)
                return 0;
        c = json_object_get(w->last, path);
        if (!c) {
                c = json_pack("{s:s}", "uuid", path_uuid(path));
                json_object_set_new(w->last, path, c);
        }
        wall = json_is_integer(json_object_get(o, "wall_time_usec")) ? (uint64_t) jint(o, "wall_time_usec")
                                                                      : now_usec(CLOCK_REALTIME);
        json_object_foreach(o, k, v)
                if (strcmp(k, "time_usec") != 0 && strcmp(k, "wall_time_usec") != 0)
                        json_object_set(c, k, v);
        print_row(c, wall);
        json_decref(o);
        return 0;
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Watch *w = userdata;
        const char *iface, *path = sd_bus_message_get_path(m);
        json_t *o = NULL, *c, *v;

        if (sd_bus_message_read(m, "s", &iface) < 0 || strcmp(iface, CONTROLLER_IFACE) != 0)
                return 0;
        if (message_read_dict(m, &o) < 0)
                return 0;
        c = json_object_get(w->last, path);
        if (!c) {
                c = json_pack("{s:s}", "uuid", path_uuid(path));
                json_object_set_new(w->last, path, c);
        }
        if ((v = json_object_get(o, "id")))
                json_object_set(c, "id", v);
        if ((v = json_object_get(o, "online")) && !json_equal(v, json_object_get(c, "online"))) {
                json_object_set(c, "online", v);
                print_event(c, json_is_true(v) ? "online" : "OFFLINE", NULL);
        }
        if ((v = json_object_get(o, "fault")) && !json_equal(v, json_object_get(c, "fault"))) {
                json_object_set(c, "fault", v);
                print_event(c, "fault", json_string_value(v));
        }
        json_decref(o);
        return 0;
}

/* org.vescd1 lost its owner: vescd stopped (or is restarting) */
static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Watch *w = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) >= 0 && strcmp(name, BUS_NAME) == 0 &&
            !new_owner[0])
                w->gone = true;
        return 0;
}

/* Dispatch signals until interrupted, until @end (CLOCK_MONOTONIC µs,
 * UINT64_MAX = never), or until vescd leaves the bus (-EHOSTDOWN, said). */
static int bus_loop(sd_bus *bus, uint64_t end, Watch *w) {
        int r;

        while (!interrupted) {
                if (w->gone) {
                        char t[40];
                        fflush(stdout);
                        format_wall_time(now_usec(CLOCK_REALTIME), t, sizeof t);
                        fprintf(stderr, "vescctl: watch: %s: vescd stopped (%s has no owner any more); see "
                                        "'journalctl -u vescd', then watch again\n", t, BUS_NAME);
                        return -EHOSTDOWN;
                }
                uint64_t now = now_usec(CLOCK_MONOTONIC);
                if (now >= end)
                        break;
                r = sd_bus_process(bus, NULL);
                if (r < 0) {
                        fprintf(stderr, "vescctl: lost the connection to the bus: %s\n", strerror(-r));
                        return -EHOSTDOWN;
                }
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, end == UINT64_MAX ? UINT64_MAX : end - now);
                if (r < 0 && r != -EINTR) {
                        fprintf(stderr, "vescctl: lost the connection to the bus: %s\n", strerror(-r));
                        return -EHOSTDOWN;
                }
        }
        return 0;
}

static int cmd_watch(sd_bus *bus, int argc, char **argv) {
        uint64_t end = arg_duration > 0 ? now_usec(CLOCK_MONOTONIC) + (uint64_t) (arg_duration * 1e6) : UINT64_MAX;
        Watch w = { .last = json_object() };
        json_t *st = NULL, *c;
        size_t i;
        int r;

        r = sd_bus_match_signal(bus, NULL, BUS_NAME, NULL, CONTROLLER_IFACE, "Telemetry", on_telemetry, &w);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, BUS_NAME, NULL, PROPERTIES_IFACE, "PropertiesChanged",
                                        on_properties_changed, &w);
        if (r >= 0)
                r = sd_bus_add_match(bus, NULL,
                                     "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                                     "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" BUS_NAME "'",
                                     on_owner_changed, &w);
        if (r < 0) {
                fprintf(stderr, "vescctl: watch: cannot subscribe to vescd's signals: %s\n", strerror(-r));
                json_decref(w.last);
                return -EIO;
        }
        /* signals carry changes only: start from a snapshot */
        r = bus_get_state(bus, &st);
        if (r < 0) {
                json_decref(w.last);
                return r;
        }
        print_header();
        json_array_foreach(json_object_get(st, "controller_objects"), i, c) {
                json_object_set(w.last, jstr(c, "path"), c);
                print_row(c, now_usec(CLOCK_REALTIME));
                if (!json_is_true(json_object_get(c, "online")))
                        print_event(c, "OFFLINE", NULL);
        }
        json_decref(st);
        catch_interrupts();
        r = bus_loop(bus, end, &w);
        json_decref(w.last);
        return r;
}

const Command commands_watch[] = {
        { "watch", "", "live telemetry and online/offline changes (wall-clock time, units)",
          "Live telemetry as a log: a snapshot of every controller, then one row per\n"
          "Telemetry signal with the local wall-clock time and fixed columns (ERPM, duty\n"
          "cycle in %, motor and battery current in A, input voltage in V, FET and motor\n"
          "temperature in degrees C), and a line for every online/offline or fault change.\n"
          "--duration SEC stops after SEC seconds; --json prints one JSON object per line\n"
          "(event, time, wall_time_usec, uuid, id and the telemetry fields).",
          0, 0, cmd_watch },
        {},
};
