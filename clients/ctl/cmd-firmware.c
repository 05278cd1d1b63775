/* vescctl firmware: image sets, the update planner, update jobs and their
 * history.  A job is followed (--wait) through its PropertiesChanged
 * signals: a live progress line on a terminal, one line per phase and per
 * 10 % otherwise. */
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vescctl.h"

/* The job objects vescd exports (Manager.Jobs), each rendered with its "path". */
/* The phase of a running job of @jobs (list_jobs()) on controller @uuid, or
 * NULL: a controller being updated is silent, so vescd shows it offline. */
const char *job_phase_of(json_t *jobs, const char *uuid) {
        json_t *job;
        size_t i;

        json_array_foreach(jobs, i, job) {
                const char *ph = json_string_value(json_object_get(json_object_get(job, "phases"), uuid));
                if (strcmp(jstr(job, "state"), "running") == 0 && ph)
                        return ph;
        }
        return NULL;
}

int list_jobs(sd_bus *bus, json_t **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *p;
        json_t *list;
        int r;

        r = bus_try_call(bus, MANAGER_PATH, PROPERTIES_IFACE, "Get", &reply, &error, "ss", MANAGER_IFACE, "Jobs");
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'v', "ao");
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "o");
        if (r < 0)
                return r;
        list = json_array();
        while (sd_bus_message_read(reply, "o", &p) > 0) {
                json_t *job = NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                /* a job dropped in between is simply not listed */
                if (bus_try_call(bus, p, PROPERTIES_IFACE, "GetAll", &m, &e, "s", JOB_IFACE) < 0 ||
                    message_read_dict(m, &job) < 0)
                        continue;
                json_object_set_new(job, "path", json_string(p));
                json_array_append_new(list, job);
        }
        *ret = list;
        return 0;
}

/* A list-returning Manager method: printed as it is with --json (returns
 * 0); else the line saying the list is empty, if it is, and the array in
 * *ret for the caller's table (returns 1). */
static int call_list(sd_bus *bus, const char *what, const char *method, const char *none, json_t **ret) {
        json_t *list = NULL;
        int r;

        r = bus_call_json(bus, what, MANAGER_PATH, MANAGER_IFACE, method, &list, NULL);
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

static int cmd_sets(sd_bus *bus, int argc, char **argv) {
        json_t *sets = NULL, *s, *hw;
        size_t i, k;
        int r;

        r = call_list(bus, "firmware sets", "ListImageSets", "No image sets installed.", &sets);
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

static void print_id(const char *key, const char *id) {
        if (arg_json) {
                json_t *o = json_pack("{s:s}", key, id);
                print_json_line(o);
                json_decref(o);
        } else
                printf("%s\n", id);
        fflush(stdout);
}

static int cmd_install(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *abs = NULL;
        const char *file = argv[0], *id;
        struct stat st;
        int r;

        fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0) {
                fprintf(stderr, "vescctl: firmware install: %s: %s\n", file, strerror(errno));
                return errno == ENOENT ? -ENOENT : -EIO;
        }
        if (S_ISDIR(st.st_mode)) {
                /* a directory set cannot travel as one fd: vescd reads it itself */
                abs = realpath(file, NULL);
                if (!abs)
                        return -errno;
                r = bus_call(bus, "firmware install", MANAGER_PATH, MANAGER_IFACE, "InstallImageSetFromPath", &reply,
                             "s", abs);
        } else
                r = bus_call(bus, "firmware install", MANAGER_PATH, MANAGER_IFACE, "InstallImageSet", &reply, "h", fd);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "s", &id);
        if (r < 0)
                return bus_report("firmware install", NULL, r);
        print_id("set_id", id);
        return 0;
}

static int cmd_rollback(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *id;
        int r;

        r = bus_call(bus, "firmware rollback", MANAGER_PATH, MANAGER_IFACE, "RollbackImageSet", &reply, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "s", &id);
        if (r < 0)
                return bus_report("firmware rollback", NULL, r);
        print_id("set_id", id);
        return 0;
}

static int cmd_inhibit(sd_bus *bus, int argc, char **argv) {
        _cleanup_free_ char *reason = NULL;
        size_t len = 0;
        bool on;
        int r;

        if (strcmp(argv[0], "on") == 0)
                on = true;
        else if (strcmp(argv[0], "off") == 0)
                on = false;
        else
                return usage_error("firmware inhibit", "say on REASON or off, not '%s'", argv[0]);
        if (on && argc < 2)
                return usage_error("firmware inhibit", "on needs a REASON");
        if (!on && argc > 1)
                return usage_error("firmware inhibit", "off takes no REASON");
        /* the words of the reason, joined by spaces */
        for (int i = 1; i < argc; i++)
                len += strlen(argv[i]) + 1;
        reason = calloc(len + 1, 1);
        if (!reason)
                return -ENOMEM;
        for (int i = 1; i < argc; i++) {
                if (i > 1)
                        strcat(reason, " ");
                strcat(reason, argv[i]);
        }
        r = bus_call(bus, "firmware inhibit", MANAGER_PATH, MANAGER_IFACE, "SetInhibit", NULL, "bs", on, reason);
        if (r < 0)
                return r;
        if (arg_json)
                print_id("inhibited", on ? "true" : "false");
        else
                printf(on ? "Firmware updates inhibited: %s\n" : "Firmware updates allowed again%s\n", reason);
        return 0;
}

static int cmd_remove(sd_bus *bus, int argc, char **argv) {
        _cleanup_free_ char *id = NULL;
        int r;

        r = resolve_set(bus, argv[0], &id);
        if (r < 0)
                return r;
        r = bus_call(bus, "firmware remove", MANAGER_PATH, MANAGER_IFACE, "RemoveImageSet", NULL, "s", id);
        if (r < 0)
                return r;
        if (arg_json)
                print_id("removed", id);
        else
                printf("Removed %s\n", id);
        return 0;
}

/* ------------------------------------------------------------------ plan */

/* A number as a rider reads it: whole when it is one, else up to 3 digits. */
static void fmt_number(json_t *v, char *buf, size_t size) {
        if (json_is_integer(v))
                snprintf(buf, size, "%lld", (long long) json_integer_value(v));
        else if (json_is_real(v))
                snprintf(buf, size, fabs(json_real_value(v)) >= 100 ? "%.0f" : "%.3g", json_real_value(v));
        else if (json_is_boolean(v))
                snprintf(buf, size, "%s", json_is_true(v) ? "yes" : "no");
        else if (json_is_string(v))
                snprintf(buf, size, "%s", json_string_value(v));
        else
                snprintf(buf, size, "-");
}

/* "id 74" for a controller the plan names, else its UUID */
static void plan_who(json_t *plan, const char *uuid, char *buf, size_t size) {
        json_t *side;
        size_t i;

        json_array_foreach(json_object_get(plan, "sides"), i, side)
                if (strcmp(jstr(side, "uuid"), uuid) == 0) {
                        snprintf(buf, size, "id %lld", jint(side, "can_id"));
                        return;
                }
        snprintf(buf, size, "%s", uuid);
}

/* A plan for a rider: what the job would do per controller, how long, the
 * gates; or why it would be refused and the steps that would work.  --json
 * prints vescd's plan unchanged (docs/firmware-update-api.md). */
static void print_plan(json_t *plan, const char *set_name) {
        json_t *side, *gate, *v, *est;
        const char *k;
        size_t i;
        char num[64], who[64];

        printf("Plan: %s with image set %s", jstr(plan, "kind"), set_name);
        if (strcmp(set_name, jstr(plan, "set_id")) != 0)
                printf(" (%s)", jstr(plan, "set_id"));
        if (json_is_true(json_object_get(plan, "refused"))) {
                const char *err = jstr(plan, "error"), *msg = jstr(plan, "message");
                /* the text may start with the error's name: say it once */
                if (err[0] && strncmp(msg, err, strlen(err)) == 0 && strncmp(msg + strlen(err), ": ", 2) == 0)
                        msg += strlen(err) + 2;
                printf(": REFUSED (%s)\n  %s\n", err, msg);
                if (json_array_size(json_object_get(plan, "steps")) > 0) {
                        printf("What would work instead:\n");
                        json_array_foreach(json_object_get(plan, "steps"), i, v)
                                printf("  %s\n", json_string_value(v));
                }
        } else {
                bool gates_ok = true;
                json_array_foreach(json_object_get(plan, "gates"), i, gate)
                        gates_ok = gates_ok && !json_is_false(json_object_get(gate, "ok"));
                fmt_number(json_object_get(plan, "estimated_seconds"), num, sizeof num);
                if (gates_ok)
                        printf(": would run, about %s s\n", num);
                else
                        printf(": would stop at its gates now (FAILS below); about %s s once they pass\n", num);
        }
        json_array_foreach(json_object_get(plan, "sides"), i, side) {
                printf("  id %-3lld %s  %-9s %s\n", jint(side, "can_id"), jstr(side, "uuid"), jstr(side, "action"),
                       jstr(side, "plan"));
                if (strcmp(jstr(side, "action"), "keep") == 0)
                        continue;
                printf("         erase %lld bytes, write %lld bytes%s", jint(side, "erase_bytes"),
                       jint(side, "write_bytes"), json_is_true(json_object_get(side, "compressed")) ? " (compressed)" : "");
                v = json_object_get(side, "bootloader");
                if (json_is_true(json_object_get(v, "install")))
                        printf(", bootloader generation %lld installed too (%lld bytes)", jint(v, "generation"),
                               jint(v, "bytes"));
                printf("\n");
                est = json_object_get(side, "estimate_seconds");
                if (json_is_object(est)) {
                        bool first = true;
                        fmt_number(json_object_get(est, "total"), num, sizeof num);
                        printf("         about %s s:", num);
                        json_object_foreach(est, k, v) {
                                if (strcmp(k, "total") == 0 || (json_is_number(v) && json_number_value(v) == 0))
                                        continue;
                                fmt_number(v, num, sizeof num);
                                printf("%s %s %s s", first ? "" : ",", k, num);
                                first = false;
                        }
                        printf("\n");
                }
        }
        if (json_array_size(json_object_get(plan, "gates")) > 0) {
                printf("Gates (checked again when the job starts):\n");
                json_array_foreach(json_object_get(plan, "gates"), i, gate) {
                        const char *name = jstr(gate, "name");
                        char a[32], b[32], c[32];
                        bool first = true;

                        printf("  %-6s %-14s", json_is_false(json_object_get(gate, "ok")) ? "FAILS" : "ok", name);
                        if (jstr(gate, "uuid")[0]) {
                                plan_who(plan, jstr(gate, "uuid"), who, sizeof who);
                                printf(" %s:", who);
                        }
                        fmt_number(json_object_get(gate, "value"), a, sizeof a);
                        fmt_number(json_object_get(gate, "max"), b, sizeof b);
                        fmt_number(json_object_get(gate, "min"), c, sizeof c);
                        if (strcmp(name, "inhibit") == 0)
                                printf(" %s%s\n", json_is_true(json_object_get(gate, "value")) ? "inhibited: " : "not inhibited",
                                       json_is_true(json_object_get(gate, "value")) ? jstr(gate, "reason") : "");
                        else if (strcmp(name, "motor_stopped") == 0)
                                printf(" %s ERPM (at most %s)\n", a, b);
                        else if (strcmp(name, "current") == 0) {
                                fmt_number(json_object_get(gate, "motor"), a, sizeof a);
                                fmt_number(json_object_get(gate, "input"), c, sizeof c);
                                printf(" motor %s A, battery %s A (at most %s A)\n", a, c, b);
                        } else if (strcmp(name, "voltage") == 0)
                                printf(" %s V (%s to %s V)\n", a, c, b);
                        else if (strcmp(name, "fault") == 0)
                                printf(" %s\n", a);
                        else if (strcmp(name, "busy") == 0)
                                printf(" %s%s\n", json_is_null(json_object_get(gate, "holder")) || !jstr(gate, "holder")[0]
                                                          ? "free" : "held by ",
                                       jstr(gate, "holder"));
                        else {
                                json_object_foreach(gate, k, v) {
                                        if (strcmp(k, "name") == 0 || strcmp(k, "uuid") == 0 || strcmp(k, "ok") == 0 ||
                                            json_is_null(v))
                                                continue;
                                        fmt_number(v, num, sizeof num);
                                        printf("%s %s %s", first ? "" : ",", k, num);
                                        first = false;
                                }
                                printf("\n");
                        }
                }
        }
}

static int cmd_plan(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *id = NULL;
        const char *kind = argv[0], *s;
        json_t *plan;
        int r;

        if (strcmp(kind, "update") != 0 && strcmp(kind, "pair") != 0 && strcmp(kind, "board") != 0 &&
            strcmp(kind, "repair") != 0)
                return usage_error("firmware plan", "KIND is update, pair, board or repair, not '%s'", kind);
        if (strcmp(kind, "update") == 0 && argc < 3)
                return usage_error("firmware plan", "plan update needs a CONTROLLER");
        for (int i = 2; i < argc; i++)
                if (!controller_name_valid(argv[i]))
                        return usage_error("firmware plan", "'%s' is neither a UUID nor a CAN id", argv[i]);
        r = resolve_set(bus, argv[1], &id);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "PlanUpdate");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", kind, id);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "s");
        for (int i = 2; r >= 0 && i < argc; i++) {
                _cleanup_free_ char *path = NULL;
                r = resolve_controller(bus, argv[i], &path);
                if (r < 0)
                        return r;
                r = sd_bus_message_append(m, "s", path_uuid(path));
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return bus_report("firmware plan", NULL, r);
        r = sd_bus_call(bus, m, 60 * USEC_PER_SEC, &error, &reply);
        if (r < 0)
                return bus_report("firmware plan", &error, r);
        r = sd_bus_message_read(reply, "s", &s);
        if (r < 0)
                return bus_report("firmware plan", NULL, r);
        plan = json_loads(s, 0, NULL);
        if (!plan) {
                fprintf(stderr, "vescctl: firmware plan: vescd answered invalid JSON\n");
                return -EIO;
        }
        if (arg_json)
                print_json(plan);
        else
                print_plan(plan, argv[1]);
        /* a refused plan is an answer, but not a way forward */
        r = json_object_get(plan, "refused") && !json_is_false(json_object_get(plan, "refused")) ? 1 : 0;
        json_decref(plan);
        return r;
}

/* ------------------------------------------------------------------ jobs */

typedef struct Follow {
        const char *path;
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
        } else if (!arg_json && (strcmp(phase, f->last_phase) != 0 || pct >= f->last_percent + 10)) {
                /* a log: one line per phase and per 10 % */
                printf("%3u%%  %-11s %lld/%lld bytes%s%s\n", pct, phase, jint(job, "bytes_done"), jint(job, "bytes_total"),
                       eta_s, dnpo ? "  DO NOT POWER OFF" : "");
                fflush(stdout);
                f->last_percent = pct;
        }
        snprintf(f->last_phase, sizeof f->last_phase, "%s", phase);
}

/* A Job's properties in the JSON socket's job snapshot form (docs/api-map.md),
 * so that --json prints one shape everywhere: its path, the controllers by
 * UUID instead of object path, and the report (a JSON string on D-Bus) as an
 * object, null while there is none. */
static void job_as_json_socket(json_t *job, const char *path) {
        json_t *ctls = json_object_get(job, "controllers"), *v;
        const char *report = jstr(job, "report");
        size_t i;

        json_object_set_new(job, "path", json_string(path));
        json_array_foreach(ctls, i, v)
                if (json_is_string(v))
                        json_array_set_new(ctls, i, json_string(path_uuid(json_string_value(v))));
        json_object_set_new(job, "report", report[0] ? json_loads(report, 0, NULL) : json_null());
        if (!json_object_get(job, "report"))
                json_object_set_new(job, "report", json_null());
}

static int get_job(sd_bus *bus, const char *path, json_t **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = bus_try_call(bus, path, PROPERTIES_IFACE, "GetAll", &reply, &error, "s", JOB_IFACE);
        if (r < 0) {
                if (sd_bus_error_has_names(&error, "org.freedesktop.DBus.Error.UnknownObject",
                                           "org.freedesktop.DBus.Error.UnknownInterface")) {
                        fprintf(stderr, "vescctl: no job %s (ended jobs are in 'vescctl firmware history')\n",
                                path_uuid(path));
                        return -ENOENT;
                }
                return bus_report("firmware job", &error, r);
        }
        r = message_read_dict(reply, ret);
        if (r < 0)
                return bus_report("firmware job", NULL, r);
        job_as_json_socket(*ret, path);
        return 0;
}

static int on_job_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Follow *f = userdata;
        json_t *job = NULL;

        if (get_job(sd_bus_message_get_bus(m), f->path, &job) < 0)
                return 0;
        print_progress(f, job);
        if (strcmp(jstr(job, "state"), "running") != 0)
                f->ended = true;
        json_decref(job);
        return 0;
}

/* Installed image sets' names by id (nothing printed if vescd cannot say:
 * the names only decorate the ids). */
static json_t *set_names(sd_bus *bus) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        json_t *names = json_object(), *list, *x;
        const char *str;
        size_t i;

        if (bus_try_call(bus, MANAGER_PATH, MANAGER_IFACE, "ListImageSets", &reply, &error, NULL) < 0 ||
            sd_bus_message_read(reply, "s", &str) < 0)
                return names;
        list = json_loads(str, 0, NULL);
        json_array_foreach(list, i, x)
                if (jstr(x, "id")[0])
                        json_object_set(names, jstr(x, "id"), json_object_get(x, "name"));
        json_decref(list);
        return names;
}

/* "vesc-5.03-test (ba576fe6d3e270cd)", or "…, id ba576fe6d3e270cd" inside
 * parentheses; the id alone for a set no longer installed */
static void print_set(json_t *names, const char *id, bool in_parens) {
        const char *name = jstr(names, id);

        if (!name[0])
                printf("%s", id);
        else
                printf(in_parens ? "%s, id %s" : "%s (%s)", name, id);
}

static void print_job(json_t *job, json_t *names) {
        json_t *phases = json_object_get(job, "phases"), *err = json_object_get(job, "error"), *v;
        json_t *rep = json_object_get(job, "report");
        const char *k;

        if (arg_json) {
                print_json(job);
                return;
        }
        printf("job %lld (%s, image set ", jint(job, "id"), jstr(job, "kind"));
        print_set(names, jstr(job, "image_set"), /* in_parens= */ true);
        printf("): %s, phase %s, %lld%%\n", jstr(job, "state"), jstr(job, "phase"), jint(job, "progress"));
        /* per controller: its phase while running; once there is a report, the
         * report's line says more (before, now, target, what to redo) */
        if (!json_array_size(json_object_get(rep, "sides")))
                json_object_foreach(phases, k, v)
                        printf("  %s  %s\n", k, json_string_value(v));
        if (jstr(err, "code")[0])
                printf("error %s: %s\n", jstr(err, "code"), jstr(err, "text"));
        if (json_is_object(rep)) {
                json_t *side;
                size_t i;
                json_array_foreach(json_object_get(rep, "sides"), i, side) {
                        printf("  %s (id %lld): %s, was %s, runs %s, target %s%s\n", jstr(side, "uuid"),
                               jint(side, "can_id"), jstr(side, "phase")[0] ? jstr(side, "phase") : "-",
                               jstr(side, "before"), jstr(side, "runs"), jstr(side, "target"),
                               json_is_true(json_object_get(side, "updated")) ? ", updated" : "");
                        if (jstr(side, "error")[0] && strcmp(jstr(side, "error"), "None") != 0)
                                printf("    error %s%s%s\n", jstr(side, "error"), jstr(side, "text")[0] ? ": " : "",
                                       jstr(side, "text"));
                        if (jstr(side, "redo")[0])
                                printf("    redo: %s\n", jstr(side, "redo"));
                }
        }
}

/* Show a job; with --wait follow its progress until it ends.  Returns 0
 * for a job that ended in the state @want ("done"; "cancelled" after a
 * cancel), or is still running without --wait; 1 otherwise. */
static int follow_job(sd_bus *bus, const char *path, const char *want) {
        Follow f = { .path = path, .tty = isatty(STDERR_FILENO) && !arg_json };
        json_t *job = NULL;
        int r;

        if (arg_wait) {
                r = sd_bus_match_signal(bus, NULL, BUS_NAME, path, PROPERTIES_IFACE, "PropertiesChanged", on_job_changed,
                                        &f);
                if (r < 0)
                        return bus_report("firmware job", NULL, r);
                catch_interrupts();
                r = get_job(bus, path, &job);
                if (r < 0)
                        return r;
                f.ended = strcmp(jstr(job, "state"), "running") != 0;
                if (!f.ended)
                        print_progress(&f, job);
                json_decref(job);
                job = NULL;
                while (!f.ended && !interrupted) {
                        r = sd_bus_process(bus, NULL);
                        if (r < 0) {
                                fprintf(stderr, "vescctl: lost the connection to the bus: %s\n", strerror(-r));
                                return -EHOSTDOWN;
                        }
                        if (r > 0)
                                continue;
                        r = sd_bus_wait(bus, UINT64_MAX);
                        if (r < 0 && r != -EINTR) {
                                fprintf(stderr, "vescctl: lost the connection to the bus: %s\n", strerror(-r));
                                return -EHOSTDOWN;
                        }
                }
                if (f.tty)
                        fputc('\n', stderr);
        }
        r = get_job(bus, path, &job);
        if (r < 0)
                return r;
        json_t *names = arg_json ? NULL : set_names(bus);
        print_job(job, names);
        json_decref(names);
        r = strcmp(jstr(job, "state"), want) == 0 || (!arg_wait && strcmp(jstr(job, "state"), "running") == 0) ? 0 : 1;
        json_decref(job);
        return r;
}

static int append_options(sd_bus_message *m, bool update) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && arg_allow_mismatch && update)
                r = sd_bus_message_append(m, "{sv}", "AllowMismatch", "b", 1);
        if (r >= 0 && arg_skip_can_id_restore)
                r = sd_bus_message_append(m, "{sv}", "SkipCanIdRestore", "b", 1);
        if (r >= 0 && arg_no_migrate_config)
                r = sd_bus_message_append(m, "{sv}", "MigrateConfig", "b", 0);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static int start_job(sd_bus *bus, const char *what, const char *method, const char *controller, const char *set_name) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *id = NULL, *path = NULL;
        const char *job;
        int r;

        if (controller) {
                r = resolve_controller(bus, controller, &path);
                if (r < 0)
                        return r;
        }
        r = resolve_set(bus, set_name, &id);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, method);
        if (r >= 0 && path)
                r = sd_bus_message_append(m, "s", path_uuid(path));
        if (r >= 0)
                r = sd_bus_message_append(m, "s", id);
        if (r >= 0)
                r = append_options(m, controller != NULL);
        if (r < 0)
                return bus_report(what, NULL, r);
        r = sd_bus_call(bus, m, 60 * USEC_PER_SEC, &error, &reply);
        if (r < 0) {
                r = bus_report(what, &error, r);
                if (sd_bus_error_has_name(&error, "org.vescd1.Error.Mismatch"))
                        fprintf(stderr, "Update the whole board instead ('vescctl firmware board %s' or 'vescctl "
                                        "firmware repair %s'); 'vescctl firmware plan repair %s' shows whether that "
                                        "works, or what would.\n",
                                set_name, set_name, set_name);
                else if (sd_bus_error_has_names(&error, "org.vescd1.Error.NeedsIntermediate",
                                                "org.vescd1.Error.NothingToDo"))
                        fprintf(stderr, "'vescctl firmware plan %s %s%s%s' shows what would work.\n",
                                what + strlen("firmware "), set_name, controller ? " " : "", controller ? controller : "");
                return r;
        }
        r = sd_bus_message_read(reply, "o", &job);
        if (r < 0)
                return bus_report(what, NULL, r);
        if (!arg_json)
                printf("%s\n", job);
        fflush(stdout);
        return follow_job(bus, job, "done");
}

static int cmd_update(sd_bus *bus, int argc, char **argv) {
        return start_job(bus, "firmware update", "UpdateController", argv[0], argv[1]);
}

static int cmd_board(sd_bus *bus, int argc, char **argv) {
        return start_job(bus, "firmware board", "UpdateBoard", NULL, argv[0]);
}

static int cmd_pair(sd_bus *bus, int argc, char **argv) {
        return start_job(bus, "firmware pair", "UpdatePair", NULL, argv[0]);
}

static int cmd_repair(sd_bus *bus, int argc, char **argv) {
        return start_job(bus, "firmware repair", "Repair", NULL, argv[0]);
}

/* "3" or "/org/vescd1/job/3" -> the path; -EINVAL for anything else. */
static int job_path(const char *cmd, const char *n, char *path, size_t size) {
        const char *num = strncmp(n, JOB_PREFIX, strlen(JOB_PREFIX)) == 0 ? n + strlen(JOB_PREFIX) : n;
        size_t len = strlen(num);

        if (len == 0 || len > 9 || strspn(num, "0123456789") != len || strtoul(num, NULL, 10) == 0)
                return usage_error(cmd, "'%s' is not a job number (a positive integer, as 'vescctl firmware history' "
                                        "shows)", n);
        snprintf(path, size, JOB_PREFIX "%lu", strtoul(num, NULL, 10));
        return 0;
}

static int cmd_job(sd_bus *bus, int argc, char **argv) {
        char path[64];
        int r;

        r = job_path("firmware job", argv[0], path, sizeof path);
        if (r < 0)
                return r;
        return follow_job(bus, path, "done");
}

static int cmd_cancel(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        json_t *job = NULL;
        char path[64];
        int r;

        r = job_path("firmware cancel", argv[0], path, sizeof path);
        if (r < 0)
                return r;
        r = get_job(bus, path, &job);
        if (r < 0)
                return r;
        json_decref(job);
        r = bus_call(bus, "firmware cancel", path, JOB_IFACE, "Cancel", NULL, NULL);
        if (r < 0)
                return r;
        if (arg_json) {
                json_t *o = json_pack("{s:s, s:b}", "job", path, "cancel_requested", 1);
                print_json_line(o);
                json_decref(o);
        } else
                printf("Cancelling job %s\n", path_uuid(path));
        return arg_wait ? follow_job(bus, path, "cancelled") : 0;
}

static int cmd_history(sd_bus *bus, int argc, char **argv) {
        json_t *h = NULL, *e;
        size_t i;
        int r;

        r = call_list(bus, "firmware history", "GetHistory", "No firmware jobs yet.", &h);
        if (r <= 0)
                return r;
        json_t *names = set_names(bus);
        json_array_foreach(h, i, e) {
                json_t *err = json_object_get(e, "error");
                json_t *side;
                size_t k;
                printf("%s  job %lld  %-6s set ", jstr(e, "ended"), jint(e, "id"), jstr(e, "kind"));
                print_set(names, jstr(e, "image_set"), /* in_parens= */ false);
                printf("  %s%s%s", jstr(e, "state"), jstr(err, "code")[0] ? " " : "", jstr(err, "code"));
                /* what each controller ran before and runs now */
                json_array_foreach(json_object_get(json_object_get(e, "report"), "sides"), k, side)
                        printf("%sid %lld %s → %s", k == 0 ? "  " : ", ", jint(side, "can_id"), jstr(side, "before"),
                               jstr(side, "runs")[0] ? jstr(side, "runs") : "?");
                printf("\n");
        }
        json_decref(h);
        json_decref(names);
        return 0;
}

const Command commands_firmware[] = {
        { "firmware sets", "", "installed image sets",
          "The installed image sets: id, name, version, signature state, current or previous,\nhardware names.", 0, 0,
          cmd_sets },
        { "firmware install", "FILE", "verify and install an image set, .tar or directory (admin)",
          "Verify and install an image set: a tar archive is passed to vescd as a file\n"
          "descriptor, a directory by its absolute path.  Prints the set id.  Admin.",
          1, 1, cmd_install },
        { "firmware remove", "SET", "remove an installed set, by id or name (admin)",
          "Remove an installed set, named by its id or its name.  The current set and a set\n"
          "a running job uses are refused (Busy).  Admin.",
          1, 1, cmd_remove },
        { "firmware rollback", "", "make the previous set current again (admin)",
          "Make the previous image set current again (the current one becomes the previous\n"
          "one, so a second rollback undoes the first).  Prints the id of the set now current.",
          0, 0, cmd_rollback },
        { "firmware plan", "KIND SET [CONTROLLER...]", "what an update would do, without doing it",
          "Ask vescd's planner what a job would do (PlanUpdate; nothing is sent to a\n"
          "controller): KIND is update (one CONTROLLER), pair, board or repair.  The verdict\n"
          "(would run and how long, would stop at its gates now, or refused with the reason\n"
          "and what would work instead), then per controller the action, versions, what is\n"
          "erased and written and the time per step, then every gate with its value and\n"
          "limit.  --json prints vescd's plan unchanged.  Exit status 1 for a refused plan.",
          2, -1, cmd_plan },
        { "firmware inhibit", "on REASON|off", "block new firmware jobs, or allow them again (admin)",
          "Inhibit firmware updates (SetInhibit): new jobs end at their gates with GateFailed\n"
          "naming REASON; running jobs go on.  Persisted by vescd.  off allows them again.  Admin.",
          1, -1, cmd_inhibit },
        { "firmware update", "CONTROLLER SET", "update one controller (admin)",
          "Update one controller.  vescd refuses it (Mismatch) when the board's controllers\n"
          "would differ afterwards, unless --allow-mismatch (root only).  Admin.",
          2, 2, cmd_update },
        { "firmware board", "SET", "update every controller of the board together (admin)",
          "Update every member controller of the board in one transaction (UpdateBoard):\n"
          "staged on all, committed only when all are staged.  Admin.",
          1, 1, cmd_board },
        { "firmware pair", "SET", "update both controllers of the pair together (admin)",
          "Update both controllers of a two-controller board in one transaction.  Admin.", 1, 1, cmd_pair },
        { "firmware repair", "SET", "bring a mismatched board to SET, updating only what differs (admin)",
          "Bring a mismatched board to SET, updating only the controllers that differ; refused\n"
          "with the reason when there is nothing to do or it is impossible (e.g. 3.58 to\n"
          "6.05 needs 5.03 first).  Admin.",
          1, 1, cmd_repair },
        { "firmware job", "N", "show job N (with --wait: follow it to its end)",
          "Show job N: state, phases, error, and per controller what it ran before, what it\n"
          "runs now and what to redo.  With --wait, follow it until it ends.",
          1, 1, cmd_job },
        { "firmware cancel", "N", "cancel job N (admin)",
          "Cancel job N.  vescd refuses it (Busy) from committing until confirming ends.\n"
          "With --wait, follow the job until it ends.  Admin.",
          1, 1, cmd_cancel },
        { "firmware history", "", "past firmware jobs",
          "Past firmware jobs, oldest first: when each ended, its kind, image set and outcome,\n"
          "and per controller its CAN id and the firmware before and after.",
          0, 0, cmd_history },
        {},
};
