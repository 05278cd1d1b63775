/* fwimage: upload header and stream (spec §14.2), vector-table rules
 * (§14.1) and the VESCDFW1/VESCDBL1 descriptors (DESIGN.md), against
 * vectors worked out by hand.
 *
 * CRC16 values below are CRC-16/XMODEM (poly 0x1021, init 0, MSB first),
 * computed bit by bit over the listed bytes; the check value of "123456789"
 * is 0x31C3 (spec §0.3), which anchors the computation. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fwimage.h"
#include "heatshrink.h"
#include "macro.h"

static void test_header_write(void **state) {
        (void) state;
        uint8_t out[6];
        /* Plain 5.x image: size 393208 = 0x0005FFF8. */
        vesc_upload_header_write(&(VescUploadHeader){ .size = 393208, .crc = 0x1234 }, out);
        assert_memory_equal(out, ((uint8_t[]){ 0x00, 0x05, 0xFF, 0xF8, 0x12, 0x34 }), 6);
        /* Compressed: 0xCC in the top byte, 39132 = 0x0098DC below. */
        vesc_upload_header_write(&(VescUploadHeader){ .compressed = true, .size = 39132, .crc = 0xBEEF }, out);
        assert_memory_equal(out, ((uint8_t[]){ 0xCC, 0x00, 0x98, 0xDC, 0xBE, 0xEF }), 6);
}

static void test_header_parse(void **state) {
        (void) state;
        VescUploadHeader h;
        assert_int_equal(vesc_upload_header_parse((uint8_t[]){ 0xCC, 0x00, 0x98, 0xDC, 0xBE, 0xEF }, 6, &h), 0);
        assert_true(h.compressed);
        assert_int_equal(h.size, 39132);
        assert_int_equal(h.crc, 0xBEEF);
        assert_int_equal(vesc_upload_header_parse((uint8_t[]){ 0x00, 0x05, 0xFF, 0xF8, 0x31, 0xC3 }, 6, &h), 0);
        assert_false(h.compressed);
        assert_int_equal(h.size, 393208);
        assert_int_equal(h.crc, 0x31C3);
        assert_int_equal(vesc_upload_header_parse((uint8_t[]){ 0, 0, 0, 0, 0 }, 5, &h), -EBADMSG);
}

static void test_stream_plain(void **state) {
        (void) state;
        _cleanup_free_ uint8_t *s = NULL;
        size_t n;
        /* "123456789": size 9, CRC 0x31C3. */
        assert_int_equal(vesc_upload_stream_build((const uint8_t *) "123456789", 9, false, &s, &n), 0);
        assert_int_equal(n, 15);
        assert_memory_equal(s, ((uint8_t[]){ 0x00, 0x00, 0x00, 0x09, 0x31, 0xC3 }), 6);
        assert_memory_equal(s + 6, "123456789", 9);
}

static void test_stream_compressed(void **state) {
        (void) state;
        _cleanup_free_ uint8_t *s = NULL;
        size_t n;
        /* "abcabcabc" -> B0 D8 AC 60 01 14 (spec §21.6); CRC16 of those six
         * bytes is 0x91C8; size 6 with the 0xCC flag. */
        assert_int_equal(vesc_upload_stream_build((const uint8_t *) "abcabcabc", 9, true, &s, &n), 0);
        assert_int_equal(n, 12);
        assert_memory_equal(s, ((uint8_t[]){ 0xCC, 0x00, 0x00, 0x06, 0x91, 0xC8, 0xB0, 0xD8, 0xAC, 0x60, 0x01, 0x14 }),
                            12);
}

static void test_stream_limits(void **state) {
        (void) state;
        _cleanup_free_ uint8_t *img = malloc(VESC_APP_SIZE_V6);
        uint8_t *s = NULL;
        size_t n;
        assert_non_null(img);

        /* Plain: 393208 fits exactly, one more byte does not. */
        memset(img, 0x11, VESC_APP_SIZE_V6);
        assert_int_equal(vesc_upload_stream_build(img, VESC_APP_SIZE_V5, false, &s, &n), 0);
        assert_int_equal(n, VESC_UPLOAD_MAX);
        free(s);
        s = NULL;
        assert_int_equal(vesc_upload_stream_build(img, VESC_APP_SIZE_V5 + 1, false, &s, &n), -EFBIG);
        assert_null(s);

        /* Compressed: incompressible 6.x data is refused. */
        uint32_t x = 1;
        for (size_t i = 0; i < VESC_APP_SIZE_V6; i++) {
                x = x * 1103515245u + 12345u;
                img[i] = (uint8_t) (x >> 16);
        }
        assert_int_equal(vesc_upload_stream_build(img, VESC_APP_SIZE_V6, true, &s, &n), -EFBIG);
        assert_null(s);

        /* A padded 6.x image compresses and decodes back exactly. */
        memset(img + 4096, 0xFF, VESC_APP_SIZE_V6 - 4096);
        assert_int_equal(vesc_upload_stream_build(img, VESC_APP_SIZE_V6, true, &s, &n), 0);
        VescUploadHeader h;
        assert_int_equal(vesc_upload_header_parse(s, n, &h), 0);
        assert_true(h.compressed);
        assert_int_equal(h.size, n - 6);
        _cleanup_free_ uint8_t *back = malloc(VESC_APP_SIZE_V6);
        assert_int_equal(heatshrink_decode(s + 6, h.size, back, VESC_APP_SIZE_V6), VESC_APP_SIZE_V6);
        assert_memory_equal(back, img, VESC_APP_SIZE_V6);
        free(s);

        assert_int_equal(vesc_upload_stream_build(img, 0, false, &s, &n), -EINVAL);
}

typedef struct VectorCase {
        const char *name;
        uint32_t sp, reset;
        size_t n;
        int expect;
        const char *reason_part;
} VectorCase;

static const VectorCase vector_cases[] = {
        { "real 6.05 hw 60", 0x20000800, 0x0800C001, VESC_APP_SIZE_V6, 0, NULL },
        { "sp top of SRAM", 0x20020000, 0x0800C001, VESC_APP_SIZE_V5, 0, NULL },
        { "sp in CCM", 0x10010000, 0x08000201, VESC_APP_SIZE_V5, 0, NULL },
        { "sp above SRAM", 0x20020004, 0x0800C001, VESC_APP_SIZE_V5, -EINVAL, "stack pointer" },
        { "sp erased", 0xFFFFFFFF, 0x0800C001, VESC_APP_SIZE_V5, -EINVAL, "stack pointer" },
        { "sp in flash", 0x08000000, 0x0800C001, VESC_APP_SIZE_V5, -EINVAL, "stack pointer" },
        { "even reset", 0x20000800, 0x0800C000, VESC_APP_SIZE_V5, -EINVAL, "even" },
        { "reset in eeprom low", 0x20000800, 0x08004001, VESC_APP_SIZE_V5, -EINVAL, "EEPROM" },
        { "reset in eeprom high", 0x20000800, 0x0800BFFF, VESC_APP_SIZE_V5, -EINVAL, "EEPROM" },
        { "reset past 5.x image", 0x20000800, 0x08060001, VESC_APP_SIZE_V5, -EINVAL, "outside" },
        { "reset inside 6.x image", 0x20000800, 0x08060001, VESC_APP_SIZE_V6, 0, NULL },
        { "reset below flash", 0x20000800, 0x00000401, VESC_APP_SIZE_V5, -EINVAL, "outside" },
        { "reset last byte", 0x20000800, 0x08000000 + VESC_APP_SIZE_V5 - 1, VESC_APP_SIZE_V5, 0, NULL },
};

static void put_le32(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
        p[2] = (uint8_t) (v >> 16);
        p[3] = (uint8_t) (v >> 24);
}

static void test_vectors(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(vector_cases); i++) {
                const VectorCase *c = &vector_cases[i];
                uint8_t img[8];
                put_le32(img, c->sp);
                put_le32(img + 4, c->reset);
                const char *reason = NULL;
                /* Only the first 8 bytes are read; n says how large the image is. */
                int r = vesc_image_check_vectors(img, c->n, &reason);
                print_message("%s: %d %s\n", c->name, r, reason ?: "");
                assert_int_equal(r, c->expect);
                if (c->reason_part)
                        assert_non_null(strstr(reason, c->reason_part));
        }
        const char *reason = NULL;
        assert_int_equal(vesc_image_check_vectors((uint8_t[]){ 0, 8, 0, 0x20 }, 4, &reason), -EINVAL);
        assert_non_null(strstr(reason, "short"));
}

/* Derivation of the VESCDFW1 vector (offsets within the 86 bytes):
 *   0  56 45 53 43 44 46 57 31   "VESCDFW1"
 *   8  06 05 00 00               major 6, minor 5, test build 0, hw type 0
 *  12  36 30 00 ... (32 bytes)   hw name "60", NUL-padded
 *  44  00 ... (32 bytes)         firmware name "", NUL-padded
 *  76  02 00 00 00               min bootloader 2, three zero bytes
 *  80  06 05 00 60               build id 0x06050060, big-endian
 *  84  17 AA                     CRC16 of bytes 0..83 */
static void test_fw_descriptor(void **state) {
        (void) state;
        VescFwDescriptor d = { .major = 6, .minor = 5, .min_bootloader = 2, .build_id = 0x06050060 };
        strcpy(d.hw_name, "60");
        uint8_t out[VESC_FW_DESC_LEN], want[VESC_FW_DESC_LEN] = { 'V', 'E', 'S', 'C', 'D', 'F', 'W', '1', 6, 5, 0, 0,
                                                                 '6', '0' };
        want[76] = 2;
        want[80] = 0x06;
        want[81] = 0x05;
        want[82] = 0x00;
        want[83] = 0x60;
        want[84] = 0x17;
        want[85] = 0xAA;
        vesc_fw_descriptor_write(&d, out);
        assert_memory_equal(out, want, sizeof want);

        /* Second vector: 5.03 test build 1, hw "410", name "vescd-test",
         * min bootloader 1, build id 0xDEADBEEF -> CRC 0x9793. */
        VescFwDescriptor e = { .major = 5, .minor = 3, .test_build = 1, .min_bootloader = 1, .build_id = 0xDEADBEEF };
        strcpy(e.hw_name, "410");
        strcpy(e.fw_name, "vescd-test");
        vesc_fw_descriptor_write(&e, out);
        assert_int_equal(out[84], 0x97);
        assert_int_equal(out[85], 0x93);

        /* Parse back from an image. */
        static uint8_t img[0x600];
        memset(img, 0xFF, sizeof img);
        memcpy(img + 0x400, out, sizeof out);
        VescFwDescriptor p;
        assert_int_equal(vesc_fw_descriptor_parse(img, sizeof img, &p), 0);
        assert_int_equal(p.major, 5);
        assert_int_equal(p.minor, 3);
        assert_int_equal(p.test_build, 1);
        assert_int_equal(p.min_bootloader, 1);
        assert_int_equal(p.build_id, 0xDEADBEEF);
        assert_string_equal(p.hw_name, "410");
        assert_string_equal(p.fw_name, "vescd-test");

        /* Too short, no magic, bad CRC, junk after the NUL, reserved set. */
        assert_int_equal(vesc_fw_descriptor_parse(img, 0x400 + 85, &p), -ENOENT);
        img[0x400] = 'X';
        assert_int_equal(vesc_fw_descriptor_parse(img, sizeof img, &p), -ENOENT);
        img[0x400] = 'V';
        img[0x400 + 85] ^= 1;
        assert_int_equal(vesc_fw_descriptor_parse(img, sizeof img, &p), -EBADMSG);
        img[0x400 + 85] ^= 1;
        assert_int_equal(vesc_fw_descriptor_parse(img, sizeof img, &p), 0);

        uint8_t bad[VESC_FW_DESC_LEN];
        memcpy(bad, out, sizeof bad);
        bad[12 + 5] = 'x'; /* after "410\0" */
        memcpy(img + 0x400, bad, sizeof bad);
        assert_int_equal(vesc_fw_descriptor_parse(img, sizeof img, &p), -EBADMSG);
}

/* VESCDBL1: 56 45 53 43 44 42 4C 31 | 02 00 00 00 | "60" + 30 NUL |
 * 00 00 15 00 (5376) | CRC16 of the 48 bytes = 0xEE24. */
static void test_bl_descriptor(void **state) {
        (void) state;
        VescBlDescriptor d = { .generation = 2, .length = 5376 };
        strcpy(d.hw_family, "60");
        uint8_t out[VESC_BL_DESC_LEN] = {}, want[VESC_BL_DESC_LEN] = { 'V', 'E', 'S', 'C', 'D', 'B', 'L', '1', 2, 0, 0, 0,
                                                                      '6', '0' };
        want[44] = 0x00;
        want[45] = 0x00;
        want[46] = 0x15;
        want[47] = 0x00;
        want[48] = 0xEE;
        want[49] = 0x24;
        vesc_bl_descriptor_write(&d, out);
        assert_memory_equal(out, want, sizeof want);

        static uint8_t img[0x500];
        memset(img, 0xFF, sizeof img);
        memcpy(img + 0x400, out, sizeof out);
        VescBlDescriptor p;
        assert_int_equal(vesc_bl_descriptor_parse(img, sizeof img, &p), 0);
        assert_int_equal(p.generation, 2);
        assert_int_equal(p.length, 5376);
        assert_string_equal(p.hw_family, "60");
        img[0x400 + 9] = 1; /* reserved byte: CRC now wrong too */
        assert_int_equal(vesc_bl_descriptor_parse(img, sizeof img, &p), -EBADMSG);
        assert_int_equal(vesc_bl_descriptor_parse(img, 0x400 + 10, &p), -ENOENT);
        /* An application descriptor is not a bootloader descriptor. */
        assert_int_equal(vesc_fw_descriptor_parse(img, sizeof img, &(VescFwDescriptor){}), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_header_write),  cmocka_unit_test(test_header_parse),
                cmocka_unit_test(test_stream_plain),  cmocka_unit_test(test_stream_compressed),
                cmocka_unit_test(test_stream_limits), cmocka_unit_test(test_vectors),
                cmocka_unit_test(test_fw_descriptor), cmocka_unit_test(test_bl_descriptor),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
