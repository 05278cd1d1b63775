/* Update-engine tests: the pure state machine driven by a small event loop
 * with explicit time and scripted fake controllers (fake-vesc.c).  An hour
 * of timeouts runs in milliseconds; every run checks that the progress
 * never decreases and that the machine never stalls. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crc.h"
#include "fake-vesc.h"
#include "proto/vesc-can.h"
#include "update/update-engine.h"
#include "update/update-store.h"
#include "fwimage.h"
#include "wire.h"

#define UUID_A "3c0029000d51393236353934"
#define UUID_B "2f002b001451363336333531"

/* ------------------------------------------------------------ fixtures */

typedef struct Images {
        FwImage v503, v605, v503_other_hw;
        uint8_t *s503, *s605, *bl605;
} Images;

static uint64_t lcg(uint64_t *x) {
        *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
        return *x >> 33;
}

/* A plausible image: vector table, code-like bytes, erased EEPROM
 * sectors 1-2 and an erased tail, as the real .bin files have. */
static void fill_image(uint8_t *p, size_t n, uint64_t seed) {
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t) lcg(&seed);
        memset(p + 0x4000, 0xFF, 0x8000);
        memset(p + n - 40000, 0xFF, 40000);
        be32_put(p, 0x00080020); /* little-endian SP/reset not needed by the engine */
}

static uint8_t *make_stream(const uint8_t *data, size_t n, bool compressed) {
        uint8_t *s = malloc(n + 6);
        uint32_t word = compressed ? (VESC_COMPRESSED_FLAG << 24) | (uint32_t) n : (uint32_t) n;

        be32_put(s, word);
        be16_put(s + 4, crc16(data, n));
        memcpy(s + 6, data, n);
        return s;
}

static int images_setup(void **state) {
        Images *im = calloc(1, sizeof *im);
        uint8_t *raw = malloc(VESC_APP_SIZE_V5);
        uint64_t seed = 42;

        fill_image(raw, VESC_APP_SIZE_V5, 1);
        im->s503 = make_stream(raw, VESC_APP_SIZE_V5, false);
        free(raw);
        im->v503 = (FwImage) { .hw_name = "60", .major = 5, .minor = 3, .min_bootloader = 1,
                               .raw_size = VESC_APP_SIZE_V5, .stream = im->s503,
                               .stream_len = VESC_APP_SIZE_V5 + 6 };
        im->v503_other_hw = im->v503;
        strcpy(im->v503_other_hw.hw_name, "75_300");

        /* "Compressed" 6.05: the engine never decompresses, the fake's
         * bootloader checks header and CRC only. */
        raw = malloc(300000);
        fill_image(raw, 300000, 2);
        im->s605 = make_stream(raw, 300000, true);
        free(raw);
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

/* ----------------------------------------------------------- simulator */

typedef enum SimKind { SIM_ENGINE, SIM_WAKE } SimKind;

typedef struct SimEvent {
        uint64_t at;
        SimKind kind;
        size_t fake;
        FwEvent ev;
        uint8_t data[512];
        FwIdentity id;
        char hw[16];
} SimEvent;

typedef struct Sim {
        const Images *im;
        FwUpdateJob *job;
        FwUpdateParams params;
        FakeVesc fake[4];
        size_t n_fakes;
        uint64_t now;
        SimEvent q[64];
        size_t nq;
        bool timer_armed[1 + FW_SIDES_MAX];
        uint64_t timer_at[1 + FW_SIDES_MAX];
        FwActions actions;

        /* observations */
        unsigned percent;
        bool finished, saw_100;
        FwActionType end;
        FwError error;
        char text[1024];
        json_t *report, *snapshot;
        FwPhase stop_at;             /* stop after a PERSIST showing this side phase */
        bool stopped;
        unsigned outstanding_erases, max_outstanding_erases;
        unsigned outstanding_writes, max_outstanding_writes;
        unsigned erase_pending[4], write_pending[4];
        /* JUMPs in order (fake index), and JUMPs of a fake whose landing id
         * (new_id_after_reboot) another fake was at or was landing on */
        size_t jump_order[8], n_jumps;
        unsigned landing_collisions;
        bool dnpo_seen;
        uint64_t last_jump_at, confirmed_at;  /* sim time of the last JUMP and the last "confirmed" log */
        unsigned logs;
        bool verbose;
} Sim;

static void sim_push(Sim *sim, const SimEvent *e) {
        assert_true(sim->nq < ELEMENTSOF(sim->q));
        sim->q[sim->nq++] = *e;
}

static FakeVesc *fake_by_id(Sim *sim, uint8_t id) {
        for (size_t i = 0; i < sim->n_fakes; i++)
                if (sim->fake[i].id.can_id == id && !sim->fake[i].down)
                        return &sim->fake[i];
        return NULL;
}

static FakeVesc *fake_by_uuid(Sim *sim, const uint8_t *uuid) {
        for (size_t i = 0; i < sim->n_fakes; i++)
                if (memcmp(sim->fake[i].id.uuid, uuid, VESC_UUID_LEN) == 0)
                        return &sim->fake[i];
        return NULL;
}

static unsigned pending_sum(const unsigned v[static 4]) {
        return v[0] + v[1] + v[2] + v[3];
}

/* A JUMP to fake fi: does it land on an id another fake is at, or lands on? */
static void sim_note_jump(Sim *sim, size_t fi) {
        const FakeVesc *f = &sim->fake[fi];

        if (sim->n_jumps < ELEMENTSOF(sim->jump_order))
                sim->jump_order[sim->n_jumps++] = fi;
        if (f->new_id_after_reboot < 0)
                return;
        for (size_t k = 0; k < sim->n_fakes; k++) {
                const FakeVesc *o = &sim->fake[k];
                if (k == fi)
                        continue;
                if ((!o->down && o->id.can_id == f->new_id_after_reboot) ||
                    (o->down && o->new_id_after_reboot == f->new_id_after_reboot))
                        sim->landing_collisions++;
        }
}

static void sim_send(Sim *sim, const FwAction *a) {
        FakeVesc *f = fake_by_id(sim, a->can_id);
        FakeReply r;
        size_t fi;

        if (!f)
                return;
        fi = (size_t) (f - sim->fake);
        if (a->data[0] == 1) {
                sim_note_jump(sim, fi);
                sim->last_jump_at = sim->now;
        }
        if (a->data[0] == 2) {
                sim->erase_pending[fi]++;
                sim->max_outstanding_erases = MAX(sim->max_outstanding_erases, pending_sum(sim->erase_pending));
        }
        if (a->data[0] == 3) {
                sim->write_pending[fi] = 1;
                sim->max_outstanding_writes = MAX(sim->max_outstanding_writes, pending_sum(sim->write_pending));
        }
        fake_vesc_receive(f, a->data, a->len, a->mode, &r);
        if (f->down && a->data[0] == 1) {
                SimEvent w = { .at = sim->now + f->back_after_usec, .kind = SIM_WAKE, .fake = fi };
                if (f->back_after_usec != UINT64_MAX)
                        sim_push(sim, &w);
        }
        if (!r.any)
                return;
        SimEvent e = { .at = sim->now + r.delay_usec, .kind = SIM_ENGINE, .fake = fi,
                       .ev = { .type = FW_EVENT_REPLY, .can_id = r.from_id, .len = r.len } };
        memcpy(e.data, r.data, r.len);
        sim_push(sim, &e);
}

static void sim_actions(Sim *sim) {
        for (size_t i = 0; i < sim->actions.n; i++) {
                FwAction *a = &sim->actions.v[i];
                FakeVesc *f;

                switch (a->type) {
                case FW_ACTION_SEND:
                        sim_send(sim, a);
                        break;
                case FW_ACTION_IDENTIFY:
                        f = fake_by_uuid(sim, a->uuid);
                        if (f && !f->down) {
                                SimEvent e = { .at = sim->now + 20 * USEC_PER_MSEC, .kind = SIM_ENGINE,
                                               .ev = { .type = FW_EVENT_CONTROLLER_SEEN }, .id = f->id };
                                sim_push(sim, &e);
                        }
                        break;
                case FW_ACTION_REQUEST_TELEMETRY:
                        f = fake_by_id(sim, a->can_id);
                        if (f) {
                                SimEvent e = { .at = sim->now + 5 * USEC_PER_MSEC, .kind = SIM_ENGINE,
                                               .ev = { .type = FW_EVENT_TELEMETRY, .can_id = f->id.can_id,
                                                       .telemetry = f->tel } };
                                sim_push(sim, &e);
                        }
                        break;
                case FW_ACTION_ARM_TIMER:
                        assert_true(a->timer <= FW_SIDES_MAX);
                        assert_true(a->at_usec >= sim->now);
                        sim->timer_armed[a->timer] = true;
                        sim->timer_at[a->timer] = a->at_usec;
                        break;
                case FW_ACTION_CANCEL_TIMER:
                        sim->timer_armed[a->timer] = false;
                        break;
                case FW_ACTION_PROGRESS:
                        /* The percentage never decreases, over every run. */
                        assert_true(a->progress.percent >= sim->percent);
                        assert_true(a->progress.percent <= 100);
                        sim->percent = a->progress.percent;
                        sim->saw_100 |= a->progress.percent == 100;
                        sim->dnpo_seen |= a->progress.do_not_power_off;
                        break;
                case FW_ACTION_PERSIST: {
                        /* what the driver stores: the snapshot through the store's codec */
                        FwSnapshot snap;
                        fw_update_job_snapshot(sim->job, &snap);
                        json_decref(sim->snapshot);
                        sim->snapshot = update_store_snapshot_json(&snap);
                        assert_non_null(sim->snapshot);
                        if (sim->stop_at >= 0) {
                                json_t *sides = json_object_get(sim->snapshot, "sides"), *s;
                                size_t k;
                                json_array_foreach(sides, k, s)
                                        if (strcmp(json_string_value(json_object_get(s, "phase")),
                                                   fw_phase_to_string(sim->stop_at)) == 0)
                                                sim->stopped = true;
                        }
                        break;
                }
                case FW_ACTION_LOG:
                        sim->logs++;
                        if (strstr(a->text, "confirmed: runs"))
                                sim->confirmed_at = sim->now;
                        if (sim->verbose)
                                fprintf(stderr, "[%8.3f] %s\n", (double) sim->now / 1e6, a->text);
                        break;
                case FW_ACTION_DONE:
                case FW_ACTION_FAILED: {
                        FwReport rep;
                        assert_false(sim->finished);
                        sim->finished = true;
                        sim->end = a->type;
                        sim->error = a->error;
                        snprintf(sim->text, sizeof sim->text, "%s", a->text);
                        json_decref(sim->report);
                        fw_update_job_report(sim->job, &rep);
                        sim->report = update_store_report_json(&rep);
                        assert_non_null(sim->report);
                        if (sim->verbose)
                                fprintf(stderr, "END %s\n", a->text);
                        break;
                }
                default:
                        fail();
                }
        }
        fw_actions_clear(&sim->actions);
}

static int sim_handle(Sim *sim, const FwEvent *ev) {
        int r = fw_update_handle(sim->job, ev, sim->now, &sim->actions);
        sim_actions(sim);
        return r;
}

/* The store's codec loses nothing it reads back: every snapshot a test
 * resumes from is parsed, written again and compared (the gates are for
 * people and not read back). */
static void assert_snapshot_round_trip(json_t *snap, const FwSnapshot *s) {
        json_t *again = update_store_snapshot_json(s);
        json_t *a, *b;
        size_t i;

        assert_non_null(again);
        json_array_foreach(json_object_get(snap, "sides"), i, a) {
                b = json_array_get(json_object_get(again, "sides"), i);
                assert_non_null(b);
                json_object_del(a = json_deep_copy(a), "gates");
                json_object_del(b, "gates");
                if (!json_equal(a, b)) {
                        char *x = json_dumps(a, JSON_SORT_KEYS), *y = json_dumps(b, JSON_SORT_KEYS);
                        print_error("side %zu written %s\nread back %s\n", i, x, y);
                        free(x);
                        free(y);
                        fail();
                }
                json_decref(a);
        }
        json_object_del(snap = json_deep_copy(snap), "sides");
        json_object_del(again, "sides");
        assert_true(json_equal(snap, again));
        json_decref(snap);
        json_decref(again);
}

/* RESUME from a persisted snapshot, read back through the store's codec. */
static int resume_json(FwUpdateJob *job, json_t *snap, bool abandon, uint64_t now, FwActions *a) {
        FwSnapshot s;
        int r = update_store_snapshot_parse(snap, &s);

        if (r >= 0)
                assert_snapshot_round_trip(snap, &s);
        if (r >= 0)
                r = fw_update_handle(job, &(FwEvent) { .type = FW_EVENT_RESUME, .snapshot = &s, .abandon = abandon },
                                     now, a);
        update_store_snapshot_done(&s);
        return r;
}

static int sim_resume(Sim *sim, json_t *snap, bool abandon) {
        int r = resume_json(sim->job, snap, abandon, sim->now, &sim->actions);
        sim_actions(sim);
        return r;
}

static void sim_init(Sim *sim, const Images *im, size_t n) {
        *sim = (Sim) { .im = im, .n_fakes = n, .now = 1000 * USEC_PER_SEC, .stop_at = _FW_PHASE_INVALID,
                       .verbose = getenv("FW_TEST_VERBOSE") != NULL };
        fake_vesc_init(&sim->fake[0], UUID_A, 12, 5, 3, 1, 0x1234);
        if (n > 1)
                fake_vesc_init(&sim->fake[1], UUID_B, 74, 5, 3, 1, 0x5678);
        for (size_t i = 0; i < n; i++) {
                sim->fake[i].known[0] = &im->v503;
                sim->fake[i].known[1] = &im->v605;
                sim->fake[i].set_bootloader = im->bl605;
                sim->fake[i].set_bootloader_len = im->v605.bootloader_len;
        }
}

/* Build the job from the fakes' current identities (what discovery knows). */
static void sim_job(Sim *sim, const FwImage *img) {
        sim->params.n_sides = sim->n_fakes;
        for (size_t i = 0; i < sim->n_fakes; i++) {
                sim->params.controllers[i] = sim->fake[i].id;
                sim->params.images[i] = img;
        }
        assert_int_equal(fw_update_job_new(&sim->params, &sim->job), 0);
}

static void sim_done(Sim *sim) {
        sim->job = fw_update_job_free(sim->job);
        fw_actions_done(&sim->actions);
        json_decref(sim->report);
        json_decref(sim->snapshot);
        for (size_t i = 0; i < sim->n_fakes; i++)
                fake_vesc_done(&sim->fake[i]);
}

/* Run until the job ends (or stops at sim->stop_at); fails on a stall. */
static void sim_run(Sim *sim) {
        uint64_t limit = sim->now + 3600 * USEC_PER_SEC;

        while (!sim->finished && !sim->stopped) {
                size_t best = SIZE_MAX;
                uint64_t at = UINT64_MAX;
                int timer = -1;

                for (size_t i = 0; i < sim->nq; i++)
                        if (sim->q[i].at < at) {
                                at = sim->q[i].at;
                                best = i;
                        }
                for (unsigned t = 0; t <= FW_SIDES_MAX; t++)
                        if (sim->timer_armed[t] && sim->timer_at[t] < at) {
                                at = sim->timer_at[t];
                                timer = (int) t;
                                best = SIZE_MAX;
                        }
                assert_true(at != UINT64_MAX); /* nothing pending: the machine stalled */
                assert_true(at <= limit);
                sim->now = at;
                if (timer >= 0) {
                        sim->timer_armed[timer] = false;
                        sim_handle(sim, &(FwEvent) { .type = FW_EVENT_TIMEOUT, .timer = (unsigned) timer });
                        continue;
                }
                SimEvent e = sim->q[best];
                sim->q[best] = sim->q[--sim->nq];
                if (e.kind == SIM_WAKE) {
                        FakeVesc *f = &sim->fake[e.fake];
                        if (fake_vesc_wake(f) && f->id.major >= 6) {
                                SimEvent b = { .at = sim->now + 500 * USEC_PER_MSEC, .kind = SIM_ENGINE,
                                               .ev = { .type = FW_EVENT_BOOT, .can_id = f->id.can_id } };
                                snprintf(b.hw, sizeof b.hw, "%s", f->id.hw_name);
                                sim_push(sim, &b);
                        }
                        continue;
                }
                if (e.ev.type == FW_EVENT_REPLY) {
                        if (e.data[0] == 2 && sim->erase_pending[e.fake])
                                sim->erase_pending[e.fake]--;
                        if (e.data[0] == 3)
                                sim->write_pending[e.fake] = 0;
                }
                e.ev.data = e.data;
                e.ev.identity = &e.id;
                e.ev.hw_name = e.hw;
                sim_handle(sim, &e.ev);
        }
}

static void sim_start(Sim *sim, const FwImage *img) {
        sim_job(sim, img);
        assert_int_equal(sim_handle(sim, &(FwEvent) { .type = FW_EVENT_START }), 0);
        sim_run(sim);
}

static json_t *report_side(const Sim *sim, size_t i) {
        return json_array_get(json_object_get(sim->report, "sides"), i);
}

static const char *report_str(const Sim *sim, size_t i, const char *key) {
        return json_string_value(json_object_get(report_side(sim, i), key));
}

static void assert_done(const Sim *sim) {
        assert_true(sim->finished);
        if (sim->end != FW_ACTION_DONE)
                fprintf(stderr, "unexpected failure: %s\n", sim->text);
        assert_int_equal(sim->end, FW_ACTION_DONE);
        assert_int_equal(fw_update_job_state(sim->job), FW_JOB_DONE);
        assert_true(sim->saw_100);
}

static void assert_failed(const Sim *sim, FwError e) {
        assert_true(sim->finished);
        assert_int_equal(sim->end, FW_ACTION_FAILED);
        if (sim->error != e)
                fprintf(stderr, "error %s, expected %s: %s\n", fw_error_to_string(sim->error), fw_error_to_string(e), sim->text);
        assert_int_equal(sim->error, e);
        assert_non_null(sim->report);
}

static void set_version(FakeVesc *f, uint8_t major, uint8_t minor) {
        fake_vesc_set(f, f->id.can_id, major, minor);
}

/* -------------------------------------------------------------- single */

static void test_single_358_to_503(void **state) {
        Sim sim;

        sim_init(&sim, *state, 1);
        fake_vesc_set(&sim.fake[0], 74, 3, 58);
        sim_start(&sim, &sim.im->v503);
        assert_done(&sim);
        assert_int_equal(sim.fake[0].id.major, 5);
        assert_int_equal(sim.fake[0].id.minor, 3);
        assert_int_equal(sim.fake[0].bl_erases, 0);   /* plain image: no bootloader step */
        assert_int_equal(sim.fake[0].erases, 1);
        assert_int_equal(sim.fake[0].ff_writes, 0);   /* erased 0xFF chunks not sent */
        assert_true(sim.fake[0].writes < (VESC_APP_SIZE_V5 + 6) / 384);
        assert_memory_equal(sim.fake[0].newapp, sim.im->s503, VESC_APP_SIZE_V5 + 6);
        assert_true(sim.dnpo_seen);
        /* 3.58 and 5.03 layouts differ: the backup is carried by name into
         * the new configuration, the report lists the names. */
        json_t *mig = json_object_get(json_object_get(report_side(&sim, 0), "migration"), "mcconf");
        assert_non_null(mig);
        assert_string_equal(json_string_value(json_object_get(mig, "from")), "3.58");
        assert_string_equal(json_string_value(json_object_get(mig, "to")), "5.03");
        assert_true(json_array_size(json_object_get(mig, "carried")) > 50);
        assert_true(json_array_size(json_object_get(mig, "dropped")) > 0);
        assert_true(json_array_size(json_object_get(mig, "defaulted")) > 0);
        assert_null(strstr(report_str(&sim, 0, "redo"), "motor detection"));
        assert_string_equal(report_str(&sim, 0, "runs"), "5.03");
        assert_string_equal(report_str(&sim, 0, "before"), "3.58");
        sim_done(&sim);
}

/* MigrateConfig false: the motor configuration stays at the new defaults. */
static void test_single_358_to_503_no_migration(void **state) {
        Sim sim;

        sim_init(&sim, *state, 1);
        fake_vesc_set(&sim.fake[0], 74, 3, 58);
        sim.params.skip_config_migration = true;
        sim_start(&sim, &sim.im->v503);
        assert_done(&sim);
        assert_non_null(strstr(report_str(&sim, 0, "redo"), "motor detection"));
        assert_int_equal(json_object_size(json_object_get(report_side(&sim, 0), "migration")), 0);
        sim_done(&sim);
}

static void test_single_503_to_605_bootloader(void **state) {
        Sim sim;

        sim_init(&sim, *state, 1);
        sim_start(&sim, &sim.im->v605);
        assert_done(&sim);
        assert_int_equal(sim.fake[0].bl_erases, 1);
        assert_int_equal(sim.fake[0].bl_gen, 2);
        assert_int_equal(sim.fake[0].id.major, 6);
        assert_int_equal(sim.fake[0].id.minor, 5);
        assert_int_equal(fw_update_job_side_phase(sim.job, 0), FW_PHASE_DONE);
        sim_done(&sim);
}

static void test_single_605_reinstall_restores_config(void **state) {
        Sim sim;

        sim_init(&sim, *state, 1);
        set_version(&sim.fake[0], 6, 5);
        sim.fake[0].bl_gen = 2;
        sim_start(&sim, &sim.im->v605);
        assert_done(&sim);
        assert_int_equal(sim.fake[0].set_confs, 2); /* same signatures: both blobs written back */
        assert_string_equal(report_str(&sim, 0, "redo"), "");
        sim_done(&sim);
}

/* SET_*CONF acks after the firmware's store pause (~200 ms, spec §13.1) plus
 * the bus: that is not a lost request, so each blob is written once. */
static void test_set_conf_pause_not_resent(void **state) {
        Sim sim;

        sim_init(&sim, *state, 1);
        set_version(&sim.fake[0], 6, 5);
        sim.fake[0].bl_gen = 2;
        sim.fake[0].set_conf_usec = 240 * USEC_PER_MSEC;
        sim_start(&sim, &sim.im->v605);
        assert_done(&sim);
        assert_int_equal(sim.fake[0].set_confs, 2);
        assert_string_equal(report_str(&sim, 0, "redo"), "");
        sim_done(&sim);
}

/* After a JUMP the controller is identified every 2 s while the bootloader
 * can still be copying, then every 250 ms: it is confirmed well within a
 * poll period of its start, not up to 2 s later. */
static void test_reboot_confirmed_promptly(void **state) {
        Sim sim;

        sim_init(&sim, *state, 1);
        set_version(&sim.fake[0], 6, 5);
        sim.fake[0].bl_gen = 2;
        sim.fake[0].install_usec = 13200 * USEC_PER_MSEC; /* past the estimate's copy (12.9 s for 6.x) */
        sim_start(&sim, &sim.im->v605);
        assert_done(&sim);
        assert_true(sim.confirmed_at >= sim.last_jump_at + sim.fake[0].install_usec);
        /* one fast period + the identify round trip, with room */
        assert_true(sim.confirmed_at <= sim.last_jump_at + sim.fake[0].install_usec + 400 * USEC_PER_MSEC);
        sim_done(&sim);
}

static void test_refused_needs_intermediate(void **state) {
        Sim sim;

        sim_init(&sim, *state, 1);
        set_version(&sim.fake[0], 3, 58);
        sim_start(&sim, &sim.im->v605);
        assert_failed(&sim, FW_ERROR_NEEDS_INTERMEDIATE);
        assert_non_null(strstr(sim.text, "5.03 first"));
        assert_int_equal(sim.fake[0].erases + sim.fake[0].bl_erases + sim.fake[0].writes, 0);
        sim_done(&sim);
}

static void test_refused_wrong_hardware(void **state) {
        Sim sim;

        sim_init(&sim, *state, 1);
        sim_start(&sim, &sim.im->v503_other_hw);
        assert_failed(&sim, FW_ERROR_WRONG_HARDWARE);
        assert_int_equal(sim.fake[0].erases + sim.fake[0].writes, 0);
        sim_done(&sim);
}

static void test_refused_no_bootloader_in_set(void **state) {
        Sim sim;
        FwImage img;

        sim_init(&sim, *state, 1);
        img = sim.im->v605;
        img.bootloader = NULL;
        img.bootloader_len = 0;
        sim_start(&sim, &img);
        assert_failed(&sim, FW_ERROR_NO_BOOTLOADER_IN_SET);
        sim_done(&sim);
}

static void test_gate_motor_spinning(void **state) {
        Sim sim;

        sim_init(&sim, *state, 1);
        sim.fake[0].tel.erpm = 3000;
        sim.fake[0].tel.current_motor = 4.0;
        sim_start(&sim, &sim.im->v503);
        assert_failed(&sim, FW_ERROR_GATE_FAILED);
        assert_non_null(strstr(sim.text, "NOT stopped"));
        assert_non_null(strstr(sim.text, "ERPM 3000"));
        assert_int_equal(sim.fake[0].erases, 0);
        sim_done(&sim);
}

static void test_gate_voltage(void **state) {
        Sim sim;

        sim_init(&sim, *state, 1);
        sim.fake[0].tel.v_in = 5.0;
        sim_start(&sim, &sim.im->v503);
        assert_failed(&sim, FW_ERROR_GATE_FAILED);
        assert_non_null(strstr(sim.text, "OUT OF RANGE"));
        sim_done(&sim);
}

static void test_gate_busy_and_override(void **state) {
        Sim sim;

        sim_init(&sim, *state, 1);
        sim.params.busy_reason = "configuration write to 2f00...";
        sim_start(&sim, &sim.im->v503);
        assert_failed(&sim, FW_ERROR_GATE_FAILED);
        assert_non_null(strstr(sim.text, "configuration write"));
        sim_done(&sim);

        /* The override (root only, decided by the adapter) skips the gates. */
        sim_init(&sim, *state, 1);
        sim.fake[0].tel.erpm = 3000;
        sim.params.busy_reason = "another job";
        sim.params.override_gates = true;
        sim_start(&sim, &sim.im->v503);
        assert_done(&sim);
        sim_done(&sim);
}

static void test_loss_1_percent(void **state) {
        Sim sim;

        sim_init(&sim, *state, 1);
        sim.fake[0].frame_loss = 0.01;
        sim_start(&sim, &sim.im->v503);
        assert_done(&sim);
        assert_true(sim.fake[0].min_write_len < 384); /* chunks shrank under loss */
        assert_memory_equal(sim.fake[0].newapp, sim.im->s503, VESC_APP_SIZE_V5 + 6);
        sim_done(&sim);
}

static void test_wrong_offset_echo(void **state) {
        Sim sim;

        sim_init(&sim, *state, 1);
        sim.fake[0].wrong_echo_at = 384 * 10;
        sim.fake[0].watch_offset = 384 * 10;
        sim_start(&sim, &sim.im->v503);
        assert_done(&sim);
        assert_int_equal(sim.fake[0].writes_at[0], 2); /* resent once after the wrong echo */
        sim_done(&sim);
}

static void test_refused_write_ok0(void **state) {
        Sim sim;

        sim_init(&sim, *state, 1);
        sim.fake[0].refuse_write_at = 384 * 20;
        sim_start(&sim, &sim.im->v503);
        assert_failed(&sim, FW_ERROR_REFUSED);
        assert_int_equal(sim.fake[0].jumps, 0);
        assert_int_equal(sim.fake[0].id.minor, 3);
        sim_done(&sim);
}

/* A lost JUMP leaves the image staged: it is committed again, not re-staged. */
static void test_lost_jump_recommitted(void **state) {
        Sim sim;

        sim_init(&sim, *state, 1);
        set_version(&sim.fake[0], 3, 58);
        sim.fake[0].lose_jumps = 1;
        sim_start(&sim, &sim.im->v503);
        assert_done(&sim);
        assert_int_equal(sim.fake[0].erases, 1);
        assert_int_equal(sim.fake[0].jumps, 1);
        assert_int_equal(sim.fake[0].id.major, 5);
        assert_int_equal(json_integer_value(json_object_get(report_side(&sim, 0), "restages")), 0);
        assert_true(sim.saw_100);
        sim_done(&sim);
}

/* Two JUMPs lost in a row: the image is staged again and committed. */
static void test_lost_jumps_restaged(void **state) {
        Sim sim;

        sim_init(&sim, *state, 1);
        set_version(&sim.fake[0], 3, 58);
        sim.fake[0].lose_jumps = 2;
        sim_start(&sim, &sim.im->v503);
        assert_done(&sim);
        assert_int_equal(sim.fake[0].erases, 2);
        assert_int_equal(sim.fake[0].jumps, 1);
        assert_int_equal(json_integer_value(json_object_get(report_side(&sim, 0), "restages")), 1);
        sim_done(&sim);
}

static void test_bootloader_refused(void **state) {
        Sim sim;

        sim_init(&sim, *state, 1);
        set_version(&sim.fake[0], 3, 58);
        sim.fake[0].refuse_install = true;
        sim_start(&sim, &sim.im->v503);
        assert_failed(&sim, FW_ERROR_BOOTLOADER_REFUSED);
        assert_non_null(strstr(sim.text, "bootloader refused the image: controller still runs 3.58 after 4 commits"));
        assert_int_equal(sim.fake[0].jumps, 4); /* each staging committed twice */
        assert_int_equal(sim.fake[0].erases, 2); /* re-staged once */
        assert_string_equal(report_str(&sim, 0, "runs"), "3.58");
        sim_done(&sim);
}

static void test_new_can_id_after_reboot(void **state) {
        Sim sim;

        /* dual-358's A: id 10 on 3.58, the UUID rule of 5.03 gives 12. */
        sim_init(&sim, *state, 1);
        fake_vesc_set(&sim.fake[0], 10, 3, 58);
        sim.fake[0].new_id_after_reboot = 12;
        sim_start(&sim, &sim.im->v503);
        assert_done(&sim);
        assert_int_equal(sim.fake[0].id.can_id, 10); /* found by UUID on 12, id put back */
        assert_int_equal(fw_update_job_side_identity(sim.job, 0)->can_id, 10);
        sim_done(&sim);

        sim_init(&sim, *state, 1);
        fake_vesc_set(&sim.fake[0], 10, 3, 58);
        sim.fake[0].new_id_after_reboot = 12;
        sim.params.skip_can_id_restore = true;
        sim_start(&sim, &sim.im->v503);
        assert_done(&sim);
        assert_int_equal(sim.fake[0].id.can_id, 12);
        assert_int_equal(json_integer_value(json_object_get(report_side(&sim, 0), "can_id")), 12);
        assert_false(json_is_true(json_object_get(report_side(&sim, 0), "can_id_not_restored")));
        sim_done(&sim);

        /* another device (a BMS) took id 10 meanwhile: never written, the
         * job ends done and the side's report says why */
        sim_init(&sim, *state, 1);
        fake_vesc_set(&sim.fake[0], 10, 3, 58);
        sim.fake[0].new_id_after_reboot = 12;
        sim.params.foreign_ids[10 / 8] |= 1u << (10 % 8);
        sim_start(&sim, &sim.im->v503);
        assert_done(&sim);
        assert_int_equal(sim.fake[0].id.can_id, 12);
        assert_int_equal(json_integer_value(json_object_get(report_side(&sim, 0), "can_id")), 12);
        assert_true(json_is_true(json_object_get(report_side(&sim, 0), "can_id_not_restored")));
        assert_non_null(strstr(report_str(&sim, 0, "redo"), "old CAN id 10 not restored: another device uses it now"));
        sim_done(&sim);

        /* the SET_APPCONF that carries id 10 is lost every time: the job
         * still ends done, the controller stays at 12, the report says so
         * (and, the 3.58 backup not fitting 5.03, not "from the backup") */
        sim_init(&sim, *state, 1);
        fake_vesc_set(&sim.fake[0], 10, 3, 58);
        sim.fake[0].new_id_after_reboot = 12;
        sim.fake[0].lose_set_appconf = true;
        sim_start(&sim, &sim.im->v503);
        assert_done(&sim);
        assert_int_equal(sim.fake[0].id.can_id, 12);
        assert_int_equal(json_integer_value(json_object_get(report_side(&sim, 0), "can_id")), 12);
        assert_true(json_is_true(json_object_get(report_side(&sim, 0), "can_id_not_restored")));
        assert_ptr_equal(strstr(report_str(&sim, 0, "redo"),
                                "old CAN id 10 not restored: SET_APPCONF got no reply (last seen at 12); "),
                         report_str(&sim, 0, "redo")); /* first: the redo text is bounded */
        assert_null(strstr(report_str(&sim, 0, "redo"), "restore it from the backup"));
        sim_done(&sim);
}

static void test_bricked(void **state) {
        Sim sim;

        sim_init(&sim, *state, 1);
        sim.fake[0].never_back = true;
        sim_start(&sim, &sim.im->v503);
        assert_failed(&sim, FW_ERROR_BRICKED);
        assert_string_equal(report_str(&sim, 0, "runs"), "unknown (did not come back)");
        sim_done(&sim);
}

static void test_time_scale(void **state) {
        Sim sim;
        uint64_t t0;

        sim_init(&sim, *state, 1);
        sim.fake[0].never_back = true;
        sim.params.time_scale = 2.0;
        t0 = sim.now;
        sim_start(&sim, &sim.im->v503);
        assert_failed(&sim, FW_ERROR_BRICKED);
        assert_true(sim.now - t0 >= 2 * FW_REBOOT_TIMEOUT_USEC);
        sim_done(&sim);
}

/* ---------------------------------------------------------------- pair */

/* Waves: three controllers, two of whose UUIDs give the same default id
 * for the target (spec §8.4); after its commit each comes back at its
 * default id until the job restores its old one.  The two are committed in
 * separate waves (the second only once the first is back at its old id);
 * the third goes with the first; nobody lands on an id another is at. */
static void test_board_waves(void **state) {
        static const char *const uuid_c = "410033000f51393236353900";
        Sim sim;
        uint8_t d_a, uuid[VESC_UUID_LEN];
        char hex[2 * VESC_UUID_LEN + 1];
        unsigned last;

        sim_init(&sim, *state, 3);
        fake_vesc_set(&sim.fake[0], 10, 5, 3);
        fake_vesc_set(&sim.fake[1], 74, 5, 3);
        d_a = vesc_default_id_from_uuid(sim.fake[0].id.uuid, 5, 3);
        /* a third UUID with A's default id, found by its last byte */
        for (last = 0; last < 256; last++) {
                fake_vesc_init(&sim.fake[2], uuid_c, 30, 5, 3, 1, 0x9abc);
                memcpy(uuid, sim.fake[2].id.uuid, sizeof uuid);
                uuid[VESC_UUID_LEN - 1] = (uint8_t) last;
                if (vesc_default_id_from_uuid(uuid, 5, 3) == d_a)
                        break;
                fake_vesc_done(&sim.fake[2]);
        }
        assert_true(last < 256);
        fake_vesc_done(&sim.fake[2]);   /* the probe that found the UUID */
        fw_uuid_format(uuid, hex);
        fake_vesc_init(&sim.fake[2], hex, 30, 5, 3, 1, 0x9abc);
        sim.fake[2].known[0] = &sim.im->v503;
        sim.fake[2].known[1] = &sim.im->v605;
        sim.fake[2].set_bootloader = sim.im->bl605;
        sim.fake[2].set_bootloader_len = sim.im->v605.bootloader_len;
        for (size_t i = 0; i < 3; i++)
                sim.fake[i].new_id_after_reboot = vesc_default_id_from_uuid(sim.fake[i].id.uuid, 5, 3);
        assert_int_equal(sim.fake[0].new_id_after_reboot, sim.fake[2].new_id_after_reboot);
        sim_start(&sim, &sim.im->v503);
        assert_done(&sim);
        assert_int_equal(sim.n_jumps, 3);
        assert_int_equal(sim.jump_order[2], 2); /* C alone, last */
        assert_int_equal(sim.landing_collisions, 0);
        assert_int_equal(sim.max_outstanding_erases, 3); /* all staged together */
        assert_int_equal(sim.fake[0].id.can_id, 10);
        assert_int_equal(sim.fake[1].id.can_id, 74);
        assert_int_equal(sim.fake[2].id.can_id, 30);
        for (size_t i = 0; i < 3; i++)
                assert_false(json_is_true(json_object_get(report_side(&sim, i), "can_id_not_restored")));
        sim_done(&sim);
}

static void test_pair_both(void **state) {
        Sim sim;

        sim_init(&sim, *state, 2);  /* dual-old-bootloader: both 5.03, generation 1 */
        sim_start(&sim, &sim.im->v605);
        assert_done(&sim);
        for (size_t i = 0; i < 2; i++) {
                assert_int_equal(sim.fake[i].id.major, 6);
                assert_int_equal(sim.fake[i].bl_gen, 2);
                assert_int_equal(sim.fake[i].erases, 1);
                assert_int_equal(sim.fake[i].jumps, 1);
        }
        assert_int_equal(sim.max_outstanding_erases, 2); /* erased at once */
        assert_int_equal(sim.max_outstanding_writes, 2); /* writes interleaved */
        sim_done(&sim);
}

static void test_pair_one_fails_staging(void **state) {
        Sim sim;

        sim_init(&sim, *state, 2);
        sim.fake[1].refuse_write_at = 384 * 200;
        sim_start(&sim, &sim.im->v605);
        assert_failed(&sim, FW_ERROR_REFUSED);
        /* Neither committed; both keep 5.03. */
        assert_int_equal(sim.fake[0].jumps + sim.fake[1].jumps, 0);
        assert_int_equal(sim.fake[0].id.minor, 3);
        assert_int_equal(sim.fake[1].id.minor, 3);
        assert_string_equal(report_str(&sim, 0, "error"), "NotCommitted");
        assert_string_equal(report_str(&sim, 1, "error"), "Refused");
        assert_string_equal(report_str(&sim, 0, "runs"), "5.03");
        assert_string_equal(report_str(&sim, 1, "runs"), "5.03");
        sim_done(&sim);
}

static void test_pair_5_percent_loss(void **state) {
        Sim sim;

        sim_init(&sim, *state, 2);
        for (size_t i = 0; i < 2; i++) {
                sim.fake[i].frame_loss = 0.05;
                sim.fake[i].loss_writes_only = true;
        }
        sim_start(&sim, &sim.im->v503);
        /* Either it made it, or it failed truthfully with nobody committed. */
        if (sim.verbose)
                fprintf(stderr, "5%% loss: %s\n", sim.text);
        if (sim.end == FW_ACTION_DONE) {
                assert_int_equal(sim.fake[0].id.minor, 3);
                assert_int_equal(sim.fake[1].id.minor, 3);
        } else {
                assert_int_equal(sim.error, FW_ERROR_TIMEOUT);
                assert_int_equal(sim.fake[0].jumps + sim.fake[1].jumps, 0);
                assert_true(sim.fake[0].min_write_len <= 96 || sim.fake[1].min_write_len <= 96);
                assert_string_equal(report_str(&sim, 0, "runs"), "5.03");
                assert_string_equal(report_str(&sim, 1, "runs"), "5.03");
        }
        sim_done(&sim);
}

/* At 5 % frame loss many writes of even the smallest chunk are lost: the
 * attempts per chunk follow that measured rate, so the pair finishes (with
 * a fixed 6 attempts within 18 s the first seed already failed). */
static void test_pair_5_percent_loss_finishes(void **state) {
        for (uint64_t seed = 1; seed <= 8; seed++) {
                Sim sim;

                sim_init(&sim, *state, 2);
                for (size_t i = 0; i < 2; i++) {
                        sim.fake[i].frame_loss = 0.05;
                        sim.fake[i].loss_writes_only = true;
                        sim.fake[i].rng = seed * 1000003u + i;
                }
                sim_start(&sim, &sim.im->v503);
                if (sim.end != FW_ACTION_DONE)
                        fprintf(stderr, "seed %llu: %s\n", (unsigned long long) seed, sim.text);
                assert_int_equal(sim.end, FW_ACTION_DONE);
                assert_int_equal(sim.fake[0].id.minor, 3);
                assert_int_equal(sim.fake[1].id.minor, 3);
                sim_done(&sim);
        }
}

static void test_pair_one_comes_back_wrong(void **state) {
        Sim sim;

        sim_init(&sim, *state, 2);
        set_version(&sim.fake[0], 3, 58);
        set_version(&sim.fake[1], 3, 58);
        sim.fake[1].lose_jumps = 1;
        sim_start(&sim, &sim.im->v503);
        assert_done(&sim);
        assert_int_equal(sim.fake[0].erases, 1);  /* A untouched by B's second commit */
        assert_int_equal(sim.fake[1].erases, 1);  /* B's image stayed staged */
        assert_int_equal(sim.fake[0].id.minor, 3);
        assert_int_equal(sim.fake[1].id.minor, 3);
        assert_int_equal(sim.fake[0].id.major, 5);
        assert_int_equal(sim.fake[1].id.major, 5);
        sim_done(&sim);
}

static void test_pair_one_never_back(void **state) {
        Sim sim;

        sim_init(&sim, *state, 2);
        sim.fake[1].never_back = true;
        sim_start(&sim, &sim.im->v605);
        assert_failed(&sim, FW_ERROR_BRICKED);
        assert_string_equal(report_str(&sim, 0, "phase"), "done");
        assert_string_equal(report_str(&sim, 0, "runs"), "6.05");
        assert_string_equal(report_str(&sim, 1, "runs"), "unknown (did not come back)");
        sim_done(&sim);
}

/* The seed: A 5.03 (id 12), B 3.58 (id 74), 5.03 set → update B only. */
static void test_repair_seed(void **state) {
        const Images *im = *state;
        const FwImage *imgs[2] = { &im->v503, &im->v503 };
        FwRepairPlan plan;
        Sim sim;

        sim_init(&sim, *state, 2);
        set_version(&sim.fake[1], 3, 58);
        FwIdentity ids[2] = { sim.fake[0].id, sim.fake[1].id };
        assert_int_equal(fw_plan_repair(ids, imgs, 2, &plan), 0);
        assert_int_equal(plan.error, FW_ERROR_NONE);
        assert_false(plan.update[0]);
        assert_true(plan.update[1]);

        /* The job covers B only. */
        FakeVesc a = sim.fake[0];
        sim.fake[0] = sim.fake[1];
        sim.n_fakes = 1;
        sim_start(&sim, &im->v503);
        assert_done(&sim);
        assert_int_equal(sim.fake[0].id.major, 5);
        assert_int_equal(a.erases, 0);
        fake_vesc_done(&a);
        sim_done(&sim);

        /* 3.58 → 6.05 needs 5.03 first. */
        const FwImage *imgs6[2] = { &im->v605, &im->v605 };
        assert_int_equal(fw_plan_repair(ids, imgs6, 2, &plan), 0);
        assert_int_equal(plan.error, FW_ERROR_NEEDS_INTERMEDIATE);
        assert_false(plan.update[0] || plan.update[1]);
        assert_non_null(strstr(plan.text, "needs 5.03 first"));

        /* Nothing to do when both match. */
        ids[1].minor = 3;
        ids[1].major = 5;
        assert_int_equal(fw_plan_repair(ids, imgs, 2, &plan), 0);
        assert_int_equal(plan.error, FW_ERROR_NONE);
        assert_false(plan.update[0] || plan.update[1]);
        assert_non_null(strstr(plan.text, "nothing to do"));
}

/* -------------------------------------------------------------- cancel */

static void test_cancel(void **state) {
        Sim sim;

        sim_init(&sim, *state, 2);
        sim_job(&sim, &sim.im->v503);
        sim.stop_at = FW_PHASE_WRITING;
        assert_int_equal(sim_handle(&sim, &(FwEvent) { .type = FW_EVENT_START }), 0);
        sim_run(&sim);
        assert_true(sim.stopped);
        assert_true(fw_update_job_can_cancel(sim.job));
        assert_int_equal(sim_handle(&sim, &(FwEvent) { .type = FW_EVENT_CANCEL }), 0);
        assert_failed(&sim, FW_ERROR_CANCELLED);
        assert_int_equal(fw_update_job_state(sim.job), FW_JOB_CANCELLED);
        assert_int_equal(fw_update_job_phase(sim.job), FW_PHASE_CANCELLED);
        assert_int_equal(sim.fake[0].jumps + sim.fake[1].jumps, 0);
        sim_done(&sim);

        /* Refused from committing until confirming ends. */
        sim_init(&sim, *state, 1);
        sim_job(&sim, &sim.im->v503);
        sim.stop_at = FW_PHASE_REBOOTING;
        assert_int_equal(sim_handle(&sim, &(FwEvent) { .type = FW_EVENT_START }), 0);
        sim_run(&sim);
        assert_true(sim.stopped);
        assert_false(fw_update_job_can_cancel(sim.job));
        assert_true(fw_update_job_progress(sim.job, sim.now).do_not_power_off);
        assert_int_equal(sim_handle(&sim, &(FwEvent) { .type = FW_EVENT_CANCEL }), -EBUSY);
        sim.stopped = false;
        sim.stop_at = _FW_PHASE_INVALID;
        sim_run(&sim);
        assert_done(&sim);
        sim_done(&sim);
}

/* -------------------------------------------------------------- resume */

static void resume_in(void **state, FwPhase phase, bool abandon) {
        Sim sim;
        json_t *snap;

        /* A pair, so that "staged" is visible (one side waits for the other);
         * a reinstall of 6.05, so that restoring has configuration to write. */
        sim_init(&sim, *state, 2);
        for (size_t i = 0; i < 2; i++)
                set_version(&sim.fake[i], 6, 5);
        sim_job(&sim, &sim.im->v605);
        sim.stop_at = phase;
        assert_int_equal(sim_handle(&sim, &(FwEvent) { .type = FW_EVENT_START }), 0);
        sim_run(&sim);
        if (!sim.stopped)
                fprintf(stderr, "never persisted phase %s\n", fw_phase_to_string(phase));
        assert_true(sim.stopped);

        /* The daemon dies: pending replies and timers are gone, the fake
         * controller carries on; it comes back a few seconds later. */
        snap = json_deep_copy(sim.snapshot);
        assert_non_null(snap);
        sim.job = fw_update_job_free(sim.job);
        for (size_t i = 0; i < sim.nq;)
                if (sim.q[i].kind == SIM_ENGINE)
                        sim.q[i] = sim.q[--sim.nq];
                else
                        i++;
        memset(sim.timer_armed, 0, sizeof sim.timer_armed);
        sim.now += 3 * USEC_PER_SEC;
        sim.stop_at = _FW_PHASE_INVALID;
        sim.stopped = false;

        assert_int_equal(fw_update_job_new(&sim.params, &sim.job), 0);
        assert_int_equal(sim_resume(&sim, snap, abandon), 0);
        json_decref(snap);
        sim_run(&sim);
        for (size_t i = 0; i < 2; i++)
                if (abandon && phase <= FW_PHASE_STAGED) {
                        assert_failed(&sim, FW_ERROR_CANCELLED);
                        assert_int_equal(sim.fake[i].jumps, 0);
                        assert_int_equal(sim.fake[i].installs, 0);
                } else {
                        assert_done(&sim);
                        assert_int_equal(sim.fake[i].installs, 1);
                        assert_int_equal(sim.fake[i].bl_gen, 2);
                        assert_int_equal(sim.fake[i].jumps, 1);
                        assert_true(sim.fake[i].set_confs >= 2); /* a resumed restore starts over */
                }
        sim_done(&sim);
}

static void test_resume_each_phase(void **state) {
        static const FwPhase phases[] = {
                FW_PHASE_CHECKING, FW_PHASE_BACKING_UP, FW_PHASE_BOOTLOADER, FW_PHASE_ERASING,
                FW_PHASE_WRITING, FW_PHASE_STAGED, FW_PHASE_REBOOTING, FW_PHASE_RESTORING,
        };

        for (size_t i = 0; i < ELEMENTSOF(phases); i++) {
                resume_in(state, phases[i], false);
                resume_in(state, phases[i], true);
        }
}

static void test_resume_rejects_other_job(void **state) {
        Sim sim;
        json_t *snap;
        FwUpdateJob *other;
        FwActions a = {};

        sim_init(&sim, *state, 1);
        sim_job(&sim, &sim.im->v605);
        sim.stop_at = FW_PHASE_WRITING;
        assert_int_equal(sim_handle(&sim, &(FwEvent) { .type = FW_EVENT_START }), 0);
        sim_run(&sim);
        snap = json_incref(sim.snapshot);

        /* Another image: the snapshot is not this job's. */
        sim.params.images[0] = &sim.im->v503;
        assert_int_equal(fw_update_job_new(&sim.params, &other), 0);
        assert_int_equal(resume_json(other, snap, false, sim.now, &a), -ESTALE);
        other = fw_update_job_free(other);
        fw_actions_done(&a);

        /* A second START is refused; events before START are refused. */
        assert_int_equal(sim_handle(&sim, &(FwEvent) { .type = FW_EVENT_START }), -EALREADY);
        assert_int_equal(fw_update_job_new(&sim.params, &other), 0);
        assert_int_equal(fw_update_handle(other, &(FwEvent) { .type = FW_EVENT_CANCEL }, sim.now, &a), -EINVAL);
        other = fw_update_job_free(other);
        fw_actions_done(&a);
        json_decref(snap);
        sim_done(&sim);
}

static void test_resume_ended_job(void **state) {
        Sim sim;
        json_t *snap;

        sim_init(&sim, *state, 1);
        sim_start(&sim, &sim.im->v503);
        assert_done(&sim);
        snap = json_incref(sim.snapshot);
        assert_string_equal(json_string_value(json_object_get(snap, "state")), "done");
        sim.job = fw_update_job_free(sim.job);
        sim.finished = false;
        assert_int_equal(fw_update_job_new(&sim.params, &sim.job), 0);
        assert_int_equal(sim_resume(&sim, snap, false), 0);
        json_decref(snap);
        assert_done(&sim);
        assert_int_equal(sim.fake[0].erases, 1);
        sim_done(&sim);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_single_358_to_503),
                cmocka_unit_test(test_single_358_to_503_no_migration),
                cmocka_unit_test(test_single_503_to_605_bootloader),
                cmocka_unit_test(test_single_605_reinstall_restores_config),
                cmocka_unit_test(test_set_conf_pause_not_resent),
                cmocka_unit_test(test_reboot_confirmed_promptly),
                cmocka_unit_test(test_refused_needs_intermediate),
                cmocka_unit_test(test_refused_wrong_hardware),
                cmocka_unit_test(test_refused_no_bootloader_in_set),
                cmocka_unit_test(test_gate_motor_spinning),
                cmocka_unit_test(test_gate_voltage),
                cmocka_unit_test(test_gate_busy_and_override),
                cmocka_unit_test(test_loss_1_percent),
                cmocka_unit_test(test_wrong_offset_echo),
                cmocka_unit_test(test_refused_write_ok0),
                cmocka_unit_test(test_lost_jump_recommitted),
                cmocka_unit_test(test_lost_jumps_restaged),
                cmocka_unit_test(test_bootloader_refused),
                cmocka_unit_test(test_new_can_id_after_reboot),
                cmocka_unit_test(test_bricked),
                cmocka_unit_test(test_time_scale),
                cmocka_unit_test(test_pair_both),
                cmocka_unit_test(test_board_waves),
                cmocka_unit_test(test_pair_one_fails_staging),
                cmocka_unit_test(test_pair_5_percent_loss),
                cmocka_unit_test(test_pair_5_percent_loss_finishes),
                cmocka_unit_test(test_pair_one_comes_back_wrong),
                cmocka_unit_test(test_pair_one_never_back),
                cmocka_unit_test(test_repair_seed),
                cmocka_unit_test(test_cancel),
                cmocka_unit_test(test_resume_each_phase),
                cmocka_unit_test(test_resume_rejects_other_job),
                cmocka_unit_test(test_resume_ended_job),
        };

        return cmocka_run_group_tests(tests, images_setup, images_teardown);
}
