/* Unit tests for common/hex.c: the value of every kind of digit, upper case
 * refused by the lower-case variants, bytes decoded high digit first, and a
 * failing decode stops at the bad digit with the bytes from there on
 * untouched. */

#include <errno.h>
#include <stdint.h>

#include "hex.h"
#include "macro.h"
#include "test-util.h"

/* Each kind of digit and the neighbours of each range, with the value
 * hex_digit() and hex_digit_lower() give it (-EINVAL: not a digit). */
static const struct {
        char c;
        int any, lower;
} digits[] = {
        { '0', 0, 0 },
        { '9', 9, 9 },
        { 'a', 10, 10 },
        { 'f', 15, 15 },
        { 'A', 10, -EINVAL },
        { 'F', 15, -EINVAL },
        { '/', -EINVAL, -EINVAL },
        { ':', -EINVAL, -EINVAL },
        { '`', -EINVAL, -EINVAL },
        { 'g', -EINVAL, -EINVAL },
        { '@', -EINVAL, -EINVAL },
        { 'G', -EINVAL, -EINVAL },
        { ' ', -EINVAL, -EINVAL },
        { '\0', -EINVAL, -EINVAL },
};

static void test_digits(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(digits); i++) {
                if (hex_digit(digits[i].c) != digits[i].any ||
                    hex_digit_lower(digits[i].c) != digits[i].lower)
                        fail_msg("'%c' (%d): hex_digit %d, hex_digit_lower %d; expected %d, %d",
                                 digits[i].c, digits[i].c, hex_digit(digits[i].c),
                                 hex_digit_lower(digits[i].c), digits[i].any, digits[i].lower);
        }
}

static void test_decode(void **state) {
        uint8_t b[4] = {};

        (void) state;
        assert_int_equal(hex_decode("00ff7A", 3, /* lower_only= */ false, b), 0);
        assert_int_equal(b[0], 0x00);
        assert_int_equal(b[1], 0xff);
        assert_int_equal(b[2], 0x7a);
        assert_int_equal(b[3], 0x00);   /* only n bytes written */

        assert_int_equal(hex_decode("2f00c3", 3, /* lower_only= */ true, b), 0);
        assert_int_equal(b[0], 0x2f);
        assert_int_equal(b[1], 0x00);
        assert_int_equal(b[2], 0xc3);

        /* zero bytes: nothing read, nothing written */
        assert_int_equal(hex_decode("zz", 0, /* lower_only= */ false, b), 0);
        assert_int_equal(b[0], 0x2f);
}

static void test_decode_refused(void **state) {
        uint8_t b[3] = { 0x11, 0x22, 0x33 };

        (void) state;
        /* upper case with lower_only: bytes before it written, rest untouched */
        assert_int_equal(hex_decode("abCd99", 3, /* lower_only= */ true, b), -EINVAL);
        assert_int_equal(b[0], 0xab);
        assert_int_equal(b[1], 0x22);
        assert_int_equal(b[2], 0x33);

        /* a bad low digit */
        assert_int_equal(hex_decode("1g", 1, /* lower_only= */ false, b), -EINVAL);
        /* an odd number of digits: the NUL is the missing low digit */
        assert_int_equal(hex_decode("123", 2, /* lower_only= */ false, b), -EINVAL);
        assert_int_equal(b[0], 0x12);
        assert_int_equal(b[1], 0x22);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_digits),
                cmocka_unit_test(test_decode),
                cmocka_unit_test(test_decode_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
