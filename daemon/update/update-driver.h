/* The driver of one firmware update job: it connects the pure update
 * engine (update-engine.h) to the daemon.  It carries out the engine's actions
 * (requests through the request engine, timers on the event loop,
 * IDENTIFY by COMM_FW_VERSION, telemetry by GET_VALUES), feeds the answers
 * back as events, persists every snapshot in the state directory (atomic
 * writes) and appends the outcome to the job history there.  A job that
 * was running when vescd stopped is created again from its file and
 * resumed (update_store_job_read(), fw_job_resume()).
 *
 * A job holds its controllers exclusively (core/hold.h) from checking to
 * its end: fw_job_start() takes the holds, waits up to 1 s for reads still
 * running on them (new calls are refused meanwhile), and otherwise ends
 * the job failed with "Busy" before its engine starts.  Under the hold the
 * daemon's own polling pauses.  Before the first byte is flashed to a
 * controller the job sends it COMM_APP_DISABLE_OUTPUT (until re-enabled),
 * undone when the job ends. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "update/update-engine.h"
#include "update/update-store.h"
#include "imageset.h"

#include "core/hold.h"
#include "core/request.h"

typedef struct FwJob FwJob;

/* What a job needs from its surroundings (update-manager.c fills it from
 * the daemon; tests/unit/update/test-update-driver.c fakes it).  The
 * driver calls nothing else outside the update modules. */
typedef struct UpdateTimer UpdateTimer;
typedef void (*UpdateTimerFn)(void *data);

typedef struct UpdateHost {
        /* CLOCK_MONOTONIC, usec */
        uint64_t (*now)(void *userdata);
        /* a nominal duration × the daemon's time scale */
        uint64_t (*scaled)(void *userdata, uint64_t usec);
        /* start a request (as request_send()); p->done runs later, never from
         * inside this call, or from inside cancel() with -ECANCELED */
        int (*request)(void *userdata, const RequestParams *p, uint64_t *ret_handle);
        int (*cancel)(void *userdata, uint64_t handle);
        /* one-shot timers at an absolute time of now() */
        UpdateTimer *(*timer_new)(void *userdata, UpdateTimerFn fn, void *data);
        void (*timer_arm)(void *userdata, UpdateTimer *t, uint64_t at_usec);
        void (*timer_disarm)(void *userdata, UpdateTimer *t);
        void (*timer_free)(void *userdata, UpdateTimer *t);
        /* identification: the CAN id the controller model has for a UUID
         * (-1: none), a COMM_FW_VERSION reply for the model to learn from,
         * a scan of the bus (-EALREADY while one runs) */
        int (*lookup)(void *userdata, const uint8_t uuid[VESC_UUID_LEN]);
        void (*identified)(void *userdata, uint8_t can_id, const uint8_t *reply, size_t len);
        int (*scan)(void *userdata);
        /* the daemon's hold table (core/hold.h): the job takes an exclusive
         * hold on each controller from checking to its end */
        HoldTable *(*holds)(void *userdata);
        /* a write moved the controller to another CAN id (the model follows
         * it by UUID at once) */
        void (*moved)(void *userdata, const uint8_t uuid[VESC_UUID_LEN], uint8_t can_id);
        /* the CAN ids devices other than the n controllers named by @uuids
         * use (bit per id, vescd's own too): an old id among them is never
         * restored.  May be NULL. */
        void (*foreign_ids)(void *userdata, const uint8_t (*uuids)[VESC_UUID_LEN], size_t n, uint8_t bits[32]);
        /* the job has ended and let its controllers go: bring the board view
         * up to date (daemon_board_update()) and say whether it is final
         * (daemon_board_settled()).  The end (State done, failed or
         * cancelled) is announced only once it is: false defers it until
         * fw_job_board_settled(), at most FW_JOB_SETTLE_MAX_USEC.  May be
         * NULL (always final). */
        bool (*board_settled)(void *userdata);
        void *userdata;
} UpdateHost;

/* changed() mask */
#define FW_JOB_CHANGED_STATE    (UINT64_C(1) << 0)  /* State, Error, Report */
#define FW_JOB_CHANGED_PHASE    (UINT64_C(1) << 1)  /* Phase, Phases, DoNotPowerOff */
#define FW_JOB_CHANGED_PROGRESS (UINT64_C(1) << 2)  /* Progress, BytesDone, BytesTotal, EtaSeconds */

/* How long a job's end waits for the board view at most (a check's
 * round trip: GET_VALUES 2 x 100 ms); a bound, never reached normally. */
#define FW_JOB_SETTLE_MAX_USEC (2 * USEC_PER_SEC)

/* Progress-only changes are published at most this often. */
#define FW_JOB_PROGRESS_INTERVAL_USEC (250 * USEC_PER_MSEC)

typedef struct FwJobCallbacks {
        /* properties changed (coalesced; progress rate-limited) */
        void (*changed)(void *userdata, FwJob *j, uint64_t mask);
        /* the job ended (after its last changed()); history written */
        void (*ended)(void *userdata, FwJob *j);
} FwJobCallbacks;

/* The images of one job, built from an image set: the upload stream of
 * each side's hw (vesc_upload_stream_build(), compressed for 6.x) and the
 * set's bootloader for it.  Buffers are owned here. */
typedef struct FwJobImages {
        size_t n;
        FwImage img[FW_SIDES_MAX];
        uint8_t *stream[FW_SIDES_MAX];      /* NULL where shared with an earlier side */
        uint8_t *bootloader[FW_SIDES_MAX];
} FwJobImages;

int fw_job_images_build(ImageSet *set, const FwIdentity *ctl, size_t n, FwJobImages *ret, char **ret_error);
void fw_job_images_done(FwJobImages *im);
/* Keep only the sides selected by keep[] (in order), moving buffers. */
void fw_job_images_select(FwJobImages *im, const bool keep[FW_SIDES_MAX]);

/* Create a job (not started) driven through @host (borrowed, must outlive
 * the job).  @images are taken over (also on failure).  @params: controllers, gates and time scale; its image
 * pointers are ignored (taken from @images). */
int fw_job_new(const UpdateHost *host, unsigned id, const char *kind, const char *set_id, FwJobImages *images,
               const FwUpdateParams *params, const FwJobOptions *opts, const char *state_dir,
               const FwJobCallbacks *cb, void *userdata, FwJob **ret);
FwJob *fw_job_free(FwJob *j);
DEFINE_TRIVIAL_CLEANUP_FUNC(FwJob *, fw_job_free);

int fw_job_start(FwJob *j);
/* -EBUSY while the job must not be cancelled (committing … confirming),
 * -EALREADY when it has ended. */
int fw_job_cancel(FwJob *j);

/* Continue a job created from a job file with its engine snapshot. */
int fw_job_resume(FwJob *j, const FwSnapshot *engine, uint64_t started_realtime_usec);

/* Events the daemon delivers. */
void fw_job_on_boot(FwJob *j, uint8_t can_id, const char *hw_name);

/* Getters */
unsigned fw_job_id(const FwJob *j);
const char *fw_job_kind(const FwJob *j);
const char *fw_job_set_id(const FwJob *j);
FwJobState fw_job_state(const FwJob *j);
bool fw_job_running(const FwJob *j);
bool fw_job_updating(const FwJob *j);
void fw_job_board_settled(FwJob *j);
FwPhase fw_job_phase(const FwJob *j);
size_t fw_job_n_sides(const FwJob *j);
/* 24 hex digits */
const char *fw_job_side_uuid(const FwJob *j, size_t i);
FwPhase fw_job_side_phase(const FwJob *j, size_t i);
bool fw_job_uses(const FwJob *j, const uint8_t uuid[static VESC_UUID_LEN]);
FwProgressInfo fw_job_progress(const FwJob *j);
/* Stable code ("" while none, e.g. "Bricked") and text. */
const char *fw_job_error_code(const FwJob *j);
const char *fw_job_error_text(const FwJob *j);
/* The report (NULL until the job ends): borrowed. */
json_t *fw_job_report(const FwJob *j);
/* "/org/vescd1/job/<n>" */
#define FW_JOB_PATH_MAX 48
void fw_job_path(const FwJob *j, char buf[static FW_JOB_PATH_MAX]);

/* The one rendering of a job, shared by the D-Bus and JSON adapters. */
json_t *fw_job_to_json(const FwJob *j);
