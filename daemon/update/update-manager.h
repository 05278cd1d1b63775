/* Firmware management of vescd, as the adapters see it: installed image
 * sets (install from a path or an fd after verification against the
 * configured trust, list, remove, roll back), update jobs (one controller,
 * the pair, or the repair of a mismatched pair: only the differing side),
 * their resumption after a restart, and the job history.
 *
 * Permission checks are the adapters' job, done before calling anything
 * here that changes something.  Errors are -errno of errors.h with a
 * malloc'd text for people in *ret_error where offered:
 *   -ENOEXEC  BadImage         the set failed verification, or has no
 *                              usable image for a controller
 *   -ENOENT   NotFound         no such set or job
 *   -EBUSY    Busy             a controller is held exclusively (another job,
 *                              a write); the text names the holder
 *   -ENODEV   NoSuchController
 *   -EHOSTDOWN Offline
 *   -ENOPKG   NeedsIntermediate the update is impossible directly (e.g.
 *                              3.58 → 6.05 needs 5.03 first)
 *   -EALREADY NothingToDo      a repair finds both sides already on the set
 *   -EINVAL   InvalidArgument  wrong number of controllers, bad set id
 *   -EXDEV    Mismatch         a single-controller update would leave the
 *                              board's motor controllers on different
 *                              firmware (unless allow_mismatch)
 *   -EOPNOTSUPP NotSupported   the device is a BMS or custom module */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "update/update-driver.h"

typedef struct Daemon Daemon;
typedef struct Controller Controller;
typedef struct FwManager FwManager;

/* Ended jobs stay visible (D-Bus objects, job.get) until this many
 * newer ones ended. */
#define FW_MANAGER_ENDED_KEEP 16u

typedef struct FwManagerListener {
        void (*job_added)(void *userdata, FwJob *j);
        void (*job_changed)(void *userdata, FwJob *j, uint64_t mask);
        /* about to be freed */
        void (*job_removed)(void *userdata, FwJob *j);
        void (*sets_changed)(void *userdata);
        /* Inhibited / InhibitReason changed */
        void (*inhibit_changed)(void *userdata);
        /* an install pruned set @id (image-set-keep) */
        void (*set_removed)(void *userdata, const char *id, const char *reason);
} FwManagerListener;

/* Opens the store under the state directory and loads the trust
 * configuration (trusted-keys, require-signed). */
int fw_manager_new(Daemon *d, FwManager **ret);
FwManager *fw_manager_free(FwManager *m);
/* The text of a firmware call refused for want of a manager: why
 * fw_manager_new() failed ("firmware management is unavailable: state
 * directory /x is not writable: ..."), or "... is not available". */
const char *fw_manager_unavailable_text(void);
DEFINE_TRIVIAL_CLEANUP_FUNC(FwManager *, fw_manager_free);

int fw_manager_add_listener(FwManager *m, const FwManagerListener *l, void *userdata);
void fw_manager_remove_listener(FwManager *m, const FwManagerListener *l, void *userdata);

/* Resume the jobs persisted in the state directory (once, when the CAN
 * side is up). */
void fw_manager_resume(FwManager *m);
/* NOTIFY_BOOT from a controller. */
void fw_manager_on_boot(FwManager *m, uint8_t can_id, const char *hw_name);

/* ---- image sets */
int fw_manager_install_fd(FwManager *m, int fd, char **ret_id, char **ret_error);
int fw_manager_install_path(FwManager *m, const char *path, char **ret_id, char **ret_error);
int fw_manager_remove_set(FwManager *m, const char *id, char **ret_error);
/* The previous set becomes current (and the current one previous). */
int fw_manager_rollback(FwManager *m, char **ret_id, char **ret_error);
/* Array of image_set_to_json() objects with "current" and "previous". */
json_t *fw_manager_list_sets(FwManager *m);

/* ---- jobs */
int fw_manager_update(FwManager *m, Controller *c, const char *set_id, const FwJobOptions *o, FwJob **ret,
                      char **ret_error);
int fw_manager_update_pair(FwManager *m, const char *set_id, const FwJobOptions *o, FwJob **ret, char **ret_error);
int fw_manager_update_board(FwManager *m, const char *set_id, const FwJobOptions *o, FwJob **ret, char **ret_error);
int fw_manager_repair(FwManager *m, const char *set_id, const FwJobOptions *o, FwJob **ret, char **ret_error);
size_t fw_manager_jobs(FwManager *m, FwJob *const **ret);
FwJob *fw_manager_find_job(FwManager *m, unsigned id);
/* 0, or -EBUSY/-EINVAL with the refusal's one text in *ret_error. */
int fw_manager_cancel_job(FwManager *m, FwJob *j, char **ret_error);
/* ---- planning and inhibit */
/* PlanUpdate / firmware.plan: the plan as JSON text (docs/firmware-update.md
 * "Plans"); nothing is sent to a controller.  controllers: NULL-terminated.
 * A refused job is a plan with "refused": true; -EINVAL/-ENODEV only for a
 * malformed request. */
int fw_manager_plan(FwManager *m, const char *kind, const char *set_id, char *const *controllers, char **ret_json,
                    char **ret_error);
/* SetInhibit / firmware.inhibit (the adapters check root/admin). */
int fw_manager_set_inhibit(FwManager *m, bool inhibit, const char *reason, char **ret_error);
/* Inhibited; *ret_reason (optional) gets InhibitReason ("" when not). */
bool fw_manager_inhibited(FwManager *m, const char **ret_reason);

/* The persisted history (array, oldest first), never NULL unless ENOMEM. */
json_t *fw_manager_history(FwManager *m);
