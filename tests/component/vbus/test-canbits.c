/* can_frame_wire_bits(): hand-worked frames, the VESC frames that matter,
 * and the classic worst-case bound over many frames. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "canbits.h"
#include "macro.h"

typedef struct Row {
        const char *name;
        uint32_t can_id;
        uint8_t dlc;
        uint8_t data[8];
        unsigned nostuff, bits;
} Row;

/* Expected values were worked out bit by bit (and cross-checked with a
 * separate script writing the frame as a string of '0'/'1').  Stuffed
 * region of two of them:
 *
 * all-zero standard frame, id 0, DLC 0: SOF + 11 id + RTR + IDE + r0 + 4 DLC
 *   = 19 zero bits, CRC-15 of zeros = 0: 34 zero bits.  A stuff bit '1'
 *   follows every fifth zero and the next zeros start a new run: stuff after
 *   bits 5, 10, …, 30 = 6.  34 + 6 + 13 (trailer, IFS) = 53.
 *
 * VESC PING to id 12 from 253 (EID 0x110C, data FD):
 *   unstuffed 0 00000000000 1 1 000001000100001100 0 00 0001 11111101
 *             CRC 100011100110101 (0x4735)                    = 62 bits
 *   stuffed   00000100000 10011 000001 100010000 1100000 1000111110 1 1011
 *             00011100110101                                 = 67 bits
 *   67 + 13 = 80. */
static const Row rows[] = {
        { "std all zero", 0x000, 0, {}, 47, 53 },
        { "std 0x7FF eight FF", 0x7FF, 8, { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF }, 111, 126 },
        { "std 0x123 DEADBEEF", 0x123, 4, { 0xDE, 0xAD, 0xBE, 0xEF }, 79, 81 },
        { "std 0 eight zero", 0x000, 8, {}, 111, 127 },
        { "eff VESC PING 12 from 253", 0x110C | CAN_EFF_FLAG, 1, { 0xFD }, 75, 80 },
        { "eff VESC STATUS id 10", 0x090A | CAN_EFF_FLAG, 8, { 1, 2, 3, 4, 5, 6, 7, 8 }, 131, 143 },
        { "eff 0 eight zero", 0x0 | CAN_EFF_FLAG, 8, {}, 131, 150 },
        { "eff 1FFFFFFF eight FF", 0x1FFFFFFF | CAN_EFF_FLAG, 8, { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF }, 131, 149 },
        /* A remote frame sends its DLC but no data. */
        { "std remote 0x555 R4", 0x555 | CAN_RTR_FLAG, 4, { 0xAA, 0xAA }, 47, 47 },
};

static void test_rows(void **state _unused_) {
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                struct can_frame f = { .can_id = rows[i].can_id, .can_dlc = rows[i].dlc };

                memcpy(f.data, rows[i].data, 8);
                print_message("%s\n", rows[i].name);
                assert_int_equal(can_frame_wire_bits_nostuff(&f), rows[i].nostuff);
                assert_int_equal(can_frame_wire_bits(&f), rows[i].bits);
                assert_true(can_frame_wire_bits(&f) <= can_frame_wire_bits_max(&f));
        }
}

static void test_error_frame(void **state _unused_) {
        struct can_frame f = { .can_id = CAN_ERR_FLAG | 0x40, .can_dlc = 8 };

        assert_int_equal(can_frame_wire_bits(&f), 0);
        assert_int_equal(can_frame_wire_bits_nostuff(&f), 0);
}

static void test_dlc_clamped(void **state _unused_) {
        struct can_frame f = { .can_id = 0x123, .can_dlc = 15 };

        assert_int_equal(can_frame_wire_bits_nostuff(&f), 47 + 64);
}

/* Exhaustive over every standard frame with one data byte: the most stuffed
 * one is id 0x010, data EE, at 62 bits (the separate script found the same
 * maximum over all 2^19), below the classic bound 55 + floor(41/4) = 65. */
static void test_max_stuffing(void **state _unused_) {
        unsigned best = 0, best_id = 0, best_data = 0;

        for (unsigned id = 0; id <= CAN_SFF_MASK; id++)
                for (unsigned d = 0; d < 256; d++) {
                        struct can_frame f = { .can_id = id, .can_dlc = 1, .data = { (uint8_t) d } };
                        unsigned b = can_frame_wire_bits(&f);

                        assert_true(b >= 63 - 8 && b <= can_frame_wire_bits_max(&f));
                        if (b > best) {
                                best = b;
                                best_id = id;
                                best_data = d;
                        }
                }
        assert_int_equal(best, 62);
        assert_int_equal(best_id, 0x010);
        assert_int_equal(best_data, 0xEE);
}

/* Extended 8-byte frames: always within [131, 131 + floor(117/4)]. */
static void test_bound_extended(void **state _unused_) {
        uint32_t x = 12345;

        for (unsigned i = 0; i < 100000; i++) {
                struct can_frame f = { .can_dlc = 8 };

                x = x * 1103515245u + 12345u;
                f.can_id = (x & CAN_EFF_MASK) | CAN_EFF_FLAG;
                for (unsigned k = 0; k < 8; k++) {
                        x = x * 1103515245u + 12345u;
                        /* Mostly runs of equal bits, to stress stuffing. */
                        f.data[k] = (x >> 16) & 1 ? 0x00 : (x >> 17) & 1 ? 0xFF : (uint8_t) (x >> 20);
                }
                assert_true(can_frame_wire_bits(&f) >= 131);
                assert_true(can_frame_wire_bits(&f) <= 131 + 29);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rows),
                cmocka_unit_test(test_error_frame),
                cmocka_unit_test(test_dlc_clamped),
                cmocka_unit_test(test_max_stuffing),
                cmocka_unit_test(test_bound_extended),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
