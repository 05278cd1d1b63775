/* The D-Bus adapter: an sd-bus connection driven by the libevent loop
 * (STYLE.md §8), the org.vescd1 objects, and the translation between the
 * daemon's model/operations and D-Bus.  Holds no business logic. */
#pragma once

#include <systemd/sd-bus.h>

typedef struct Daemon Daemon;
typedef struct Bus Bus;
struct event_base;

/* Connect (address NULL: the system bus), register the objects, take the
 * name org.vescd1.  -errno, logged. */
int bus_new(Daemon *d, const char *address, Bus **ret);
Bus *bus_free(Bus *b);

/* Sends made outside sd-bus dispatch (signals from CAN callbacks) call
 * this; one deferred re-arm per loop iteration. */
void bus_schedule_rearm(Bus *b);

/* Fatal bus errors are reported here (connection lost). */
typedef void (*BusFatalFn)(void *userdata, int error);
void bus_set_fatal_handler(Bus *b, BusFatalFn fn, void *userdata);

/* For the interface files. */
sd_bus *bus_get(Bus *b);
Daemon *bus_daemon(Bus *b);
/* Verify the sender of m may change controllers; sets error to
 * org.vescd1.Error.PermissionDenied.  Returns 1 allowed, or negative. */
int bus_check_admin(Bus *b, sd_bus_message *m, sd_bus_error *error);
/* Set error to the org.vescd1.Error for -errno (sd-bus consults custom
 * error maps only for name -> errno, so servers set names themselves).
 * Returns the (negative) errno, for "return bus_set_errno(error, r);". */
int bus_set_errno(sd_bus_error *error, int r);
/* Reply to m with the org.vescd1.Error for -errno. */
int bus_reply_errno(sd_bus_message *m, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

int bus_manager_register(Bus *b);
void bus_manager_unregister(Bus *b);
/* Converts a jansson object to a{sv} with CamelCase keys ("temp_fet" -> "TempFet"). */
struct json_t;
int bus_append_json_dict(sd_bus_message *m, struct json_t *o);
/* Controller for an object path below "/org/vescd1/controller", or NULL. */
struct Controller;
struct Controller *bus_controller_from_path(Bus *b, const char *path);
int bus_controller_register(Bus *b);
extern const sd_bus_vtable bus_manager_vtable[];
extern const sd_bus_vtable bus_controller_vtable[];
extern const sd_bus_error_map bus_error_map[];

#define BUS_NAME "org.vescd1"
#define BUS_PATH "/org/vescd1"
#define BUS_CONTROLLER_PREFIX "/org/vescd1/controller"
#define BUS_MANAGER_INTERFACE "org.vescd1.Manager"
#define BUS_CONTROLLER_INTERFACE "org.vescd1.Controller"
