/* vescctl: the board and its controllers — status, list, show, scan,
 * reboot.  The board comes first: which controllers, whether they match,
 * and what would repair them. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vescctl.h"

/* @jobs: list_jobs(), or NULL; a controller a running job updates shows its
 * phase instead of OFFLINE (it is silent while held). */
static void print_controller_line(json_t *c, json_t *jobs) {
        const char *fault = jstr(c, "fault"), *phase = job_phase_of(jobs, jstr(c, "uuid"));
        bool faulty = fault[0] && strcmp(fault, "NONE") != 0;
        bool online = json_is_true(json_object_get(c, "online"));

        printf("  %s  id %3lld  hw %-8s firmware %s%s%s%s  %s%s%s%s\n", jstr(c, "uuid"), jint(c, "id"), jstr(c, "hw_name"),
               jstr(c, "firmware_version"), jint(c, "firmware_test_build") ? " (test build)" : "",
               jstr(c, "firmware_name")[0] ? " " : "", jstr(c, "firmware_name"),
               phase && !online ? "updating: " : "", phase && !online ? phase : online ? "online" : "OFFLINE",
               faulty ? "  fault " : "", faulty ? fault : "");
}

/* The board's state word: BoardState in capitals where vescd has it, else
 * from Mismatch. */
static const char *board_word(json_t *st, char *buf, size_t size) {
        const char *s = jstr(st, "board_state");
        size_t k;

        if (!s[0])
                return json_is_true(json_object_get(st, "mismatch")) ? "MISMATCH" : "consistent";
        for (k = 0; s[k] && k + 1 < size; k++)
                buf[k] = (char) toupper((unsigned char) s[k]);
        buf[k] = 0;
        return buf;
}

static bool strv_contains(json_t *a, const char *s) {
        json_t *v;
        size_t i;

        json_array_foreach(a, i, v)
                if (s && json_string_value(v) && strcmp(json_string_value(v), s) == 0)
                        return true;
        return false;
}

/* The planner's steps, then the vescctl commands that carry them out: the
 * first job is @kind (repair, board) with the first installed set a step
 * names ("… with image set 0123456789abcdef (5.03): …"), or SET.  Steps
 * without a job (a member offline: "bring … back online") get no commands. */
static void print_actions(json_t *actions, const char *kind) {
        char set[17] = "SET", cmd[96];
        bool install = false, job = false;
        json_t *s;
        size_t i;

        json_array_foreach(actions, i, s) {
                const char *a = json_string_value(s), *id;
                printf("  %s\n", a);
                if (a && (strstr(a, " with image set ") || strstr(a, " with that set ") ||
                          strstr(a, "install an image set")))
                        job = true;
                if (a && strstr(a, "install an image set"))
                        install = true;
                if (a && !install && strcmp(set, "SET") == 0 && (id = strstr(a, "image set ")) &&
                    strspn(id + 10, "0123456789abcdef") == 16)
                        snprintf(set, sizeof set, "%.16s", id + 10);
        }
        if (!job)
                return;
        printf("Commands:\n");
        if (install)
                printf("  %-48s %s\n", "vescctl firmware install FILE", "(FILE: an image set, docs/image-sets.md)");
        snprintf(cmd, sizeof cmd, "vescctl firmware plan %s %s", kind, set);
        printf("  %-48s %s\n", cmd, "(what it would do)");
        printf("  vescctl firmware %s %s --wait\n", kind, set);
}

static int cmd_status(sd_bus *bus, int argc, char **argv) {
        json_t *st = NULL, *jobs = NULL, *c, *s;
        size_t i;
        int r;

        r = bus_get_state(bus, &st);
        if (r < 0)
                return r;
        if (list_jobs(bus, &jobs) >= 0)
                json_object_set_new(st, "job_objects", jobs);
        if (arg_json) {
                print_json(st);
                json_decref(st);
                return 0;
        }
        json_t *cs = json_object_get(st, "controller_objects");
        bool mismatch = json_is_true(json_object_get(st, "mismatch"));
        const char *state = jstr(st, "board_state");
        char word[32];

        printf("Board: %zu controller%s, %s\n", json_array_size(cs), json_array_size(cs) == 1 ? "" : "s",
               board_word(st, word, sizeof word));
        json_array_foreach(cs, i, c)
                print_controller_line(c, json_object_get(st, "job_objects"));
        if (strcmp(state, "updating") == 0 || strcmp(state, "degraded") == 0) {
                printf("Why:\n");
                json_array_foreach(json_object_get(st, "board_state_reasons"), i, s)
                        if (!mismatch || !strv_contains(json_object_get(st, "mismatch_reasons"), json_string_value(s)))
                                printf("  %s\n", json_string_value(s));
        }
        if (mismatch) {
                printf("Mismatch:\n");
                json_array_foreach(json_object_get(st, "mismatch_reasons"), i, s)
                        printf("  %s\n", json_string_value(s));
                if (json_array_size(json_object_get(st, "actions")) > 0) {
                        printf("To repair:\n");
                        print_actions(json_object_get(st, "actions"), "repair");
                }
        } else if (json_array_size(json_object_get(st, "actions")) > 0 && strcmp(state, "updating") != 0) {
                /* consistent, and the current image set is newer than what the board runs;
                 * degraded: what to do before that update is possible */
                printf("%s\n", strcmp(state, "degraded") == 0 ? "To do:" : "Update available:");
                print_actions(json_object_get(st, "actions"), "board");
        }
        json_array_foreach(json_object_get(st, "job_objects"), i, c)
                if (strcmp(jstr(c, "state"), "running") == 0)
                        printf("Job %lld (%s): %s, %lld%%%s\n", jint(c, "id"), jstr(c, "kind"), jstr(c, "phase"),
                               jint(c, "progress"),
                               json_is_true(json_object_get(c, "do_not_power_off")) ? "  DO NOT POWER OFF" : "");
        if (jstr(st, "ride_mode")[0])
                printf("Ride mode: %s\n", jstr(st, "ride_mode"));
        if (json_is_true(json_object_get(st, "inhibited")))
                printf("Firmware jobs inhibited: %s\n", jstr(st, "inhibit_reason"));
        printf("Bus: %s on %s (vescd %s, CAN id %lld)%s\n", jstr(st, "bus_state"), jstr(st, "transport"),
               jstr(st, "version"), jint(st, "can_id"), json_is_true(json_object_get(st, "scanning")) ? ", scanning" : "");
        json_decref(st);
        return 0;
}

static int cmd_list(sd_bus *bus, int argc, char **argv) {
        json_t *st = NULL, *c;
        size_t i;
        int r;

        r = bus_get_state(bus, &st);
        if (r < 0)
                return r;
        if (arg_json)
                print_json(json_object_get(st, "controller_objects"));
        else if (json_array_size(json_object_get(st, "controller_objects")) == 0)
                printf("No controllers found yet (try 'vescctl scan').\n");
        else
                json_array_foreach(json_object_get(st, "controller_objects"), i, c)
                        print_controller_line(c, NULL);
        json_decref(st);
        return 0;
}

static int cmd_show(sd_bus *bus, int argc, char **argv) {
        _cleanup_free_ char *path = NULL;
        json_t *c = NULL, *v;
        const char *k;
        int r;

        r = resolve_controller(bus, argv[0], &path);
        if (r < 0)
                return r;
        r = bus_get_all(bus, path, CONTROLLER_IFACE, &c);
        if (r < 0)
                return r;
        json_object_set_new(c, "path", json_string(path));
        if (arg_json)
                print_json(c);
        else {
                printf("%s\n", path);
                json_object_foreach(c, k, v) {
                        char *s;
                        if (strcmp(k, "path") == 0)
                                continue;
                        /* an object path property without an object (PrimaryMotor) is "/" */
                        s = json_is_string(v) && strcmp(json_string_value(v), "/") == 0
                                    ? strdup("none")
                                    : json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(6));
                        printf("  %-22s %s\n", k, s ? s : "?");
                        free(s);
                }
        }
        json_decref(c);
        return 0;
}

static int cmd_scan(sd_bus *bus, int argc, char **argv) {
        int r;

        r = bus_call(bus, "scan", MANAGER_PATH, MANAGER_IFACE, "Scan", NULL, NULL);
        if (r < 0)
                return r;
        if (arg_json) {
                json_t *o = json_pack("{s:b}", "scanning", 1);
                print_json_line(o);
                json_decref(o);
        } else
                printf("Scanning CAN ids 0..254; controllers appear as they answer (see 'vescctl list').\n");
        return 0;
}

static int cmd_reboot(sd_bus *bus, int argc, char **argv) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = resolve_controller(bus, argv[0], &path);
        if (r < 0)
                return r;
        r = bus_call(bus, "reboot", path, CONTROLLER_IFACE, "Reboot", NULL, NULL);
        if (r < 0)
                return r;
        if (arg_json) {
                json_t *o = json_pack("{s:s, s:b}", "uuid", path_uuid(path), "rebooted", 1);
                print_json_line(o);
                json_decref(o);
        } else
                printf("Rebooting %s; it comes back by its UUID.\n", path_uuid(path));
        return 0;
}

static int cmd_forget(sd_bus *bus, int argc, char **argv) {
        int r;

        r = bus_call(bus, "forget", MANAGER_PATH, MANAGER_IFACE, "ForgetController", NULL, "s", argv[0]);
        if (r < 0)
                return r;
        if (arg_json) {
                json_t *o = json_pack("{s:s, s:b}", "uuid", argv[0], "forgotten", 1);
                print_json_line(o);
                json_decref(o);
        } else
                printf("%s is no longer a member of the board\n", argv[0]);
        return 0;
}

const Command commands_board[] = {
        { "status", "", "the board first: controllers, versions, mismatch and what to do",
          "The board first: its state (CONSISTENT, MISMATCH, DEGRADED, UPDATING, UNKNOWN),\n"
          "every controller with its CAN id, hardware, firmware and online state, why the\n"
          "board is degraded or updating, each difference and what would repair it (vescd's\n"
          "steps, then the vescctl commands), a running firmware job, the ride mode; then the\n"
          "bus state.  The default command.",
          0, 0, cmd_status },
        { "list", "", "one line per controller", "One line per controller: UUID, CAN id, hardware, firmware, online, fault.",
          0, 0, cmd_list },
        { "show", "CONTROLLER", "every property of one controller (UUID or CAN id)",
          "Every property of one controller, named by its UUID (24 hex digits) or its CAN id.", 1, 1, cmd_show },
        { "scan", "", "ask vescd to PING-scan the bus",
          "Ask vescd to PING-scan CAN ids 0..254; controllers appear as they answer.", 0, 0, cmd_scan },
        { "reboot", "CONTROLLER", "reboot one controller (admin)",
          "Reboot one controller (COMM_REBOOT).  It drops offline briefly and is found again\n"
          "by its UUID.  Needs root or vescd's admin group.",
          1, 1, cmd_reboot },
        { "forget", "UUID", "forget a remembered board member that is gone for good (admin)",
          "Forget a remembered member of the board that is gone for good (ForgetController;\n"
          "refused while it is online).  Admin.",
          1, 1, cmd_forget },
        {},
};
