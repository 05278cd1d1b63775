/* Unit tests of the holds (daemon/core/hold.c): shared holds coexist, an
 * exclusive one conflicts with everything and names the holder, a waiting
 * exclusive hold becomes ready when the last shared hold goes and blocks
 * new holds meanwhile, and what polling sees. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/hold.h"

static const uint8_t UUID_A[HOLD_UUID_LEN] = { 0x3c, 0x00, 0x29, 0x00, 0x0d, 0x51, 0x39, 0x32, 0x36, 0x35, 0x39, 0x34 };
static const uint8_t UUID_B[HOLD_UUID_LEN] = { 0x2f, 0x00, 0x2b, 0x00, 0x14, 0x51, 0x36, 0x33, 0x36, 0x33, 0x35, 0x31 };

static int setup(void **state) {
        HoldTable *t;

        assert_int_equal(hold_table_new(&t), 0);
        *state = t;
        return 0;
}

static int teardown(void **state) {
        hold_table_free(*state);
        return 0;
}

static const HoldOwner READ_OWNER = { .text = "is being read (configuration backup)" };

static void test_shared_coexist(void **state) {
        HoldTable *t = *state;
        Hold *a, *b;

        assert_int_equal(hold_acquire(t, UUID_A, HOLD_SHARED, false, &READ_OWNER, &a, NULL), 0);
        assert_int_equal(hold_acquire(t, UUID_A, HOLD_SHARED, false, &READ_OWNER, &b, NULL), 0);
        assert_true(hold_ready(a));
        assert_true(hold_ready(b));
        assert_int_equal(hold_table_count(t, UUID_A), 2);
        assert_int_equal(hold_table_count(t, UUID_B), 0);
        /* reads never pause polling */
        assert_false(hold_table_exclusive(t, UUID_A));
        hold_release(a);
        hold_release(b);
        assert_int_equal(hold_table_count(t, UUID_A), 0);
}

static void test_exclusive_refused(void **state) {
        HoldTable *t = *state;
        char *err = NULL;
        Hold *r, *w, *other;

        /* an exclusive hold is refused by a shared one, naming it */
        assert_int_equal(hold_acquire(t, UUID_A, HOLD_SHARED, false, &READ_OWNER, &r, NULL), 0);
        assert_int_equal(hold_acquire(t, UUID_A, HOLD_EXCLUSIVE, false,
                                      &(HoldOwner) { .text = "is being written (runtime limits)" }, &w, &err),
                         -EBUSY);
        assert_string_equal(err, "3c0029000d51393236353934 is being read (configuration backup)");
        free(err);
        err = NULL;
        hold_release(r);

        /* and refuses every other hold, on that controller only */
        assert_int_equal(hold_acquire(t, UUID_A, HOLD_EXCLUSIVE, false,
                                      &(HoldOwner) { .text = "is being written (runtime limits)" }, &w, NULL),
                         0);
        assert_true(hold_ready(w));
        assert_true(hold_table_exclusive(t, UUID_A));
        assert_int_equal(hold_check(t, UUID_A, HOLD_SHARED, false, &err), -EBUSY);
        assert_string_equal(err, "3c0029000d51393236353934 is being written (runtime limits)");
        free(err);
        err = NULL;
        assert_int_equal(hold_acquire(t, UUID_A, HOLD_EXCLUSIVE, true, NULL, &other, NULL), -EBUSY);
        assert_int_equal(hold_acquire(t, UUID_B, HOLD_EXCLUSIVE, false, NULL, &other, NULL), 0);
        hold_release(other);
        hold_release(w);
        assert_false(hold_table_exclusive(t, UUID_A));
        assert_int_equal(hold_check(t, UUID_A, HOLD_EXCLUSIVE, false, NULL), 0);
}

typedef struct JobStub {
        unsigned id;
        const char *phase;
        unsigned ready_calls;
} JobStub;

static void job_describe(void *userdata, char *buf, size_t size) {
        JobStub *j = userdata;
        snprintf(buf, size, "is being updated by job %u (%s)", j->id, j->phase);
}

static void job_ready(void *userdata, Hold *h) {
        JobStub *j = userdata;
        assert_true(hold_ready(h));
        j->ready_calls++;
}

static void test_wait_for_shared(void **state) {
        HoldTable *t = *state;
        JobStub job = { .id = 3, .phase = "checking" };
        HoldOwner owner = { .describe = job_describe, .ready = job_ready, .userdata = &job };
        char *err = NULL;
        Hold *r1, *r2, *j, *late;

        assert_int_equal(hold_acquire(t, UUID_B, HOLD_SHARED, false, &READ_OWNER, &r1, NULL), 0);
        assert_int_equal(hold_acquire(t, UUID_B, HOLD_SHARED, false, &READ_OWNER, &r2, NULL), 0);
        /* a job does not get refused by reads: it waits */
        assert_int_equal(hold_check(t, UUID_B, HOLD_EXCLUSIVE, true, NULL), 0);
        assert_int_equal(hold_acquire(t, UUID_B, HOLD_EXCLUSIVE, true, &owner, &j, NULL), 0);
        assert_false(hold_ready(j));
        assert_int_equal(hold_kind(j), HOLD_EXCLUSIVE);
        assert_true(hold_table_exclusive(t, UUID_B));
        err = hold_blocker_text(j);
        assert_string_equal(err, "2f002b001451363336333531 is being read (configuration backup)");
        free(err);
        err = NULL;

        /* no new read slips in while it waits; the text follows the phase */
        assert_int_equal(hold_acquire(t, UUID_B, HOLD_SHARED, false, &READ_OWNER, &late, &err), -EBUSY);
        assert_string_equal(err, "2f002b001451363336333531 is being updated by job 3 (checking)");
        free(err);
        err = NULL;
        job.phase = "writing";
        assert_int_equal(hold_check(t, UUID_B, HOLD_SHARED, false, &err), -EBUSY);
        assert_string_equal(err, "2f002b001451363336333531 is being updated by job 3 (writing)");
        free(err);

        hold_release(r1);
        assert_int_equal(job.ready_calls, 0);
        assert_false(hold_ready(j));
        hold_release(r2);
        assert_int_equal(job.ready_calls, 1);
        assert_true(hold_ready(j));
        assert_null(hold_blocker_text(j));
        err = hold_text(j);
        assert_string_equal(err, "2f002b001451363336333531 is being updated by job 3 (writing)");
        free(err);
        hold_release(j);
        assert_int_equal(hold_table_count(t, UUID_B), 0);
}

static void test_give_up_waiting(void **state) {
        HoldTable *t = *state;
        JobStub job = { .id = 4, .phase = "checking" };
        HoldOwner owner = { .describe = job_describe, .ready = job_ready, .userdata = &job };
        Hold *r, *j;

        assert_int_equal(hold_acquire(t, UUID_A, HOLD_SHARED, false, &READ_OWNER, &r, NULL), 0);
        assert_int_equal(hold_acquire(t, UUID_A, HOLD_EXCLUSIVE, true, &owner, &j, NULL), 0);
        /* the job's deadline passed: it lets go, the read carries on */
        hold_release(j);
        assert_int_equal(job.ready_calls, 0);
        assert_false(hold_table_exclusive(t, UUID_A));
        assert_int_equal(hold_check(t, UUID_A, HOLD_SHARED, false, NULL), 0);
        hold_release(r);
        /* and a free table leaves nothing behind (holds still held are
         * freed by hold_table_free(), checked by ASan) */
        assert_int_equal(hold_acquire(t, UUID_A, HOLD_SHARED, false, &READ_OWNER, &r, NULL), 0);
}

typedef struct Released {
        unsigned n;
        uint8_t uuid[HOLD_UUID_LEN];
} Released;

static void on_released(void *userdata, const uint8_t uuid[static HOLD_UUID_LEN]) {
        Released *r = userdata;

        r->n++;
        memcpy(r->uuid, uuid, HOLD_UUID_LEN);
}

/* The table tells its owner when the last exclusive hold on a controller
 * goes (vescd checks the controller then); never for shared holds, nor
 * while a waiting exclusive hold remains, nor from hold_table_free(). */
static void test_released(void **state) {
        HoldTable *t = *state;
        Released rel = {};
        Hold *r1, *r2, *w, *job;

        hold_table_set_released(t, on_released, &rel);
        /* shared holds: nobody is told */
        assert_int_equal(hold_acquire(t, UUID_A, HOLD_SHARED, false, &READ_OWNER, &r1, NULL), 0);
        hold_release(r1);
        assert_int_equal(rel.n, 0);
        /* an exclusive hold: told once, with its controller */
        assert_int_equal(hold_acquire(t, UUID_B, HOLD_EXCLUSIVE, false, &(HoldOwner) { .text = "is being written" }, &job,
                                      NULL),
                         0);
        hold_release(job);
        assert_int_equal(rel.n, 1);
        assert_memory_equal(rel.uuid, UUID_B, HOLD_UUID_LEN);
        /* a job waiting for a read: the read's release makes it ready and
         * tells nobody (the controller is still held); the job's does */
        assert_int_equal(hold_acquire(t, UUID_A, HOLD_SHARED, false, &READ_OWNER, &r2, NULL), 0);
        assert_int_equal(hold_acquire(t, UUID_A, HOLD_EXCLUSIVE, true, &(HoldOwner) { .text = "is being updated" }, &w,
                                      NULL),
                         0);
        assert_false(hold_ready(w));
        hold_release(r2);
        assert_true(hold_ready(w));
        assert_int_equal(rel.n, 1);
        hold_release(w);
        assert_int_equal(rel.n, 2);
        assert_memory_equal(rel.uuid, UUID_A, HOLD_UUID_LEN);
        /* nobody to tell: fine */
        hold_table_set_released(t, NULL, NULL);
        assert_int_equal(hold_acquire(t, UUID_A, HOLD_EXCLUSIVE, false, &(HoldOwner) { .text = "is being written" }, &job,
                                      NULL),
                         0);
        hold_release(job);
        assert_int_equal(rel.n, 2);

        /* freeing a table with an exclusive hold in it tells nobody */
        HoldTable *t2;
        assert_int_equal(hold_table_new(&t2), 0);
        hold_table_set_released(t2, on_released, &rel);
        assert_int_equal(hold_acquire(t2, UUID_A, HOLD_EXCLUSIVE, false, &(HoldOwner) { .text = "is being written" }, &job,
                                      NULL),
                         0);
        hold_table_free(t2);
        assert_int_equal(rel.n, 2);
}

static void test_args(void **state) {
        HoldTable *t = *state;
        Hold *h;

        assert_int_equal(hold_acquire(t, UUID_A, HOLD_SHARED, true, NULL, &h, NULL), -EINVAL);
        assert_int_equal(hold_check(t, UUID_A, (HoldKind) 7, false, NULL), -EINVAL);
        assert_null(hold_release(NULL));
        assert_string_equal(hold_kind_to_string(HOLD_EXCLUSIVE), "exclusive");
        assert_int_equal(hold_kind_from_string("shared"), HOLD_SHARED);
        assert_int_equal(hold_kind_from_string("nope"), _HOLD_KIND_INVALID);
        assert_null(hold_kind_to_string(_HOLD_KIND_MAX));
        /* without a text the holder is still named as a hold */
        assert_int_equal(hold_acquire(t, UUID_A, HOLD_EXCLUSIVE, false, NULL, &h, NULL), 0);
        char *s = hold_text(h);
        assert_string_equal(s, "3c0029000d51393236353934 is held by another operation");
        free(s);
        hold_release(h);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_shared_coexist, setup, teardown),
                cmocka_unit_test_setup_teardown(test_exclusive_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wait_for_shared, setup, teardown),
                cmocka_unit_test_setup_teardown(test_give_up_waiting, setup, teardown),
                cmocka_unit_test_setup_teardown(test_args, setup, teardown),
                cmocka_unit_test_setup_teardown(test_released, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
