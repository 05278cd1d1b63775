/* vescctl: what the command files share — the global options, the exit
 * codes, the command table entry, and the D-Bus helpers of bus.c.
 *
 * Error convention: helpers and commands return 0 on success, a negative
 * errno on failure (the message is already printed, exactly once), and a
 * positive value for "completed, but the outcome is a failure" (a job that
 * did not end done).  main() turns the errno into the documented exit code
 * (errno_to_exit()): -EINVAL usage, -EHOSTDOWN vescd not reachable, -EACCES
 * permission, -EOPNOTSUPP not supported by this vescd, -ENOENT not found. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "macro.h"

#define BUS_NAME "org.vescd1"
#define MANAGER_PATH "/org/vescd1"
#define MANAGER_IFACE "org.vescd1.Manager"
#define CONTROLLER_IFACE "org.vescd1.Controller"
#define CONTROLLER_PREFIX "/org/vescd1/controller/"
#define JOB_IFACE "org.vescd1.Job"
#define JOB_PREFIX "/org/vescd1/job/"
#define PROPERTIES_IFACE "org.freedesktop.DBus.Properties"

/* Exit codes (docs/vescctl.1, EXIT STATUS). */
enum {
        EXIT_OK = 0,
        EXIT_FAILED = 1,        /* vescd refused or the operation failed */
        EXIT_USAGE = 2,         /* bad command line */
        EXIT_UNREACHABLE = 3,   /* no D-Bus, or vescd not running on it */
        EXIT_PERMISSION = 4,    /* needs root or the admin group */
        EXIT_UNSUPPORTED = 5,   /* this vescd has no such method */
        EXIT_NOT_FOUND = 6,     /* no such controller, image set or job */
};

/* Global options (main.c). */
extern const char *arg_address;
extern bool arg_json;
extern double arg_duration;     /* watch, top: seconds, 0 = until interrupted */
extern double arg_interval;     /* top: seconds between redraws */
extern bool arg_wait;           /* firmware: follow the job to its end */
extern bool arg_store;          /* limits set: also write flash */
extern bool arg_allow_mismatch; /* firmware update */
extern bool arg_skip_can_id_restore;
extern bool arg_no_migrate_config;
extern bool arg_no_keep_can_id; /* config restore, config copy */

/* One command: "status", or two words such as "firmware update". */
typedef struct Command {
        const char *name;
        const char *args;       /* synopsis of the arguments */
        const char *summary;    /* one line for --help */
        const char *help;       /* the text of `vescctl help NAME` */
        int min_args, max_args; /* after the command words; -1 = any number */
        int (*run)(sd_bus *bus, int argc, char **argv);
} Command;

extern const Command commands_board[], commands_watch[], commands_top[], commands_config[], commands_firmware[];

/* bus.c */
int errno_to_exit(int r);
int usage_error(const char *cmd, const char *fmt, ...) _printf_(2, 3);
int bus_connect(sd_bus **ret);
int bus_report(const char *what, const sd_bus_error *error, int r);
int bus_call(sd_bus *bus, const char *what, const char *path, const char *iface, const char *method,
             sd_bus_message **ret_reply, const char *types, ...);
int bus_try_call(sd_bus *bus, const char *path, const char *iface, const char *method, sd_bus_message **ret_reply,
                 sd_bus_error *ret_error, const char *types, ...);
bool bus_error_unknown_method(const sd_bus_error *error);
bool bus_error_old_signature(const sd_bus_error *error);
int bus_call_json(sd_bus *bus, const char *what, const char *path, const char *iface, const char *method,
                  json_t **ret, const char *types, ...);
int message_read_dict(sd_bus_message *m, json_t **ret);
int bus_get_all(sd_bus *bus, const char *path, const char *iface, json_t **ret);
int bus_get_state(sd_bus *bus, json_t **ret);
int resolve_controller(sd_bus *bus, const char *name, char **ret_path);
bool controller_name_valid(const char *name);
int resolve_set(sd_bus *bus, const char *name, char **ret_id);
void snake_case(const char *s, char *out, size_t size);
const char *path_uuid(const char *path);

/* output helpers */
const char *jstr(json_t *o, const char *k);
long long jint(json_t *o, const char *k);
double jreal(json_t *o, const char *k);
void print_json(json_t *o);
void print_json_line(json_t *o);
void format_wall_time(uint64_t usec, char *buf, size_t size);
uint64_t now_usec(int clock);

/* cmd-firmware.c, used by status/top */
int list_jobs(sd_bus *bus, json_t **ret);
const char *job_phase_of(json_t *jobs, const char *uuid);

extern volatile int interrupted;
void catch_interrupts(void);
