/* The update store: what survives a restart of vescd, at the edge of the
 * pure update modules.  Job files (<state>/firmware/jobs/job-<n>.json: the
 * job's controllers, options and the engine snapshot), the job history
 * (<state>/firmware/history.json), atomic writes, and the one validated
 * JSON codec of controller identities, snapshots and reports.  The only
 * update module that uses jansson or the file system for jobs. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "update/update-engine.h"
#include "imageset.h"

/* Entries kept in <state>/firmware/history.json. */
#define UPDATE_HISTORY_MAX 100u

typedef struct FwJobOptions {
        bool override_gates;
        bool skip_can_id_restore;
        bool abandon_on_resume;   /* resume: give up un-committed staging */
        bool allow_mismatch;      /* update one member to something the others do not run (root) */
        bool skip_config_migration; /* MigrateConfig false: no carrying across layouts */
} FwJobOptions;

/* ---- files */
/* Write @text to @path through a temporary file, fsync and rename. */
int update_store_write_atomic(const char *path, const char *text);
int update_store_mkdir_p(const char *dir);

/* ---- codecs */
/* {"uuid", "version", "major", "minor", "test_build", "fw_name", "hw_name", "can_id"} */
json_t *update_store_identity_json(const FwIdentity *id);
/* Validates ranges and the UUID (24 hex digits; required if @need_uuid,
 * otherwise the UUID is left as it is when absent). */
int update_store_identity_parse(json_t *o, FwIdentity *id, bool need_uuid);

json_t *update_store_snapshot_json(const FwSnapshot *s);
/* Fills @ret, whose configuration blobs it then owns
 * (update_store_snapshot_done()).  -EINVAL: not a snapshot of this format. */
int update_store_snapshot_parse(json_t *o, FwSnapshot *ret);
void update_store_snapshot_done(FwSnapshot *s);

json_t *update_store_report_json(const FwReport *r);

/* ---- job files */
typedef struct FwJobFile {
        unsigned id;
        char kind[16];
        char set_id[IMAGE_SET_ID_LEN + 1];
        size_t n;
        FwIdentity controllers[FW_SIDES_MAX];
        FwJobOptions opts;
        FwSnapshot engine;        /* blobs owned after update_store_job_read() */
        uint64_t started_realtime_usec;
} FwJobFile;

/* Persist a running job; @f->engine is borrowed. */
int update_store_job_write(const char *state_dir, const FwJobFile *f);
/* Read a job file.  On -EBADMSG from a bad engine snapshot, ret->id is
 * still set when the file named one (so the number is not reused). */
int update_store_job_read(const char *path, FwJobFile *ret);
void update_store_job_done(FwJobFile *f);
int update_store_job_remove(const char *state_dir, unsigned id);

/* ---- history */
/* The persisted history (array, oldest first); never NULL unless ENOMEM. */
json_t *update_store_history_load(const char *state_dir);
/* Append @entry (reference stolen), keeping UPDATE_HISTORY_MAX entries. */
int update_store_history_append(const char *state_dir, json_t *entry);
