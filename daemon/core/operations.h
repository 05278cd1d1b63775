/* Controller operations adapters expose: read values, set runtime limits,
 * reboot, configuration backup / restore / compare / copy.  Each is a short chain
 * of requests through the request engine; completion callbacks run from
 * the event loop (never from inside the starting call).  Errors are -errno
 * values of errors.h (e.g. -EHOSTDOWN Offline, -EOPNOTSUPP NotSupported,
 * -EMEDIUMTYPE SignatureMismatch, -ETIMEDOUT Timeout).
 *
 * Permission checks are the adapters' job (daemon_check_admin()), done
 * before an operation that changes a controller is started.
 *
 * Holds (hold.h): reads (values, backup, compare, the source of a copy)
 * take a shared hold on their controllers, writes (limits, reboot, restore,
 * the target of a copy) an exclusive one, from the start to the
 * completion.  A start that conflicts with another holder (a firmware job,
 * another write) returns -EBUSY at once; op_busy_text() then names the
 * holder. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/config-layout.h"
#include "core/controller.h"
#include "proto/vesc-comm.h"

typedef struct Daemon Daemon;

/* After a start returned -EBUSY: "<uuid> is being updated by job 3
 * (writing)".  Owned by the daemon, valid until the next start. */
const char *op_busy_text(const Daemon *d);

/* ---- GetValues */
typedef void (*OpValuesFn)(void *userdata, int error, const VescValues *v);
int op_get_values(Daemon *d, Controller *c, OpValuesFn done, void *userdata);

/* ---- SetLimits: the fields set in `set` (bit per LimitField) change;
 * the others keep the controller's current values (read first). */
#include "core/limits.h"   /* LimitField: names and ranges, listed once */

typedef struct Limits {
        uint32_t set;             /* bit per LimitField */
        double value[_LIMIT_MAX];
        bool store;               /* also write to flash */
} Limits;

/* "current_min_scale", ... (the keys of SetLimits' a{sv}) */
const char *limit_field_to_string(LimitField f);
LimitField limit_field_from_string(const char *s);   /* -EINVAL if unknown */
/* Range check of one value; -EINVAL. */
int limit_check(LimitField f, double v);

typedef void (*OpDoneFn)(void *userdata, int error);
int op_set_limits(Daemon *d, Controller *c, const Limits *l, OpDoneFn done, void *userdata);

/* ---- GetLimits: the ten limits in force, read from the controller
 * (COMM_GET_MCCONF_TEMP, 5.02+; -EOPNOTSUPP before).  l->set: all ten. */
typedef void (*OpLimitsFn)(void *userdata, int error, const Limits *l);
int op_get_limits(Daemon *d, Controller *c, OpLimitsFn done, void *userdata);

/* ---- Reboot (no reply from the controller; done once sent) */
int op_reboot(Daemon *d, Controller *c, OpDoneFn done, void *userdata);

/* ---- configuration blobs: serialized config including its 4-byte signature */
typedef void (*OpBackupFn)(void *userdata, int error, const uint8_t *mc, size_t mc_len, const uint8_t *app,
                           size_t app_len);
int op_backup_config(Daemon *d, Controller *c, OpBackupFn done, void *userdata);
/* Options of RestoreConfig and CopyConfigFrom. */
typedef struct OpConfigOptions {
        /* The target keeps its own CAN id (the APPCONF's controller_id is
         * replaced by it); default true.  Without it the written id must be
         * used by no other device (else -EINVAL with a text naming both). */
        bool keep_can_id;
} OpConfigOptions;
#define OP_CONFIG_OPTIONS_DEFAULT ((OpConfigOptions) { .keep_can_id = true })

/* Either blob may be empty (len 0) to leave that part alone.  An APPCONF
 * that moves the controller to another (free) id: the reply and all later
 * traffic are expected there, the model follows it by UUID.  A refusal
 * before anything is sent may set *ret_error (a text for people; free()). */
int op_restore_config(Daemon *d, Controller *c, const uint8_t *mc, size_t mc_len, const uint8_t *app,
                      size_t app_len, const OpConfigOptions *o, OpDoneFn done, void *userdata, char **ret_error);
/* differences: NULL-terminated strv, owned by the callee (valid during the call). */
typedef void (*OpCompareFn)(void *userdata, int error, char **differences);
int op_compare_config(Daemon *d, Controller *a, Controller *b, OpCompareFn done, void *userdata);
/* Copy source's MCCONF and APPCONF to target (same firmware signatures
 * required; the target keeps its CAN id unless !o->keep_can_id, which is
 * refused as the source uses that id).  message: why it failed, for
 * people, or NULL (valid during the call).  *ret_error as for restore. */
typedef void (*OpCopyFn)(void *userdata, int error, const char *message);
int op_copy_config(Daemon *d, Controller *source, Controller *target, const OpConfigOptions *o, OpCopyFn done,
                   void *userdata, char **ret_error);

/* ---- configuration by name (core/config-json.h).  result: borrowed JSON
 * (valid during the call) or NULL on error; message: why it failed, for
 * people, or NULL. */
typedef void (*OpConfigFn)(void *userdata, int error, const char *message, json_t *result);
/* Reads one configuration: {signature, layout, params, raw}. */
int op_get_config(Daemon *d, Controller *c, ConfigWhich which, OpConfigFn done, void *userdata);
/* Read-modify-write of one configuration: params {name: value} applied
 * (range-checked: -ERANGE/-EINVAL/-ENOENT naming the parameter, nothing
 * written), written, read back; result: the configuration now.
 * controller_id changes only when params names it; an id another known
 * device uses is refused (-EINVAL naming both), and after the write the
 * controller is expected at the new id. */
int op_set_config(Daemon *d, Controller *c, ConfigWhich which, json_t *params, OpConfigFn done, void *userdata);
/* Compares one configuration of a and b by name (config_json_diff()). */
int op_diff_config(Daemon *d, Controller *a, Controller *b, ConfigWhich which, OpConfigFn done, void *userdata);
/* Both configurations as a backup file (config_json_backup()). */
int op_backup_config_file(Daemon *d, Controller *c, OpConfigFn done, void *userdata);
