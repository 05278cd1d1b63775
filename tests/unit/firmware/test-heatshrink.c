/* heatshrink encoder/decoder: the worked examples of spec §21.6 byte for
 * byte, round trips over many kinds of data, and a decoder that survives
 * hostile streams. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "heatshrink.h"
#include "macro.h"

typedef struct Vector {
        const char *name;
        const uint8_t *raw;
        size_t raw_len;
        const uint8_t *packed;
        size_t packed_len;
} Vector;

static const uint8_t abc_raw[] = "abcabcabc";
/* 1 01100001 | 1 01100010 | 1 01100011 | 0 0000000000010 00101 | 00 (pad) */
static const uint8_t abc_packed[] = { 0xB0, 0xD8, 0xAC, 0x60, 0x01, 0x14 };
static const uint8_t zeros_raw[10] = { 0 };
/* 0 0000000000000 01001 | 00000 (pad): distance 1 into the zero history */
static const uint8_t zeros_packed[] = { 0x00, 0x01, 0x20 };
/* One literal 0x41: 1 01000001 -> 1010 0000 | 1xxx -> A0 80 */
static const uint8_t one_raw[] = { 0x41 };
static const uint8_t one_packed[] = { 0xA0, 0x80 };
/* "aaaa": literal 'a' (1 01100001), then a back-reference distance 1,
 * length 3 (0 0000000000000 00010), 28 bits in all:
 * 10110000 | 1 0 000000 | 0000000 0 | 0010 + 0000 pad -> B0 80 00 20 */
static const uint8_t aaaa_raw[] = { 'a', 'a', 'a', 'a' };
static const uint8_t aaaa_packed[] = { 0xB0, 0x80, 0x00, 0x20 };

static const Vector vectors[] = {
        { "abcabcabc", abc_raw, 9, abc_packed, sizeof abc_packed },
        { "ten zeros", zeros_raw, sizeof zeros_raw, zeros_packed, sizeof zeros_packed },
        { "one literal", one_raw, sizeof one_raw, one_packed, sizeof one_packed },
        { "aaaa", aaaa_raw, sizeof aaaa_raw, aaaa_packed, sizeof aaaa_packed },
};

static void test_vectors_encode(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(vectors); i++) {
                const Vector *v = &vectors[i];
                _cleanup_free_ uint8_t *out = NULL;
                size_t len = 0;
                assert_int_equal(heatshrink_encode(v->raw, v->raw_len, &out, &len), 0);
                print_message("vector %s: %zu bytes\n", v->name, len);
                assert_int_equal(len, v->packed_len);
                assert_memory_equal(out, v->packed, len);
        }
}

static void test_vectors_decode(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(vectors); i++) {
                const Vector *v = &vectors[i];
                uint8_t out[64];
                ssize_t k = heatshrink_decode(v->packed, v->packed_len, out, sizeof out);
                assert_int_equal(k, (ssize_t) v->raw_len);
                assert_memory_equal(out, v->raw, v->raw_len);
        }
}

static void test_empty(void **state) {
        (void) state;
        uint8_t *out = (uint8_t *) 1;
        size_t len = 99;
        assert_int_equal(heatshrink_encode(NULL, 0, &out, &len), 0);
        assert_null(out);
        assert_int_equal(len, 0);
        uint8_t buf[4];
        assert_int_equal(heatshrink_decode(NULL, 0, buf, sizeof buf), 0);
}

/* Deterministic xorshift so failures reproduce. */
static uint32_t rnd(uint32_t *s) {
        *s ^= *s << 13;
        *s ^= *s >> 17;
        *s ^= *s << 5;
        return *s;
}

static void roundtrip(const uint8_t *data, size_t n) {
        _cleanup_free_ uint8_t *packed = NULL;
        size_t plen = 0;
        assert_int_equal(heatshrink_encode(data, n, &packed, &plen), 0);
        _cleanup_free_ uint8_t *back = malloc(n + 1);
        assert_non_null(back);
        ssize_t k = heatshrink_decode(packed, plen, back, n + 1);
        assert_int_equal(k, (ssize_t) n);
        if (n)
                assert_memory_equal(back, data, n);
}

static void test_roundtrip_random(void **state) {
        (void) state;
        uint32_t s = 0x12345678;
        static const size_t sizes[] = { 1, 2, 3, 4, 31, 32, 33, 100, 8191, 8192, 8193, 20000, 70000 };
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                _cleanup_free_ uint8_t *d = malloc(sizes[i]);
                assert_non_null(d);
                for (size_t j = 0; j < sizes[i]; j++)
                        d[j] = (uint8_t) rnd(&s);
                roundtrip(d, sizes[i]);
                /* Small alphabet: many short and long matches, ties. */
                for (size_t j = 0; j < sizes[i]; j++)
                        d[j] = "ab\0\xff"[rnd(&s) % 4];
                roundtrip(d, sizes[i]);
        }
}

static void test_roundtrip_runs(void **state) {
        (void) state;
        uint32_t s = 99;
        size_t n = 100000;
        _cleanup_free_ uint8_t *d = malloc(n);
        assert_non_null(d);
        size_t i = 0;
        while (i < n) {
                size_t run = 1 + rnd(&s) % 300;
                uint8_t b = (uint8_t) rnd(&s);
                for (size_t j = 0; j < run && i < n; j++)
                        d[i++] = b;
        }
        roundtrip(d, n);

        /* All 0xFF, the bulk of a padded image: 32-byte references. */
        memset(d, 0xFF, n);
        roundtrip(d, n);
        _cleanup_free_ uint8_t *p = NULL;
        size_t plen;
        assert_int_equal(heatshrink_encode(d, n, &p, &plen), 0);
        /* one literal, then ceil((n-1)/32) references of 19 bits */
        size_t bits = 9 + ((n - 1 + 31) / 32) * 19;
        assert_int_equal(plen, (bits + 7) / 8);

        /* All zeros: references into the zero history from the start. */
        memset(d, 0, n);
        roundtrip(d, n);
}

static void test_image_like(void **state) {
        (void) state;
        /* A 6.x-sized image: code-like bytes then 0xFF padding; it must
         * shrink well below the 393 208-byte limit. */
        size_t n = 524280;
        uint32_t s = 7;
        _cleanup_free_ uint8_t *d = malloc(n);
        assert_non_null(d);
        memset(d, 0xFF, n);
        for (size_t i = 0; i < 60000; i++)
                d[i] = rnd(&s) % 7 == 0 ? (uint8_t) rnd(&s) : (uint8_t) "\x00\x20\x08\x48\x70\x47"[rnd(&s) % 6];
        _cleanup_free_ uint8_t *p = NULL;
        size_t plen;
        assert_int_equal(heatshrink_encode(d, n, &p, &plen), 0);
        assert_true(plen < 393208);
        roundtrip(d, n);
}

static void test_built_images(void **state) {
        (void) state;
        const char *dir = getenv("top_builddir");
        static const char *const files[] = {
                "firmware/testfw/app-5.03-60.bin", "firmware/testfw/app-6.05-60.bin",
                "firmware/testfw/app-6.05-410.bin", "firmware/testfw/bootloader-gen2-60.bin",
        };
        if (!dir || strcmp(getenv("HAVE_ARM_TOOLCHAIN") ?: "", "yes") != 0)
                skip();
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                char path[4096];
                snprintf(path, sizeof path, "%s/%s", dir, files[i]);
                FILE *f = fopen(path, "rb");
                if (!f) {
                        print_message("missing %s (make imagesets first)\n", path);
                        fail();
                }
                _cleanup_free_ uint8_t *d = malloc(600000);
                assert_non_null(d);
                size_t n = fread(d, 1, 600000, f);
                fclose(f);
                assert_true(n > 0);
                roundtrip(d, n);
        }
}

static void test_decode_truncated(void **state) {
        (void) state;
        uint8_t out[64];
        /* Every prefix of a valid stream decodes to a prefix of the data. */
        for (size_t cut = 0; cut <= sizeof abc_packed; cut++) {
                ssize_t k = heatshrink_decode(abc_packed, cut, out, sizeof out);
                assert_true(k >= 0 && k <= 9);
                assert_memory_equal(out, abc_raw, (size_t) k);
        }
        /* "abc" literals are 27 bits: 4 bytes hold them, the rest is ignored. */
        assert_int_equal(heatshrink_decode(abc_packed, 4, out, sizeof out), 3);
}

static void test_decode_zero_history(void **state) {
        (void) state;
        /* Back-reference at distance 8192, length 32, as the first token. */
        /* 0 1111111111111 11111 + 5 pad bits -> 01111111 11111111 11100000 */
        static const uint8_t s[] = { 0x7F, 0xFF, 0xE0 };
        uint8_t out[64];
        memset(out, 0xAA, sizeof out);
        assert_int_equal(heatshrink_decode(s, sizeof s, out, sizeof out), 32);
        for (size_t i = 0; i < 32; i++)
                assert_int_equal(out[i], 0);
}

static void test_decode_overflow(void **state) {
        (void) state;
        uint8_t out[5];
        memset(out, 0xAA, sizeof out);
        assert_int_equal(heatshrink_decode(zeros_packed, sizeof zeros_packed, out, sizeof out), -ENOBUFS);
        for (size_t i = 0; i < sizeof out; i++)
                assert_int_equal(out[i], 0);
        assert_int_equal(heatshrink_decode(abc_packed, sizeof abc_packed, out, 2), -ENOBUFS);
        assert_memory_equal(out, "ab", 2);
        assert_int_equal(heatshrink_decode(abc_packed, sizeof abc_packed, out, 0), -ENOBUFS);
}

static void test_decode_garbage(void **state) {
        (void) state;
        uint32_t s = 4242;
        uint8_t in[256], out[4096];
        for (int round = 0; round < 500; round++) {
                size_t n = rnd(&s) % sizeof in;
                for (size_t i = 0; i < n; i++)
                        in[i] = (uint8_t) rnd(&s);
                ssize_t k = heatshrink_decode(in, n, out, sizeof out);
                assert_true(k == -ENOBUFS || (k >= 0 && (size_t) k <= sizeof out));
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_vectors_encode),
                cmocka_unit_test(test_vectors_decode),
                cmocka_unit_test(test_empty),
                cmocka_unit_test(test_roundtrip_random),
                cmocka_unit_test(test_roundtrip_runs),
                cmocka_unit_test(test_image_like),
                cmocka_unit_test(test_built_images),
                cmocka_unit_test(test_decode_truncated),
                cmocka_unit_test(test_decode_zero_history),
                cmocka_unit_test(test_decode_overflow),
                cmocka_unit_test(test_decode_garbage),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
