/* Firmware management: image sets, update jobs and their history; see
 * update-manager.h. */
#include <dirent.h>
#include <math.h>
#include <sys/stat.h>
#include <event2/event.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/daemon-private.h"
#include "core/board.h"
#include "core/hold.h"
#include "core/listeners.h"
#include "update/update-manager.h"
#include "update/update-plan.h"
#include "update/update-transfer.h"
#include "update/update-progress.h"
#include "update/update-store.h"
#include "core/errors.h"
#include "core/format.h"
#include "fwimage.h"
#include "imagestore.h"
#include "core/log.h"
#include "macro.h"

struct FwManager {
        Daemon *d;
        UpdateHost host;            /* the jobs' view of the daemon */
        ImageStore *store;
        ImageTrust trust;
        char *state_dir;
        FwJob **jobs;
        size_t n_jobs;
        unsigned next_id;
        bool resumed;
        bool listening;             /* on the core's listener list */
        ListenerList listeners;     /* of FwManagerListener */
        /* the installed sets as the planner sees them (refresh_sets()) */
        FwSetInfo *sets;
        FwSetEntry **set_entries;
        size_t n_sets;
        char *current_set;
        /* SetInhibit: persisted in <state>/firmware/inhibit.json */
        bool inhibited;
        char *inhibit_reason;
        /* PlanUpdate: start_job() describes the job here instead of starting it */
        bool planning;
        json_t *plan_sides;
};

static void refresh_sets(FwManager *m);

static const char *strna(const char *s) {
        return s ? s : "n/a";
}

#define EMIT(m, member, ...) LISTENER_LIST_EMIT(&(m)->listeners, FwManagerListener, member, ##__VA_ARGS__)

static void set_error(char **ret_error, const char *fmt, ...) _printf_(2, 3);
static void set_error(char **ret_error, const char *fmt, ...) {
        if (!ret_error)
                return;
        free(*ret_error);
        FORMAT_ARGS(*ret_error, fmt);
}

/* ------------------------------------------------------- the jobs' host */

/* The update driver's host interface (update-driver.h) over the daemon:
 * its request engine, model, scan, holds and libevent timers. */

struct UpdateTimer {
        struct event *ev;
        UpdateTimerFn fn;
        void *data;
};

static uint64_t host_now(void *userdata) {
        return daemon_now();
}

static uint64_t host_scaled(void *userdata, uint64_t usec) {
        FwManager *m = userdata;
        return daemon_scaled(m->d, usec);
}

static int host_request(void *userdata, const RequestParams *p, uint64_t *ret_handle) {
        FwManager *m = userdata;
        RequestEngine *e = daemon_requests(m->d);

        if (!e)
                return -ESHUTDOWN;
        return request_send(e, p, daemon_now(), ret_handle);
}

static int host_cancel(void *userdata, uint64_t handle) {
        FwManager *m = userdata;
        RequestEngine *e = daemon_requests(m->d);

        return e ? request_cancel(e, handle) : -ESHUTDOWN;
}

static void host_timer_fire(evutil_socket_t fd, short what, void *userdata) {
        UpdateTimer *t = userdata;
        t->fn(t->data);
}

static UpdateTimer *host_timer_new(void *userdata, UpdateTimerFn fn, void *data) {
        FwManager *m = userdata;
        UpdateTimer *t = calloc(1, sizeof *t);

        if (!t)
                return NULL;
        t->fn = fn;
        t->data = data;
        t->ev = evtimer_new(daemon_event_base(m->d), host_timer_fire, t);
        if (!t->ev) {
                free(t);
                return NULL;
        }
        return t;
}

static void host_timer_arm(void *userdata, UpdateTimer *t, uint64_t at_usec) {
        uint64_t now = daemon_now();
        uint64_t rel = at_usec > now ? at_usec - now : 0;
        struct timeval tv = { .tv_sec = (time_t) (rel / USEC_PER_SEC), .tv_usec = (suseconds_t) (rel % USEC_PER_SEC) };

        evtimer_add(t->ev, &tv);
}

static void host_timer_disarm(void *userdata, UpdateTimer *t) {
        evtimer_del(t->ev);
}

static void host_timer_free(void *userdata, UpdateTimer *t) {
        if (!t)
                return;
        event_free(t->ev);
        free(t);
}

static int host_lookup(void *userdata, const uint8_t uuid[VESC_UUID_LEN]) {
        FwManager *m = userdata;
        char hex[2 * VESC_UUID_LEN + 1];
        Controller *c;

        fw_uuid_format(uuid, hex);
        c = daemon_find_uuid(m->d, hex);
        return c ? c->id : -1;
}

static void host_identified(void *userdata, uint8_t can_id, const uint8_t *reply, size_t len) {
        FwManager *m = userdata;
        daemon_feed_fw_version(m->d, can_id, reply, len);
}

static int host_scan(void *userdata) {
        FwManager *m = userdata;

        if (!daemon_requests(m->d))
                return -ESHUTDOWN;
        if (daemon_scanning(m->d))
                return -EALREADY;
        return daemon_scan(m->d);
}

static HoldTable *host_holds(void *userdata) {
        FwManager *m = userdata;
        return daemon_holds(m->d);
}

static void host_moved(void *userdata, const uint8_t uuid[VESC_UUID_LEN], uint8_t can_id) {
        FwManager *m = userdata;
        daemon_controller_moved(m->d, uuid, can_id);
}

static void host_foreign_ids(void *userdata, const uint8_t (*uuids)[VESC_UUID_LEN], size_t n, uint8_t bits[32]) {
        FwManager *m = userdata;
        Controller *const *cs;
        size_t k = daemon_controllers(m->d, &cs);
        unsigned own = daemon_config(m->d)->can_id;

        if (own < 255)
                bits[own / 8] |= (uint8_t) (1u << (own % 8));
        for (size_t i = 0; i < k; i++) {
                bool mine = false;
                for (size_t s = 0; s < n && !mine; s++)
                        mine = cs[i]->has_identity && memcmp(cs[i]->uuid, uuids[s], VESC_UUID_LEN) == 0;
                if (!mine)
                        bits[cs[i]->id / 8] |= (uint8_t) (1u << (cs[i]->id % 8));
        }
}

/* A job's end waits for the board view (fw_job_board_settled()): brought
 * up to date now, without the job as "updating"; a controller's check
 * after the job let it go may still hold it back (daemon.c). */
static bool host_board_settled(void *userdata) {
        FwManager *m = userdata;

        daemon_board_update(m->d);
        return daemon_board_settled(m->d);
}

static void host_init(FwManager *m) {
        m->host = (UpdateHost) {
                .now = host_now,
                .scaled = host_scaled,
                .request = host_request,
                .cancel = host_cancel,
                .timer_new = host_timer_new,
                .timer_arm = host_timer_arm,
                .timer_disarm = host_timer_disarm,
                .timer_free = host_timer_free,
                .lookup = host_lookup,
                .identified = host_identified,
                .scan = host_scan,
                .holds = host_holds,
                .moved = host_moved,
                .foreign_ids = host_foreign_ids,
                .board_settled = host_board_settled,
                .userdata = m,
        };
}

/* ------------------------------------------------------------ listeners */

int fw_manager_add_listener(FwManager *m, const FwManagerListener *l, void *userdata) {
        return listener_list_add(&m->listeners, l, userdata);
}

/**
 * fw_manager_remove_listener() - stop following
 */
void fw_manager_remove_listener(FwManager *m, const FwManagerListener *l, void *userdata) {
        if (m)
                listener_list_remove(&m->listeners, l, userdata);
}

/* ---------------------------------------------------------------- jobs */

static void on_job_changed(void *userdata, FwJob *j, uint64_t mask) {
        FwManager *m = userdata;
        EMIT(m, job_changed, j, mask);
}

static void prune_jobs(FwManager *m) {
        size_t ended = 0;

        for (size_t i = 0; i < m->n_jobs; i++)
                if (!fw_job_running(m->jobs[i]))
                        ended++;
        /* oldest first: the array is in creation order */
        for (size_t i = 0; i < m->n_jobs && ended > FW_MANAGER_ENDED_KEEP;) {
                FwJob *j = m->jobs[i];
                if (fw_job_running(j)) {
                        i++;
                        continue;
                }
                EMIT(m, job_removed, j);
                memmove(m->jobs + i, m->jobs + i + 1, (m->n_jobs - i - 1) * sizeof *m->jobs);
                m->n_jobs--;
                ended--;
                fw_job_free(j);
        }
}

static void on_job_ended(void *userdata, FwJob *j) {
        FwManager *m = userdata;

        /* the board view changes with the new firmware: have a fresh look */
        daemon_model_changed(m->d);
        (void) j;
        prune_jobs(m);
        daemon_board_update(m->d);
}

static const FwJobCallbacks job_callbacks = {
        .changed = on_job_changed,
        .ended = on_job_ended,
};

static int jobs_append(FwManager *m, FwJob *j) {
        FwJob **a = realloc(m->jobs, (m->n_jobs + 1) * sizeof *a);

        if (!a)
                return -ENOMEM;
        m->jobs = a;
        m->jobs[m->n_jobs++] = j;
        return 0;
}

/**
 * fw_manager_jobs() - the jobs held (running and recently ended), oldest first
 *
 * Returns: their number; the array is owned by the manager.
 */
size_t fw_manager_jobs(FwManager *m, FwJob *const **ret) {
        *ret = m->jobs;
        return m->n_jobs;
}

/**
 * fw_manager_find_job() - a job by number
 *
 * Returns: the job or NULL.
 */
FwJob *fw_manager_find_job(FwManager *m, unsigned id) {
        for (size_t i = 0; i < m->n_jobs; i++)
                if (fw_job_id(m->jobs[i]) == id)
                        return m->jobs[i];
        return NULL;
}

/**
 * fw_manager_cancel_job() - cancel a job, or say why not
 * @m: the manager
 * @j: the job
 * @ret_error: on refusal, the one text both adapters send
 *
 * Returns: 0; -EBUSY while a controller is between its commit and its
 * confirmation; -EINVAL when the job has already ended.
 */
int fw_manager_cancel_job(FwManager *m, FwJob *j, char **ret_error) {
        int r = fw_job_cancel(j);

        if (r == -EBUSY)
                set_error(ret_error,
                          "job %u cannot be cancelled now: a controller is between its commit and its confirmation "
                          "(do not power off)", fw_job_id(j));
        else if (r == -EALREADY) {
                if (fw_job_running(j))
                        set_error(ret_error, "job %u has already ended (it is announced once the board view is final)",
                                  fw_job_id(j));
                else
                        set_error(ret_error, "job %u has already ended (%s)", fw_job_id(j),
                                  fw_job_state_to_string(fw_job_state(j)));
                r = -EINVAL;
        }
        return r;
}

/* A job that still works on @uuid (not one whose end waits for the board
 * view: the board is not "updating" because of that one). */
static FwJob *running_job_for(FwManager *m, const uint8_t uuid[static VESC_UUID_LEN]) {
        for (size_t i = 0; i < m->n_jobs; i++)
                if (fw_job_updating(m->jobs[i]) && fw_job_uses(m->jobs[i], uuid))
                        return m->jobs[i];
        return NULL;
}

static bool on_updating_query(void *userdata, const uint8_t uuid[static VESC_UUID_LEN]) {
        return running_job_for(userdata, uuid) != NULL;
}

static void identity_from_controller(FwIdentity *id, const Controller *c) {
        *id = (FwIdentity) {
                .can_id = c->id,
                .major = c->fw_major,
                .minor = c->fw_minor,
                .test_build = c->fw_test_build,
                .offline = !c->online,
        };
        memcpy(id->uuid, c->uuid, VESC_UUID_LEN);
        snprintf(id->hw_name, sizeof id->hw_name, "%s", c->hw_name);
        snprintf(id->fw_name, sizeof id->fw_name, "%s", c->fw_name);
}

static int plan_errno(FwError e) {
        switch (e) {
        case FW_ERROR_WRONG_HARDWARE:
        case FW_ERROR_INVALID_IMAGE:
        case FW_ERROR_IMAGE_TOO_LARGE:
        case FW_ERROR_NO_BOOTLOADER_IN_SET:
                return -ENOEXEC;
        case FW_ERROR_NEEDS_INTERMEDIATE:
                return -ENOPKG;
        default:
                return -EINVAL;
        }
}

/* The checks every new job makes: controllers identified, online, and
 * held by no other job or write (reads are waited for when the job
 * starts, fw_job_start()). */
static int check_controllers(FwManager *m, Controller *const *cs, size_t n, char **ret_error) {
        for (size_t i = 0; i < n; i++) {
                int r;
                if (!cs[i]->has_identity) {
                        set_error(ret_error, "controller at id %u: identity not known yet", cs[i]->id);
                        return -EAGAIN;
                }
                r = hold_check(daemon_holds(m->d), cs[i]->uuid, HOLD_EXCLUSIVE, /* wait= */ true, ret_error);
                if (r < 0)
                        return r;
                if (!cs[i]->online) {
                        set_error(ret_error, "controller %s (id %u) is offline", cs[i]->uuid_str, cs[i]->id);
                        return -EHOSTDOWN;
                }
        }
        return 0;
}

/* A remembered member that is not on the bus still counts (DESIGN 2026-12
 * item 2): a board job without it, or a single update while its firmware is
 * unknown, could leave the board mismatched when it comes back (item 3). */
#define ABSENT_TEXT "%s is a member of the board but not on the bus: bring it back online (check its power and " \
                    "CAN wiring), or, if it is gone for good, forget it (ForgetController, vescctl forget %s)"

static int check_absent(FwManager *m, char **ret_error) {
        const char *u[1];

        if (daemon_absent_members(m->d, u, 1) == 0)
                return 0;
        set_error(ret_error, ABSENT_TEXT, u[0], u[0]);
        return -EHOSTDOWN;
}

/* The planner's lines while members are absent (no job: vescd would refuse
 * it with Offline); NULL when none is absent or without memory. */
static char **absent_lines(FwManager *m) {
        const char *u[FW_SIDES_MAX];
        size_t n = daemon_absent_members(m->d, u, ELEMENTSOF(u));
        char **v;

        if (n == 0)
                return NULL;
        n = MIN(n, ELEMENTSOF(u));
        v = calloc(n + 1, sizeof *v);
        if (!v)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (asprintf(&v[i], ABSENT_TEXT, u[i], u[i]) < 0) {
                        v[i] = NULL;
                        fw_plan_steps_free(v);
                        return NULL;
                }
        return v;
}

static json_t *side_json(const Controller *c, const FwIdentity *id) {
        char cur[96];

        fw_version_describe(id->major, id->minor, id->test_build, id->fw_name, cur);
        return json_pack("{s:s, s:i, s:s, s:s}", "uuid", c->uuid_str, "can_id", (int) c->id, "hw_name", id->hw_name,
                         "current", cur);
}

/* PlanUpdate: what start_job() would start, per side (nothing is sent). */
static int plan_describe(FwManager *m, Controller *const *cs, const FwIdentity *ids, size_t n, FwJobImages *images) {
        for (size_t i = 0; i < n; i++) {
                const FwImage *img = &images->img[i];
                FwSidePlan sp;
                FwEstimate est;
                char tgt[96];
                json_t *o = side_json(cs[i], &ids[i]);

                if (!o)
                        break;
                (void) fw_plan_side(&ids[i], img, &sp);
                fw_version_describe(img->major, img->minor, img->test_build, img->fw_name, tgt);
                fw_estimate_side(img->stream_len, img->raw_size, img->bootloader_len, sp.bootloader, m->d->bitrate,
                                 &est);
                {
                        /* only the chunks that are not skipped (all 0xFF after the erase) go over the bus */
                        FwEstimate w;
                        size_t written = fw_stream_written(img->stream, img->stream_len, UPDATE_CHUNK_MAX);

                        fw_estimate_side(written, img->raw_size, 0, false, m->d->bitrate, &w);
                        est.total_usec = est.total_usec - est.transfer_usec + w.transfer_usec;
                        est.transfer_usec = w.transfer_usec;
                }
                json_object_set_new(o, "target", json_string(tgt));
                json_object_set_new(o, "action", json_string(sp.up_to_date ? "reinstall" : "update"));
                json_object_set_new(o, "plan", json_string(sp.text));
                json_object_set_new(o, "erase_bytes", json_integer((json_int_t) fw_erase_covered((uint32_t) img->stream_len)));
                json_object_set_new(o, "write_bytes", json_integer((json_int_t) img->stream_len));
                json_object_set_new(o, "compressed", json_boolean(sp.compressed));
                json_object_set_new(o, "bootloader",
                                    sp.bootloader ? json_pack("{s:b, s:i, s:I, s:s}", "install", 1, "generation",
                                                              (int) img->bootloader_generation, "bytes",
                                                              (json_int_t) img->bootloader_len, "steps",
                                                              "erase sector 11 (ERASE_BOOTLOADER), write the set's "
                                                              "bootloader, then stage the application")
                                                  : json_pack("{s:b}", "install", 0));
                json_object_set_new(o, "estimate_seconds",
                                    json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "erase", est.erase_usec / 1e6,
                                              "transfer", est.transfer_usec / 1e6, "bootloader",
                                              est.bootloader_usec / 1e6, "bootloader_copy", est.copy_usec / 1e6,
                                              "reboot", est.reboot_usec / 1e6, "confirm", est.confirm_usec / 1e6,
                                              "total", est.total_usec / 1e6));
                json_array_append_new(m->plan_sides, o);
        }
        fw_job_images_done(images);
        return 0;
}

static int start_job(FwManager *m, const char *kind, const char *set_id, Controller *const *cs, const FwIdentity *ids,
                     size_t n, FwJobImages *images, const FwJobOptions *o, FwJob **ret, char **ret_error) {
        const Config *cfg = daemon_config(m->d);
        FwUpdateParams p = {
                .n_sides = n,
                .gates = { .v_in_min = cfg->update_min_voltage, .v_in_max = cfg->update_max_voltage },
                .time_scale = cfg->time_scale,
        };
        FwJob *j = NULL;
        int r;

        if (m->planning)
                return plan_describe(m, cs, ids, n, images);
        if (m->inhibited)
                p.inhibit_reason = m->inhibit_reason ? m->inhibit_reason : "";
        for (size_t i = 0; i < n; i++)
                p.controllers[i] = ids[i];
        r = fw_job_new(&m->host, m->next_id, kind, set_id, images, &p, o, m->state_dir, &job_callbacks, m, &j);
        if (r < 0) {
                set_error(ret_error, "cannot create the update job: %s", strerror(-r));
                return r;
        }
        r = jobs_append(m, j);
        if (r < 0) {
                fw_job_free(j);
                return r;
        }
        m->next_id++;
        EMIT(m, job_added, j);
        (void) fw_job_start(j);
        daemon_board_update(m->d);
        *ret = j;
        return 0;
}

static int open_set(FwManager *m, const char *set_id, ImageSet **ret, char **ret_error) {
        int r;

        if (!set_id || !image_set_id_is_valid(set_id)) {
                set_error(ret_error, "'%s' is not an image set id (16 hex digits)", strna(set_id));
                return -EINVAL;
        }
        r = image_store_get(m->store, set_id, ret, ret_error);
        if (r == -ENOENT && ret_error && !*ret_error)
                set_error(ret_error, "no installed image set %s", set_id);
        if (r < 0)
                return r;
        /* the store could have been changed behind our back, and the trust
         * configuration may be stricter than when the set was installed */
        r = image_set_verify(*ret, &m->trust, ret_error);
        if (r < 0) {
                *ret = image_set_free(*ret);
                return r == -EBADMSG || r == -EPERM || r == -EFBIG ? -ENOEXEC : r;
        }
        return 0;
}

static int build_images(ImageSet *set, const FwIdentity *ids, size_t n, FwJobImages *ret, char **ret_error) {
        int r = fw_job_images_build(set, ids, n, ret, ret_error);
        /* a missing entry is the wrong hardware; bad content a bad image */
        return r == -ENOENT || r == -EBADMSG || r == -EFBIG ? -ENOEXEC : r;
}

/* What every new job does first: the controllers are identified, online
 * and in no other job; the set is installed, verifies, and has an image
 * for each of them.  Fills ids[n] and the images (owned by the caller). */
static int prepare_job(FwManager *m, Controller *const *cs, size_t n, const char *set_id, FwIdentity *ids,
                       FwJobImages *images, char **ret_error) {
        _cleanup_(image_set_freep) ImageSet *set = NULL;
        int r;

        r = check_controllers(m, cs, n, ret_error);
        if (r < 0)
                return r;
        r = open_set(m, set_id, &set, ret_error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                identity_from_controller(&ids[i], cs[i]);
        return build_images(set, ids, n, images, ret_error);
}

/* A plan said no (its text is in *ret_error already): drop the images. */
static int plan_refused(FwJobImages *images, int r, FwError e) {
        fw_job_images_done(images);
        return r < 0 ? r : plan_errno(e);
}

/* A single-controller update never leaves the board mismatched: its target
 * must be what every other member runs (DESIGN 2026-12 item 3). */
static int check_board_after(FwManager *m, const Controller *c, const FwImage *img, const char *set_id,
                             char **ret_error) {
        Controller *const *cs;
        size_t n = daemon_controllers(m->d, &cs);
        char want[96], got[96];

        /* an absent member's firmware is not known: it may differ from the target */
        if (check_absent(m, ret_error) < 0)
                return -EHOSTDOWN;
        fw_version_describe(img->major, img->minor, img->test_build, img->fw_name, want);
        for (size_t i = 0; i < n; i++) {
                const Controller *o = cs[i];
                if (o == c || !board_is_member(o))
                        continue;
                if (o->fw_major == img->major && o->fw_minor == img->minor && o->fw_test_build == img->test_build &&
                    strcmp(o->fw_name, img->fw_name) == 0)
                        continue;
                fw_version_describe(o->fw_major, o->fw_minor, o->fw_test_build, o->fw_name, got);
                set_error(ret_error,
                          "the board's motor controllers differ, or would after this: id %u would run %s, id %u runs "
                          "%s; run UpdateBoard (vescctl firmware board SET) or Repair (vescctl firmware repair SET)",
                          c->id, want, o->id, got);
                return -EXDEV;
        }
        return 0;
}

/**
 * fw_manager_update() - update one controller
 * @m: the manager
 * @c: the controller
 * @set_id: an installed set
 * @o: options (gate override: the adapters allow it for root only)
 * @ret: receives the job (owned by the manager)
 * @ret_error: receives a message on failure
 *
 * Refuses up front what the plan says is impossible.
 *
 * Returns: 0 or -errno (see update-manager.h).
 */
int fw_manager_update(FwManager *m, Controller *c, const char *set_id, const FwJobOptions *o, FwJob **ret,
                      char **ret_error) {
        FwJobImages images = {};
        FwIdentity id;
        FwSidePlan plan;
        int r;

        if (c->has_identity && c->primary_motor[0]) {
                set_error(ret_error, "%s (id %u) is the second motor of the dual-motor controller %s: one MCU, "
                          "updated through its primary motor", c->uuid_str, c->id, c->primary_motor);
                return -EINVAL;
        }
        if (c->has_identity && !board_is_motor_controller(c)) {
                set_error(ret_error, "%s (id %u) is a %s, not a motor controller: vescd does not update it",
                          c->uuid_str, c->id, c->hw_type == 1 ? "BMS" : "custom module");
                return -EOPNOTSUPP;
        }
        r = prepare_job(m, &c, 1, set_id, &id, &images, ret_error);
        if (r < 0)
                return r;
        r = fw_plan_side(&id, &images.img[0], &plan);
        if (r < 0 || plan.error != FW_ERROR_NONE) {
                set_error(ret_error, "%s: %s", strna(fw_error_to_string(plan.error)), plan.text);
                return plan_refused(&images, r, plan.error);
        }
        if (!o->allow_mismatch) {
                r = check_board_after(m, c, &images.img[0], set_id, ret_error);
                if (r < 0) {
                        fw_job_images_done(&images);
                        return r;
                }
        }
        return start_job(m, "update", set_id, &c, &id, 1, &images, o, ret, ret_error);
}

/* The board's member MCUs on the bus (a BMS, a custom module or the second
 * motor of a dual-motor MCU is never one), their identities and the set's
 * images for each (see prepare_job()).  *ret_n: how many.  UpdatePair
 * takes exactly two; UpdateBoard and Repair up to FW_SIDES_MAX. */
static int prepare_board_job(FwManager *m, const char *set_id, Controller *ret[static FW_SIDES_MAX],
                             FwIdentity ids[static FW_SIDES_MAX], size_t *ret_n, FwJobImages *images,
                             const char *method, char **ret_error) {
        Controller *const *cs;
        size_t n = daemon_controllers(m->d, &cs), k = 0;
        int r;

        r = check_absent(m, ret_error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (board_is_member(cs[i])) {
                        if (k < FW_SIDES_MAX)
                                ret[k] = cs[i];
                        k++;
                }
        if (strcmp(method, "UpdatePair") == 0 && k != 2) {
                set_error(ret_error, "UpdatePair needs exactly two motor controllers, the board has %zu: use UpdateBoard", k);
                return -EINVAL;
        }
        if (k < 2 || k > FW_SIDES_MAX) {
                set_error(ret_error, "%s handles boards of 2 to %u motor controllers, the board has %zu", method,
                          FW_SIDES_MAX, k);
                return k > FW_SIDES_MAX ? -EOPNOTSUPP : -EINVAL;
        }
        *ret_n = k;
        return prepare_job(m, ret, k, set_id, ids, images, ret_error);
}

/**
 * update_board() - update every member MCU together (UpdatePair, UpdateBoard)
 * @m: the manager
 * @set_id: an installed set
 * @o: options
 * @method: the caller's method name, for messages
 * @ret: receives the job
 * @ret_error: receives a message on failure
 *
 * Returns: 0 or -errno.
 */
static int update_board(FwManager *m, const char *set_id, const FwJobOptions *o, const char *method, FwJob **ret,
                        char **ret_error) {
        FwJobImages images = {};
        Controller *cs[FW_SIDES_MAX];
        FwIdentity ids[FW_SIDES_MAX];
        size_t n = 0;
        int r;

        r = prepare_board_job(m, set_id, cs, ids, &n, &images, method, ret_error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                FwSidePlan plan;
                r = fw_plan_side(&ids[i], &images.img[i], &plan);
                if (r < 0 || plan.error != FW_ERROR_NONE) {
                        set_error(ret_error, "%s: controller %s (id %u): %s", strna(fw_error_to_string(plan.error)),
                                  cs[i]->uuid_str, cs[i]->id, plan.text);
                        return plan_refused(&images, r, plan.error);
                }
        }
        return start_job(m, "pair", set_id, cs, ids, n, &images, o, ret, ret_error);
}

int fw_manager_update_pair(FwManager *m, const char *set_id, const FwJobOptions *o, FwJob **ret, char **ret_error) {
        return update_board(m, set_id, o, "UpdatePair", ret, ret_error);
}

/**
 * fw_manager_update_board() - update every motor controller of the board in
 * one transaction (stage all, commit all once all are staged)
 * @m: the manager
 * @set_id: an installed set
 * @o: options
 * @ret: receives the job
 * @ret_error: receives a message on failure
 *
 * One member: its update; more: one transaction over all of them (the
 * engine stages all, then commits in waves where default ids would
 * collide), up to FW_SIDES_MAX; more members are refused with -EOPNOTSUPP.
 *
 * Returns: 0 or -errno.
 */
int fw_manager_update_board(FwManager *m, const char *set_id, const FwJobOptions *o, FwJob **ret, char **ret_error) {
        Controller *const *cs;
        Controller *only = NULL;
        size_t n = daemon_controllers(m->d, &cs), k = 0;
        int r;

        /* one member on the bus and one absent is no one-member board */
        r = check_absent(m, ret_error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (board_is_member(cs[i])) {
                        only = cs[i];
                        k++;
                }
        if (k == 0) {
                set_error(ret_error, "no motor controller on the board");
                return -ENODEV;
        }
        if (k == 1) {
                FwJobOptions one = *o;
                one.allow_mismatch = true; /* nothing to mismatch with */
                return fw_manager_update(m, only, set_id, &one, ret, ret_error);
        }
        return update_board(m, set_id, o, "UpdateBoard", ret, ret_error);
}

/**
 * fw_manager_repair() - bring a mismatched pair to one set, updating only
 * the side(s) that differ
 * @m: the manager
 * @set_id: an installed set
 * @o: options
 * @ret: receives the job
 * @ret_error: receives the plan's refusal ("nothing to do: …", "needs
 *             5.03 first", …)
 *
 * Returns: 0 or -errno.
 */
int fw_manager_repair(FwManager *m, const char *set_id, const FwJobOptions *o, FwJob **ret, char **ret_error) {
        FwJobImages images = {};
        Controller *cs[FW_SIDES_MAX], *sel[FW_SIDES_MAX];
        FwIdentity ids[FW_SIDES_MAX], sel_ids[FW_SIDES_MAX];
        const FwImage *imgs[FW_SIDES_MAX];
        FwRepairPlan plan;
        size_t n = 0, k = 0;
        int r;

        r = prepare_board_job(m, set_id, cs, ids, &k, &images, "Repair", ret_error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < k; i++)
                imgs[i] = &images.img[i];
        r = fw_plan_repair(ids, imgs, k, &plan);
        if (r < 0 || plan.error != FW_ERROR_NONE) {
                set_error(ret_error, "%s: %s", strna(fw_error_to_string(plan.error)), plan.text);
                return plan_refused(&images, r, plan.error);
        }
        for (size_t i = 0; i < k; i++)
                if (plan.update[i]) {
                        sel[n] = cs[i];
                        sel_ids[n++] = ids[i];
                }
        if (n == 0) {
                set_error(ret_error, "nothing to do: %s", plan.text);
                return plan_refused(&images, -EALREADY, FW_ERROR_NONE);
        }
        if (m->planning) {
                for (size_t i = 0; i < k; i++)
                        if (!plan.update[i]) {
                                json_t *keep = side_json(cs[i], &ids[i]);
                                json_object_set_new(keep, "action", json_string("keep"));
                                json_object_set_new(keep, "plan", json_string(plan.side[i].text));
                                json_array_append_new(m->plan_sides, keep);
                        }
        } else
                log_info("Repair plan: %s", plan.text);
        fw_job_images_select(&images, plan.update);
        return start_job(m, "repair", set_id, sel, sel_ids, n, &images, o, ret, ret_error);
}

/* ------------------------------------------------------------- history */

json_t *fw_manager_history(FwManager *m) {
        return update_store_history_load(m->state_dir);
}

/* ------------------------------------------------------------ image sets */

static int install(FwManager *m, ImageSet *set, char **ret_id, char **ret_error) {
        unsigned keep = daemon_config(m->d)->image_set_keep;
        _cleanup_free_ const char **protect = calloc(m->n_jobs + 1, sizeof *protect);
        char **removed = NULL;
        size_t n = 0;

        if (!protect)
                return -ENOMEM;
        /* the set of a job that has not ended stays, whatever its age */
        for (size_t i = 0; i < m->n_jobs; i++)
                if (fw_job_running(m->jobs[i]) && fw_job_set_id(m->jobs[i]))
                        protect[n++] = fw_job_set_id(m->jobs[i]);
        int r = image_store_install(m->store, set, &m->trust, /* make_current= */ true, keep, protect, ret_id, &removed,
                                    ret_error);

        for (size_t i = 0; removed && removed[i]; i++) {
                _cleanup_free_ char *reason = NULL;
                if (asprintf(&reason, "more than image-set-keep (%u) sets installed; oldest neither current, "
                                      "previous nor used by a job", keep) < 0)
                        reason = NULL;
                log_info("Removed image set %s: %s", removed[i], reason ? reason : "image-set-keep");
                EMIT(m, set_removed, removed[i], reason ? reason : "image-set-keep");
        }
        image_store_strv_free(removed);
        if (r < 0) {
                log_rl_warning("Refused image set: %s", ret_error && *ret_error ? *ret_error : strerror(-r));
                /* content and signature failures are both "the set is not acceptable" */
                return r == -EBADMSG || r == -EPERM || r == -EFBIG ? -ENOEXEC : r;
        }
        log_info("Installed image set %s (%s %s)", ret_id && *ret_id ? *ret_id : "?", strna(image_set_name(set)),
                 strna(image_set_version(set)));
        refresh_sets(m);
        EMIT(m, sets_changed);
        return 0;
}

/**
 * fw_manager_install_fd() - verify and install a set read from an fd (tar)
 * @m: the manager
 * @fd: the archive (not closed)
 * @ret_id: receives the set id
 * @ret_error: receives the verification message on failure
 *
 * Returns: 0, -ENOEXEC (refused), or -errno.
 */
int fw_manager_install_fd(FwManager *m, int fd, char **ret_id, char **ret_error) {
        _cleanup_(image_set_freep) ImageSet *set = NULL;
        int r;

        r = image_set_open_fd(fd, &set, ret_error);
        if (r < 0)
                return r == -EBADMSG || r == -EFBIG ? -ENOEXEC : r;
        return install(m, set, ret_id, ret_error);
}

/**
 * fw_manager_install_path() - verify and install a set (directory or tar)
 * @m: the manager
 * @path: where it is (opened with the daemon's rights)
 * @ret_id: receives the set id
 * @ret_error: receives the verification message on failure
 *
 * Returns: 0, -ENOEXEC (refused), or -errno.
 */
int fw_manager_install_path(FwManager *m, const char *path, char **ret_id, char **ret_error) {
        _cleanup_(image_set_freep) ImageSet *set = NULL;
        int r;

        r = image_set_open_path(path, &set, ret_error);
        if (r < 0)
                return r == -EBADMSG || r == -EFBIG ? -ENOEXEC : r;
        return install(m, set, ret_id, ret_error);
}

/**
 * fw_manager_remove_set() - remove an installed set
 * @m: the manager
 * @id: the set
 * @ret_error: receives a message on failure
 *
 * A set a running job uses is refused (-EBUSY); so is the current set
 * (roll back first).
 *
 * Returns: 0 or -errno.
 */
int fw_manager_remove_set(FwManager *m, const char *id, char **ret_error) {
        int r;

        if (!id || !image_set_id_is_valid(id)) {
                set_error(ret_error, "'%s' is not an image set id", strna(id));
                return -EINVAL;
        }
        for (size_t i = 0; i < m->n_jobs; i++)
                if (fw_job_running(m->jobs[i]) && strcmp(fw_job_set_id(m->jobs[i]), id) == 0) {
                        set_error(ret_error, "image set %s is used by running job %u", id, fw_job_id(m->jobs[i]));
                        return -EBUSY;
                }
        r = image_store_remove(m->store, id, /* force= */ false, ret_error);
        if (r >= 0) {
                log_info("Removed image set %s", id);
                refresh_sets(m);
                EMIT(m, sets_changed);
        }
        return r;
}

/**
 * fw_manager_rollback() - make the previous set current again
 * @m: the manager
 * @ret_id: receives the id of the set that is current now, or NULL
 * @ret_error: receives a message on failure
 *
 * The two sets swap roles: the one that was current becomes the previous
 * one, so a second rollback undoes the first.
 *
 * Returns: 0, -ENOENT (no previous set), -errno.
 */
int fw_manager_rollback(FwManager *m, char **ret_id, char **ret_error) {
        _cleanup_free_ char *id = NULL;
        int r;

        r = image_store_rollback(m->store, ret_error);
        if (r < 0)
                return r;
        refresh_sets(m);
        EMIT(m, sets_changed);
        r = image_store_get_current(m->store, &id);
        if (r < 0) {
                set_error(ret_error, "rolled back, but the current set cannot be read: %s", strerror(-r));
                return r;
        }
        log_info("Rolled back: image set %s is current again", id);
        if (ret_id)
                *ret_id = TAKE_PTR(id);
        return 0;
}

/**
 * fw_manager_list_sets() - the installed sets, each verified again
 *
 * Returns: a new array, NULL on ENOMEM.
 */
json_t *fw_manager_list_sets(FwManager *m) {
        _cleanup_free_ char *cur = NULL, *prev = NULL;
        char **ids = NULL;
        json_t *a = json_array();

        if (!a)
                return NULL;
        (void) image_store_get_current(m->store, &cur);
        (void) image_store_get_previous(m->store, &prev);
        if (image_store_list(m->store, &ids) < 0)
                return a;
        for (char **p = ids; p && *p; p++) {
                _cleanup_(image_set_freep) ImageSet *s = NULL;
                json_t *o;

                _cleanup_free_ char *err = NULL;
                int r;

                if (image_store_get(m->store, *p, &s, NULL) < 0)
                        continue;
                /* checked again, so the signature state and the content are
                 * what they are now, against today's trust */
                r = image_set_verify(s, &m->trust, &err);
                o = image_set_to_json(s);
                if (!o)
                        continue;
                json_object_set_new(o, "verified", json_boolean(r >= 0));
                if (r < 0)
                        json_object_set_new(o, "verify_error", json_string(err ? err : strerror(-r)));
                json_object_set_new(o, "current", json_boolean(cur && strcmp(cur, *p) == 0));
                json_object_set_new(o, "previous", json_boolean(prev && strcmp(prev, *p) == 0));
                json_array_append_new(a, o);
        }
        image_store_strv_free(ids);
        return a;
}

/* -------------------------------------------------------------- resume */

static void next_id_from_history(FwManager *m) {
        json_t *h = fw_manager_history(m), *e;
        size_t i;

        json_array_foreach(h, i, e) {
                json_int_t id = json_integer_value(json_object_get(e, "id"));
                if (id > 0 && id < UINT32_MAX && (unsigned) id >= m->next_id)
                        m->next_id = (unsigned) id + 1;
        }
        json_decref(h);
}

static int resume_one(FwManager *m, const char *path) {
        _cleanup_(image_set_freep) ImageSet *set = NULL;
        _cleanup_free_ char *err = NULL, *name = NULL;
        const Config *cfg = daemon_config(m->d);
        const char *base;
        FwJobImages images = {};
        FwJobFile f = {};
        FwJob *j = NULL;
        int r;

        r = update_store_job_read(path, &f);
        if (r < 0) {
                /* its number stays taken: a new job must not reuse it */
                if (f.id >= m->next_id)
                        m->next_id = f.id + 1;
                update_store_job_done(&f);
                return log_error_errno(r, "Cannot read the job file %s: %m", path);
        }
        if (f.id >= m->next_id)
                m->next_id = f.id + 1;
        /* the job writes job-<id>.json: any other name would be resumed
         * again at the next start besides the file the job keeps */
        if (asprintf(&name, "job-%u.json", f.id) < 0) {
                update_store_job_done(&f);
                return -ENOMEM;
        }
        base = strrchr(path, '/');
        if (strcmp(base ? base + 1 : path, name) != 0) {
                update_store_job_done(&f);
                return log_error_errno(-EBADMSG, "Job file %s holds job %u, refusing it", path, f.id);
        }
        /* The state directory is input too: a copied or hand-edited file must
         * not give two jobs one number (one object path) or let two jobs
         * drive the same controller. */
        if (fw_manager_find_job(m, f.id)) {
                update_store_job_done(&f);
                return log_error_errno(-EEXIST, "Job file %s: job %u is already resumed", path, f.id);
        }
        for (size_t i = 0; i < f.n; i++) {
                _cleanup_free_ char *holder = NULL;
                if (hold_check(daemon_holds(m->d), f.controllers[i].uuid, HOLD_EXCLUSIVE, /* wait= */ false,
                               &holder) < 0) {
                        update_store_job_done(&f);
                        return log_error_errno(-EBUSY, "Job file %s: %s", path, holder ? holder : "controller held");
                }
        }
        r = image_store_get(m->store, f.set_id, &set, &err);
        if (r < 0) {
                update_store_job_done(&f);
                return log_error_errno(r, "Job %u cannot resume: image set %s: %s", f.id, f.set_id, err ? err : "%m");
        }
        r = fw_job_images_build(set, f.controllers, f.n, &images, &err);
        if (r < 0) {
                update_store_job_done(&f);
                return log_error_errno(r, "Job %u cannot resume: %s", f.id, err ? err : "%m");
        }
        FwUpdateParams p = {
                .n_sides = f.n,
                .gates = { .v_in_min = cfg->update_min_voltage, .v_in_max = cfg->update_max_voltage },
                .time_scale = cfg->time_scale,
        };
        for (size_t i = 0; i < f.n; i++)
                p.controllers[i] = f.controllers[i];
        r = fw_job_new(&m->host, f.id, f.kind, f.set_id, &images, &p, &f.opts, m->state_dir, &job_callbacks, m, &j);
        if (r < 0) {
                update_store_job_done(&f);
                return log_error_errno(r, "Job %u cannot resume: %m", f.id);
        }
        r = jobs_append(m, j);
        if (r < 0) {
                fw_job_free(j);
                update_store_job_done(&f);
                return r;
        }
        EMIT(m, job_added, j);
        r = fw_job_resume(j, &f.engine, f.started_realtime_usec);
        update_store_job_done(&f);
        if (r < 0) {
                /* A snapshot the engine refuses executed nothing; the job must
                 * not stay listed as running and hold its controllers busy. */
                log_error_errno(r, "Job %u cannot resume its snapshot: %m", fw_job_id(j));
                for (size_t i = 0; i < m->n_jobs; i++)
                        if (m->jobs[i] == j) {
                                memmove(m->jobs + i, m->jobs + i + 1, (m->n_jobs - i - 1) * sizeof *m->jobs);
                                m->n_jobs--;
                                break;
                        }
                EMIT(m, job_removed, j);
                fw_job_free(j);
                return r;
        }
        return 0;
}

/**
 * fw_manager_resume() - resume the jobs found in the state directory
 * @m: the manager
 *
 * A job file that cannot be resumed is renamed to *.failed and reported.
 */
static int job_file_filter(const struct dirent *de) {
        size_t l = strlen(de->d_name);

        return strncmp(de->d_name, "job-", 4) == 0 && l >= 6 && strcmp(de->d_name + l - 5, ".json") == 0;
}

void fw_manager_resume(FwManager *m) {
        _cleanup_free_ char *dir = NULL;
        struct dirent **des = NULL;
        int n;

        if (m->resumed)
                return;
        m->resumed = true;
        if (asprintf(&dir, "%s/firmware/jobs", m->state_dir) < 0)
                return;
        /* The names are read in full before anything resumes: a resumed job
         * rewrites its file at once (a new directory entry), and readdir()
         * may or may not return an entry added while it runs, which would
         * resume the same job twice. */
        n = scandir(dir, &des, job_file_filter, alphasort);
        if (n < 0)
                return;
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL, *bad = NULL;

                if (asprintf(&path, "%s/%s", dir, des[i]->d_name) >= 0 && resume_one(m, path) < 0 &&
                    asprintf(&bad, "%s.failed", path) >= 0)
                        (void) rename(path, bad);
        }
        for (int i = 0; i < n; i++)
                free(des[i]);
        free(des);
        daemon_board_update(m->d);
}

/**
 * fw_manager_on_boot() - a NOTIFY_BOOT was heard
 */
void fw_manager_on_boot(FwManager *m, uint8_t can_id, const char *hw_name) {
        for (size_t i = 0; i < m->n_jobs; i++)
                fw_job_on_boot(m->jobs[i], can_id, hw_name);
}

/* ------------------------------------------------------------- planner */

static void sets_clear(FwManager *m) {
        for (size_t i = 0; i < m->n_sets; i++)
                free(m->set_entries[i]);
        free(m->set_entries);
        free(m->sets);
        m->set_entries = NULL;
        m->sets = NULL;
        m->n_sets = 0;
        free(m->current_set);
        m->current_set = NULL;
}

/* The installed sets' entries as the planner needs them (manifests only:
 * a job verifies its set again when it starts); then the board's Actions
 * are planned again. */
static void refresh_sets(FwManager *m) {
        char **ids = NULL;
        size_t n = 0;

        sets_clear(m);
        (void) image_store_get_current(m->store, &m->current_set);
        if (image_store_list(m->store, &ids) >= 0) {
                for (char **p = ids; p && *p; p++)
                        n++;
                m->sets = calloc(MAX(n, (size_t) 1), sizeof *m->sets);
                m->set_entries = calloc(MAX(n, (size_t) 1), sizeof *m->set_entries);
                for (size_t i = 0; m->sets && m->set_entries && i < n; i++) {
                        _cleanup_(image_set_freep) ImageSet *set = NULL;
                        FwSetInfo *info = &m->sets[m->n_sets];
                        size_t k;

                        if (image_store_get(m->store, ids[i], &set, NULL) < 0)
                                continue;
                        k = image_set_n_entries(set);
                        m->set_entries[m->n_sets] = calloc(MAX(k, (size_t) 1), sizeof(FwSetEntry));
                        if (!m->set_entries[m->n_sets])
                                continue;
                        for (size_t e = 0; e < k; e++) {
                                const ImageSetEntry *ie = image_set_entry(set, e);
                                FwSetEntry *fe = &m->set_entries[m->n_sets][e];
                                snprintf(fe->hw_name, sizeof fe->hw_name, "%s", ie->hw_name);
                                snprintf(fe->fw_name, sizeof fe->fw_name, "%s", ie->app.fw_name ? ie->app.fw_name : "");
                                fe->major = ie->app.major;
                                fe->minor = ie->app.minor;
                                fe->test_build = ie->app.test_build;
                                fe->min_bootloader = ie->app.min_bootloader;
                                fe->compressed = ie->app.size > VESC_APP_SIZE_V5;
                                fe->bootloader_generation = ie->has_bootloader ? ie->bootloader.generation : 0;
                        }
                        snprintf(info->id, sizeof info->id, "%s", ids[i]);
                        info->entries = m->set_entries[m->n_sets];
                        info->n = k;
                        m->n_sets++;
                }
                if (!m->sets || !m->set_entries)
                        sets_clear(m);
        }
        image_store_strv_free(ids);
        daemon_board_update(m->d);
}

static int build_cmp(uint8_t amaj, uint8_t amin, uint8_t atb, uint8_t bmaj, uint8_t bmin, uint8_t btb) {
        if (amaj != bmaj)
                return amaj < bmaj ? -1 : 1;
        if (amin != bmin)
                return amin < bmin ? -1 : 1;
        if (atb != btb) /* a release (0) is newer than its test builds */
                return atb == 0 ? 1 : btb == 0 ? -1 : atb < btb ? -1 : 1;
        return 0;
}

/* A set the planner may suggest installing: @major.@minor for every
 * member's hardware, compressed with a generation-2 bootloader from 6.00. */
static void hypothetical_set(const FwIdentity *mem, size_t n, uint8_t major, uint8_t minor, uint8_t test_build,
                             const char *fw_name, FwSetEntry *entries, FwSetInfo *ret) {
        *ret = (FwSetInfo) { .entries = entries, .hypothetical = true };
        for (size_t i = 0; i < n; i++) {
                if (fw_set_find(ret, mem[i].hw_name))
                        continue;
                FwSetEntry *e = &entries[ret->n++];
                *e = (FwSetEntry) { .major = major, .minor = minor, .test_build = test_build,
                                    .compressed = major >= 6, .bootloader_generation = major >= 6 ? 2 : 0 };
                snprintf(e->hw_name, sizeof e->hw_name, "%s", mem[i].hw_name);
                snprintf(e->fw_name, sizeof e->fw_name, "%s", fw_name ? fw_name : "");
        }
}

static bool set_covers_members(const FwSetInfo *s, const FwIdentity *mem, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!fw_set_find(s, mem[i].hw_name))
                        return false;
        return true;
}

/* The installed sets that cover every member, then what the planner may
 * suggest installing: the goal's build (when @goal is NULL: the newest
 * member's) and 5.03, the step every 3.58 takes towards 6.x.  Fills
 * sets[] (room for n_sets + 2) and returns the goal's index or -1. */
static int planner_sets(FwManager *m, const FwIdentity *mem, size_t n, const char *goal_id, FwSetInfo *sets,
                        size_t *ret_n, FwSetEntry *hyp_goal, FwSetEntry *hyp_mid) {
        size_t k = 0;
        int goal = -1;
        const FwIdentity *ref = &mem[0];
        bool have_mid = false;

        for (size_t i = 1; i < n; i++)
                if (build_cmp(mem[i].major, mem[i].minor, mem[i].test_build, ref->major, ref->minor, ref->test_build) > 0)
                        ref = &mem[i];
        for (size_t i = 0; i < m->n_sets; i++) {
                const FwSetEntry *e;
                if (!set_covers_members(&m->sets[i], mem, n))
                        continue;
                sets[k] = m->sets[i];
                e = fw_set_find(&sets[k], mem[0].hw_name);
                if (e->major >= 4 || (e->major == 3 && e->minor >= 59))
                        have_mid = have_mid || e->major < 6;
                if (goal_id ? strcmp(sets[k].id, goal_id) == 0 : goal < 0 && fw_identity_matches_entry(ref, fw_set_find(&sets[k], ref->hw_name)))
                        goal = (int) k;
                k++;
        }
        /* without a goal: the current set when it is newer than every member */
        if (!goal_id && m->current_set)
                for (size_t i = 0; i < k; i++) {
                        const FwSetEntry *e = fw_set_find(&sets[i], ref->hw_name);
                        if (strcmp(sets[i].id, m->current_set) == 0 &&
                            build_cmp(e->major, e->minor, e->test_build, ref->major, ref->minor, ref->test_build) > 0)
                                goal = (int) i;
                }
        if (goal < 0 && !goal_id) {
                hypothetical_set(mem, n, ref->major, ref->minor, ref->test_build, ref->fw_name, hyp_goal, &sets[k]);
                goal = (int) k++;
        }
        if (!have_mid)
                hypothetical_set(mem, n, 5, 3, 0, "", hyp_mid, &sets[k++]);
        *ret_n = k;
        return goal;
}

static char **on_board_actions(void *userdata, const Controller *const *members, size_t n) {
        FwManager *m = userdata;
        _cleanup_free_ FwIdentity *mem = calloc(MAX(n, (size_t) 1), sizeof *mem);
        _cleanup_free_ FwSetInfo *sets = calloc(m->n_sets + 2, sizeof *sets);
        _cleanup_free_ FwSetEntry *hyp_goal = calloc(MAX(n, (size_t) 1), sizeof *hyp_goal);
        _cleanup_free_ FwSetEntry *hyp_mid = calloc(MAX(n, (size_t) 1), sizeof *hyp_mid);
        char **lines = NULL;
        size_t k = 0;
        int goal, r;

        if (!mem || !sets || !hyp_goal || !hyp_mid || n == 0)
                return NULL;
        /* a member absent: bring it back or forget it, never a job */
        lines = absent_lines(m);
        if (lines)
                return lines;
        for (size_t i = 0; i < n; i++) {
                identity_from_controller(&mem[i], members[i]);
                /* a board of several hardwares is for "check hardware", not for us */
                if (strcmp(mem[i].hw_name, mem[0].hw_name) != 0)
                        return NULL;
        }
        goal = planner_sets(m, mem, n, NULL, sets, &k, hyp_goal, hyp_mid);
        if (goal < 0)
                return NULL;
        r = fw_plan_steps(mem, n, sets, k, &sets[goal], &lines);
        /* a member offline: the lines say to bring it back (never a job vescd refuses) */
        if (r < 0 && r != -EHOSTDOWN) {
                fw_plan_steps_free(lines);
                return NULL;
        }
        return lines;
}

/* PlanUpdate's controllers: none (the board), or for kind update exactly one. */
static int plan_kind_controllers(FwManager *m, const char *kind, char *const *controllers, Controller **ret_one,
                                 char **ret_error) {
        size_t n = 0;

        for (char *const *p = controllers; p && *p; p++)
                n++;
        if (strcmp(kind, "update") == 0) {
                if (n != 1) {
                        set_error(ret_error, "a plan of kind update names exactly one controller, not %zu", n);
                        return -EINVAL;
                }
                int r = daemon_find_controller(m->d, controllers[0], ret_one);
                if (r < 0)
                        set_error(ret_error, "no controller '%s'", controllers[0]);
                return r;
        }
        if (strcmp(kind, "pair") != 0 && strcmp(kind, "board") != 0 && strcmp(kind, "repair") != 0) {
                set_error(ret_error, "kind is update, pair, board or repair, not '%s'", kind);
                return -EINVAL;
        }
        /* the job takes the board's members; naming them is allowed */
        for (size_t i = 0; i < n; i++) {
                Controller *c;
                if (daemon_find_controller(m->d, controllers[i], &c) < 0) {
                        set_error(ret_error, "no controller '%s'", controllers[i]);
                        return -ENODEV;
                }
                if (!board_is_member(c)) {
                        set_error(ret_error, "%s (id %u) is not a member of the board: a %s job takes the board's "
                                  "motor controllers", c->uuid_str, c->id, kind);
                        return -EINVAL;
                }
        }
        return 0;
}

/* The gates a job checks, with today's values from the model. */
static json_t *plan_gates(FwManager *m, Controller *const *cs, size_t n) {
        const Config *cfg = daemon_config(m->d);
        double vmin = cfg->update_min_voltage > 0 ? cfg->update_min_voltage : 10.0;
        double vmax = cfg->update_max_voltage > 0 ? cfg->update_max_voltage : 60.0;
        json_t *a = json_array();

        json_array_append_new(a, json_pack("{s:s, s:b, s:s?, s:b}", "name", "inhibit", "value", m->inhibited, "reason",
                                           m->inhibited ? m->inhibit_reason : NULL, "ok", !m->inhibited));
        for (size_t i = 0; i < n; i++) {
                const Controller *c = cs[i];
                double erpm = c->telemetry[TELEMETRY_ERPM], v = c->telemetry[TELEMETRY_VOLTAGE_IN];
                double im = c->telemetry[TELEMETRY_CURRENT_MOTOR], ii = c->telemetry[TELEMETRY_CURRENT_IN];
                _cleanup_free_ char *holder = NULL;
                bool held = hold_check(daemon_holds(m->d), c->uuid, HOLD_EXCLUSIVE, /* wait= */ true, &holder) < 0;

                json_array_append_new(a, json_pack("{s:s, s:s, s:f, s:f, s:b}", "name", "motor_stopped", "uuid",
                                                   c->uuid_str, "value", erpm, "max", 50.0, "ok", fabs(erpm) <= 50.0));
                json_array_append_new(a, json_pack("{s:s, s:s, s:f, s:f, s:f, s:b}", "name", "current", "uuid",
                                                   c->uuid_str, "motor", im, "input", ii, "max", 1.0,
                                                   "ok", fabs(im) <= 1.0 && fabs(ii) <= 1.0));
                json_array_append_new(a, json_pack("{s:s, s:s, s:f, s:f, s:f, s:b}", "name", "voltage", "uuid",
                                                   c->uuid_str, "value", v, "min", vmin, "max", vmax,
                                                   "ok", v >= vmin && v <= vmax));
                json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:b}", "name", "fault", "uuid", c->uuid_str,
                                                   "value", strna(controller_fault_name(c)), "ok", c->fault_code == 0));
                json_array_append_new(a, json_pack("{s:s, s:s, s:s?, s:b}", "name", "busy", "uuid", c->uuid_str,
                                                   "holder", holder, "ok", !held));
        }
        return a;
}

/**
 * fw_manager_plan() - what a job would do, without starting it or sending
 * anything to a controller
 * @m: the manager
 * @kind: "update", "pair", "board" or "repair"
 * @set_id: an installed set
 * @controllers: NULL-terminated UUIDs or CAN ids (update: exactly one;
 *               otherwise none, or members of the board)
 * @ret_json: receives the plan (docs/firmware-update.md "Plans")
 * @ret_error: receives the text of an invalid request
 *
 * The same checks the job's method makes, with default options; a job
 * they would refuse is a plan with "refused": true, the error, its text
 * and the numbered steps that would work.
 *
 * Returns: 0, or -EINVAL / -ENODEV for a malformed request, -ENOMEM.
 */
int fw_manager_plan(FwManager *m, const char *kind, const char *set_id, char *const *controllers, char **ret_json,
                    char **ret_error) {
        _cleanup_free_ char *err = NULL;
        Controller *one = NULL;
        FwJobOptions o = {};
        FwJob *j = NULL;
        json_t *plan;
        double total = 0;
        size_t i;
        json_t *side;
        int r;

        r = plan_kind_controllers(m, kind, controllers, &one, ret_error);
        if (r < 0)
                return r;
        m->plan_sides = json_array();
        if (!m->plan_sides)
                return -ENOMEM;
        m->planning = true;
        if (strcmp(kind, "update") == 0)
                r = fw_manager_update(m, one, set_id, &o, &j, &err);
        else if (strcmp(kind, "pair") == 0)
                r = fw_manager_update_pair(m, set_id, &o, &j, &err);
        else if (strcmp(kind, "board") == 0)
                r = fw_manager_update_board(m, set_id, &o, &j, &err);
        else
                r = fw_manager_repair(m, set_id, &o, &j, &err);
        m->planning = false;

        plan = json_pack("{s:s, s:s, s:b}", "kind", kind, "set_id", strna(set_id), "refused", r < 0);
        if (!plan) {
                json_decref(m->plan_sides);
                m->plan_sides = NULL;
                return -ENOMEM;
        }
        if (r < 0) {
                const VescdError *e = vescd_error_from_errno(-r);
                Controller *const *cs;
                size_t n = daemon_controllers(m->d, &cs), k = 0;
                _cleanup_free_ FwIdentity *mem = calloc(MAX(n, (size_t) 1), sizeof *mem);
                _cleanup_free_ FwSetInfo *sets = calloc(m->n_sets + 2, sizeof *sets);
                _cleanup_free_ FwSetEntry *hg = calloc(MAX(n, (size_t) 1), sizeof *hg);
                _cleanup_free_ FwSetEntry *hm = calloc(MAX(n, (size_t) 1), sizeof *hm);
                char **steps = NULL;
                json_t *a = json_array();
                size_t nm = 0;

                json_object_set_new(plan, "error", json_string(e ? e->name : "Failed"));
                json_object_set_new(plan, "message", json_string(err ? err : strerror(-r)));
                for (size_t c = 0; mem && c < n; c++)
                        if (board_is_member(cs[c]))
                                identity_from_controller(&mem[nm++], cs[c]);
                steps = absent_lines(m);
                if (!steps && mem && sets && hg && hm && nm > 0 && set_id) {
                        int goal = planner_sets(m, mem, nm, set_id, sets, &k, hg, hm);
                        if (goal >= 0)
                                (void) fw_plan_steps(mem, nm, sets, k, &sets[goal], &steps);
                }
                for (char **p = steps; a && p && *p; p++)
                        json_array_append_new(a, json_string(*p));
                fw_plan_steps_free(steps);
                json_object_set_new(plan, "steps", a ? a : json_array());
                json_decref(m->plan_sides);
                m->plan_sides = NULL;
        } else {
                json_array_foreach(m->plan_sides, i, side) {
                        json_t *t = json_object_get(json_object_get(side, "estimate_seconds"), "total");
                        total += t ? json_real_value(t) : 0;
                }
                json_object_set_new(plan, "sides", m->plan_sides);
                m->plan_sides = NULL;
                json_object_set_new(plan, "estimated_seconds", json_real(total));
        }
        {
                Controller *const *cs;
                size_t n = daemon_controllers(m->d, &cs), k = 0;
                _cleanup_free_ Controller **sel = calloc(MAX(n, (size_t) 1), sizeof *sel);
                for (size_t c = 0; sel && c < n; c++)
                        if (one ? cs[c] == one : board_is_member(cs[c]))
                                sel[k++] = cs[c];
                json_object_set_new(plan, "gates", sel ? plan_gates(m, sel, k) : json_array());
        }
        *ret_json = json_dumps(plan, JSON_COMPACT);
        json_decref(plan);
        return *ret_json ? 0 : -ENOMEM;
}

/* ------------------------------------------------------------- inhibit */

static char *inhibit_path(FwManager *m) {
        char *p = NULL;
        return asprintf(&p, "%s/firmware/inhibit.json", m->state_dir) < 0 ? NULL : p;
}

static void inhibit_load(FwManager *m) {
        _cleanup_free_ char *path = inhibit_path(m);
        json_t *o = path ? json_load_file(path, 0, NULL) : NULL;

        if (!o)
                return;
        m->inhibited = json_is_true(json_object_get(o, "inhibited"));
        if (m->inhibited && json_is_string(json_object_get(o, "reason")))
                m->inhibit_reason = strdup(json_string_value(json_object_get(o, "reason")));
        if (m->inhibited)
                log_notice("Firmware updates are inhibited: %s", strna(m->inhibit_reason));
        (void) daemon_set_inhibit(m->d, m->inhibited, m->inhibit_reason);
        json_decref(o);
}

/**
 * fw_manager_set_inhibit() - block (or allow again) new firmware jobs
 * @m: the manager
 * @inhibit: block
 * @reason: why (required when blocking; shown in refusals)
 * @ret_error: receives a message on failure
 *
 * Persisted in <state>/firmware/inhibit.json; running jobs go on.  A job
 * started while inhibited ends at its gates with GateFailed naming the
 * reason (unless root overrides the gates).
 *
 * Returns: 0, -EINVAL (no reason), -errno of the write.
 */
int fw_manager_set_inhibit(FwManager *m, bool inhibit, const char *reason, char **ret_error) {
        _cleanup_free_ char *path = inhibit_path(m), *text = NULL, *dir = NULL, *copy = NULL;
        json_t *o;
        int r;

        if (inhibit && (!reason || !reason[0])) {
                set_error(ret_error, "an inhibit needs a reason (it is shown to whoever tries an update)");
                return -EINVAL;
        }
        if (reason && strlen(reason) > 200) {
                set_error(ret_error, "the reason is longer than 200 bytes");
                return -EINVAL;
        }
        if (!path || asprintf(&dir, "%s/firmware", m->state_dir) < 0)
                return -ENOMEM;
        (void) mkdir(dir, 0755);
        o = json_pack("{s:b, s:s}", "inhibited", inhibit, "reason", inhibit ? reason : "");
        text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
        json_decref(o);
        if (!text)
                return -ENOMEM;
        r = update_store_write_atomic(path, text);
        if (r < 0) {
                set_error(ret_error, "cannot persist the inhibit in %s: %s", path, strerror(-r));
                return r;
        }
        if (inhibit) {
                copy = strdup(reason);
                if (!copy)
                        return -ENOMEM;
        }
        free(m->inhibit_reason);
        m->inhibit_reason = TAKE_PTR(copy);
        m->inhibited = inhibit;
        (void) daemon_set_inhibit(m->d, m->inhibited, m->inhibit_reason);
        if (inhibit)
                log_notice("Firmware updates inhibited: %s", reason);
        else
                log_notice("Firmware updates no longer inhibited");
        EMIT(m, inhibit_changed);
        return 0;
}

bool fw_manager_inhibited(FwManager *m, const char **ret_reason) {
        if (ret_reason)
                *ret_reason = m->inhibited && m->inhibit_reason ? m->inhibit_reason : "";
        return m->inhibited;
}

/* ------------------------------------------------------------ lifecycle */

static void on_daemon_booted(void *userdata, uint8_t id, const char *hw_name) {
        fw_manager_on_boot(userdata, id, hw_name);
}

static void on_daemon_started(void *userdata) {
        fw_manager_resume(userdata);
}

/* The board view, held back by a check, is final again: the jobs whose
 * end waited for it announce it (host_board_settled()). */
static void on_daemon_board_settled(void *userdata) {
        FwManager *m = userdata;

        for (size_t i = 0; i < m->n_jobs; i++)
                fw_job_board_settled(m->jobs[i]);
}

/* The manager sits on top of the core: it learns of boots and of the
 * start through the core's listener interface, never the other way. */
static const DaemonListener daemon_listener = {
        .controller_booted = on_daemon_booted,
        .started = on_daemon_started,
        .board_settled = on_daemon_board_settled,
};

/* Why the last fw_manager_new() failed, for the adapters' refusals (there
 * is no manager to ask then). */
static char *unavailable_text;

static void set_unavailable(const char *fmt, ...) _printf_(1, 2);
static void set_unavailable(const char *fmt, ...) {
        _cleanup_free_ char *why = NULL;

        FORMAT_ARGS(why, fmt);
        free(unavailable_text);
        unavailable_text = NULL;
        if (why && asprintf(&unavailable_text, "firmware management is unavailable: %s", why) < 0)
                unavailable_text = NULL;
}

/**
 * fw_manager_unavailable_text() - the text of a firmware call refused
 * because there is no manager: why fw_manager_new() failed
 *
 * Returns: a static string.
 */
const char *fw_manager_unavailable_text(void) {
        return unavailable_text ? unavailable_text : "firmware management is not available";
}

/* The state directory must exist and take files: a missing or read-only
 * one is said once, clearly, in the journal (main.c logs the text) and
 * then in every refusal. */
static int check_state_dir(const char *dir) {
        _cleanup_free_ char *probe = NULL;
        struct stat st;
        int fd;

        if (stat(dir, &st) < 0) {
                int r = -errno;
                if (r == -ENOENT)
                        set_unavailable("state directory %s does not exist", dir);
                else
                        set_unavailable("state directory %s is not usable: %s", dir, strerror(-r));
                return r;
        }
        if (!S_ISDIR(st.st_mode)) {
                set_unavailable("state directory %s is not a directory", dir);
                return -ENOTDIR;
        }
        if (asprintf(&probe, "%s/.vescd-probe-XXXXXX", dir) < 0)
                return -ENOMEM;
        fd = mkstemp(probe);
        if (fd < 0) {
                int r = -errno;
                set_unavailable("state directory %s is not writable: %s", dir, strerror(-r));
                return r;
        }
        close(fd);
        (void) unlink(probe);
        return 0;
}

/**
 * fw_manager_new() - open the set store and load the trust configuration
 * @d: the daemon
 * @ret: receives the manager
 *
 * Returns: 0 or -errno (logged).
 */
int fw_manager_new(Daemon *d, FwManager **ret) {
        _cleanup_(fw_manager_freep) FwManager *m = NULL;
        _cleanup_free_ char *err = NULL;
        const Config *cfg = daemon_config(d);
        int r;

        m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        m->d = d;
        host_init(m);
        m->next_id = 1;
        m->state_dir = strdup(cfg->state_dir);
        if (!m->state_dir)
                return -ENOMEM;
        r = check_state_dir(cfg->state_dir);
        if (r < 0)
                return r;
        r = image_store_open(cfg->state_dir, &m->store, &err);
        if (r < 0) {
                set_unavailable("cannot open the image set store in %s: %s", cfg->state_dir, err ? err : strerror(-r));
                return r;
        }
        if (cfg->trusted_keys && cfg->trusted_keys[0]) {
                r = image_trust_load(&m->trust, cfg->trusted_keys, &err);
                if (r < 0)
                        return log_error_errno(r, "Cannot load trusted keys from %s: %s", cfg->trusted_keys,
                                               err ? err : "%m");
        }
        if (cfg->require_signed)
                m->trust.require_signed = true;
        next_id_from_history(m);
        inhibit_load(m);
        r = daemon_add_listener(d, &daemon_listener, m);
        if (r < 0)
                return r;
        m->listening = true;
        daemon_set_updating_query(d, on_updating_query, m);
        daemon_set_actions_provider(d, on_board_actions, m);
        refresh_sets(m);
        *ret = TAKE_PTR(m);
        return 0;
}

/**
 * fw_manager_free() - free the manager and its jobs
 * @m: the manager or NULL
 *
 * Running jobs are dropped, not ended: their files stay for the next start.
 *
 * Returns: NULL.
 */
FwManager *fw_manager_free(FwManager *m) {
        if (!m)
                return NULL;
        if (m->listening) {
                daemon_remove_listener(m->d, &daemon_listener, m);
                daemon_set_updating_query(m->d, NULL, NULL);
                daemon_set_actions_provider(m->d, NULL, NULL);
        }
        for (size_t i = 0; i < m->n_jobs; i++)
                fw_job_free(m->jobs[i]);
        free(m->jobs);
        sets_clear(m);
        free(m->inhibit_reason);
        json_decref(m->plan_sides);
        image_store_free(m->store);
        image_trust_done(&m->trust);
        listener_list_done(&m->listeners);
        free(m->state_dir);
        free(m);
        return NULL;
}
