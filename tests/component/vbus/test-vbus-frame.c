/* The cansend/candump frame syntax of the vbus tools. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <linux/can/error.h>

#include "macro.h"
#include "vbus-frame.h"

typedef struct Row {
        const char *in;
        uint32_t can_id;
        uint8_t dlc;
        uint8_t data[8];
        const char *out; /* canonical form; NULL = same as in */
} Row;

static const Row good[] = {
        { "0000110C#FD", 0x110C | CAN_EFF_FLAG, 1, { 0xFD } },
        { "0000090A#0102030405060708", 0x090A | CAN_EFF_FLAG, 8, { 1, 2, 3, 4, 5, 6, 7, 8 } },
        { "123#DEADBEEF", 0x123, 4, { 0xDE, 0xAD, 0xBE, 0xEF } },
        { "123#de.ad.be.ef", 0x123, 4, { 0xDE, 0xAD, 0xBE, 0xEF }, "123#DEADBEEF" },
        { "7FF#", 0x7FF, 0, {} },
        { "1FFFFFFF#00", 0x1FFFFFFF | CAN_EFF_FLAG, 1, {} },
        { "123#R", 0x123 | CAN_RTR_FLAG, 0, {} },
        { "00000123#R8", 0x123 | CAN_EFF_FLAG | CAN_RTR_FLAG, 8, {} },
        { "20000040#0000000000000000", CAN_ERR_FLAG | CAN_ERR_BUSOFF, 8, {} },
};

static const char *const bad[] = {
        "", "123", "12#00", "1234#00", "800#00", "123#0", "123#001122334455667788",
        "123#R9", "123#RX", "12G#00", "0000110C#FG", "40000000#00",
};

static void test_good(void **state _unused_) {
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                struct can_frame f, e = { .can_id = good[i].can_id, .can_dlc = good[i].dlc };
                char buf[VBUS_FRAME_TEXT_MAX];
                const char *out = good[i].out ?: good[i].in;

                memcpy(e.data, good[i].data, 8);
                print_message("%s\n", good[i].in);
                assert_int_equal(vbus_frame_parse(good[i].in, &f), 0);
                assert_memory_equal(&f, &e, sizeof(f));
                assert_int_equal(vbus_frame_format(&f, buf, sizeof(buf)), (int) strlen(out));
                assert_string_equal(buf, out);
        }
}

static void test_bad(void **state _unused_) {
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct can_frame f;

                print_message("'%s'\n", bad[i]);
                assert_int_equal(vbus_frame_parse(bad[i], &f), -EINVAL);
        }
}

static void test_small_buffer(void **state _unused_) {
        struct can_frame f = { .can_id = 0x123, .can_dlc = 2 };
        char buf[9];

        /* "123#0000" needs 9 bytes with its NUL. */
        assert_int_equal(vbus_frame_format(&f, buf, 8), -ENOBUFS);
        assert_int_equal(vbus_frame_format(&f, buf, sizeof(buf)), 8);
        assert_string_equal(buf, "123#0000");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_good),
                cmocka_unit_test(test_bad),
                cmocka_unit_test(test_small_buffer),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
