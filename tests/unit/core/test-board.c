/* Unit tests of the board view (daemon/core/board.c): table of pairs and the
 * exact mismatch lines and actions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/board.h"

static const uint8_t uuid_a[12] = { 0x3c, 0x00, 0x29, 0x00, 0x0d, 0x51, 0x39, 0x32, 0x36, 0x35, 0x39, 0x34 };
static const uint8_t uuid_b[12] = { 0x2f, 0x00, 0x2b, 0x00, 0x14, 0x51, 0x36, 0x33, 0x36, 0x33, 0x35, 0x31 };

static void make(Controller *c, const uint8_t uuid[12], uint8_t id, uint8_t major, uint8_t minor, const char *hw) {
        VescFwVersion v = { .major = major, .minor = minor };

        memcpy(v.uuid, uuid, 12);
        strcpy(v.hw_name, hw);
        controller_init(c, id);
        (void) controller_apply_fw_version(c, &v, 0);
        (void) controller_seen(c, 1);
}

typedef struct Row {
        const char *name;
        uint8_t a_major, a_minor, b_major, b_minor;
        const char *a_hw, *b_hw;
        uint8_t a_test, b_test;
        const char *a_fwname, *b_fwname;
        uint8_t a_bl, b_bl;
        uint32_t a_sig, b_sig;
        bool mismatch;
        const char *reasons[4];
        const char *actions[3];
} Row;

static const Row rows[] = {
        { "seed", 5, 3, 3, 58, "60", "60", 0, 0, "", "", 0, 0, 0, 0, true,
          { "firmware 5.03 \u2260 3.58" }, { "update 2f002b001451363336333531 (id 74) from 3.58 to 5.03" } },
        /* the reference is the newest firmware, whichever side has it */
        { "seed-reversed", 3, 58, 5, 3, "60", "60", 0, 0, "", "", 0, 0, 0, 0, true,
          { "firmware 5.03 \u2260 3.58" }, { "update 3c0029000d51393236353934 (id 12) from 3.58 to 5.03" } },
        { "ok", 6, 5, 6, 5, "60", "60", 0, 0, "", "", 2, 2, 0, 0, false, { NULL }, { NULL } },
        { "test-build", 6, 5, 6, 5, "60", "60", 0, 3, "", "", 0, 0, 0, 0, true,
          { "test build 0 \u2260 3" }, { "update 2f002b001451363336333531 (id 74) from 6.05 test 3 to 6.05" } },
        { "fw-name", 6, 5, 6, 5, "60", "60", 0, 0, "", "no_hw_limits", 0, 0, 0, 0, true,
          { "firmware name \"\" \u2260 \"no_hw_limits\"" }, { "update 2f002b001451363336333531 (id 74) from 6.05 to 6.05" } },
        { "hw", 6, 5, 6, 5, "60", "75_300", 0, 0, "", "", 0, 0, 0, 0, true,
          { "hardware 60 \u2260 75_300" }, { "check hardware of 2f002b001451363336333531 (id 74): 75_300, expected 60" } },
        { "bootloader", 5, 3, 5, 3, "60", "60", 0, 0, "", "", 2, 1, 0, 0, true,
          { "bootloader generation 2 \u2260 1" }, { NULL } },
        { "bootloader-unknown", 5, 3, 5, 3, "60", "60", 0, 0, "", "", 2, 0, 0, 0, false, { NULL }, { NULL } },
        { "signature", 6, 5, 6, 5, "60", "60", 0, 0, "", "", 0, 0, 0x11, 0x22, true,
          { "motor configuration signature 0x00000011 \u2260 0x00000022" }, { NULL } },
        /* different firmware: signatures differ by definition, not listed */
        { "signature-fw", 5, 3, 3, 58, "60", "60", 0, 0, "", "", 0, 0, 0x11, 0x22, true,
          { "firmware 5.03 \u2260 3.58" }, { "update 2f002b001451363336333531 (id 74) from 3.58 to 5.03" } },
};

static void check_row(void **state) {
        const Row *row = *state;
        Controller a, b;
        const Controller *list[2] = { &a, &b };
        Board board = BOARD_NULL;
        size_t i;

        make(&a, uuid_a, 12, row->a_major, row->a_minor, row->a_hw);
        make(&b, uuid_b, 74, row->b_major, row->b_minor, row->b_hw);
        a.fw_test_build = row->a_test;
        b.fw_test_build = row->b_test;
        strcpy(a.fw_name, row->a_fwname);
        strcpy(b.fw_name, row->b_fwname);
        a.bootloader_gen = row->a_bl;
        b.bootloader_gen = row->b_bl;
        a.mc_signature = row->a_sig;
        b.mc_signature = row->b_sig;

        assert_int_equal(board_compute(list, 2, &board), 0);
        assert_int_equal(board.n_controllers, 2);
        assert_int_equal(board.mismatch, row->mismatch);
        for (i = 0; row->reasons[i]; i++) {
                assert_non_null(board.reasons[i]);
                assert_string_equal(board.reasons[i], row->reasons[i]);
        }
        assert_null(board.reasons[i]);
        for (i = 0; row->actions[i]; i++) {
                assert_non_null(board.actions[i]);
                assert_string_equal(board.actions[i], row->actions[i]);
        }
        assert_null(board.actions[i]);
        board_done(&board);
        board_done(&board); /* idempotent */
}

static void test_unidentified_and_single(void **state) {
        Controller a, b;
        const Controller *list[3] = { &a, &b, NULL };
        Board board = BOARD_NULL;
        char *s = NULL;

        make(&a, uuid_a, 12, 5, 3, "60");
        controller_init(&b, 74); /* no identity yet */
        assert_int_equal(board_compute(list, 3, &board), 0);
        assert_int_equal(board.n_controllers, 1);
        assert_false(board.mismatch);
        assert_null(board.reasons[0]);
        assert_int_equal(board_summary(&board, &s), 0);
        assert_string_equal(s, "1 controller, consistent");
        assert_int_equal(board.state, BOARD_STATE_CONSISTENT);
        assert_null(board.state_reasons[0]);
        free(s);
        board_done(&board);
}

static void test_summary_equal(void **state) {
        Controller a, b;
        const Controller *list[2] = { &a, &b };
        Board x = BOARD_NULL, y = BOARD_NULL;
        char *s = NULL;

        make(&a, uuid_a, 12, 5, 3, "60");
        make(&b, uuid_b, 74, 3, 58, "60");
        assert_int_equal(board_compute(list, 2, &x), 0);
        assert_int_equal(board_compute(list, 2, &y), 0);
        assert_true(board_equal(&x, &y));
        assert_int_equal(board_summary(&x, &s), 0);
        assert_string_equal(s, "2 controllers, mismatch: firmware 5.03 \u2260 3.58");
        free(s);
        board_done(&y);
        (void) controller_set_id(&b, 75);
        assert_int_equal(board_compute(list, 2, &y), 0);
        assert_false(board_equal(&x, &y)); /* the action names the id */
        board_done(&x);
        board_done(&y);
}

static const uint8_t uuid_bms[12] = { 0x5b, 0x00, 0x30, 0x00, 0x08, 0x51, 0x39, 0x32, 0x36, 0x35, 0x39, 0x34 };

/* A BMS on other firmware is listed, never compared; offline members,
 * remembered members not seen and running jobs decide the state in the
 * order updating > degraded > mismatch > consistent. */
/* A candidate (not yet a member: member-after-s) is listed but not compared
 * and does not count for the state. */
static void test_candidate(void **state) {
        Controller a, b;
        const Controller *list[2] = { &a, &b };
        Board board = BOARD_NULL;

        make(&a, uuid_a, 12, 6, 5, "60");
        make(&b, uuid_b, 74, 5, 3, "60");
        b.candidate = true;
        assert_true(board_is_motor_controller(&b));
        assert_false(board_is_member(&b));
        assert_int_equal(board_compute(list, 2, &board), 0);
        assert_int_equal(board.n_controllers, 1);
        assert_false(board.mismatch);
        assert_int_equal(board.state, BOARD_STATE_CONSISTENT);
        board_done(&board);

        /* offline candidates do not degrade the board either */
        b.online = false;
        assert_int_equal(board_compute(list, 2, &board), 0);
        assert_int_equal(board.state, BOARD_STATE_CONSISTENT);
        board_done(&board);

        b.candidate = false;
        b.online = true;
        assert_int_equal(board_compute(list, 2, &board), 0);
        assert_true(board.mismatch);
        assert_int_equal(board.state, BOARD_STATE_MISMATCH);
        board_done(&board);

        a.candidate = b.candidate = true;
        assert_int_equal(board_compute(list, 2, &board), 0);
        assert_int_equal(board.state, BOARD_STATE_UNKNOWN);
        board_done(&board);
}

static void test_state(void **state) {
        Controller a, b, bms;
        const Controller *list[3] = { &a, &b, &bms };
        Board board = BOARD_NULL;
        const char *missing[] = { "1e0027001151363336333500", NULL };
        bool updating[3] = { false, true, false };
        char *s = NULL;

        assert_int_equal(board_compute(NULL, 0, &board), 0);
        assert_int_equal(board.state, BOARD_STATE_UNKNOWN);
        assert_string_equal(board.state_reasons[0], "no motor controller found");
        board_done(&board);

        make(&a, uuid_a, 12, 6, 5, "60");
        make(&b, uuid_b, 74, 6, 5, "60");
        make(&bms, uuid_bms, 10, 5, 3, "12s7p");
        bms.hw_type = 1;
        assert_false(board_is_member(&bms));
        assert_true(board_is_member(&a));
        assert_int_equal(board_compute(list, 3, &board), 0);
        assert_int_equal(board.n_controllers, 2);
        assert_false(board.mismatch);
        assert_int_equal(board.state, BOARD_STATE_CONSISTENT);
        assert_string_equal(board_state_to_string(board.state), "consistent");
        board_done(&board);

        /* the BMS going offline does not matter; a member does */
        bms.online = false;
        b.fw_minor = 3;
        strcpy(b.fw_version, "6.03");
        assert_int_equal(board_compute(list, 3, &board), 0);
        assert_int_equal(board.state, BOARD_STATE_MISMATCH);
        assert_string_equal(board.state_reasons[0], "firmware 6.05 ≠ 6.03");
        board_done(&board);

        a.online = false;
        assert_int_equal(board_compute(list, 3, &board), 0);
        assert_int_equal(board.state, BOARD_STATE_DEGRADED);
        assert_true(board.mismatch);
        assert_string_equal(board.state_reasons[0], "3c0029000d51393236353934 (id 12) is offline");
        assert_string_equal(board.state_reasons[1], "firmware 6.05 ≠ 6.03");
        assert_int_equal(board_summary(&board, &s), 0);
        assert_string_equal(s, "2 controllers, degraded: 3c0029000d51393236353934 (id 12) is offline");
        free(s);
        board_done(&board);

        a.online = true;
        assert_int_equal(board_compute_extra(list, 3, &(BoardExtra) { .missing = missing }, &board), 0);
        assert_int_equal(board.state, BOARD_STATE_DEGRADED);
        assert_string_equal(board.state_reasons[0], "1e0027001151363336333500 is a member of the board but not on the "
                                                    "bus (ForgetController removes it)");
        board_done(&board);

        assert_int_equal(board_compute_extra(list, 3, &(BoardExtra) { .missing = missing, .updating = updating }, &board), 0);
        assert_int_equal(board.state, BOARD_STATE_UPDATING);
        assert_string_equal(board.state_reasons[0], "2f002b001451363336333531 (id 74) is being updated");
        board_done(&board);

        /* nothing but a BMS: no board yet */
        list[0] = &bms;
        assert_int_equal(board_compute(list, 1, &board), 0);
        assert_int_equal(board.state, BOARD_STATE_UNKNOWN);
        assert_int_equal(board.n_controllers, 0);
        board_done(&board);
        assert_int_equal(board_state_from_string("updating"), BOARD_STATE_UPDATING);
        assert_int_equal(board_state_from_string("bogus"), _BOARD_STATE_INVALID);
}

static void test_mismatch_reason(void **state) {
        char *reasons[] = { (char *) "firmware differs", NULL };
        Board b = BOARD_NULL;

        assert_string_equal(board_mismatch_reason(&b), "");
        b.reasons = reasons;
        assert_string_equal(board_mismatch_reason(&b), "");  /* not mismatched: no reason shown */
        b.mismatch = true;
        assert_string_equal(board_mismatch_reason(&b), "firmware differs");
}

int main(void) {
        struct CMUnitTest tests[sizeof rows / sizeof rows[0] + 5];
        size_t n = 0;

        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
                tests[n++] = (struct CMUnitTest) {
                        .name = rows[i].name, .test_func = check_row, .initial_state = (void *) &rows[i],
                };
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_unidentified_and_single);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_summary_equal);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_state);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_mismatch_reason);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_candidate);
        return _cmocka_run_group_tests("board", tests, n, NULL, NULL);
}
