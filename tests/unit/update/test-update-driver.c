/* Update-driver tests: a whole job (one controller, then a pair) driven by
 * update-driver.c through a fake host (update-driver.h's UpdateHost):
 * explicit time, requests answered by scripted fake controllers
 * (fake-vesc.c), FW_VERSION and GET_VALUES answered here.  Checks what the
 * driver itself owns: holds taken and released (a real core hold table), a
 * read refused while the job runs, output disabled before the
 * first erase, the job file while running and gone at the end, the history
 * entry, the report and the end state. */

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "crc.h"
#include "fake-vesc.h"
#include "fwimage.h"
#include "proto/vesc-comm.h"
#include "update/update-driver.h"
#include "wire.h"

#define UUID_A "3c0029000d51393236353934"
#define UUID_B "2f002b001451363336333531"
#define MAX_PENDING 64

/* ---------------------------------------------------------------- host */

struct UpdateTimer {
        UpdateTimerFn fn;
        void *data;
        bool armed;
        uint64_t at;
        UpdateTimer *next;
};

typedef struct Pending {
        bool used;
        uint64_t handle, at;
        RequestDoneFn done;
        void *userdata;
        int error;
        uint8_t replier;
        size_t len;
        uint8_t data[512];
} Pending;

typedef struct Host {
        UpdateHost ops;
        uint64_t now;
        FakeVesc fake[2];
        size_t n_fakes;
        Pending pending[MAX_PENDING];
        uint64_t next_handle;
        UpdateTimer *timers;
        /* observations */
        uint64_t wake_at[2];      /* a JUMPed fake answers again from then */
        HoldTable *holds;
        unsigned held_steps[2];   /* steps at which a read of the controller was refused */
        unsigned outputs_disabled, requests, scans, moves;
        bool job_ended;
        uint64_t changed_mask;
        /* board_settled(): what it answers, how often it was asked, and
         * whether the job still counted as updating when it was */
        bool board_final;
        unsigned settle_asks, settle_asked_updating;
        FwJob *job;
        char state_dir[64];
} Host;

static FakeVesc *fake_by_id(Host *h, uint8_t id) {
        for (size_t i = 0; i < h->n_fakes; i++)
                if (h->fake[i].id.can_id == id && !h->fake[i].down)
                        return &h->fake[i];
        return NULL;
}

static uint64_t h_now(void *u) {
        return ((Host *) u)->now;
}

static uint64_t h_scaled(void *u, uint64_t usec) {
        return usec;
}

static void complete_later(Host *h, uint64_t handle, const RequestParams *p, uint64_t delay, int error, uint8_t replier,
                           const uint8_t *data, size_t len) {
        for (size_t i = 0; i < MAX_PENDING; i++)
                if (!h->pending[i].used) {
                        h->pending[i] = (Pending) { .used = true, .handle = handle, .at = h->now + delay,
                                                    .done = p->done, .userdata = p->userdata, .error = error,
                                                    .replier = replier, .len = len };
                        if (len)
                                memcpy(h->pending[i].data, data, len);
                        return;
                }
        fail_msg("too many requests in flight");
}

static void fw_version_reply(const FakeVesc *f, uint8_t *buf, size_t size, size_t *ret_len) {
        VescFwVersion v = { .major = f->id.major, .minor = f->id.minor, .has_test_build = true,
                            .test_build = f->id.test_build, .has_hw_type = true, .has_ui_flags = true,
                            .has_fw_name = true, .has_hw_crc = true };
        ssize_t n;

        snprintf(v.hw_name, sizeof v.hw_name, "%s", f->id.hw_name);
        snprintf(v.fw_name, sizeof v.fw_name, "%s", f->id.fw_name);
        memcpy(v.uuid, f->id.uuid, VESC_UUID_LEN);
        n = vesc_fw_version_encode(&v, buf, size);
        assert_true(n > 0);
        *ret_len = (size_t) n;
}

static int h_request(void *u, const RequestParams *p, uint64_t *ret_handle) {
        Host *h = u;
        FakeVesc *f = fake_by_id(h, p->dest);
        uint64_t handle = ++h->next_handle;
        uint64_t timeout = (p->timeout_usec ? p->timeout_usec : 100 * USEC_PER_MSEC) * (1 + p->retries);
        uint8_t buf[512];
        size_t len = 0;

        h->requests++;
        *ret_handle = handle;
        assert_true(p->len >= 1);
        if (p->payload[0] == COMM_APP_DISABLE_OUTPUT) {
                if (p->len >= 6 && be32_get(p->payload + 2) != 0)
                        h->outputs_disabled++;
                complete_later(h, handle, p, 0, 0, p->dest, NULL, 0);
                return 0;
        }
        if (!f) {
                if (p->reply == REQUEST_REPLY_NONE)
                        complete_later(h, handle, p, 0, 0, p->dest, NULL, 0);
                else
                        complete_later(h, handle, p, timeout, -ETIMEDOUT, 0, NULL, 0);
                return 0;
        }
        if (p->payload[0] == COMM_FW_VERSION) {
                fw_version_reply(f, buf, sizeof buf, &len);
                complete_later(h, handle, p, USEC_PER_MSEC, 0, f->id.can_id, buf, len);
                return 0;
        }
        if (p->payload[0] == COMM_GET_VALUES) {
                VescValues v = { .present = vesc_values_mask_for_version(f->id.major, f->id.minor),
                                 .erpm = f->tel.erpm, .current_motor = f->tel.current_motor,
                                 .current_in = f->tel.current_in, .v_in = f->tel.v_in };
                ssize_t n = vesc_values_encode(&v, f->id.major, f->id.minor, buf, sizeof buf);
                assert_true(n > 0);
                complete_later(h, handle, p, USEC_PER_MSEC, 0, f->id.can_id, buf, (size_t) n);
                return 0;
        }

        FakeReply r;
        fake_vesc_receive(f, p->payload, p->len, p->reply == REQUEST_REPLY_NONE ? 2 : 0, &r);
        if (f->down)
                h->wake_at[f - h->fake] = f->back_after_usec == UINT64_MAX ? UINT64_MAX : h->now + f->back_after_usec;
        if (p->reply == REQUEST_REPLY_NONE)
                complete_later(h, handle, p, 0, 0, p->dest, NULL, 0);
        else if (r.any)
                complete_later(h, handle, p, r.delay_usec, 0, r.from_id, r.data, r.len);
        else
                complete_later(h, handle, p, timeout, -ETIMEDOUT, 0, NULL, 0);
        return 0;
}

static int h_cancel(void *u, uint64_t handle) {
        Host *h = u;

        for (size_t i = 0; i < MAX_PENDING; i++)
                if (h->pending[i].used && h->pending[i].handle == handle) {
                        Pending p = h->pending[i];
                        h->pending[i].used = false;
                        if (p.done)
                                p.done(p.userdata, -ECANCELED, 0, NULL, 0);
                        return 0;
                }
        return -ENOENT;
}

static UpdateTimer *h_timer_new(void *u, UpdateTimerFn fn, void *data) {
        Host *h = u;
        UpdateTimer *t = calloc(1, sizeof *t);

        assert_non_null(t);
        t->fn = fn;
        t->data = data;
        t->next = h->timers;
        h->timers = t;
        return t;
}

static void h_timer_arm(void *u, UpdateTimer *t, uint64_t at) {
        t->armed = true;
        t->at = at;
}

static void h_timer_disarm(void *u, UpdateTimer *t) {
        t->armed = false;
}

static void h_timer_free(void *u, UpdateTimer *t) {
        Host *h = u;

        for (UpdateTimer **p = &h->timers; *p; p = &(*p)->next)
                if (*p == t) {
                        *p = t->next;
                        free(t);
                        return;
                }
        fail_msg("freeing an unknown timer");
}

static int h_lookup(void *u, const uint8_t uuid[VESC_UUID_LEN]) {
        Host *h = u;

        for (size_t i = 0; i < h->n_fakes; i++)
                if (memcmp(h->fake[i].id.uuid, uuid, VESC_UUID_LEN) == 0)
                        return h->fake[i].id.can_id;
        return -1;
}

static void h_identified(void *u, uint8_t can_id, const uint8_t *reply, size_t len) {
}

static int h_scan(void *u) {
        ((Host *) u)->scans++;
        return 0;
}

static HoldTable *h_holds(void *u) {
        return ((Host *) u)->holds;
}

static void h_moved(void *u, const uint8_t uuid[VESC_UUID_LEN], uint8_t can_id) {
        ((Host *) u)->moves++;
}

static bool h_board_settled(void *u) {
        Host *h = u;

        h->settle_asks++;
        if (h->job && fw_job_updating(h->job))
                h->settle_asked_updating++;
        return h->board_final;
}

static void host_init(Host *h, size_t n) {
        *h = (Host) {
                .ops = { .now = h_now, .scaled = h_scaled, .request = h_request, .cancel = h_cancel,
                         .timer_new = h_timer_new, .timer_arm = h_timer_arm, .timer_disarm = h_timer_disarm,
                         .timer_free = h_timer_free, .lookup = h_lookup, .identified = h_identified,
                         .scan = h_scan, .holds = h_holds, .moved = h_moved },
                .now = 1000 * USEC_PER_SEC,
                .n_fakes = n,
        };
        h->ops.userdata = h;
        assert_int_equal(hold_table_new(&h->holds), 0);
        snprintf(h->state_dir, sizeof h->state_dir, "/tmp/test-update-driver-XXXXXX");
        assert_non_null(mkdtemp(h->state_dir));
        fake_vesc_init(&h->fake[0], UUID_A, 12, 5, 3, 1, 0x1234);
        if (n > 1)
                fake_vesc_init(&h->fake[1], UUID_B, 74, 5, 3, 1, 0x5678);
        for (size_t i = 0; i < n; i++)
                h->fake[i].tel.v_in = 40.0;
}

static void rm_rf(const char *dir) {
        char cmd[128];

        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
}

static void host_done(Host *h) {
        assert_null(h->timers); /* the job freed every timer it made */
        h->holds = hold_table_free(h->holds);
        for (size_t i = 0; i < h->n_fakes; i++)
                fake_vesc_done(&h->fake[i]);
        rm_rf(h->state_dir);
}

/* Fire the earliest completion or timer; false when nothing is pending. */
static bool host_step(Host *h) {
        uint64_t at = UINT64_MAX;
        Pending *p = NULL;
        UpdateTimer *t = NULL;

        for (size_t i = 0; i < MAX_PENDING; i++)
                if (h->pending[i].used && h->pending[i].at < at) {
                        at = h->pending[i].at;
                        p = &h->pending[i];
                }
        for (UpdateTimer *x = h->timers; x; x = x->next)
                if (x->armed && x->at < at) {
                        at = x->at;
                        t = x;
                        p = NULL;
                }
        if (at == UINT64_MAX)
                return false;
        if (at > h->now)
                h->now = at;
        /* a JUMP's reboot: the fake answers again once its time is up */
        for (size_t i = 0; i < h->n_fakes; i++)
                if (h->fake[i].down && h->wake_at[i] != 0 && h->now >= h->wake_at[i])
                        fake_vesc_wake(&h->fake[i]);
        if (t) {
                t->armed = false;
                t->fn(t->data);
        } else {
                Pending c = *p;
                p->used = false;
                if (c.done)
                        c.done(c.userdata, c.error, c.replier, c.error ? NULL : c.data, c.len);
        }
        return true;
}

/* ------------------------------------------------------------- images */

typedef struct Images {
        FwImage v358, v503, v605;
        uint8_t *s503, *s605, *bl605;
} Images;

static uint64_t lcg(uint64_t *x) {
        *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
        return *x >> 33;
}

static uint8_t *make_stream(size_t n, uint64_t seed, bool compressed) {
        uint8_t *s = malloc(n + 6);

        assert_non_null(s);
        for (size_t i = 0; i < n; i++)
                s[6 + i] = (uint8_t) lcg(&seed);
        memset(s + 6 + n - 40000, 0xFF, 40000); /* an erased tail, as real images have */
        be32_put(s, compressed ? (VESC_COMPRESSED_FLAG << 24) | (uint32_t) n : (uint32_t) n);
        be16_put(s + 4, crc16(s + 6, n));
        return s;
}

static int images_setup(void **state) {
        Images *im = calloc(1, sizeof *im);
        uint64_t seed = 7;

        im->s503 = make_stream(VESC_APP_SIZE_V5, 1, false);
        im->v503 = (FwImage) { .hw_name = "60", .major = 5, .minor = 3, .min_bootloader = 1,
                               .raw_size = VESC_APP_SIZE_V5, .stream = im->s503, .stream_len = VESC_APP_SIZE_V5 + 6 };
        im->s605 = make_stream(300000, 2, true);
        im->bl605 = malloc(5500);
        for (size_t i = 0; i < 5500; i++)
                im->bl605[i] = (uint8_t) lcg(&seed);
        im->v605 = (FwImage) { .hw_name = "60", .major = 6, .minor = 5, .min_bootloader = 2,
                               .raw_size = VESC_APP_SIZE_V6, .stream = im->s605, .stream_len = 300006,
                               .bootloader = im->bl605, .bootloader_len = 5500, .bootloader_generation = 2 };
        *state = im;
        return 0;
}

static int images_teardown(void **state) {
        Images *im = *state;

        free(im->s503);
        free(im->s605);
        free(im->bl605);
        free(im);
        return 0;
}

/* ---------------------------------------------------------------- jobs */

static void on_changed(void *userdata, FwJob *j, uint64_t mask) {
        ((Host *) userdata)->changed_mask |= mask;
}

static void on_ended(void *userdata, FwJob *j) {
        Host *h = userdata;

        assert_false(h->job_ended);
        assert_false(fw_job_running(j));
        h->job_ended = true;
}

static const FwJobCallbacks callbacks = { .changed = on_changed, .ended = on_ended };

static bool job_file_exists(const Host *h, unsigned id) {
        char path[128];

        snprintf(path, sizeof path, "%s/firmware/jobs/job-%u.json", h->state_dir, id);
        return access(path, F_OK) == 0;
}

static FwJob *job_new(Host *h, const FwImage *img) {
        FwJobImages im = { .n = h->n_fakes };
        FwUpdateParams p = { .n_sides = h->n_fakes };
        FwJob *j = NULL;

        for (size_t i = 0; i < h->n_fakes; i++) {
                im.img[i] = *img;  /* buffers borrowed: stream[]/bootloader[] stay NULL */
                p.controllers[i] = h->fake[i].id;
                for (size_t k = 0; k < 2; k++) {
                        h->fake[i].known[k] = k == 0 ? img : NULL;
                }
        }
        assert_int_equal(fw_job_new(&h->ops, 3, h->n_fakes > 1 ? "pair" : "update", "0123456789abcdef", &im, &p,
                                    &(FwJobOptions) {}, h->state_dir, &callbacks, h, &j),
                         0);
        return j;
}

/* Run the job to its end; the file exists while it runs. */
static void run(Host *h, FwJob *j) {
        bool saw_file = false;

        assert_int_equal(fw_job_start(j), 0);
        for (unsigned steps = 0; !h->job_ended; steps++) {
                assert_true(steps < 1000000);
                saw_file |= job_file_exists(h, fw_job_id(j));
                for (size_t i = 0; i < h->n_fakes; i++)
                        if (hold_check(h->holds, h->fake[i].id.uuid, HOLD_SHARED, false, NULL) == -EBUSY)
                                h->held_steps[i]++;
                assert_true(host_step(h)); /* something is always pending while the job runs */
        }
        /* publication of the end is a timer too */
        while (host_step(h))
                ;
        assert_true(saw_file);
        assert_false(job_file_exists(h, fw_job_id(j)));
        /* every hold is given back at the end */
        for (size_t i = 0; i < h->n_fakes; i++)
                assert_int_equal(hold_check(h->holds, h->fake[i].id.uuid, HOLD_EXCLUSIVE, false, NULL), 0);
}

static void assert_history(const Host *h, const char *state) {
        char path[128];
        json_t *hist, *e;

        snprintf(path, sizeof path, "%s/firmware/history.json", h->state_dir);
        hist = json_load_file(path, 0, NULL);
        assert_non_null(hist);
        assert_int_equal(json_array_size(hist), 1);
        e = json_array_get(hist, 0);
        assert_int_equal(json_integer_value(json_object_get(e, "id")), 3);
        assert_string_equal(json_string_value(json_object_get(e, "state")), state);
        assert_non_null(json_object_get(e, "started"));
        assert_non_null(json_object_get(e, "ended"));
        /* the final progress is kept: 100 for done */
        if (strcmp(state, "done") == 0)
                assert_int_equal(json_integer_value(json_object_get(e, "progress")), 100);
        else
                assert_true(json_integer_value(json_object_get(e, "progress")) < 100);
        json_decref(hist);
}

/* One controller (12, 3, 58, the 6.05 bootloader) and a job updating it to 5.03. */
static FwJob *single_job_new(Host *h, const Images *im) {
        host_init(h, 1);
        fake_vesc_set(&h->fake[0], 12, 3, 58);
        h->fake[0].set_bootloader = im->bl605;
        h->fake[0].set_bootloader_len = im->v605.bootloader_len;
        return job_new(h, &im->v503);
}

static void test_single_job(void **state) {
        const Images *im = *state;
        Host h;
        FwJob *j;

        j = single_job_new(&h, im);
        run(&h, j);

        assert_int_equal(fw_job_state(j), FW_JOB_DONE);
        assert_string_equal(fw_job_error_code(j), "");
        assert_int_equal(fw_job_progress(j).percent, 100);
        assert_int_equal(h.fake[0].installs, 1);
        assert_int_equal(h.fake[0].id.major, 5);
        assert_int_equal(h.fake[0].id.minor, 3);
        /* held while it ran (reads refused), output disabled before the erase */
        assert_true(h.held_steps[0] > 0);
        assert_int_equal(h.outputs_disabled, 1);
        assert_true(h.changed_mask & FW_JOB_CHANGED_STATE);
        json_t *rep = fw_job_report(j);
        assert_non_null(rep);
        assert_true(json_is_true(json_object_get(json_array_get(json_object_get(rep, "sides"), 0), "updated")));
        assert_history(&h, "done");

        fw_job_free(j);
        host_done(&h);
}

static void test_pair_job(void **state) {
        const Images *im = *state;
        Host h;
        FwJob *j;

        host_init(&h, 2);
        for (size_t i = 0; i < 2; i++) {
                h.fake[i].set_bootloader = im->bl605;
                h.fake[i].set_bootloader_len = im->v605.bootloader_len;
        }
        j = job_new(&h, &im->v605);
        run(&h, j);

        assert_int_equal(fw_job_state(j), FW_JOB_DONE);
        for (size_t i = 0; i < 2; i++) {
                assert_int_equal(h.fake[i].installs, 1);
                assert_int_equal(h.fake[i].bl_gen, 2);
                assert_int_equal(h.fake[i].id.major, 6);
                assert_true(h.held_steps[i] > 0);
                assert_int_equal(fw_job_side_phase(j, i), FW_PHASE_DONE);
        }
        assert_int_equal(h.outputs_disabled, 2);
        assert_history(&h, "done");

        fw_job_free(j);
        host_done(&h);
}

/* A controller that never answers: the job fails in checking, sends
 * nothing that changes it, and is in the history as failed. */
static void test_single_lost(void **state) {
        const Images *im = *state;
        Host h;
        FwJob *j;

        host_init(&h, 1);
        j = job_new(&h, &im->v503);
        h.fake[0].down = true;      /* and never woken: wake_at stays 0 */
        run(&h, j);

        assert_int_equal(fw_job_state(j), FW_JOB_FAILED);
        assert_string_equal(fw_job_error_code(j), "ControllerLost");
        assert_int_equal(h.outputs_disabled, 0);
        assert_int_equal(h.fake[0].erases, 0);
        assert_history(&h, "failed");

        fw_job_free(j);
        host_done(&h);
}

/* Run a job with a host whose board view is not final until @final_after
 * (UINT64_MAX: never) after the job let its controllers go: the end is
 * announced only once the host says the view is final, or after
 * FW_JOB_SETTLE_MAX_USEC.  Returns the time the job let them go. */
static uint64_t run_until_let_go(Host *h, FwJob *j) {
        h->ops.board_settled = h_board_settled;
        h->job = j;
        assert_int_equal(fw_job_start(j), 0);
        for (unsigned steps = 0; fw_job_updating(j); steps++) {
                assert_true(steps < 1000000);
                assert_true(host_step(h));
        }
        return h->now;
}

static void assert_waiting(Host *h, FwJob *j) {
        /* still running to everyone, nothing about its end published */
        assert_int_equal(fw_job_state(j), FW_JOB_RUNNING);
        assert_true(fw_job_running(j));
        assert_false(fw_job_updating(j));
        assert_false(h->job_ended);
        assert_false(h->changed_mask & FW_JOB_CHANGED_STATE);
        assert_string_equal(fw_job_error_code(j), "");
        assert_null(fw_job_report(j));
        assert_true(fw_job_progress(j).percent < 100);
        assert_false(fw_job_progress(j).do_not_power_off);
        /* but the controllers are let go, the end is in the history and a
         * restart does not resume it */
        assert_int_equal(hold_check(h->holds, h->fake[0].id.uuid, HOLD_EXCLUSIVE, false, NULL), 0);
        assert_false(job_file_exists(h, fw_job_id(j)));
        assert_history(h, "done");
}

/* single_job_new(), run until the controllers are let go (the time:
 * *ret_let_go), then, the change mask cleared, until the job first asks
 * whether the board's view is final. */
static FwJob *single_job_until_settle_ask(Host *h, const Images *im, uint64_t *ret_let_go) {
        FwJob *j = single_job_new(h, im);

        *ret_let_go = run_until_let_go(h, j);
        h->changed_mask = 0;
        while (h->settle_asks == 0)
                assert_true(host_step(h));
        return j;
}

static void test_end_waits_for_board(void **state) {
        const Images *im = *state;
        Host h;
        FwJob *j;
        uint64_t let_go;

        /* the publication timer runs: the view is not final, the end waits */
        j = single_job_until_settle_ask(&h, im, &let_go);
        assert_int_equal(h.settle_asked_updating, 0);
        assert_waiting(&h, j);
        assert_true(h.now < let_go + FW_JOB_SETTLE_MAX_USEC);

        /* the view is final (the check ended): announced at the next step */
        h.board_final = true;
        fw_job_board_settled(j);
        assert_false(h.job_ended); /* not from inside the call */
        assert_true(host_step(&h));
        assert_true(h.job_ended);
        assert_true(h.changed_mask & FW_JOB_CHANGED_STATE);
        assert_int_equal(fw_job_state(j), FW_JOB_DONE);
        assert_int_equal(fw_job_progress(j).percent, 100);
        assert_non_null(fw_job_report(j));
        assert_true(h.now < let_go + FW_JOB_SETTLE_MAX_USEC);
        while (host_step(&h))
                ;
        assert_int_equal(h.settle_asked_updating, 0);

        fw_job_free(j);
        host_done(&h);
}

/* A view that never becomes final delays the end by the bound only. */
static void test_end_waits_bounded(void **state) {
        const Images *im = *state;
        Host h;
        FwJob *j;
        uint64_t let_go;

        j = single_job_until_settle_ask(&h, im, &let_go);
        assert_waiting(&h, j);
        while (!h.job_ended)
                assert_true(host_step(&h));
        assert_true(h.now >= let_go + FW_JOB_SETTLE_MAX_USEC);
        assert_int_equal(fw_job_state(j), FW_JOB_DONE);
        assert_true(h.changed_mask & FW_JOB_CHANGED_STATE);
        while (host_step(&h))
                ;

        fw_job_free(j);
        host_done(&h);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_single_job),
                cmocka_unit_test(test_pair_job),
                cmocka_unit_test(test_single_lost),
                cmocka_unit_test(test_end_waits_for_board),
                cmocka_unit_test(test_end_waits_bounded),
        };

        return cmocka_run_group_tests(tests, images_setup, images_teardown);
}
