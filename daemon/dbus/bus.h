/* The D-Bus adapter: an sd-bus connection driven by the libevent loop
 * (STYLE.md §8), the org.vescd1 objects, and the translation between the
 * daemon's model/operations and D-Bus.  Holds no business logic. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>

typedef struct Daemon Daemon;
typedef struct FwManager FwManager;
typedef struct Bus Bus;
struct event_base;

/* Connect (address NULL: the system bus), register the objects, take the
 * name org.vescd1.  -errno, logged. */
int bus_new(Daemon *d, FwManager *fw, const char *address, Bus **ret);
/* Serve the same objects on a direct (peer-to-peer) connection over fd, a
 * connected stream socket taken over; no bus name.  Component tests. */
int bus_new_peer(Daemon *d, FwManager *fw, int fd, Bus **ret);
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
FwManager *bus_firmware(Bus *b);
/* Verify the sender of m may change controllers; sets error to
 * org.vescd1.Error.PermissionDenied.  The method table's privilege is
 * checked by bus_method_run() before a handler runs; handlers call this
 * only for options that need more than their method.  Returns 1 allowed, negative refused,
 * 0 while the caller's credentials are being asked for: the handler then
 * returns 1 at once and is called again with m once they are known
 * (BUS_CHECK_ADMIN()). */
int bus_check_admin(Bus *b, sd_bus_message *m, sd_bus_error *error);
#define BUS_CHECK_ADMIN(b, m, error)                            \
        do {                                                    \
                int _r = bus_check_admin((b), (m), (error));    \
                if (_r <= 0)                                    \
                        return _r < 0 ? _r : 1;                 \
        } while (0)
/* bus-creds.c: the callers' credentials from the bus daemon, per unique name. */
typedef struct BusCreds BusCreds;
int bus_creds_new(sd_bus *bus, BusCreds **ret);
BusCreds *bus_creds_free(BusCreds *bc);
int bus_creds_check_admin(BusCreds *bc, Daemon *d, sd_bus_message *m, sd_bus_error *error);
int bus_creds_uid(BusCreds *bc, sd_bus_message *m, uid_t *ret);
/* The caller's uid after bus_check_admin() allowed the call: 0 or -ENODATA. */
int bus_caller_uid(Bus *b, sd_bus_message *m, uid_t *ret);
/* Set error to the org.vescd1.Error for -errno (sd-bus consults custom
 * error maps only for name -> errno, so servers set names themselves).
 * Returns the (negative) errno, for "return bus_set_errno(error, r);". */
int bus_set_errno(sd_bus_error *error, int r);
/* Reply to m with the org.vescd1.Error for -errno. */
int bus_reply_errno(sd_bus_message *m, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Object path lists: path(items, i, buf) writes the i-th path into buf
 * (BUS_OBJECT_PATH_MAX bytes). */
#define BUS_OBJECT_PATH_MAX 64
typedef void (*BusPathFn)(const void *items, size_t i, char *buf);
/* Appends an "ao" of n paths. */
int bus_append_paths(sd_bus_message *reply, const void *items, size_t n, BusPathFn path);
/* The same as a NULL-terminated strv (node enumerators). */
int bus_path_strv(const void *items, size_t n, BusPathFn path, char ***ret);
/* Opens the dictionary entry {name: variant of signature sig} of an a{sv};
 * bus_close_entry() closes the variant and the entry. */
int bus_open_entry(sd_bus_message *m, const char *name, const char *sig);
int bus_close_entry(sd_bus_message *m);

int bus_manager_register(Bus *b);
void bus_manager_unregister(Bus *b);
/* bus-job.c: /org/vescd1/job/<n> and the Manager's firmware members */
int bus_job_register(Bus *b);
void bus_job_unregister(Bus *b);
int bus_firmware_property_jobs(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error);
int bus_firmware_method_list_image_sets(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_firmware_method_get_history(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_firmware_method_install_image_set(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_firmware_method_install_image_set_from_path(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_firmware_method_remove_image_set(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_firmware_method_rollback_image_set(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_firmware_method_update_controller(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_firmware_method_update_pair(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_firmware_method_repair(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_firmware_method_update_board(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_firmware_method_plan_update(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_firmware_method_set_inhibit(sd_bus_message *m, void *userdata, sd_bus_error *error);
/* The firmware members of org.vescd1.Manager (dbus/org.vescd1.Manager.xml)
 * besides its methods: the Jobs property.  The methods' handlers are the
 * bus_firmware_method_*() above, listed by bus-manager.c. */
#define BUS_MANAGER_FIRMWARE_MEMBERS                                                                              \
        SD_BUS_PROPERTY("Jobs", "ao", bus_firmware_property_jobs, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)
/* Field tables (core/fields.h) on the bus. */
struct Field;
struct FieldTable;
int bus_append_field(sd_bus_message *m, const struct Field *f, const void *object);
/* A boolean option of an a{sv} argument and the bool it sets (@invert: the
 * option says the opposite of the field, e.g. MigrateConfig). */
typedef struct BusBoolOption {
        const char *name;
        size_t offset;
        bool invert;
} BusBoolOption;
int bus_read_bool_options(sd_bus_message *m, const BusBoolOption *table, size_t n, void *base,
                          const char **ret_key);
/* A D-Bus method's handler, by member; the rest of the method (signatures,
 * argument names, privilege) is its row of the core's method table
 * (core/methods.c). */
typedef struct BusMethod {
        const char *member;
        sd_bus_message_handler_t handler;
} BusMethod;
/* The adapter keeps the vtable and frees it after closing the bus. */
int bus_vtable_new(Bus *b, const struct FieldTable *t, sd_bus_property_get_t getter, const sd_bus_vtable *members,
                   const char *interface, const BusMethod *handlers, sd_bus_message_handler_t dispatch,
                   sd_bus_vtable **ret);
/* The vtable on every object below @prefix that @find accepts; @enumerate lists them. */
int bus_add_fallback(Bus *b, const char *prefix, const char *interface, const sd_bus_vtable *vtable,
                     sd_bus_object_find_t find, sd_bus_node_enumerator_t enumerate);
/* The dispatcher's body: the row's privilege check, then the handler. */
int bus_method_run(const char *interface, const BusMethod *handlers, sd_bus_message *m, void *userdata,
                   sd_bus_error *error);
/* Converts a jansson object to a{sv} with CamelCase keys ("temp_fet" -> "TempFet"). */
struct json_t;
int bus_append_json_dict(sd_bus_message *m, struct json_t *o);
/* Controller for an object path below "/org/vescd1/controller", or NULL. */
struct Controller;
struct Controller *bus_controller_from_path(Bus *b, const char *path);
int bus_controller_register(Bus *b);
extern const sd_bus_error_map bus_error_map[];

#define BUS_NAME "org.vescd1"
#define BUS_PATH "/org/vescd1"
#define BUS_CONTROLLER_PREFIX "/org/vescd1/controller"
#define BUS_MANAGER_INTERFACE "org.vescd1.Manager"
#define BUS_CONTROLLER_INTERFACE "org.vescd1.Controller"
