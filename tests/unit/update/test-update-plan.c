/* Planning, chunk-skipping and progress helpers of the update engine. */

#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <math.h>

#include "crc.h"
#include "macro.h"
#include "update/update-plan.h"
#include "update/update-progress.h"
#include "update/update-engine.h"
#include "fwimage.h"
#include "wire.h"

static void test_strings(void **state) {
        for (FwError e = 0; e < _FW_ERROR_MAX; e++) {
                assert_non_null(fw_error_to_string(e));
                assert_int_equal(fw_error_from_string(fw_error_to_string(e)), e);
        }
        assert_null(fw_error_to_string(_FW_ERROR_MAX));
        assert_int_equal(fw_error_from_string("nope"), _FW_ERROR_INVALID);
        assert_string_equal(fw_error_to_string(FW_ERROR_NEEDS_INTERMEDIATE), "NeedsIntermediate");

        for (FwPhase p = 0; p < _FW_PHASE_MAX; p++)
                assert_int_equal(fw_phase_from_string(fw_phase_to_string(p)), p);
        assert_string_equal(fw_phase_to_string(FW_PHASE_BACKING_UP), "backing-up");
        assert_null(fw_phase_to_string(_FW_PHASE_INVALID));
        for (FwJobState s = 0; s < _FW_JOB_STATE_MAX; s++)
                assert_int_equal(fw_job_state_from_string(fw_job_state_to_string(s)), s);
}

static void test_identity(void **state) {
        VescFwVersion v = { .major = 6, .minor = 5, .hw_name = "60", .has_test_build = true, .test_build = 2,
                            .has_fw_name = true, .fw_name = "no_hw_limits" };
        VescFwVersion old = { .major = 3, .minor = 58, .hw_name = "60", .fw_name = "garbage" };
        FwIdentity id;
        char s[96], u[25];

        v.uuid[0] = 0x3c;
        v.uuid[11] = 0x34;
        fw_identity_from_version(&id, &v, 12);
        assert_int_equal(id.can_id, 12);
        assert_int_equal(id.test_build, 2);
        assert_string_equal(id.fw_name, "no_hw_limits");
        fw_uuid_format(id.uuid, u);
        assert_string_equal(u, "3c0000000000000000000034");
        fw_version_describe(id.major, id.minor, id.test_build, id.fw_name, s);
        assert_string_equal(s, "6.05 beta 2 (no_hw_limits)");

        /* Fields a version does not send are normalised. */
        fw_identity_from_version(&id, &old, 74);
        assert_int_equal(id.test_build, 0);
        assert_string_equal(id.fw_name, "");
        fw_version_describe(id.major, id.minor, id.test_build, id.fw_name, s);
        assert_string_equal(s, "3.58");

        /* Confirming compares only what the target generation reports of
         * itself: a 5.x image with a name in its set is confirmed by a
         * controller that reports none (names exist from 6.00, §12.1). */
        FwImage img5 = { .major = 5, .minor = 3, .hw_name = "60", .fw_name = "bench" };
        VescFwVersion v503 = { .major = 5, .minor = 3, .hw_name = "60", .has_test_build = true };
        fw_identity_from_version(&id, &v503, 74);
        assert_true(fw_identity_matches_image(&id, &img5));
        img5.test_build = 1;
        assert_false(fw_identity_matches_image(&id, &img5));   /* 5.00+ reports its test build */

        FwImage img6 = { .major = 6, .minor = 5, .test_build = 2, .hw_name = "60", .fw_name = "no_hw_limits" };
        fw_identity_from_version(&id, &v, 12);
        assert_true(fw_identity_matches_image(&id, &img6));
        snprintf(img6.fw_name, sizeof img6.fw_name, "other");
        assert_false(fw_identity_matches_image(&id, &img6));   /* 6.00+ reports its name */
        snprintf(img6.hw_name, sizeof img6.hw_name, "410");
        snprintf(img6.fw_name, sizeof img6.fw_name, "no_hw_limits");
        assert_false(fw_identity_matches_image(&id, &img6));
}

static uint8_t *stream_of(size_t n, bool compressed, size_t *ret_len) {
        uint8_t *s = calloc(1, n + 6);

        for (size_t i = 0; i < n; i++)
                s[6 + i] = (uint8_t) (i * 13);
        be32_put(s, compressed ? (0xCCu << 24) | (uint32_t) n : (uint32_t) n);
        be16_put(s + 4, crc16(s + 6, n));
        *ret_len = n + 6;
        return s;
}

static void test_plan_side(void **state) {
        size_t len;
        uint8_t *plain = stream_of(VESC_APP_SIZE_V5, false, &len), bl[100] = { 1 };
        FwImage img = { .hw_name = "60", .major = 5, .minor = 3, .raw_size = VESC_APP_SIZE_V5, .stream = plain,
                        .stream_len = len };
        FwIdentity ctl = { .hw_name = "60", .major = 3, .minor = 58 };
        FwSidePlan p;

        assert_int_equal(fw_plan_side(&ctl, &img, &p), 0);
        assert_int_equal(p.error, FW_ERROR_NONE);
        assert_false(p.compressed);
        assert_false(p.bootloader);
        assert_false(p.up_to_date);

        ctl.minor = 3;
        ctl.major = 5;
        assert_int_equal(fw_plan_side(&ctl, &img, &p), 0);
        assert_true(p.up_to_date);

        /* A broken header, a wrong raw size, a plain stream for a 6.x image. */
        plain[7] ^= 1;
        assert_int_equal(fw_plan_side(&ctl, &img, &p), 0);
        assert_int_equal(p.error, FW_ERROR_INVALID_IMAGE);
        plain[7] ^= 1;
        img.raw_size = 1000;
        assert_int_equal(fw_plan_side(&ctl, &img, &p), 0);
        assert_int_equal(p.error, FW_ERROR_INVALID_IMAGE);
        img.raw_size = VESC_APP_SIZE_V6;
        assert_int_equal(fw_plan_side(&ctl, &img, &p), 0);
        assert_int_equal(p.error, FW_ERROR_INVALID_IMAGE);
        img.raw_size = VESC_APP_SIZE_V6 + 1;
        assert_int_equal(fw_plan_side(&ctl, &img, &p), 0);
        assert_int_equal(p.error, FW_ERROR_IMAGE_TOO_LARGE);
        free(plain);

        /* Compressed: needs a generation-2 bootloader in the set and 3.59+. */
        uint8_t *comp = stream_of(200000, true, &len);
        img = (FwImage) { .hw_name = "60", .major = 6, .minor = 5, .raw_size = VESC_APP_SIZE_V6, .stream = comp,
                          .stream_len = len };
        ctl = (FwIdentity) { .hw_name = "60", .major = 5, .minor = 3 };
        assert_int_equal(fw_plan_side(&ctl, &img, &p), 0);
        assert_int_equal(p.error, FW_ERROR_NO_BOOTLOADER_IN_SET);
        img.bootloader = bl;
        img.bootloader_len = sizeof bl;
        img.bootloader_generation = 1;
        assert_int_equal(fw_plan_side(&ctl, &img, &p), 0);
        assert_int_equal(p.error, FW_ERROR_NO_BOOTLOADER_IN_SET);
        img.bootloader_generation = 2;
        assert_int_equal(fw_plan_side(&ctl, &img, &p), 0);
        assert_int_equal(p.error, FW_ERROR_NONE);
        assert_true(p.compressed);
        assert_true(p.bootloader);
        ctl.major = 3;
        ctl.minor = 59;
        assert_int_equal(fw_plan_side(&ctl, &img, &p), 0);
        assert_int_equal(p.error, FW_ERROR_NONE);
        ctl.minor = 58;
        assert_int_equal(fw_plan_side(&ctl, &img, &p), 0);
        assert_int_equal(p.error, FW_ERROR_NEEDS_INTERMEDIATE);
        assert_non_null(strstr(p.text, "3.58 → 6.05 needs 5.03 first"));
        strcpy(ctl.hw_name, "410");
        assert_int_equal(fw_plan_side(&ctl, &img, &p), 0);
        assert_int_equal(p.error, FW_ERROR_WRONG_HARDWARE);
        free(comp);

        /* Too long for the staging area. */
        uint8_t *big = stream_of(VESC_APP_SIZE_V5 + 1, true, &len);
        img.stream = big;
        img.stream_len = len;
        strcpy(ctl.hw_name, "60");
        ctl.major = 5;
        assert_int_equal(fw_plan_side(&ctl, &img, &p), 0);
        assert_int_equal(p.error, FW_ERROR_IMAGE_TOO_LARGE);
        free(big);

        assert_int_equal(fw_plan_side(NULL, &img, &p), -EINVAL);
}

static void test_repair_errors(void **state) {
        FwRepairPlan plan;
        FwIdentity ids[2] = {};

        assert_int_equal(fw_plan_repair(ids, NULL, 2, &plan), -EINVAL);
        assert_int_equal(fw_plan_repair(ids, (const FwImage *const[]) { NULL }, 0, &plan), -EINVAL);
        assert_int_equal(fw_plan_repair(ids, (const FwImage *const[]) { NULL, NULL, NULL }, 3, &plan), -EINVAL);
}

/* A member offline: no job line (vescd would refuse it with Offline), the
 * offline member to bring back instead; the repair once it answers. */
static void test_steps_offline(void **state) {
        FwSetEntry e503 = { .hw_name = "60", .major = 5, .minor = 3 };
        FwSetInfo set = { .id = "0123456789abcdef", .entries = &e503, .n = 1 };
        FwIdentity m[2] = {
                { .uuid = { 0x2f }, .can_id = 12, .major = 5, .minor = 3, .hw_name = "60" },
                { .uuid = { 0x3c }, .can_id = 74, .major = 3, .minor = 58, .hw_name = "60", .offline = true },
        };
        char **l = NULL;

        assert_int_equal(fw_plan_steps(m, 2, &set, 1, &set, &l), -EHOSTDOWN);
        assert_non_null(l);
        assert_non_null(l[0]);
        assert_null(l[1]);
        assert_non_null(strstr(l[0], "bring 3c0000000000000000000000 (id 74) back online: check its power and CAN"));
        assert_null(strstr(l[0], "repair"));
        fw_plan_steps_free(l);

        /* both offline: one line each, numbered */
        m[0].offline = true;
        assert_int_equal(fw_plan_steps(m, 2, &set, 1, &set, &l), -EHOSTDOWN);
        assert_true(l[0] && l[1] && !l[2]);
        assert_true(strncmp(l[0], "1. bring 2f0000000000000000000000 (id 12)", 41) == 0);
        assert_true(strncmp(l[1], "2. bring 3c0000000000000000000000 (id 74)", 41) == 0);
        fw_plan_steps_free(l);

        /* back online: the repair */
        m[0].offline = m[1].offline = false;
        assert_int_equal(fw_plan_steps(m, 2, &set, 1, &set, &l), 0);
        assert_true(l[0] && !l[1]);
        assert_string_equal(l[0], "repair with image set 0123456789abcdef (5.03): update 3c0000000000000000000000 "
                                  "(id 74) from 3.58 to 5.03");
        fw_plan_steps_free(l);

        /* running the goal already: nothing to do, offline or not */
        m[1].major = 5;
        m[1].minor = 3;
        m[1].offline = true;
        assert_int_equal(fw_plan_steps(m, 2, &set, 1, &set, &l), 0);
        assert_null(l[0]);
        fw_plan_steps_free(l);
}

static void test_erase_and_skip(void **state) {
        uint8_t s[2048];

        assert_int_equal(fw_erase_covered(1), 131072);
        assert_int_equal(fw_erase_covered(131072), 131072);
        assert_int_equal(fw_erase_covered(131073), 262144);
        assert_int_equal(fw_erase_covered(393214), 393216);
        assert_int_equal(fw_erase_covered(600000), 393216);

        memset(s, 0xFF, sizeof s);
        assert_false(fw_chunk_skippable(s, 0, 384, 131072));      /* the header chunk, never */
        assert_true(fw_chunk_skippable(s, 384, 384, 131072));
        assert_false(fw_chunk_skippable(s, 384, 384, 700));       /* past the erased range */
        assert_true(fw_chunk_skippable(s, 384, 316, 700));
        s[1000] = 0xFE;
        assert_false(fw_chunk_skippable(s, 768, 384, 131072));
        assert_false(fw_chunk_skippable(s, 768, 0, 131072));
}

static void test_progress(void **state) {
        FwProgress p = {};

        fw_progress_start(&p, 1000);
        assert_int_equal(fw_progress_percent(&p), 0);
        assert_true(fw_progress_eta_usec(&p, 2000) == UINT64_MAX);
        fw_progress_add(&p, 1000, 800);
        fw_progress_advance(&p, 500, 400, 11000);
        assert_int_equal(fw_progress_percent(&p), 50);
        /* no plan given: the average throughput */
        assert_true(fw_progress_eta_usec(&p, 11000) == 10000);
        /* Re-staging adds work: the percentage holds, never drops. */
        fw_progress_add(&p, 1000, 800);
        assert_int_equal(fw_progress_percent(&p), 50);
        fw_progress_advance(&p, 1500, 1200, 12000);
        assert_int_equal(fw_progress_percent(&p), 99);  /* 100 only when finished */
        fw_progress_advance(&p, 100000, 100000, 13000);
        assert_int_equal(p.units_done, p.units_total);
        assert_int_equal(p.bytes_done, p.bytes_total);
        fw_progress_finish(&p);
        assert_int_equal(fw_progress_percent(&p), 100);
        assert_int_equal(fw_progress_eta_usec(&p, 5), 0);
}

/* All bytes written, the reboot still ahead: the ETA is the known wait
 * (copy + reboot + confirm from fw_estimate_side()), never 0; it falls
 * to the rate's figure once the side is confirmed, to 0 when done. */
static void test_progress_reboot_pending(void **state) {
        FwProgress p = {};
        FwEstimate e;

        fw_estimate_side(400000, 400000, 0, false, 500000, &e);
        uint64_t wait = e.copy_usec + e.reboot_usec + e.confirm_usec;
        assert_true(wait >= e.reboot_usec + e.confirm_usec && e.reboot_usec > 0 && e.copy_usec > 0);

        fw_progress_start(&p, 0);
        fw_progress_add(&p, 1000, 900);
        fw_progress_add_wait(&p, wait);
        fw_progress_advance(&p, 999, 900, 500000);  /* only the reboot's weight left */
        uint64_t eta = fw_progress_eta_usec(&p, 1000000);
        assert_true(eta >= wait - 500000);          /* not "0 s left": counts down through the wait */
        assert_true(eta <= wait);
        assert_true(fw_progress_percent(&p) == 99);
        fw_progress_wait_done(&p, wait, 1000000);   /* confirmed */
        assert_true(fw_progress_eta_usec(&p, 1000000) < 2000);
        fw_progress_wait_done(&p, wait, 1000000);   /* saturates */
        assert_true(p.wait_usec == 0);
        fw_progress_add_wait(&p, wait);
        fw_progress_finish(&p);
        assert_int_equal(fw_progress_eta_usec(&p, 2000000), 0);
        assert_int_equal(fw_progress_percent(&p), 100);
}

/* A synthetic job on a made-up timeline (nothing here is measured on
 * this machine): checks and backups 0.5 s, an erase planned at 3 s that
 * takes 3 s, 300000 bytes planned at 100 µs a byte (30 s) that go at
 * 384 bytes every 32 ms (25 s) with a 2 s configuration-store pause at
 * 100000 bytes, then the copy, reboot and confirmation planned at 8 s
 * that take 8 s.  From the first second on, the ETA is within 30 % of
 * the true time left; it never jumps by more than 2 s against the clock;
 * it reaches 0 at the end.  The old average over the whole job said
 * several times the truth during the erase. */
#define SYN_BYTES   300000u
#define SYN_CHUNK   384u
static void test_progress_eta_timeline(void **state) {
        const uint64_t t_erase = 500000, t_write = t_erase + 3000000, chunk_usec = 32000, pause_at = 100000,
                       pause_usec = 2000000, wait = 8000000;
        uint64_t chunks = (SYN_BYTES + SYN_CHUNK - 1) / SYN_CHUNK;
        uint64_t t_staged = t_write + chunks * chunk_usec + pause_usec, t_end = t_staged + wait;
        FwProgress p = {};
        uint64_t sent = 0, next_ack = t_write + chunk_usec, prev_eta = 0, prev_t = 0;
        bool erased = false, paused = false, confirmed = false;

        fw_progress_start(&p, 0);
        fw_progress_add(&p, 2048 + 32768 + 65536 + SYN_BYTES, SYN_BYTES);
        fw_progress_plan_transfer(&p, SYN_BYTES, SYN_BYTES * 100u);
        fw_progress_add_wait(&p, 3000000);  /* the erase */
        fw_progress_add_wait(&p, wait);     /* copy, reboot, confirmation */

        for (uint64_t t = 0;; t = MIN(t + 10000, t_end)) {
                if (t >= t_erase && p.units_done == 0)
                        fw_progress_advance(&p, 2048, 0, t_erase);
                if (t >= t_write && !erased) {
                        fw_progress_advance(&p, 32768, 0, t_write);
                        fw_progress_wait_done(&p, 3000000, t_write);
                        erased = true;
                }
                while (erased && sent < SYN_BYTES && t >= next_ack) {
                        uint64_t n = MIN(SYN_CHUNK, SYN_BYTES - sent);

                        fw_progress_advance(&p, n, n, next_ack);
                        sent += n;
                        next_ack += chunk_usec;
                        if (sent >= pause_at && !paused) {
                                next_ack += pause_usec;
                                paused = true;
                        }
                }
                if (t >= t_end && !confirmed) {
                        fw_progress_advance(&p, 65536, 0, t_end);
                        fw_progress_wait_done(&p, wait, t_end);
                        confirmed = true;
                }

                uint64_t eta = fw_progress_eta_usec(&p, t), truth = t_end - t;

                assert_true(eta != UINT64_MAX);
                if (t >= 1000000 && truth >= 1000000) {
                        double err = fabs((double) eta - (double) truth) / (double) truth;
                        if (err > 0.3)
                                fail_msg("at %.2f s: ETA %.2f s, truly %.2f s left", t / 1e6, eta / 1e6, truth / 1e6);
                }
                if (t > 0) {
                        double drift = (double) eta - ((double) prev_eta - (double) (t - prev_t));
                        if (fabs(drift) > 2e6)
                                fail_msg("at %.2f s: ETA jumped from %.2f s to %.2f s", t / 1e6, prev_eta / 1e6,
                                         eta / 1e6);
                }
                prev_eta = eta;
                prev_t = t;
                if (t == t_end)
                        break;
        }
        assert_true(confirmed);
        assert_int_equal(sent, SYN_BYTES);
        assert_true(fw_progress_eta_usec(&p, t_end) < 100000);
        fw_progress_finish(&p);
        assert_int_equal(fw_progress_eta_usec(&p, t_end), 0);
}

/* What a transfer sends: the header chunk always, 0xFF chunks inside the
 * erased range never, the rest. */
static void test_stream_written(void **state) {
        size_t len = 131072 + 1000;
        uint8_t *s = malloc(len);

        assert_non_null(s);
        memset(s, 0xFF, len);
        assert_int_equal(fw_stream_written(s, len, 384), 384);       /* the header chunk */
        s[384 * 10] = 0;
        assert_int_equal(fw_stream_written(s, len, 384), 2 * 384);
        s[len - 1] = 0;                                              /* the short last chunk */
        assert_int_equal(fw_stream_written(s, len, 384), 2 * 384 + len % 384);
        assert_int_equal(fw_stream_written(s, len, 0), len);
        free(s);
}

/* The plan's transfer rate before measurement; a slow erase never sets it. */
static void test_progress_eta_plan_first(void **state) {
        FwProgress p = {};

        fw_progress_start(&p, 0);
        fw_progress_add(&p, 1000 + 100000, 100000);
        fw_progress_plan_transfer(&p, 100000, 10000000);
        fw_progress_add_wait(&p, 4000000);
        assert_true(fw_progress_eta_usec(&p, 0) == 14000000);
        assert_true(fw_progress_eta_usec(&p, 3000000) == 11000000);   /* counts down through the erase */
        assert_true(fw_progress_eta_usec(&p, 9000000) == 10000000);   /* an overrun stops at the transfer */
        fw_progress_advance(&p, 1000, 0, 9000000);
        fw_progress_wait_done(&p, 4000000, 9000000);
        assert_true(fw_progress_eta_usec(&p, 9000000) == 10000000);   /* the 9 s erase is not the rate */
        /* measured twice as fast as planned: the blend moves towards it */
        fw_progress_advance(&p, 50000, 50000, 9000000 + 2500000);
        uint64_t eta = fw_progress_eta_usec(&p, 11500000);
        assert_true(eta > 2500000 && eta < 3500000);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_progress_reboot_pending),
                cmocka_unit_test(test_strings),
                cmocka_unit_test(test_identity),
                cmocka_unit_test(test_plan_side),
                cmocka_unit_test(test_repair_errors),
                cmocka_unit_test(test_steps_offline),
                cmocka_unit_test(test_erase_and_skip),
                cmocka_unit_test(test_progress),
                cmocka_unit_test(test_progress_eta_timeline),
                cmocka_unit_test(test_progress_eta_plan_first),
                cmocka_unit_test(test_stream_written),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
