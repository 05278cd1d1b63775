/* The driver between the pure firmware update engine and the daemon; see
 * update-driver.h.  Everything the engine asks for is done here and nothing
 * else: no update logic lives in this file. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/hold.h"
#include "update/update-driver.h"
#include "fwimage.h"
#include "imagestore.h"
#include "core/log.h"
#include "macro.h"
#include "proto/vesc-can.h"
#include "proto/vesc-comm.h"

/* IDENTIFY: one COMM_FW_VERSION per candidate id (nominal, scaled). */
#define IDENTIFY_TIMEOUT_USEC (150 * USEC_PER_MSEC)
/* A scan of the whole bus at most this often while a side is missing. */
#define IDENTIFY_SCAN_INTERVAL_USEC (10 * USEC_PER_SEC)
#define N_TIMERS (1 + FW_SIDES_MAX)
#define IDENTIFY_CANDIDATES 4
/* A new job waits this long (real time) for shared holds (reads) on its
 * controllers to drain before it gives up with Busy. */
#define HOLD_WAIT_USEC (1 * USEC_PER_SEC)

typedef enum ReqKind {
        REQ_SEND,
        REQ_IDENTIFY,
        REQ_TELEMETRY,
        REQ_OTHER,
} ReqKind;

typedef struct FwReq FwReq;
struct FwReq {
        FwJob *job;               /* NULL once the job is gone */
        int side;
        ReqKind kind;
        uint64_t handle;
        FwReq *next;
};

typedef struct FwJobSide {
        FwJob *job;
        Hold *hold;               /* exclusive, from checking to the end */
        char uuid[2 * VESC_UUID_LEN + 1];
        uint8_t uuid_bytes[VESC_UUID_LEN];
        FwReq *send;              /* the engine's outstanding request */
        bool identify_busy;         /* a round over the candidate ids is running */
        uint8_t candidates[IDENTIFY_CANDIDATES];
        size_t n_candidates, candidate;
        bool telemetry_busy;
        bool output_disabled;
        uint8_t last_can_id;
} FwJobSide;

typedef struct FwTimer {
        FwJob *job;
        unsigned id;
        uint64_t at_usec;
        UpdateTimer *t;
} FwTimer;

struct FwJob {
        const UpdateHost *host;
        unsigned id;
        char kind[16];
        char set_id[IMAGE_SET_ID_LEN + 1];
        char *state_dir;
        FwJobImages images;
        FwUpdateParams params;
        FwJobOptions opts;
        FwUpdateJob *engine;
        FwActions actions;
        bool handling;            /* inside fw_update_handle()/execute */

        FwJobSide sides[FW_SIDES_MAX];
        FwTimer timers[N_TIMERS];
        FwReq *reqs;
        uint64_t last_scan_usec;

        FwJobState state;         /* as published: RUNNING until the end is announced */
        FwJobState end_state;     /* the end reached, while settling */
        bool settling;            /* ended, its end waits for the board view (publish()) */
        bool settle_logged;
        uint64_t settle_deadline_usec;
        FwPhase phase;
        FwProgressInfo progress;
        char error_code[32];
        char *error_text;
        json_t *report;
        uint64_t started_realtime_usec;

        const FwJobCallbacks *cb;
        void *userdata;
        uint64_t pending_mask;
        uint64_t last_progress_usec;
        UpdateTimer *publish_timer;
        bool publish_armed;

        /* waiting for shared holds to drain before the engine starts */
        UpdateTimer *hold_timer;
        uint64_t hold_deadline_usec;
        bool waiting;
        bool ended_unstarted;     /* refused or cancelled before the engine started */
};

static uint64_t host_now(const FwJob *j) {
        return j->host->now(j->host->userdata);
}

static const char *strempty(const char *s) {
        return s ? s : "";
}

static uint64_t now_realtime(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

static void format_realtime(uint64_t usec, char out[static 32]) {
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(out, 32, "unknown");
}

/* ------------------------------------------------------------- images */

/**
 * fw_job_images_build() - the images a job over these controllers needs
 * @set: a verified image set
 * @ctl: the controllers (their hw names pick the entries)
 * @n: number of controllers
 * @ret: receives the images (call fw_job_images_done())
 * @ret_error: on failure, a malloc'd message for people
 *
 * Builds each upload stream (compressed for 6.x) and reads the set's
 * bootloader for the hw, if it has one.  Controllers with the same hw
 * share one stream.
 *
 * Returns: 0, -ENOENT (no entry for a controller's hw; WrongHardware),
 * -EBADMSG/-EFBIG (image), -ENOMEM.
 */
int fw_job_images_build(ImageSet *set, const FwIdentity *ctl, size_t n, FwJobImages *ret, char **ret_error) {
        FwJobImages im = { .n = n };
        int r;

        assert(n <= FW_SIDES_MAX);
        for (size_t i = 0; i < n; i++) {
                const ImageSetEntry *e = image_set_find(set, ctl[i].hw_name);
                _cleanup_free_ uint8_t *raw = NULL;
                size_t raw_len = 0;
                FwImage *img = &im.img[i];

                if (!e) {
                        if (ret_error)
                                (void) asprintf(ret_error, "image set %s has no image for hardware '%s' (wrong hardware)",
                                                image_set_id(set), ctl[i].hw_name);
                        fw_job_images_done(&im);
                        return -ENOENT;
                }
                /* same hw as an earlier side: share its buffers */
                bool shared = false;
                for (size_t k = 0; k < i; k++)
                        if (strcmp(im.img[k].hw_name, e->hw_name) == 0) {
                                *img = im.img[k];
                                shared = true;
                                break;
                        }
                if (shared)
                        continue;

                snprintf(img->hw_name, sizeof img->hw_name, "%s", e->hw_name);
                img->major = e->app.major;
                img->minor = e->app.minor;
                img->test_build = e->app.test_build;
                snprintf(img->fw_name, sizeof img->fw_name, "%s", e->app.fw_name ? e->app.fw_name : "");
                img->min_bootloader = e->app.min_bootloader;

                r = image_set_read_app(set, e, &raw, &raw_len, ret_error);
                if (r < 0) {
                        fw_job_images_done(&im);
                        return r;
                }
                img->raw_size = raw_len;
                r = vesc_upload_stream_build(raw, raw_len, e->app.major >= 6, &im.stream[i], &img->stream_len);
                if (r < 0) {
                        if (ret_error)
                                (void) asprintf(ret_error, "%s (hardware '%s'): cannot build the upload stream: %s",
                                                e->app.file, e->hw_name, strerror(-r));
                        fw_job_images_done(&im);
                        return r;
                }
                img->stream = im.stream[i];
                if (e->has_bootloader) {
                        size_t bl_len = 0;
                        r = image_set_read_bootloader(set, e, &im.bootloader[i], &bl_len, ret_error);
                        if (r < 0) {
                                fw_job_images_done(&im);
                                return r;
                        }
                        img->bootloader = im.bootloader[i];
                        img->bootloader_len = bl_len;
                        img->bootloader_generation = e->bootloader.generation;
                }
        }
        *ret = im;
        return 0;
}

/**
 * fw_job_images_done() - free the buffers
 * @im: the images (zeroed on return)
 */
void fw_job_images_done(FwJobImages *im) {
        for (size_t i = 0; i < FW_SIDES_MAX; i++) {
                free(im->stream[i]);
                free(im->bootloader[i]);
        }
        *im = (FwJobImages) {};
}

/**
 * fw_job_images_select() - keep only some sides
 * @im: the images
 * @keep: per side, whether it stays (kept sides move to the front)
 *
 * Buffers of dropped sides that a kept side shares move with it.
 */
void fw_job_images_select(FwJobImages *im, const bool keep[FW_SIDES_MAX]) {
        FwJobImages out = {};
        bool taken[FW_SIDES_MAX] = {};

        for (size_t i = 0; i < im->n; i++) {
                if (!keep[i])
                        continue;
                out.img[out.n] = im->img[i];
                /* take ownership of whichever buffers this image points into */
                for (size_t k = 0; k < im->n; k++) {
                        if (taken[k])
                                continue;
                        if (im->stream[k] && im->stream[k] == im->img[i].stream) {
                                out.stream[out.n] = im->stream[k];
                                out.bootloader[out.n] = im->bootloader[k];
                                taken[k] = true;
                                break;
                        }
                }
                out.n++;
        }
        for (size_t k = 0; k < FW_SIDES_MAX; k++)
                if (!taken[k]) {
                        free(im->stream[k]);
                        free(im->bootloader[k]);
                }
        *im = out;
}

/* ------------------------------------------------------------ helpers */

static void job_changed(FwJob *j, uint64_t mask);

static FwReq *req_new(FwJob *j, int side, ReqKind kind) {
        FwReq *q = calloc(1, sizeof *q);

        if (!q)
                return NULL;
        q->job = j;
        q->side = side;
        q->kind = kind;
        q->next = j->reqs;
        j->reqs = q;
        return q;
}

/* Unlink and free; called from completions only. */
static void req_free(FwReq *q) {
        if (q->job) {
                for (FwReq **p = &q->job->reqs; *p; p = &(*p)->next)
                        if (*p == q) {
                                *p = q->next;
                                break;
                        }
                if (q->side >= 0 && q->job->sides[q->side].send == q)
                        q->job->sides[q->side].send = NULL;
        }
        free(q);
}

/* The start of every request completion: the request is done with; its
 * job, or NULL when the job went away meanwhile, and its side. */
static FwJob *req_finish(void *userdata, size_t *ret_side) {
        FwReq *q = userdata;
        FwJob *j = q->job;

        if (ret_side)
                *ret_side = (size_t) q->side;
        req_free(q);
        return j;
}

static int req_send(FwJob *j, FwReq *q, const RequestParams *p_in) {
        RequestParams p = *p_in;
        int r;

        p.userdata = q;
        r = j->host->request(j->host->userdata, &p, &q->handle);
        if (r < 0) {
                req_free(q);
                return r;
        }
        return 0;
}

static void feed(FwJob *j, const FwEvent *ev);

/* --------------------------------------------------------------- SEND */

static void on_send_done(void *userdata, int error, uint8_t replier, const uint8_t *reply, size_t len) {
        FwReq *q = userdata;
        int side = q->side;
        FwJob *j = req_finish(userdata, NULL);

        if (!j || error < 0 || !reply)
                /* a timeout is the engine's business: its own timer fires */
                return;
        /* SET_APPCONF moved the controller to another id: the model follows
         * it by UUID at once, never showing it offline at the old id */
        if (reply[0] == COMM_SET_APPCONF && side >= 0 && (size_t) side < j->params.n_sides &&
            replier != j->sides[side].last_can_id)
                j->host->moved(j->host->userdata, j->sides[side].uuid_bytes, replier);
        feed(j, &(FwEvent) { .type = FW_EVENT_REPLY, .can_id = replier, .data = reply, .len = len });
}

static void send_fire_and_forget(FwJob *j, uint8_t can_id, const uint8_t *payload, size_t len) {
        FwReq *q = req_new(j, -1, REQ_OTHER);
        int r;

        if (!q)
                return;
        r = req_send(j, q,
                     &(RequestParams) {
                             .dest = can_id,
                             .reply = REQUEST_REPLY_NONE,
                             .payload = payload,
                             .len = len,
                             .done = on_send_done,
                     });
        if (r < 0)
                log_warning_errno(r, "job %u: cannot send command %u to id %u: %m, ignoring", j->id, payload[0], can_id);
}

/* COMM_APP_DISABLE_OUTPUT: -1 ms disables until re-enabled (or reset), 0
 * re-enables.  Not forwarded on CAN: each side gets its own. */
static void set_output(FwJob *j, size_t i, uint8_t can_id, bool enable) {
        uint8_t p[6] = { COMM_APP_DISABLE_OUTPUT, 0 };
        int32_t ms = enable ? 0 : -1;

        p[2] = (uint8_t) ((uint32_t) ms >> 24);
        p[3] = (uint8_t) ((uint32_t) ms >> 16);
        p[4] = (uint8_t) ((uint32_t) ms >> 8);
        p[5] = (uint8_t) (uint32_t) ms;
        send_fire_and_forget(j, can_id, p, sizeof p);
        j->sides[i].output_disabled = !enable;
        if (!enable)
                log_info("job %u: controller %s (id %u): output disabled for the update", j->id, j->sides[i].uuid, can_id);
}

/* The job ended: its requests still waiting for a reply (a lost write's
 * last attempt, say) are cancelled, so nothing of it stays queued ahead
 * of vescd's own check of each controller once the holds go (the core's
 * "held silence" rules, daemon/core/daemon.c).  Fire-and-forget ones stay:
 * they go out at once (the output re-enable among them). */
static void cancel_replies(FwJob *j) {
        for (FwReq **p = &j->reqs; *p;) {
                FwReq *q = *p;

                if (q->kind == REQ_OTHER) {
                        p = &q->next;
                        continue;
                }
                *p = q->next;
                if (q->side >= 0 && j->sides[q->side].send == q)
                        j->sides[q->side].send = NULL;
                q->job = NULL;
                q->next = NULL;
                /* the completion (with -ECANCELED) frees q */
                if (j->host->cancel(j->host->userdata, q->handle) < 0)
                        free(q);
        }
}

/* Give the job's controllers back (idempotent). */
static void release_holds(FwJob *j) {
        for (size_t i = 0; i < FW_SIDES_MAX; i++)
                j->sides[i].hold = hold_release(j->sides[i].hold);
}

static void do_send(FwJob *j, const FwAction *a) {
        FwJobSide *s = a->side >= 0 ? &j->sides[a->side] : NULL;
        RequestReply kind;
        uint64_t timeout;
        FwReq *q;
        int r;

        if (a->len == 0)
                return;
        if (s) {
                /* the engine re-sends after its own timeout: drop the old attempt
                 * so it does not hold the destination's queue */
                if (s->send) {
                        FwReq *old = s->send;
                        s->send = NULL;
                        (void) j->host->cancel(j->host->userdata, old->handle);
                }
                if (!s->output_disabled &&
                    (a->data[0] == COMM_ERASE_NEW_APP || a->data[0] == COMM_ERASE_BOOTLOADER)) {
                        set_output(j, (size_t) a->side, a->can_id, false);
                }
                s->last_can_id = a->can_id;
        }

        if (a->mode == FW_SEND_MODE_NOREPLY || a->expect_cmd < 0)
                kind = REQUEST_REPLY_NONE;
        else
                kind = a->long_reply ? REQUEST_REPLY_LONG : REQUEST_REPLY_SHORT;
        /* twice the engine's timeout: the engine's timer decides, this only
         * bounds how long a lost request blocks the queue */
        timeout = 2 * (a->timeout_usec ? a->timeout_usec : FW_CONF_TIMEOUT_USEC);

        q = req_new(j, a->side, REQ_SEND);
        if (!q)
                return;
        r = req_send(j, q,
                     &(RequestParams) {
                             .dest = a->can_id,
                             .reply = kind,
                             .payload = a->data,
                             .len = a->len,
                             .reply_cmd = a->expect_cmd,
                             .timeout_usec = timeout,
                             .retries = 0,
                             .has_alt_replier = a->alt_can_id >= 0,
                             .alt_replier = (uint8_t) (a->alt_can_id >= 0 ? a->alt_can_id : 0),
                             .done = on_send_done,
                     });
        if (r < 0) {
                log_warning_errno(r, "job %u: cannot queue command %u to id %u: %m (the engine will retry)", j->id,
                                  a->data[0], a->can_id);
                return;
        }
        if (s && kind != REQUEST_REPLY_NONE)
                s->send = q;
}

/* ----------------------------------------------------------- IDENTIFY */

static void identify_next(FwJob *j, size_t i);

static void on_identify_done(void *userdata, int error, uint8_t replier, const uint8_t *reply, size_t len) {
        VescFwVersion v;
        size_t i;
        FwJob *j = req_finish(userdata, &i);

        if (!j)
                return;
        if (error == -ECANCELED) {
                j->sides[i].identify_busy = false;
                return;
        }
        if (error == 0 && vesc_fw_version_decode(reply, len, &v) >= 0) {
                /* tell the model too: it finds the controller under its new id */
                j->host->identified(j->host->userdata, replier, reply, len);
                if (memcmp(v.uuid, j->sides[i].uuid_bytes, VESC_UUID_LEN) == 0) {
                        FwIdentity id;

                        j->sides[i].identify_busy = false;
                        fw_identity_from_version(&id, &v, replier);
                        feed(j, &(FwEvent) { .type = FW_EVENT_CONTROLLER_SEEN, .identity = &id });
                        return;
                }
        }
        j->sides[i].candidate++;
        identify_next(j, i);
}

static void identify_next(FwJob *j, size_t i) {
        static const uint8_t payload[] = { COMM_FW_VERSION };
        FwJobSide *s = &j->sides[i];

        while (s->candidate < s->n_candidates) {
                FwReq *q = req_new(j, (int) i, REQ_IDENTIFY);
                if (!q)
                        break;
                if (req_send(j, q,
                             &(RequestParams) {
                                     .dest = s->candidates[s->candidate],
                                     .reply = REQUEST_REPLY_LONG,
                                     .payload = payload,
                                     .len = sizeof payload,
                                     .reply_cmd = -1,
                                     .timeout_usec = IDENTIFY_TIMEOUT_USEC,
                                     .done = on_identify_done,
                             }) >= 0)
                        return;
                s->candidate++;
        }

        /* not found at any id we know: look at the whole bus; the scan
         * identifies it in the model, whose id for the UUID is a candidate
         * of the engine's next IDENTIFY */
        s->identify_busy = false;
        uint64_t now = host_now(j);
        if (now >= j->last_scan_usec + j->host->scaled(j->host->userdata, IDENTIFY_SCAN_INTERVAL_USEC)) {
                int r = j->host->scan(j->host->userdata);
                if (r >= 0) {
                        j->last_scan_usec = now;
                        log_info("job %u: controller %s not found at its known ids, scanning the bus", j->id, s->uuid);
                }
        }
}

static void add_candidate(FwJobSide *s, uint8_t id) {
        if (id > 254)
                return;
        for (size_t k = 0; k < s->n_candidates; k++)
                if (s->candidates[k] == id)
                        return;
        if (s->n_candidates < IDENTIFY_CANDIDATES)
                s->candidates[s->n_candidates++] = id;
}

static void do_identify(FwJob *j, const FwAction *a) {
        FwJobSide *s;
        size_t i;
        int id;

        if (a->side < 0 || (size_t) a->side >= j->params.n_sides)
                return;
        i = (size_t) a->side;
        s = &j->sides[i];
        /* one round at a time; the engine asks again on its own schedule */
        if (s->identify_busy)
                return;
        s->n_candidates = 0;
        s->candidate = 0;
        add_candidate(s, a->can_id);
        id = j->host->lookup(j->host->userdata, s->uuid_bytes);
        if (id >= 0 && id <= 254)
                add_candidate(s, (uint8_t) id);
        /* after an install the id may become the new version's default */
        add_candidate(s, vesc_default_id_from_uuid(s->uuid_bytes, j->images.img[i].major, j->images.img[i].minor));
        add_candidate(s, j->params.controllers[i].can_id);
        s->identify_busy = true;
        identify_next(j, i);
}

/* ---------------------------------------------------------- TELEMETRY */

static void on_values_done(void *userdata, int error, uint8_t replier, const uint8_t *reply, size_t len) {
        VescValues v;
        size_t i;
        FwJob *j = req_finish(userdata, &i);

        if (!j)
                return;
        j->sides[i].telemetry_busy = false;
        if (error < 0 || vesc_values_decode(reply, len, &v) < 0)
                return;
        feed(j, &(FwEvent) {
                        .type = FW_EVENT_TELEMETRY,
                        .can_id = replier,
                        .telemetry = { .erpm = v.erpm, .current_motor = v.current_motor, .current_in = v.current_in,
                                       .v_in = v.v_in, .fault = v.fault },
                });
}

static void do_telemetry(FwJob *j, const FwAction *a) {
        static const uint8_t payload[] = { COMM_GET_VALUES };
        FwReq *q;

        if (a->side < 0 || (size_t) a->side >= j->params.n_sides || j->sides[a->side].telemetry_busy)
                return;
        q = req_new(j, a->side, REQ_TELEMETRY);
        if (!q)
                return;
        if (req_send(j, q,
                     &(RequestParams) {
                             .dest = a->can_id,
                             .reply = REQUEST_REPLY_LONG,
                             .payload = payload,
                             .len = sizeof payload,
                             .reply_cmd = -1,
                             .done = on_values_done,
                     }) >= 0)
                j->sides[a->side].telemetry_busy = true;
}

/* -------------------------------------------------------------- timers */

static void timer_arm(FwTimer *t, uint64_t at_usec) {
        t->at_usec = at_usec;
        t->job->host->timer_arm(t->job->host->userdata, t->t, at_usec);
}

static void on_timer(void *userdata) {
        FwTimer *t = userdata;

        /* a host timer may fire a little before the engine's deadline on
         * now() (libevent measures from its cached loop time); the engine
         * ignores such early ticks, so wait for the rest */
        if (host_now(t->job) < t->at_usec) {
                timer_arm(t, t->at_usec);
                return;
        }
        feed(t->job, &(FwEvent) { .type = FW_EVENT_TIMEOUT, .timer = t->id });
}

static void do_arm(FwJob *j, const FwAction *a) {
        if (a->timer < N_TIMERS)
                timer_arm(&j->timers[a->timer], a->at_usec);
}

/* --------------------------------------------------------- persistence */

static void persist(FwJob *j) {
        FwJobFile f = {
                .id = j->id,
                .n = j->params.n_sides,
                .opts = j->opts,
                .started_realtime_usec = j->started_realtime_usec,
        };
        int r;

        snprintf(f.kind, sizeof f.kind, "%s", j->kind);
        snprintf(f.set_id, sizeof f.set_id, "%s", j->set_id);
        for (size_t i = 0; i < f.n; i++)
                f.controllers[i] = j->params.controllers[i];
        fw_update_job_snapshot(j->engine, &f.engine);
        r = update_store_job_write(j->state_dir, &f);
        if (r < 0)
                log_warning_errno(r, "job %u: cannot write its job file: %m, a restart would not resume it", j->id);
}

static void history_append(FwJob *j) {
        char started[32], ended[32];
        json_t *e;
        int r;

        format_realtime(j->started_realtime_usec, started);
        format_realtime(now_realtime(), ended);
        /* the end reached, announced or not yet (publish()): the history
         * and the removal of the job file do not wait for the board view,
         * a restart must not resume an ended job */
        FwJobState published = j->state;
        j->state = j->settling ? j->end_state : j->state;
        e = fw_job_to_json(j);
        j->state = published;
        if (e) {
                json_object_set_new(e, "started", json_string(started));
                json_object_set_new(e, "ended", json_string(ended));
        }
        r = update_store_history_append(j->state_dir, e);
        if (r < 0)
                log_warning_errno(r, "job %u: cannot write the history: %m", j->id);
}

/* ------------------------------------------------------------ actions */

/* The job reached its end: announced by publish() once the board view is
 * final (settle()). */
static void end_reached(FwJob *j, FwJobState state) {
        j->end_state = state;
        j->settling = true;
        j->settle_deadline_usec = host_now(j) + FW_JOB_SETTLE_MAX_USEC;
}

static void job_ended(FwJob *j, const FwAction *a) {
        FwReport rep;
        int r;

        end_reached(j, fw_update_job_state(j->engine));
        /* the published (and recorded) progress is the final one: 100 for done */
        if (j->end_state == FW_JOB_DONE) {
                j->progress.percent = 100;
                j->progress.bytes_done = j->progress.bytes_total;
        }
        j->progress.eta_usec = 0;
        snprintf(j->error_code, sizeof j->error_code, "%s",
                 a->error == FW_ERROR_NONE ? "" : strempty(fw_error_to_string(a->error)));
        free(j->error_text);
        j->error_text = strdup(a->text);
        json_decref(j->report);
        fw_update_job_report(j->engine, &rep);
        j->report = update_store_report_json(&rep);

        cancel_replies(j);
        for (size_t i = 0; i < j->params.n_sides; i++) {
                const FwIdentity *id = fw_update_job_side_identity(j->engine, i);
                /* the reset after an install re-enables the output by itself;
                 * a side that did not reboot needs it back explicitly */
                if (j->sides[i].output_disabled)
                        set_output(j, i, id ? id->can_id : j->sides[i].last_can_id, true);
        }
        release_holds(j);
        for (unsigned t = 0; t < N_TIMERS; t++)
                j->host->timer_disarm(j->host->userdata, j->timers[t].t);

        if (a->type == FW_ACTION_DONE)
                log_info("job %u: %s", j->id, a->text);
        else
                log_error("job %u: %s: %s", j->id, j->error_code, a->text);
        history_append(j);
        r = update_store_job_remove(j->state_dir, j->id);
        if (r < 0)
                log_warning_errno(r, "job %u: cannot remove its job file: %m", j->id);
        job_changed(j, FW_JOB_CHANGED_STATE | FW_JOB_CHANGED_PHASE | FW_JOB_CHANGED_PROGRESS);
}

static void execute(FwJob *j, const FwAction *a) {
        log_debug("job %u: action %d side %d id %u cmd %d timer %u", j->id, a->type, a->side, a->can_id,
                  a->type == FW_ACTION_SEND ? a->data[0] : -1, a->timer);
        switch (a->type) {
        case FW_ACTION_SEND:
                do_send(j, a);
                break;
        case FW_ACTION_IDENTIFY:
                do_identify(j, a);
                break;
        case FW_ACTION_REQUEST_TELEMETRY:
                do_telemetry(j, a);
                break;
        case FW_ACTION_ARM_TIMER:
                do_arm(j, a);
                break;
        case FW_ACTION_CANCEL_TIMER:
                if (a->timer < N_TIMERS)
                        j->host->timer_disarm(j->host->userdata, j->timers[a->timer].t);
                break;
        case FW_ACTION_PROGRESS: {
                uint64_t mask = FW_JOB_CHANGED_PROGRESS;
                if (a->progress.phase != j->progress.phase ||
                    a->progress.do_not_power_off != j->progress.do_not_power_off)
                        mask |= FW_JOB_CHANGED_PHASE;
                /* never publish a smaller percentage, whatever happens */
                unsigned pct = MAX(a->progress.percent, j->progress.percent);
                j->progress = a->progress;
                j->progress.percent = pct;
                j->phase = a->progress.phase;
                job_changed(j, mask);
                break;
        }
        case FW_ACTION_PERSIST:
                /* an ended job's file is gone: it is in the history now */
                if (fw_job_updating(j))
                        persist(j);
                /* every transition: the phase map changed */
                j->phase = fw_update_job_phase(j->engine);
                job_changed(j, FW_JOB_CHANGED_PHASE);
                break;
        case FW_ACTION_LOG:
                log_full_errno(a->level, 0, "job %u: %s", j->id, a->text);
                break;
        case FW_ACTION_DONE:
        case FW_ACTION_FAILED:
                job_ended(j, a);
                break;
        default:
                break;
        }
}

/* The ids other devices use, for restoring old CAN ids: refreshed when
 * the job starts and whenever one of its controllers is seen again. */
static void refresh_foreign_ids(FwJob *j) {
        uint8_t uuids[FW_SIDES_MAX][VESC_UUID_LEN], bits[32] = {};

        if (!j->engine || !j->host->foreign_ids)
                return;
        for (size_t i = 0; i < j->params.n_sides; i++)
                memcpy(uuids[i], j->sides[i].uuid_bytes, VESC_UUID_LEN);
        j->host->foreign_ids(j->host->userdata, (const uint8_t(*)[VESC_UUID_LEN]) uuids, j->params.n_sides, bits);
        fw_update_job_set_foreign_ids(j->engine, bits);
}

static void feed(FwJob *j, const FwEvent *ev) {
        FwActions actions = {};
        int r;

        if (!j->engine)
                return;
        if (ev->type == FW_EVENT_START || ev->type == FW_EVENT_CONTROLLER_SEEN)
                refresh_foreign_ids(j);
        log_debug("job %u: event %d id %u timer %u", j->id, ev->type, ev->can_id, ev->timer);
        r = fw_update_handle(j->engine, ev, host_now(j), &actions);
        if (r < 0 && r != -EBUSY)
                log_debug_errno(r, "job %u: event %d refused: %m", j->id, ev->type);
        /* actions may feed further events (never synchronously from the
         * request engine), so run them from a private list */
        for (size_t i = 0; i < actions.n; i++)
                execute(j, &actions.v[i]);
        fw_actions_done(&actions);
}

/* ------------------------------------------------------------ holds */

static void describe_side(void *userdata, char *buf, size_t size) {
        FwJobSide *s = userdata;
        FwJob *j = s->job;

        snprintf(buf, size, "is being updated by job %u (%s)", j->id,
                 strempty(fw_phase_to_string(fw_job_side_phase(j, (size_t) (s - j->sides)))));
}

static void on_hold_ready(void *userdata, Hold *h) {
        FwJobSide *s = userdata;

        /* called from inside another holder's release: start from the loop */
        if (s->job->waiting)
                s->job->host->timer_arm(s->job->host->userdata, s->job->hold_timer, host_now(s->job));
}

static int take_holds(FwJob *j, bool wait, char **ret_error) {
        for (size_t i = 0; i < j->params.n_sides; i++) {
                HoldOwner owner = { .describe = describe_side, .ready = on_hold_ready, .userdata = &j->sides[i] };
                int r;

                if (j->sides[i].hold)
                        continue;
                r = hold_acquire(j->host->holds(j->host->userdata), j->sides[i].uuid_bytes, HOLD_EXCLUSIVE, wait, &owner,
                                 &j->sides[i].hold, ret_error);
                if (r < 0) {
                        release_holds(j);
                        return r;
                }
        }
        return 0;
}

static bool holds_ready(const FwJob *j) {
        for (size_t i = 0; i < j->params.n_sides; i++)
                if (!j->sides[i].hold || !hold_ready(j->sides[i].hold))
                        return false;
        return true;
}

/* The job ends before its engine ever started: refused (Busy) while it
 * waited for its holds, or cancelled then.  Nothing was sent. */
static void end_unstarted(FwJob *j, FwJobState state, const char *code, const char *text) {
        j->host->timer_disarm(j->host->userdata, j->hold_timer);
        j->waiting = false;
        j->ended_unstarted = true;
        release_holds(j);
        end_reached(j, state);
        j->phase = state == FW_JOB_CANCELLED ? FW_PHASE_CANCELLED : FW_PHASE_FAILED;
        snprintf(j->error_code, sizeof j->error_code, "%s", code);
        free(j->error_text);
        j->error_text = strdup(text);
        FwReport rep;
        fw_update_job_report(j->engine, &rep);
        json_decref(j->report);
        j->report = update_store_report_json(&rep);
        if (code[0])
                log_error("job %u: %s: %s", j->id, code, text);
        else
                log_info("job %u: %s", j->id, text);
        history_append(j);
        job_changed(j, FW_JOB_CHANGED_STATE | FW_JOB_CHANGED_PHASE | FW_JOB_CHANGED_PROGRESS);
}

static void on_hold_event(void *userdata) {
        FwJob *j = userdata;
        _cleanup_free_ char *blocker = NULL, *text = NULL;
        uint64_t now;

        if (!j->waiting)
                return;
        if (holds_ready(j)) {
                j->host->timer_disarm(j->host->userdata, j->hold_timer);
                j->waiting = false;
                feed(j, &(FwEvent) { .type = FW_EVENT_START });
                return;
        }
        now = host_now(j);
        if (now < j->hold_deadline_usec) {
                /* woken by one side's hold: wait for what is left */
                j->host->timer_arm(j->host->userdata, j->hold_timer, j->hold_deadline_usec);
                return;
        }
        for (size_t i = 0; i < j->params.n_sides && !blocker; i++)
                if (j->sides[i].hold && !hold_ready(j->sides[i].hold))
                        blocker = hold_blocker_text(j->sides[i].hold);
        if (!blocker || asprintf(&text, "%s; the update did not start", blocker) < 0)
                text = NULL;
        end_unstarted(j, FW_JOB_FAILED, "Busy", text ? text : "its controller is held by another operation");
}

/* ------------------------------------------------------- publication */

/* The end is announced only once the board view is final: a client told
 * "done" (or failed, cancelled) reads the board's final state then, and
 * that state is announced before the end, never after it as a step out of
 * "updating" (the job no longer counts as updating from end_reached()).
 * The view waits for the check of a controller the job let go silent
 * (daemon.c, "held silence"): then fw_job_board_settled() calls again,
 * FW_JOB_SETTLE_MAX_USEC at most.  Returns: true when announced now. */
static bool settle(FwJob *j) {
        uint64_t now = host_now(j);

        if (j->host->board_settled && !j->host->board_settled(j->host->userdata)) {
                if (now < j->settle_deadline_usec) {
                        if (!j->settle_logged)
                                log_info("job %u: its end is announced once the board view is final "
                                         "(a controller it let go is being checked)", j->id);
                        j->settle_logged = true;
                        j->publish_armed = true;
                        j->host->timer_arm(j->host->userdata, j->publish_timer, j->settle_deadline_usec);
                        return false;
                }
                log_warning("job %u: the board view still waits for a check, announcing the job's end anyway", j->id);
        }
        j->settling = false;
        j->state = j->end_state;
        j->pending_mask |= FW_JOB_CHANGED_STATE | FW_JOB_CHANGED_PHASE | FW_JOB_CHANGED_PROGRESS;
        return true;
}

static void publish(FwJob *j) {
        uint64_t m;

        j->publish_armed = false;
        if (j->settling && !settle(j))
                return;
        m = j->pending_mask;
        j->pending_mask = 0;
        if (m & FW_JOB_CHANGED_PROGRESS)
                j->last_progress_usec = host_now(j);
        if (m && j->cb && j->cb->changed)
                j->cb->changed(j->userdata, j, m);
        if ((m & FW_JOB_CHANGED_STATE) && !fw_job_running(j) && j->cb && j->cb->ended)
                j->cb->ended(j->userdata, j);
}

static void on_publish(void *userdata) {
        publish(userdata);
}

static void job_changed(FwJob *j, uint64_t mask) {
        uint64_t now = host_now(j), due;

        j->pending_mask |= mask;
        if (j->publish_armed && !(mask & (FW_JOB_CHANGED_STATE | FW_JOB_CHANGED_PHASE)))
                return;
        /* state and phase go out at the end of this iteration, progress at
         * most every FW_JOB_PROGRESS_INTERVAL_USEC */
        due = (j->pending_mask & (FW_JOB_CHANGED_STATE | FW_JOB_CHANGED_PHASE)) ?
                      now :
                      j->last_progress_usec + FW_JOB_PROGRESS_INTERVAL_USEC;
        j->publish_armed = true;
        j->host->timer_arm(j->host->userdata, j->publish_timer, MAX(due, now));
}

/* ------------------------------------------------------------ lifecycle */

/**
 * fw_job_new() - create a job driver
 * @d: the daemon
 * @id: the job number (the n of /org/vescd1/job/<n>)
 * @kind: "update", "pair" or "repair"
 * @set_id: the installed set's id
 * @images: the images (taken over, also on failure)
 * @params: controllers, gates, time scale (images ignored)
 * @opts: options
 * @state_dir: where jobs and history are persisted
 * @cb: publication callbacks (borrowed)
 * @userdata: for @cb
 * @ret: receives the job
 *
 * Returns: 0 or -errno (-EINVAL from the engine for bad parameters).
 */
int fw_job_new(const UpdateHost *host, unsigned id, const char *kind, const char *set_id, FwJobImages *images,
               const FwUpdateParams *params, const FwJobOptions *opts, const char *state_dir,
               const FwJobCallbacks *cb, void *userdata, FwJob **ret) {
        _cleanup_(fw_job_freep) FwJob *j = NULL;
        int r;

        j = calloc(1, sizeof *j);
        if (!j) {
                fw_job_images_done(images);
                return -ENOMEM;
        }
        j->host = host;
        j->id = id;
        snprintf(j->kind, sizeof j->kind, "%s", kind);
        snprintf(j->set_id, sizeof j->set_id, "%s", set_id);
        j->images = *images;
        *images = (FwJobImages) {};
        j->params = *params;
        j->params.busy_reason = NULL;
        j->params.inhibit_reason = NULL;
        j->opts = opts ? *opts : (FwJobOptions) {};
        j->params.override_gates = j->opts.override_gates;
        j->params.skip_can_id_restore = j->opts.skip_can_id_restore;
        j->params.skip_config_migration = j->opts.skip_config_migration;
        j->cb = cb;
        j->userdata = userdata;
        j->state = FW_JOB_RUNNING;
        j->phase = FW_PHASE_CHECKING;
        j->progress.eta_usec = UINT64_MAX;
        j->started_realtime_usec = now_realtime();
        j->state_dir = strdup(state_dir);
        if (!j->state_dir)
                return -ENOMEM;
        if (j->images.n != params->n_sides)
                return -EINVAL;
        for (size_t i = 0; i < params->n_sides; i++) {
                j->params.images[i] = &j->images.img[i];
                j->sides[i].job = j;
                fw_uuid_format(params->controllers[i].uuid, j->sides[i].uuid);
                memcpy(j->sides[i].uuid_bytes, params->controllers[i].uuid, VESC_UUID_LEN);
                j->sides[i].last_can_id = params->controllers[i].can_id;
        }
        for (unsigned t = 0; t < N_TIMERS; t++) {
                j->timers[t] = (FwTimer) { .job = j, .id = t };
                j->timers[t].t = host->timer_new(host->userdata, on_timer, &j->timers[t]);
                if (!j->timers[t].t)
                        return -ENOMEM;
        }
        j->publish_timer = host->timer_new(host->userdata, on_publish, j);
        j->hold_timer = host->timer_new(host->userdata, on_hold_event, j);
        if (!j->publish_timer || !j->hold_timer)
                return -ENOMEM;

        /* busy_reason/inhibit_reason are copied by the engine */
        FwUpdateParams p = j->params;
        p.busy_reason = params->busy_reason;
        p.inhibit_reason = params->inhibit_reason;
        r = fw_update_job_new(&p, &j->engine);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(j);
        return 0;
}

/**
 * fw_job_free() - free a job
 * @j: the job or NULL
 *
 * Outstanding requests are cancelled; a running job is simply dropped
 * (its file stays, so a restarted daemon resumes it).
 *
 * Returns: NULL.
 */
FwJob *fw_job_free(FwJob *j) {
        if (!j)
                return NULL;
        while (j->reqs) {
                FwReq *q = j->reqs;
                j->reqs = q->next;
                q->job = NULL;
                q->next = NULL;
                /* the completion (with -ECANCELED) frees q */
                if (j->host->cancel(j->host->userdata, q->handle) < 0)
                        free(q);
        }
        release_holds(j);
        if (j->hold_timer)
                j->host->timer_free(j->host->userdata, j->hold_timer);
        for (unsigned t = 0; t < N_TIMERS; t++)
                if (j->timers[t].t)
                        j->host->timer_free(j->host->userdata, j->timers[t].t);
        if (j->publish_timer)
                j->host->timer_free(j->host->userdata, j->publish_timer);
        fw_update_job_free(j->engine);
        fw_job_images_done(&j->images);
        json_decref(j->report);
        free(j->error_text);
        free(j->state_dir);
        free(j);
        return NULL;
}

/**
 * fw_job_start() - start a new job
 * @j: the job
 *
 * Returns: 0 or -errno.
 */
int fw_job_start(FwJob *j) {
        _cleanup_free_ char *err = NULL;
        int r;

        log_info("job %u: %s with image set %s over %zu controller(s) started", j->id, j->kind, j->set_id,
                 j->params.n_sides);
        /* the job holds its controllers from checking to its end; reads
         * still running get up to HOLD_WAIT_USEC to finish */
        r = take_holds(j, /* wait= */ true, &err);
        if (r < 0) {
                end_unstarted(j, FW_JOB_FAILED, r == -EBUSY ? "Busy" : "Failed", err ? err : strerror(-r));
                return 0;
        }
        if (!holds_ready(j)) {
                j->waiting = true;
                j->hold_deadline_usec = host_now(j) + HOLD_WAIT_USEC;
                log_info("job %u: waiting for reads on its controllers to finish", j->id);
                j->host->timer_arm(j->host->userdata, j->hold_timer, j->hold_deadline_usec);
                return 0;
        }
        feed(j, &(FwEvent) { .type = FW_EVENT_START });
        return 0;
}

/**
 * fw_job_resume() - continue a persisted job
 * @j: a job created with the file's controllers, set and options
 * @engine: the engine snapshot from the file (borrowed)
 * @started_realtime_usec: when the job started (0: unknown)
 *
 * Returns: 0, -ESTALE (snapshot of other controllers or image), -errno.
 */
int fw_job_resume(FwJob *j, const FwSnapshot *engine, uint64_t started_realtime_usec) {
        FwActions actions = {};
        int r;

        if (started_realtime_usec)
                j->started_realtime_usec = started_realtime_usec;
        r = take_holds(j, /* wait= */ false, NULL);
        if (r < 0)
                return r;
        refresh_foreign_ids(j);
        r = fw_update_handle(j->engine,
                             &(FwEvent) { .type = FW_EVENT_RESUME, .snapshot = engine, .abandon = j->opts.abandon_on_resume },
                             host_now(j), &actions);
        if (r < 0) {
                fw_actions_done(&actions);
                release_holds(j);
                return r;
        }
        log_info("job %u: %s with image set %s resumed after a restart", j->id, j->kind, j->set_id);
        for (size_t i = 0; i < actions.n; i++)
                execute(j, &actions.v[i]);
        fw_actions_done(&actions);
        return 0;
}

/**
 * fw_job_cancel() - cancel on request
 * @j: the job
 *
 * Returns: 0, -EBUSY (committing … confirming), -EALREADY (ended).
 */
int fw_job_cancel(FwJob *j) {
        if (!fw_job_updating(j))
                return -EALREADY;
        if (j->waiting) {
                end_unstarted(j, FW_JOB_CANCELLED, "Cancelled", "cancelled by request");
                return 0;
        }
        if (!fw_update_job_can_cancel(j->engine))
                return -EBUSY;
        feed(j, &(FwEvent) { .type = FW_EVENT_CANCEL });
        return 0;
}

/**
 * fw_job_on_boot() - a NOTIFY_BOOT was heard
 * @j: the job
 * @can_id: the id it came from
 * @hw_name: the (truncated) hw name it carried
 */
void fw_job_on_boot(FwJob *j, uint8_t can_id, const char *hw_name) {
        if (fw_job_updating(j))
                feed(j, &(FwEvent) { .type = FW_EVENT_BOOT, .can_id = can_id, .hw_name = hw_name });
}

/* -------------------------------------------------------------- getters */

unsigned fw_job_id(const FwJob *j) {
        return j->id;
}

/**
 * fw_job_kind() - what started the job
 *
 * Returns: "update", "pair" or "repair".
 */
const char *fw_job_kind(const FwJob *j) {
        return j->kind;
}

/**
 * fw_job_set_id() - the image set the job installs
 *
 * Returns: its id (16 hex digits).
 */
const char *fw_job_set_id(const FwJob *j) {
        return j->set_id;
}

/**
 * fw_job_state() - running, done, failed or cancelled
 *
 * Returns: the state as last published.
 */
FwJobState fw_job_state(const FwJob *j) {
        return j->state;
}

/**
 * fw_job_running() - has the job not announced its end yet
 *
 * Returns: true while running (fw_job_updating() says when it let its
 * controllers go).
 */
bool fw_job_running(const FwJob *j) {
        return j->state == FW_JOB_RUNNING;
}

/**
 * fw_job_updating() - does the job still work on its controllers
 *
 * False from the moment it reached its end and let them go, also while
 * that end still waits for the board view to be announced (it is then
 * still running for fw_job_running() and fw_job_state()): the board is no
 * longer "updating" because of it.
 *
 * Returns: true while running and not yet ended.
 */
bool fw_job_updating(const FwJob *j) {
        return j->state == FW_JOB_RUNNING && !j->settling;
}

/**
 * fw_job_board_settled() - the board view is final again
 * @j: the job
 *
 * The host's board_settled() said false for this job's end: it is
 * announced now (from the loop, not from inside this call).
 */
void fw_job_board_settled(FwJob *j) {
        if (!j->settling)
                return;
        j->publish_armed = true;
        j->host->timer_arm(j->host->userdata, j->publish_timer, host_now(j));
}

/**
 * fw_job_phase() - the least advanced side's phase
 *
 * Returns: the phase.
 */
FwPhase fw_job_phase(const FwJob *j) {
        return j->engine && !j->ended_unstarted ? fw_update_job_phase(j->engine) : j->phase;
}

/**
 * fw_job_n_sides() - how many controllers the job updates
 *
 * Returns: 1 or 2.
 */
size_t fw_job_n_sides(const FwJob *j) {
        return j->params.n_sides;
}

/**
 * fw_job_side_uuid() - a side's controller
 *
 * Returns: 24 hex digits, "" out of range.
 */
const char *fw_job_side_uuid(const FwJob *j, size_t i) {
        return i < j->params.n_sides ? j->sides[i].uuid : "";
}

/**
 * fw_job_side_phase() - a side's phase
 *
 * Returns: the phase.
 */
FwPhase fw_job_side_phase(const FwJob *j, size_t i) {
        if (j->ended_unstarted)
                return j->phase;
        return fw_update_job_side_phase(j->engine, i);
}

/**
 * fw_job_uses() - does the job update this controller
 *
 * Returns: true if one of its sides has @uuid.
 */
bool fw_job_uses(const FwJob *j, const uint8_t uuid[static VESC_UUID_LEN]) {
        for (size_t i = 0; i < j->params.n_sides; i++)
                if (memcmp(j->sides[i].uuid_bytes, uuid, VESC_UUID_LEN) == 0)
                        return true;
        return false;
}

/**
 * fw_job_progress() - progress as published
 *
 * Returns: percent (never decreasing), phase, bytes, ETA, do-not-power-off.
 */
FwProgressInfo fw_job_progress(const FwJob *j) {
        FwProgressInfo p = j->progress;

        p.phase = fw_job_phase(j);
        if (!fw_job_running(j)) {
                p.eta_usec = 0;
                p.do_not_power_off = false;
        } else if (j->settling) {
                /* ended, its end not announced yet (settle()): 100 only when done */
                p.eta_usec = 0;
                p.do_not_power_off = false;
                p.percent = MIN(p.percent, 99u);
        }
        return p;
}

/**
 * fw_job_error_code() - the stable error code
 *
 * Returns: "" while running and when done.
 */
const char *fw_job_error_code(const FwJob *j) {
        if (fw_job_running(j))
                return "";
        return j->error_code;
}

/**
 * fw_job_error_text() - the error text
 *
 * Returns: "" while running and when done.
 */
const char *fw_job_error_text(const FwJob *j) {
        /* a done job has no error; its summary is in the report */
        return j->error_text && !fw_job_running(j) && j->error_code[0] ? j->error_text : "";
}

/**
 * fw_job_report() - the final report
 *
 * Returns: borrowed; NULL until the job's end is announced.
 */
json_t *fw_job_report(const FwJob *j) {
        return fw_job_running(j) ? NULL : j->report;
}

/**
 * fw_job_path() - the D-Bus object path
 */
void fw_job_path(const FwJob *j, char buf[static FW_JOB_PATH_MAX]) {
        snprintf(buf, FW_JOB_PATH_MAX, "/org/vescd1/job/%u", j->id);
}

/**
 * fw_job_to_json() - the job as both adapters show it
 * @j: the job
 *
 * Field names are the snake_case of the org.vescd1.Job properties.
 *
 * Returns: a new object, or NULL on ENOMEM.
 */
json_t *fw_job_to_json(const FwJob *j) {
        FwProgressInfo p = fw_job_progress(j);
        char path[FW_JOB_PATH_MAX];
        json_t *o, *phases, *ctls;

        fw_job_path(j, path);
        phases = json_object();
        ctls = json_array();
        if (!phases || !ctls) {
                json_decref(phases);
                json_decref(ctls);
                return NULL;
        }
        for (size_t i = 0; i < j->params.n_sides; i++) {
                json_object_set_new(phases, j->sides[i].uuid, json_string(strempty(fw_phase_to_string(fw_job_side_phase(j, i)))));
                json_array_append_new(ctls, json_string(j->sides[i].uuid));
        }
        o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:i, s:I, s:I, s:I, s:b, s:{s:s, s:s}, s:o, s:O?}", "id",
                      (json_int_t) j->id, "path", path, "kind", j->kind, "image_set", j->set_id, "state",
                      strempty(fw_job_state_to_string(j->state)), "phase", strempty(fw_phase_to_string(p.phase)),
                      "phases", phases, "progress", (int) p.percent, "bytes_done", (json_int_t) p.bytes_done,
                      "bytes_total", (json_int_t) p.bytes_total, "eta_seconds",
                      (json_int_t) (p.eta_usec == UINT64_MAX ? -1 : (json_int_t) (p.eta_usec / USEC_PER_SEC)),
                      "do_not_power_off", p.do_not_power_off, "error", "code", fw_job_error_code(j), "text",
                      fw_job_error_text(j), "controllers", ctls, "report", fw_job_report(j));
        return o;
}
