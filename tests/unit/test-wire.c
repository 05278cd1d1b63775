/* Unit tests for common/wire.h: the VESC wire encodings of spec §0.2
 * (big-endian integers, f16(s)/f32(s) truncated toward zero, float32_auto,
 * NUL-terminated strings) and the bounded reader/writer.  Float bit patterns
 * were computed independently with Python's struct ('>f'). */

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "macro.h"
#include "wire.h"
#include "test-util.h"

/* ------------------------------------------------------------ f16/f32 */

typedef struct ScaledVector {
        const char *name;
        double value, scale;
        unsigned bytes;          /* 2 = f16, 4 = f32 */
        uint8_t wire[4];
} ScaledVector;

static const ScaledVector scaled_vectors[] = {
        /* §4 example: 51 A as f32(1e3) = 51000 = 0x0000C738. */
        { "51 A f32(1e3)", 51.0, 1e3, 4, { 0x00, 0x00, 0xC7, 0x38 } },
        /* §19: 10 A = 10000 = 0x2710. */
        { "10 A f32(1e3)", 10.0, 1e3, 4, { 0x00, 0x00, 0x27, 0x10 } },
        /* Sign: -12.3 A f16(1e1) = -123 = 0xFF85 (two's complement). */
        { "-12.3 f16(1e1)", -12.3, 1e1, 2, { 0xFF, 0x85 } },
        /* Truncation toward zero, not rounding: 1.23456*1e3 = 1234.56 -> 1234 = 0x04D2. */
        { "1.23456 f16(1e3) truncates", 1.23456, 1e3, 2, { 0x04, 0xD2 } },
        /* ... and toward zero for negatives (not floor): -1234.56 -> -1234 = 0xFB2E. */
        { "-1.23456 f16(1e3) toward zero", -1.23456, 1e3, 2, { 0xFB, 0x2E } },
        /* |x*s| < 1 gives 0 in both signs: -0.9 -> 0 (floor would give 0xFFFF). */
        { "-0.0009 f16(1e3) -> 0", -0.0009, 1e3, 2, { 0x00, 0x00 } },
        { "0.0009 f16(1e3) -> 0", 0.0009, 1e3, 2, { 0x00, 0x00 } },
        /* 1.0009*1e3 = 1000.9 -> 1000 = 0x03E8; -1000.9 -> -1000 = 0xFFFFFC18. */
        { "1.0009 f32(1e3)", 1.0009, 1e3, 4, { 0x00, 0x00, 0x03, 0xE8 } },
        { "-1.0009 f32(1e3)", -1.0009, 1e3, 4, { 0xFF, 0xFF, 0xFC, 0x18 } },
        /* f32(1e6) position: 180 deg = 180000000 = 0x0ABA9500. */
        { "180 f32(1e6)", 180.0, 1e6, 4, { 0x0A, 0xBA, 0x95, 0x00 } },
        /* f16(50) (STATUS_4 PID position): 123.46*50 = 6173 = 0x181D. */
        { "123.46 f16(50)", 123.46, 50, 2, { 0x18, 0x1D } },
        /* Saturation (wire.h's documented choice): 4000*10 > INT16_MAX -> 0x7FFF;
         * -4000*10 -> INT16_MIN 0x8000. */
        { "f16 saturates high", 4000.0, 1e1, 2, { 0x7F, 0xFF } },
        { "f16 saturates low", -4000.0, 1e1, 2, { 0x80, 0x00 } },
        { "f32 saturates high", 3e6, 1e3, 4, { 0x7F, 0xFF, 0xFF, 0xFF } },
        { "f32 saturates low", -3e6, 1e3, 4, { 0x80, 0x00, 0x00, 0x00 } },
};

static void test_scaled_encode(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(scaled_vectors); i++) {
                const ScaledVector *v = &scaled_vectors[i];
                uint8_t buf[4] = { 0 };
                WireWriter w = WIRE_WRITER(buf, sizeof buf);
                if (v->bytes == 2)
                        wire_put_f16(&w, v->value, v->scale);
                else
                        wire_put_f32(&w, v->value, v->scale);
                assert_false(w.error);
                assert_bytes(v->name, buf, w.pos, v->wire, v->bytes);
        }
}

/* Decoding is raw/scale with the raw value read as signed. */
static void test_scaled_decode(void **state) {
        (void) state;
        static const uint8_t b[] = { 0xFF, 0x85, 0xFF, 0xFF, 0xFC, 0x18, 0x18, 0x1D, 0x80, 0x00 };
        WireReader r = WIRE_READER(b, sizeof b);
        assert_double("f16(1e1) FF85", wire_f16(&r, 1e1), -12.3);
        assert_double("f32(1e3) FFFFFC18", wire_f32(&r, 1e3), -1.0);
        assert_double("f16(50) 181D", wire_f16(&r, 50), 123.46);
        assert_double("f16(1e3) 8000", wire_f16(&r, 1e3), -32.768);
        assert_false(r.error);
        assert_int("remaining", wire_remaining(&r), 0);
}

/* ------------------------------------------------------------- f32a */

typedef struct F32aVector {
        const char *name;
        float value;
        uint32_t bits;
} F32aVector;

static const F32aVector f32a_vectors[] = {
        /* §19 MCCONF_TEMP_SETUP fields (IEEE-754 binary32 big-endian). */
        { "1.0", 1.0f, 0x3F800000 },
        { "0.8", 0.8f, 0x3F4CCCCD },
        { "-10.0", -10.0f, 0xC1200000 },
        { "12.5", 12.5f, 0x41480000 },
        { "0.005", 0.005f, 0x3BA3D70A },
        { "0.95", 0.95f, 0x3F733333 },
        { "-1.5e6", -1.5e6f, 0xC9B71B00 },
        { "1.5e6", 1.5e6f, 0x49B71B00 },
        /* §0.2: -0.0 is sent as 0x00000000, not 0x80000000. */
        { "-0.0", -0.0f, 0x00000000 },
        { "+0.0", 0.0f, 0x00000000 },
        /* §0.2: magnitude < 1.5e-38 flushed to 0 (5.03+): a subnormal ... */
        { "subnormal 1e-39", 1e-39f, 0x00000000 },
        { "negative subnormal", -1e-39f, 0x00000000 },
        /* ... and a normal number below the threshold (FLT_MIN ~1.1755e-38). */
        { "FLT_MIN", FLT_MIN, 0x00000000 },
        { "1.4e-38", 1.4e-38f, 0x00000000 },
        /* Just above the threshold: kept bit-exact (Python: 1.6e-38 = 00 AE 39 7E). */
        { "1.6e-38", 1.6e-38f, 0x00AE397E },
        { "-2.5", -2.5f, 0xC0200000 },
};

static void test_f32a(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(f32a_vectors); i++) {
                const F32aVector *v = &f32a_vectors[i];
                uint8_t buf[4], exp[4];
                be32_put(exp, v->bits);
                WireWriter w = WIRE_WRITER(buf, sizeof buf);
                wire_put_f32a(&w, v->value);
                assert_false(w.error);
                assert_bytes(v->name, buf, w.pos, exp, 4);

                /* Decoding the wire form gives the same float (0.0 for the flushed
                 * ones: the all-zero word decodes to +0.0). */
                WireReader r = WIRE_READER(exp, 4);
                float back = wire_f32a(&r);
                uint32_t back_bits;
                memcpy(&back_bits, &back, 4);
                assert_int(v->name, back_bits, v->bits);
        }
}

/* ------------------------------------------------------------ integers */

static void test_integers(void **state) {
        (void) state;
        uint8_t buf[16];
        WireWriter w = WIRE_WRITER(buf, sizeof buf);
        wire_put_u8(&w, 0xA5);
        wire_put_u16(&w, 0x1234);
        wire_put_u32(&w, 0xDEADBEEF);
        wire_put_u32(&w, (uint32_t) INT32_C(-2)); /* i32 -2 = FF FF FF FE */
        static const uint8_t exp[] = { 0xA5, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0xFF, 0xFF, 0xFF, 0xFE };
        assert_false(w.error);
        assert_bytes("u8 u16 u32 i32 big-endian", buf, w.pos, exp, sizeof exp);

        WireReader r = WIRE_READER(exp, sizeof exp);
        assert_int("u8", wire_u8(&r), 0xA5);
        assert_int("u16", wire_u16(&r), 0x1234);
        assert_int("u32", wire_u32(&r), 0xDEADBEEF);
        assert_int("i32", (int32_t) wire_u32(&r), -2);
        assert_false(r.error);

        assert_int("be16_get", be16_get((const uint8_t[]){ 0xC7, 0x38 }), 0xC738);
        assert_int("be32_get", be32_get((const uint8_t[]){ 0x80, 0x00, 0x01, 0x17 }), 0x80000117);
}

/* ------------------------------------------------------------ strings */

static void test_strings(void **state) {
        (void) state;
        uint8_t buf[8];
        WireWriter w = WIRE_WRITER(buf, sizeof buf);
        wire_put_str(&w, "60");
        wire_put_str(&w, "");
        /* "60" NUL, "" NUL. */
        static const uint8_t exp[] = { 0x36, 0x30, 0x00, 0x00 };
        assert_false(w.error);
        assert_bytes("str 60 + empty", buf, w.pos, exp, sizeof exp);

        char out[8];
        WireReader r = WIRE_READER(exp, sizeof exp);
        wire_str(&r, out, sizeof out);
        assert_string_equal(out, "60");
        wire_str(&r, out, sizeof out);
        assert_string_equal(out, "");
        assert_false(r.error);
        assert_int("pos after strings", r.pos, 4);

        /* Longer than the output: truncated but terminated, and the cursor
         * still moves past the whole string and its NUL. */
        static const uint8_t longs[] = { 'n', 'o', '_', 'h', 'w', '_', 'l', 'i', 'm', 'i', 't', 's', 0, 0x42 };
        char small[5];
        r = WIRE_READER(longs, sizeof longs);
        wire_str(&r, small, sizeof small);
        assert_string_equal(small, "no_h");
        assert_false(r.error);
        assert_int("next byte after long string", wire_u8(&r), 0x42);

        /* A string without a terminator is an error. */
        static const uint8_t unterminated[] = { 0x36, 0x30 };
        r = WIRE_READER(unterminated, sizeof unterminated);
        wire_str(&r, out, sizeof out);
        assert_true(r.error);
        assert_string_equal(out, "");
}

/* -------------------------------------------------------------- bounds */

static void test_reader_bounds(void **state) {
        (void) state;
        static const uint8_t b[] = { 0x01, 0x02, 0x03 };
        WireReader r = WIRE_READER(b, sizeof b);
        assert_int("u32 from 3 bytes", wire_u32(&r), 0);
        assert_true(r.error);
        /* Sticky: once in error, later reads yield 0 even if bytes remain. */
        assert_int("u8 after error", wire_u8(&r), 0);
        assert_null(wire_bytes(&r, 1));

        r = WIRE_READER(b, sizeof b);
        assert_int("u16", wire_u16(&r), 0x0102);
        assert_int("u8", wire_u8(&r), 0x03);
        assert_false(r.error);
        assert_int("u8 past end", wire_u8(&r), 0);
        assert_true(r.error);
}

static void test_writer_bounds(void **state) {
        (void) state;
        uint8_t buf[6];
        memset(buf, 0xEE, sizeof buf);
        WireWriter w = WIRE_WRITER(buf, 3);
        wire_put_u16(&w, 0x0102);
        wire_put_u16(&w, 0x0304); /* needs 2, only 1 left */
        assert_true(w.error);
        /* Nothing written past the capacity. */
        static const uint8_t exp[] = { 0x01, 0x02, 0xEE, 0xEE, 0xEE, 0xEE };
        assert_bytes("no write past capacity", buf, sizeof buf, exp, sizeof exp);
        /* Sticky error: a later fitting write does nothing. */
        wire_put_u8(&w, 0x55);
        assert_int("pos unchanged", w.pos, 2);
        assert_int("byte 2 untouched", buf[2], 0xEE);

        w = WIRE_WRITER(buf, 2);
        wire_put_str(&w, "60"); /* needs 3 with the NUL */
        assert_true(w.error);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_scaled_encode),
                cmocka_unit_test(test_scaled_decode),
                cmocka_unit_test(test_f32a),
                cmocka_unit_test(test_integers),
                cmocka_unit_test(test_strings),
                cmocka_unit_test(test_reader_bounds),
                cmocka_unit_test(test_writer_bounds),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
