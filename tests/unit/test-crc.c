/* Unit tests for common/crc.c: CRC-16/XMODEM as the VESC firmware computes
 * it (spec §0.3) and CRC-32C (spec §8.4).  Every expected value comes from
 * the spec text or was computed independently (bitwise, in a scratch Python
 * script), never with the code under test. */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "crc.h"
#include "macro.h"
#include "test-util.h"

typedef struct Crc16Vector {
        const char *name;
        const uint8_t *data;
        size_t len;
        uint16_t crc;
} Crc16Vector;

/* §19: a 3.58 "60" controller's FW_VERSION reply (19 bytes), sent in the
 * PROCESS frame with CRC 0x7CF2. */
static const uint8_t fw358[] = {
        0x00, 0x03, 0x3A, 0x36, 0x30, 0x00, 0x3A, 0x00, 0x27, 0x00,
        0x0A, 0x51, 0x35, 0x30, 0x38, 0x33, 0x32, 0x34, 0x00,
};
/* §19: COMM_SET_MCCONF_TEMP_SETUP payload (37 bytes), framed with CRC CD 88. */
static const uint8_t mcconf_temp_setup[] = {
        0x31, 0x00, 0x01, 0x01, 0x00, 0x3F, 0x80, 0x00, 0x00, 0x3F, 0x4C, 0xCC, 0xCD,
        0xC1, 0x20, 0x00, 0x00, 0x41, 0x48, 0x00, 0x00, 0x3B, 0xA3, 0xD7, 0x0A, 0x3F,
        0x73, 0x33, 0x33, 0xC9, 0xB7, 0x1B, 0x00, 0x49, 0xB7, 0x1B, 0x00,
};

static const Crc16Vector crc16_vectors[] = {
        /* §0.3 check value. */
        { "ascii 123456789", (const uint8_t *) "123456789", 9, 0x31C3 },
        /* §0.3: single bytes. */
        { "single 0x04", (const uint8_t[]){ 0x04 }, 1, 0x4084 },
        { "single 0x00", (const uint8_t[]){ 0x00 }, 1, 0x0000 },
        /* Init 0 and no final XOR: the empty string is 0. */
        { "empty", (const uint8_t *) "", 0, 0x0000 },
        /* §1: GET_VALUES request frame `02 01 04 40 84 03` -> CRC of [04] is 0x4084
         * (same as above, but via the frame example); FW_VERSION `02 01 00 00 00 03`. */
        { "§1 FW_VERSION payload", (const uint8_t[]){ 0x00 }, 1, 0x0000 },
        /* §19 serial: PING_CAN `02 01 3E D7 9D 03`. */
        { "§19 PING_CAN", (const uint8_t[]){ 0x3E }, 1, 0xD79D },
        /* §19 serial: forward GET_VALUES to 0x45, `02 03 22 45 04 5A 1B 03`. */
        { "§19 FORWARD_CAN", (const uint8_t[]){ 0x22, 0x45, 0x04 }, 3, 0x5A1B },
        /* §19 serial: MCCONF_TEMP_SETUP reply `02 01 31 26 72 03`. */
        { "§19 [49] reply", (const uint8_t[]){ 0x31 }, 1, 0x2672 },
        { "§19 FW_VERSION 3.58 reply", fw358, sizeof fw358, 0x7CF2 },
        { "§19 MCCONF_TEMP_SETUP", mcconf_temp_setup, sizeof mcconf_temp_setup, 0xCD88 },
        /* High bit of the first byte set: exercises the MSB-first shift
         * (bitwise CRC-16/XMODEM of FF = 0x1EF0, computed in Python). */
        { "single 0xFF", (const uint8_t[]){ 0xFF }, 1, 0x1EF0 },
};

static void test_crc16_vectors(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(crc16_vectors); i++) {
                const Crc16Vector *v = &crc16_vectors[i];
                assert_int(v->name, crc16(v->data, v->len), v->crc);
        }
}

/* crc16_update continues a running CRC: splitting the input anywhere gives
 * the same result as one call (spec §0.3 is a plain shift register). */
static void test_crc16_incremental(void **state) {
        (void) state;
        const uint8_t *s = (const uint8_t *) "123456789";
        for (size_t cut = 0; cut <= 9; cut++) {
                uint16_t c = crc16_update(0, s, cut);
                c = crc16_update(c, s + cut, 9 - cut);
                assert_int("split 123456789", c, 0x31C3);
        }
        uint16_t c = 0;
        for (size_t i = 0; i < sizeof mcconf_temp_setup; i++)
                c = crc16_update(c, mcconf_temp_setup + i, 1);
        assert_int("byte-wise MCCONF_TEMP_SETUP", c, 0xCD88);
}

typedef struct Crc32cVector {
        const char *name;
        const uint8_t *data;
        size_t len;
        uint32_t crc;
} Crc32cVector;

static const Crc32cVector crc32c_vectors[] = {
        /* §8.4 check value. */
        { "ascii 123456789", (const uint8_t *) "123456789", 9, 0xE3069283 },
        /* init 0xFFFFFFFF and final complement cancel for empty input. */
        { "empty", (const uint8_t *) "", 0, 0x00000000 },
        /* Preset UUIDs (DESIGN.md); bitwise reflected 0x82F63B78 in Python:
         * A & 0x7F = 10, B & 0x7F = 74 (see test-can.c default ids). */
        { "uuid A 3c0029000d51393236353934",
          (const uint8_t[]){ 0x3c, 0x00, 0x29, 0x00, 0x0d, 0x51, 0x39, 0x32, 0x36, 0x35, 0x39, 0x34 }, 12,
          0x3BDBF48A },
        { "uuid B 2f002b001451363336333531",
          (const uint8_t[]){ 0x2f, 0x00, 0x2b, 0x00, 0x14, 0x51, 0x36, 0x33, 0x36, 0x33, 0x35, 0x31 }, 12,
          0x84D16A4A },
};

static void test_crc32c_vectors(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(crc32c_vectors); i++) {
                const Crc32cVector *v = &crc32c_vectors[i];
                assert_int(v->name, crc32c(v->data, v->len), v->crc);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_crc16_vectors),
                cmocka_unit_test(test_crc16_incremental),
                cmocka_unit_test(test_crc32c_vectors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
