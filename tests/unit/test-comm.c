/* Unit tests for daemon/proto/vesc-comm: COMM payloads (spec §11-§14).
 * Payloads include the command byte.  Every vector is written out by hand
 * from the spec tables; f32a bit patterns were computed with Python's
 * struct ('>f'), scaled integers as int(value*scale) (truncation toward
 * zero), both in a scratch script, never with the code under test. */

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "macro.h"
#include "proto/vesc-comm.h"
#include "test-util.h"

#define UUID_A 0x3C, 0x00, 0x29, 0x00, 0x0D, 0x51, 0x39, 0x32, 0x36, 0x35, 0x39, 0x34
#define UUID_B 0x2F, 0x00, 0x2B, 0x00, 0x14, 0x51, 0x36, 0x33, 0x36, 0x33, 0x35, 0x31

/* ------------------------------------------------------- FW_VERSION */

/* 3.58, hw "60" (§12.1, §19): cmd 00, major 03, minor 3A (58), "60" NUL,
 * UUID (12), pairing 00 = 19 bytes. */
static const uint8_t fw_358[] = { 0x00, 0x03, 0x3A, 0x36, 0x30, 0x00, UUID_A, 0x00 };
/* 5.03: + test build 00, HW_TYPE 00, custom configs 00 (5.00/5.02), phase
 * filters 01, QML hw 00, QML app 00 (5.03) = 25 bytes; pairing 01. */
static const uint8_t fw_503[] = { 0x00, 0x05, 0x03, 0x36, 0x30, 0x00, UUID_A, 0x01,
                                  0x00, 0x00, 0x00, 0x01, 0x00, 0x00 };
/* 6.00: + NRF flags 03, fw name "" (just NUL) = 27 bytes. */
static const uint8_t fw_600[] = { 0x00, 0x06, 0x00, 0x36, 0x30, 0x00, UUID_B, 0x00,
                                  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00 };
/* 6.05: + hw config CRC u32 12 34 56 78 = 31 bytes; HW_TYPE 2, QML hw 1, app 2. */
static const uint8_t fw_605[] = { 0x00, 0x06, 0x05, 0x36, 0x30, 0x00, UUID_B, 0x00,
                                  0x00, 0x02, 0x00, 0x01, 0x01, 0x02, 0x03, 0x00,
                                  0x12, 0x34, 0x56, 0x78 };
/* 6.05 "no_hw_limits" build, test build 3: 31 + 12 name bytes = 43 bytes. */
static const uint8_t fw_605_nolim[] = { 0x00, 0x06, 0x05, 0x36, 0x30, 0x00, UUID_A, 0x00,
                                        0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                        'n', 'o', '_', 'h', 'w', '_', 'l', 'i', 'm', 'i', 't', 's', 0x00,
                                        0x00, 0x00, 0x00, 0x00 };

typedef struct FwVector {
        const char *name;
        const uint8_t *bytes;
        size_t len;
        VescFwVersion v;
} FwVector;

static const FwVector fw_vectors[] = {
        { "3.58", fw_358, sizeof fw_358,
          { .major = 3, .minor = 58, .hw_name = "60", .uuid = { UUID_A }, .pairing_done = 0 } },
        { "5.03", fw_503, sizeof fw_503,
          { .major = 5, .minor = 3, .hw_name = "60", .uuid = { UUID_A }, .pairing_done = 1,
            .has_test_build = true, .test_build = 0, .has_hw_type = true, .hw_type = 0, .custom_configs = 0,
            .has_ui_flags = true, .phase_filters = 1, .qml_hw = 0, .qml_app = 0 } },
        { "6.00", fw_600, sizeof fw_600,
          { .major = 6, .minor = 0, .hw_name = "60", .uuid = { UUID_B },
            .has_test_build = true, .has_hw_type = true, .has_ui_flags = true,
            .has_fw_name = true, .nrf_flags = 3, .fw_name = "" } },
        { "6.05", fw_605, sizeof fw_605,
          { .major = 6, .minor = 5, .hw_name = "60", .uuid = { UUID_B },
            .has_test_build = true, .has_hw_type = true, .hw_type = 2,
            .has_ui_flags = true, .phase_filters = 1, .qml_hw = 1, .qml_app = 2,
            .has_fw_name = true, .nrf_flags = 3, .fw_name = "",
            .has_hw_crc = true, .hw_crc = 0x12345678 } },
        { "6.05 no_hw_limits test 3", fw_605_nolim, sizeof fw_605_nolim,
          { .major = 6, .minor = 5, .hw_name = "60", .uuid = { UUID_A },
            .has_test_build = true, .test_build = 3, .has_hw_type = true,
            .has_ui_flags = true, .has_fw_name = true, .fw_name = "no_hw_limits",
            .has_hw_crc = true, .hw_crc = 0 } },
};

static void check_fw(const char *name, const VescFwVersion *got, const VescFwVersion *exp) {
        assert_int(name, got->major, exp->major);
        assert_int(name, got->minor, exp->minor);
        assert_string_equal(got->hw_name, exp->hw_name);
        assert_bytes(name, got->uuid, 12, exp->uuid, 12);
        assert_int(name, got->pairing_done, exp->pairing_done);
        assert_int(name, got->has_test_build, exp->has_test_build);
        if (exp->has_test_build)
                assert_int(name, got->test_build, exp->test_build);
        assert_int(name, got->has_hw_type, exp->has_hw_type);
        assert_int(name, got->hw_type, exp->hw_type);   /* absent = 0 = VESC */
        assert_int(name, got->has_ui_flags, exp->has_ui_flags);
        if (exp->has_hw_type)
                assert_int(name, got->custom_configs, exp->custom_configs);
        if (exp->has_ui_flags) {
                assert_int(name, got->phase_filters, exp->phase_filters);
                assert_int(name, got->qml_hw, exp->qml_hw);
                assert_int(name, got->qml_app, exp->qml_app);
        }
        assert_int(name, got->has_fw_name, exp->has_fw_name);
        if (exp->has_fw_name) {
                assert_int(name, got->nrf_flags, exp->nrf_flags);
                assert_string_equal(got->fw_name, exp->fw_name);
        }
        assert_int(name, got->has_hw_crc, exp->has_hw_crc);
        if (exp->has_hw_crc)
                assert_int(name, got->hw_crc, exp->hw_crc);
}

static void test_fw_version(void **state) {
        (void) state;
        /* §12.1 lengths for hw "60", empty fw name: 19, 25, 27, 31. */
        assert_int("3.58 len", sizeof fw_358, 19);
        assert_int("5.03 len", sizeof fw_503, 25);
        assert_int("6.00 len", sizeof fw_600, 27);
        assert_int("6.05 len", sizeof fw_605, 31);
        assert_int("nolim len", sizeof fw_605_nolim, 43);

        for (size_t i = 0; i < ELEMENTSOF(fw_vectors); i++) {
                const FwVector *t = &fw_vectors[i];
                VescFwVersion v;
                memset(&v, 0xA5, sizeof v);
                assert_int(t->name, vesc_fw_version_decode(t->bytes, t->len, &v), 0);
                check_fw(t->name, &v, &t->v);

                uint8_t buf[128];
                memset(buf, 0xEE, sizeof buf);
                ssize_t n = vesc_fw_version_encode(&t->v, buf, sizeof buf);
                assert_bytes(t->name, buf, n, t->bytes, t->len);
                /* Exactly-sized buffer works, one byte less does not. */
                assert_int(t->name, vesc_fw_version_encode(&t->v, buf, t->len), (ssize_t) t->len);
                assert_int(t->name, vesc_fw_version_encode(&t->v, buf, t->len - 1), -ENOBUFS);
        }
}

/* "Fields beyond that version are not written whatever the has_* flags say":
 * the 6.05 record relabelled 3.58 encodes to the 19-byte 3.58 layout. */
static void test_fw_version_encode_by_version(void **state) {
        (void) state;
        VescFwVersion v = fw_vectors[3].v;
        v.major = 3, v.minor = 58;
        uint8_t buf[64];
        static const uint8_t exp358[] = { 0x00, 0x03, 0x3A, 0x36, 0x30, 0x00, UUID_B, 0x00 };
        ssize_t n = vesc_fw_version_encode(&v, buf, sizeof buf);
        assert_bytes("6.05 fields as 3.58", buf, n, exp358, sizeof exp358);

        /* As 5.03: the 25-byte layout (test build, HW_TYPE 2, custom 0, ui 1 1 2). */
        v.major = 5, v.minor = 3;
        static const uint8_t exp503[] = { 0x00, 0x05, 0x03, 0x36, 0x30, 0x00, UUID_B, 0x00,
                                          0x00, 0x02, 0x00, 0x01, 0x01, 0x02 };
        n = vesc_fw_version_encode(&v, buf, sizeof buf);
        assert_bytes("6.05 fields as 5.03", buf, n, exp503, sizeof exp503);

        /* As 6.00: 27 bytes, no hw CRC. */
        v.major = 6, v.minor = 0;
        static const uint8_t exp600[] = { 0x00, 0x06, 0x00, 0x36, 0x30, 0x00, UUID_B, 0x00,
                                          0x00, 0x02, 0x00, 0x01, 0x01, 0x02, 0x03, 0x00 };
        n = vesc_fw_version_encode(&v, buf, sizeof buf);
        assert_bytes("6.05 fields as 6.00", buf, n, exp600, sizeof exp600);
}

static void test_fw_version_truncated(void **state) {
        (void) state;
        VescFwVersion v;
        /* hw name without its terminator. */
        static const uint8_t noterm[] = { 0x00, 0x03, 0x3A, 0x36, 0x30 };
        assert_int("missing terminator", vesc_fw_version_decode(noterm, sizeof noterm, &v), -EBADMSG);
        /* Only part of the UUID. */
        assert_int("short uuid", vesc_fw_version_decode(fw_358, 12, &v), -EBADMSG);
        assert_int("major only", vesc_fw_version_decode(fw_358, 2, &v), -EBADMSG);
        assert_int("command only", vesc_fw_version_decode(fw_358, 1, &v), -EBADMSG);
        assert_int("empty", vesc_fw_version_decode(fw_358, 0, &v), -EBADMSG);
        /* Wrong command byte. */
        uint8_t wrong[sizeof fw_358];
        memcpy(wrong, fw_358, sizeof wrong);
        wrong[0] = 0x04;
        assert_int("wrong command", vesc_fw_version_decode(wrong, sizeof wrong, &v), -EPROTO);

        /* Optional fields absent: the 5.03 reply cut after the test build
         * (20 bytes) has the test build only; absent HW_TYPE means 0. */
        memset(&v, 0xA5, sizeof v);
        assert_int("5.03 cut at 20", vesc_fw_version_decode(fw_503, 20, &v), 0);
        assert_true(v.has_test_build);
        assert_int("test build", v.test_build, 0);
        assert_false(v.has_hw_type);
        assert_int("hw type default", v.hw_type, 0);
        assert_false(v.has_ui_flags);
        assert_false(v.has_fw_name);
        assert_false(v.has_hw_crc);

        /* The 6.05 reply cut before the hw CRC reads like 6.00. */
        memset(&v, 0xA5, sizeof v);
        assert_int("6.05 cut at 27", vesc_fw_version_decode(fw_605, 27, &v), 0);
        assert_true(v.has_fw_name);
        assert_string_equal(v.fw_name, "");
        assert_false(v.has_hw_crc);
}

static void test_version_format(void **state) {
        (void) state;
        static const struct { uint8_t major, minor; const char *s; } rows[] = {
                { 3, 58, "3.58" }, { 5, 3, "5.03" }, { 6, 0, "6.00" }, { 6, 5, "6.05" },
                { 6, 6, "6.06" }, { 7, 0, "7.00" }, { 23, 46, "23.46" }, { 255, 255, "255.255" },
        };
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                char out[8];
                memset(out, 'x', sizeof out);
                vesc_version_format(rows[i].major, rows[i].minor, out);
                assert_string_equal(out, rows[i].s);
        }
}

/* ------------------------------------------------------- GET_VALUES */

/* Hand-built GET_VALUES reply, field by field (§12.2; offsets after the
 * command byte). */
static const uint8_t values_73[] = {
        0x04,                         /* COMM_GET_VALUES */
        0x01, 0xC8,                   /*  0 FET temp f16(1e1) 45.6 = 456 */
        0xFF, 0xE0,                   /*  2 motor temp -3.2 = -32 */
        0xFF, 0xFF, 0xFB, 0x2E,       /*  4 motor current f32(1e2) -12.34 = -1234 */
        0xFF, 0xFF, 0xFD, 0xC9,       /*  8 input current -5.67 = -567 */
        0x00, 0x00, 0x00, 0x96,       /* 12 id 1.5 = 150 */
        0xFF, 0xFF, 0xF8, 0x30,       /* 16 iq -20.0 = -2000 */
        0xFF, 0x06,                   /* 20 duty f16(1e3) -0.25 = -250 */
        0xFF, 0xFF, 0xEE, 0x6C,       /* 22 ERPM f32(1) -4500 */
        0x01, 0xF8,                   /* 26 V in f16(1e1) 50.4 = 504 */
        0x00, 0x00, 0x30, 0x39,       /* 28 Ah f32(1e4) 1.2345 = 12345 */
        0x00, 0x00, 0x13, 0x88,       /* 32 Ah charged 0.5 = 5000 */
        0x00, 0x09, 0x27, 0xC0,       /* 36 Wh 60.0 = 600000 */
        0x00, 0x03, 0xE4, 0x18,       /* 40 Wh charged 25.5 = 255000 */
        0xFF, 0xFE, 0x1D, 0xC0,       /* 44 tacho i32 -123456 */
        0x00, 0x09, 0xFB, 0xF1,       /* 48 tacho abs 654321 */
        0x05,                         /* 52 fault 5 = OVER_TEMP_FET */
        0x05, 0x64, 0xEB, 0xA0,       /* 53 PID pos f32(1e6) 90.5 = 90500000 */
        0x4A,                         /* 57 controller id 74 */
        0x01, 0x91, 0x01, 0x9C, 0x01, 0xA7, /* 58 MOSFET 1-3 f16(1e1) 40.1 41.2 42.3 */
        0xFF, 0xFF, 0xFA, 0x24,       /* 64 vd f32(1e3) -1.5 = -1500 (3.60+) */
        0x00, 0x00, 0x2F, 0xDA,       /* 68 vq 12.25 = 12250 */
        0x03,                         /* 72 status bits: timeout + kill switch (5.03+) */
};

static const VescValues values_all = {
        .present = 0x3FFFFF,
        .temp_fet = 45.6, .temp_motor = -3.2,
        .current_motor = -12.34, .current_in = -5.67, .id = 1.5, .iq = -20.0,
        .duty = -0.25, .erpm = -4500, .v_in = 50.4,
        .ah = 1.2345, .ah_charged = 0.5, .wh = 60.0, .wh_charged = 25.5,
        .tacho = -123456, .tacho_abs = 654321, .fault = 5, .pid_pos = 90.5,
        .controller_id = 74, .temp_mos = { 40.1, 41.2, 42.3 },
        .vd = -1.5, .vq = 12.25, .status = 3,
};

static void check_values(const char *name, const VescValues *got, const VescValues *exp, uint32_t mask) {
        assert_int(name, got->present, mask);
#define CHK_D(bit, f) if (mask & (1u << (bit))) assert_double(name, got->f, exp->f)
#define CHK_I(bit, f) if (mask & (1u << (bit))) assert_int(name, got->f, exp->f)
        CHK_D(0, temp_fet); CHK_D(1, temp_motor); CHK_D(2, current_motor); CHK_D(3, current_in);
        CHK_D(4, id); CHK_D(5, iq); CHK_D(6, duty); CHK_D(7, erpm); CHK_D(8, v_in);
        CHK_D(9, ah); CHK_D(10, ah_charged); CHK_D(11, wh); CHK_D(12, wh_charged);
        CHK_I(13, tacho); CHK_I(14, tacho_abs); CHK_I(15, fault); CHK_D(16, pid_pos);
        CHK_I(17, controller_id);
        CHK_D(18, temp_mos[0]); CHK_D(18, temp_mos[1]); CHK_D(18, temp_mos[2]);
        CHK_D(19, vd); CHK_D(20, vq); CHK_I(21, status);
#undef CHK_D
#undef CHK_I
}

typedef struct ValuesVersion {
        const char *name;
        unsigned major, minor;
        size_t body;      /* bytes after the command byte */
        uint32_t mask;
} ValuesVersion;

static const ValuesVersion values_versions[] = {
        /* §12.2: 64 bytes up to 3.59 (bits 0-18), 72 for 3.60-5.02 (+19, 20),
         * 73 from 5.03 (+21). */
        { "3.58", 3, 58, 64, 0x07FFFF },
        { "3.59", 3, 59, 64, 0x07FFFF },
        { "3.60", 3, 60, 72, 0x1FFFFF },
        { "4.00", 4, 0, 72, 0x1FFFFF },
        { "5.02", 5, 2, 72, 0x1FFFFF },
        { "5.03", 5, 3, 73, 0x3FFFFF },
        { "6.05", 6, 5, 73, 0x3FFFFF },
        { "7.00", 7, 0, 73, 0x3FFFFF },
};

static void test_values_versions(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(values_versions); i++) {
                const ValuesVersion *t = &values_versions[i];
                assert_int(t->name, vesc_values_len_for_version(t->major, t->minor), t->body);
                assert_int(t->name, vesc_values_mask_for_version(t->major, t->minor), t->mask);

                /* Decode the first 1+body bytes of the hand-built reply. */
                VescValues v;
                memset(&v, 0xA5, sizeof v);
                assert_int(t->name, vesc_values_decode(values_73, 1 + t->body, &v), 0);
                check_values(t->name, &v, &values_all, t->mask);

                /* Encode as that version: exactly those bytes. */
                uint8_t buf[128];
                ssize_t n = vesc_values_encode(&values_all, t->major, t->minor, buf, sizeof buf);
                assert_bytes(t->name, buf, n, values_73, 1 + t->body);
                assert_int(t->name, vesc_values_encode(&values_all, t->major, t->minor, buf, t->body), -ENOBUFS);
        }
}

static void test_values_malformed(void **state) {
        (void) state;
        VescValues v;
        assert_int("63-byte body", vesc_values_decode(values_73, 64, &v), -EBADMSG);
        assert_int("command only", vesc_values_decode(values_73, 1, &v), -EBADMSG);
        assert_int("empty", vesc_values_decode(values_73, 0, &v), -EBADMSG);
        uint8_t wrong[sizeof values_73];
        memcpy(wrong, values_73, sizeof wrong);
        wrong[0] = 0x00;
        assert_int("wrong command", vesc_values_decode(wrong, sizeof wrong, &v), -EPROTO);
}

/* §19: GET_VALUES_SELECTIVE for bits 0, 1, 7, 8, 15 = mask 0x00008183. */
static void test_values_selective(void **state) {
        (void) state;
        uint8_t buf[128];
        static const uint8_t req[] = { 0x32, 0x00, 0x00, 0x81, 0x83 };
        ssize_t n = vesc_get_values_selective_request(0x00008183, buf, sizeof buf);
        assert_bytes("§19 selective request", buf, n, req, sizeof req);
        assert_int("request no room", vesc_get_values_selective_request(0x8183, buf, 4), -ENOBUFS);

        /* Reply: echoed mask, then FET temp 01 C8, motor temp FF E0, ERPM
         * FF FF EE 6C, V in 01 F8, fault 05 (bit order). */
        static const uint8_t reply[] = { 0x32, 0x00, 0x00, 0x81, 0x83, 0x01, 0xC8, 0xFF, 0xE0,
                                         0xFF, 0xFF, 0xEE, 0x6C, 0x01, 0xF8, 0x05 };
        VescValues v;
        memset(&v, 0xA5, sizeof v);
        assert_int("selective decode", vesc_values_selective_decode(reply, sizeof reply, &v), 0);
        check_values("selective", &v, &values_all, 0x8183);

        n = vesc_values_selective_encode(&values_all, 0x8183, 6, 5, buf, sizeof buf);
        assert_bytes("selective encode 6.05", buf, n, reply, sizeof reply);
        n = vesc_values_selective_encode(&values_all, 0x8183, 3, 58, buf, sizeof buf);
        assert_bytes("selective encode 3.58", buf, n, reply, sizeof reply);

        /* Bits the firmware does not know are omitted but the mask is echoed:
         * 3.58 asked for bits 0, 19, 21 (0x00280001) sends 32 00 28 00 01 01 C8,
         * and that parses (by remaining length) as bit 0 only. */
        static const uint8_t reply358[] = { 0x32, 0x00, 0x28, 0x00, 0x01, 0x01, 0xC8 };
        n = vesc_values_selective_encode(&values_all, 0x00280001, 3, 58, buf, sizeof buf);
        assert_bytes("selective unknown bits 3.58", buf, n, reply358, sizeof reply358);
        memset(&v, 0xA5, sizeof v);
        assert_int("decode 3.58 partial", vesc_values_selective_decode(reply358, sizeof reply358, &v), 0);
        check_values("selective 3.58", &v, &values_all, 0x1);

        /* The same mask on 5.03: all three fields (vd f32(1e3), status u8). */
        static const uint8_t reply503[] = { 0x32, 0x00, 0x28, 0x00, 0x01, 0x01, 0xC8,
                                            0xFF, 0xFF, 0xFA, 0x24, 0x03 };
        n = vesc_values_selective_encode(&values_all, 0x00280001, 5, 3, buf, sizeof buf);
        assert_bytes("selective 0,19,21 on 5.03", buf, n, reply503, sizeof reply503);
        memset(&v, 0xA5, sizeof v);
        assert_int("decode 5.03", vesc_values_selective_decode(reply503, sizeof reply503, &v), 0);
        check_values("selective 5.03", &v, &values_all, 0x00280001);

        /* Malformed: no full mask; wrong command. */
        assert_int("short mask", vesc_values_selective_decode(reply, 4, &v), -EBADMSG);
        static const uint8_t wrong[] = { 0x04, 0x00, 0x00, 0x00, 0x01, 0x01, 0xC8 };
        assert_int("wrong command", vesc_values_selective_decode(wrong, sizeof wrong, &v), -EPROTO);
}

/* ------------------------------------------------ MCCONF_TEMP (limits) */

/* §19: SET_MCCONF_TEMP_SETUP, no store, forward, ack, no dividing, scales
 * 1.0/0.8, speed -10 .. 12.5 m/s, duty 0.005 .. 0.95, power +-1.5 MW. */
static const uint8_t temp_setup_37[] = {
        0x31, 0x00, 0x01, 0x01, 0x00,
        0x3F, 0x80, 0x00, 0x00,   /* 1.0 */
        0x3F, 0x4C, 0xCC, 0xCD,   /* 0.8 */
        0xC1, 0x20, 0x00, 0x00,   /* -10.0 */
        0x41, 0x48, 0x00, 0x00,   /* 12.5 */
        0x3B, 0xA3, 0xD7, 0x0A,   /* 0.005 */
        0x3F, 0x73, 0x33, 0x33,   /* 0.95 */
        0xC9, 0xB7, 0x1B, 0x00,   /* -1.5e6 */
        0x49, 0xB7, 0x1B, 0x00,   /* 1.5e6 */
};
/* The same with the 5.00+ tail: input current -30 A (C1 F0 00 00), 60 A
 * (42 70 00 00) = 45 bytes. */
static const uint8_t temp_setup_45[] = {
        0x31, 0x00, 0x01, 0x01, 0x00,
        0x3F, 0x80, 0x00, 0x00, 0x3F, 0x4C, 0xCC, 0xCD, 0xC1, 0x20, 0x00, 0x00,
        0x41, 0x48, 0x00, 0x00, 0x3B, 0xA3, 0xD7, 0x0A, 0x3F, 0x73, 0x33, 0x33,
        0xC9, 0xB7, 0x1B, 0x00, 0x49, 0xB7, 0x1B, 0x00,
        0xC1, 0xF0, 0x00, 0x00, 0x42, 0x70, 0x00, 0x00,
};
/* SET_MCCONF_TEMP (48 = 0x30): store, no forward, no ack, divide; ERPM
 * -50000 (C7 43 50 00) .. 60000 (47 6A 60 00); scales 1.0/1.0. */
static const uint8_t temp_45_erpm[] = {
        0x30, 0x01, 0x00, 0x00, 0x01,
        0x3F, 0x80, 0x00, 0x00, 0x3F, 0x80, 0x00, 0x00, 0xC7, 0x43, 0x50, 0x00,
        0x47, 0x6A, 0x60, 0x00, 0x3B, 0xA3, 0xD7, 0x0A, 0x3F, 0x73, 0x33, 0x33,
        0xC9, 0xB7, 0x1B, 0x00, 0x49, 0xB7, 0x1B, 0x00,
        0xC1, 0xF0, 0x00, 0x00, 0x42, 0x70, 0x00, 0x00,
};

typedef struct TempVector {
        const char *name;
        const uint8_t *bytes;
        size_t len;
        CommPacketId cmd;
        VescMcconfTemp t;
} TempVector;

static const TempVector temp_vectors[] = {
        { "§19 SETUP 37", temp_setup_37, sizeof temp_setup_37, COMM_SET_MCCONF_TEMP_SETUP,
          { .forward_can = true, .ack = true, .current_min_scale = 1.0f, .current_max_scale = 0.8f,
            .min_erpm = -10.0f, .max_erpm = 12.5f, .min_duty = 0.005f, .max_duty = 0.95f,
            .watt_min = -1.5e6f, .watt_max = 1.5e6f } },
        { "SETUP 45 with tail", temp_setup_45, sizeof temp_setup_45, COMM_SET_MCCONF_TEMP_SETUP,
          { .forward_can = true, .ack = true, .current_min_scale = 1.0f, .current_max_scale = 0.8f,
            .min_erpm = -10.0f, .max_erpm = 12.5f, .min_duty = 0.005f, .max_duty = 0.95f,
            .watt_min = -1.5e6f, .watt_max = 1.5e6f,
            .has_in_current = true, .in_current_min = -30.0f, .in_current_max = 60.0f } },
        { "TEMP 45 erpm", temp_45_erpm, sizeof temp_45_erpm, COMM_SET_MCCONF_TEMP,
          { .store = true, .divide_by_controllers = true, .current_min_scale = 1.0f, .current_max_scale = 1.0f,
            .min_erpm = -50000.0f, .max_erpm = 60000.0f, .min_duty = 0.005f, .max_duty = 0.95f,
            .watt_min = -1.5e6f, .watt_max = 1.5e6f,
            .has_in_current = true, .in_current_min = -30.0f, .in_current_max = 60.0f } },
};

static void check_temp(const char *name, const VescMcconfTemp *g, const VescMcconfTemp *e) {
        assert_int(name, g->store, e->store);
        assert_int(name, g->forward_can, e->forward_can);
        assert_int(name, g->ack, e->ack);
        assert_int(name, g->divide_by_controllers, e->divide_by_controllers);
        /* f32a decodes bit-exactly, so compare floats exactly. */
        assert_true(g->current_min_scale == e->current_min_scale);
        assert_true(g->current_max_scale == e->current_max_scale);
        assert_true(g->min_erpm == e->min_erpm);
        assert_true(g->max_erpm == e->max_erpm);
        assert_true(g->min_duty == e->min_duty);
        assert_true(g->max_duty == e->max_duty);
        assert_true(g->watt_min == e->watt_min);
        assert_true(g->watt_max == e->watt_max);
        assert_int(name, g->has_in_current, e->has_in_current);
        if (e->has_in_current) {
                assert_true(g->in_current_min == e->in_current_min);
                assert_true(g->in_current_max == e->in_current_max);
        }
}

static void test_mcconf_temp(void **state) {
        (void) state;
        assert_int("§19 length", sizeof temp_setup_37, 37);
        for (size_t i = 0; i < ELEMENTSOF(temp_vectors); i++) {
                const TempVector *t = &temp_vectors[i];
                uint8_t buf[64];
                ssize_t n = vesc_mcconf_temp_encode(&t->t, t->cmd, buf, sizeof buf);
                assert_bytes(t->name, buf, n, t->bytes, t->len);
                assert_int(t->name, vesc_mcconf_temp_encode(&t->t, t->cmd, buf, t->len - 1), -ENOBUFS);

                VescMcconfTemp d;
                CommPacketId cmd = 0;
                memset(&d, 0xA5, sizeof d);
                assert_int(t->name, vesc_mcconf_temp_decode(t->bytes, t->len, &d, &cmd), 0);
                assert_int(t->name, cmd, t->cmd);
                check_temp(t->name, &d, &t->t);
        }

        VescMcconfTemp d;
        CommPacketId cmd;
        assert_int("36 bytes", vesc_mcconf_temp_decode(temp_setup_37, 36, &d, &cmd), -EBADMSG);
        assert_int("cmd only", vesc_mcconf_temp_decode(temp_setup_37, 1, &d, &cmd), -EBADMSG);
        uint8_t wrong[sizeof temp_setup_37];
        memcpy(wrong, temp_setup_37, sizeof wrong);
        wrong[0] = 0x04;
        assert_int("wrong command", vesc_mcconf_temp_decode(wrong, sizeof wrong, &d, &cmd), -EPROTO);
        uint8_t buf[64];
        assert_true(vesc_mcconf_temp_encode(&temp_vectors[0].t, COMM_GET_VALUES, buf, sizeof buf) < 0);
}

/* §12.5: GET_MCCONF_TEMP reply, 49 bytes after the command byte 0x5B (91):
 * ten f32a, motor poles u8, gear ratio f32a, wheel diameter f32a. */
static const uint8_t get_temp[] = {
        0x5B,
        0x3F, 0x80, 0x00, 0x00,   /* current min scale 1.0 */
        0x3F, 0x80, 0x00, 0x00,   /* current max scale 1.0 */
        0xC7, 0xC3, 0x50, 0x00,   /* min ERPM -100000 */
        0x47, 0xC3, 0x50, 0x00,   /* max ERPM 100000 */
        0x3B, 0xA3, 0xD7, 0x0A,   /* min duty 0.005 */
        0x3F, 0x73, 0x33, 0x33,   /* max duty 0.95 */
        0xC9, 0xB7, 0x1B, 0x00,   /* watt min -1.5e6 */
        0x49, 0xB7, 0x1B, 0x00,   /* watt max 1.5e6 */
        0xC2, 0x70, 0x00, 0x00,   /* input current min -60 */
        0x42, 0xC6, 0x00, 0x00,   /* input current max 99 */
        0x0E,                     /* motor poles 14 */
        0x40, 0x40, 0x00, 0x00,   /* gear ratio 3.0 */
        0x3E, 0x4C, 0xCC, 0xCD,   /* wheel diameter 0.2 m */
};

static void test_get_mcconf_temp(void **state) {
        (void) state;
        assert_int("49 + 1", sizeof get_temp, 50);
        const VescMcconfTempReply exp = {
                1.0f, 1.0f, -100000.0f, 100000.0f, 0.005f, 0.95f, -1.5e6f, 1.5e6f, -60.0f, 99.0f, 14, 3.0f, 0.2f,
        };
        VescMcconfTempReply r;
        memset(&r, 0xA5, sizeof r);
        assert_int("decode", vesc_get_mcconf_temp_decode(get_temp, sizeof get_temp, &r), 0);
        assert_true(r.current_min_scale == exp.current_min_scale);
        assert_true(r.current_max_scale == exp.current_max_scale);
        assert_true(r.min_erpm == exp.min_erpm);
        assert_true(r.max_erpm == exp.max_erpm);
        assert_true(r.min_duty == exp.min_duty);
        assert_true(r.max_duty == exp.max_duty);
        assert_true(r.watt_min == exp.watt_min);
        assert_true(r.watt_max == exp.watt_max);
        assert_true(r.in_current_min == exp.in_current_min);
        assert_true(r.in_current_max == exp.in_current_max);
        assert_int("poles", r.motor_poles, 14);
        assert_true(r.gear_ratio == exp.gear_ratio);
        assert_true(r.wheel_diameter == exp.wheel_diameter);

        uint8_t buf[64];
        ssize_t n = vesc_get_mcconf_temp_encode(&exp, buf, sizeof buf);
        assert_bytes("GET_MCCONF_TEMP encode", buf, n, get_temp, sizeof get_temp);
        assert_int("encode no room", vesc_get_mcconf_temp_encode(&exp, buf, 49), -ENOBUFS);

        assert_int("truncated 49", vesc_get_mcconf_temp_decode(get_temp, 49, &r), -EBADMSG);
        uint8_t wrong[sizeof get_temp];
        memcpy(wrong, get_temp, sizeof wrong);
        wrong[0] = 0x30;
        assert_int("wrong command", vesc_get_mcconf_temp_decode(wrong, sizeof wrong, &r), -EPROTO);
}

/* ------------------------------------------------- config blobs */

static void test_conf_signature_size(void **state) {
        (void) state;
        static const struct {
                unsigned major, minor;
                uint32_t mc_sig, app_sig;
                size_t mc_size, app_size;
        } rows[] = {
                /* §13.2 signatures (decimal there), §13.1 sizes. */
                { 3, 58, 503309878u, 1962523771u, 403, 170 },
                { 5, 3, 2525666056u, 3733512279u, 484, 476 },
                { 6, 5, 1065524471u, 2099347128u, 477, 278 },
                { 6, 6, 788332866u, 2099347128u, 483, 278 },
                { 7, 0, 1470992211u, 2384027283u, 488, 284 },
        };
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                char name[32];
                snprintf(name, sizeof name, "%u.%02u", rows[i].major, rows[i].minor);
                assert_int(name, vesc_conf_signature(VESC_CONF_MC, rows[i].major, rows[i].minor), rows[i].mc_sig);
                assert_int(name, vesc_conf_signature(VESC_CONF_APP, rows[i].major, rows[i].minor), rows[i].app_sig);
                assert_int(name, vesc_conf_size(VESC_CONF_MC, rows[i].major, rows[i].minor), rows[i].mc_size);
                assert_int(name, vesc_conf_size(VESC_CONF_APP, rows[i].major, rows[i].minor), rows[i].app_size);
        }
        /* 6.00 signatures are in §13.2 too. */
        assert_int("6.00 mc", vesc_conf_signature(VESC_CONF_MC, 6, 0), 776184161u);
        assert_int("6.00 app", vesc_conf_signature(VESC_CONF_APP, 6, 0), 486554156u);
        /* Unknown version. */
        assert_int("9.99 sig", vesc_conf_signature(VESC_CONF_MC, 9, 99), 0);
        assert_int("9.99 size", vesc_conf_size(VESC_CONF_APP, 9, 99), 0);
}

static void test_conf_blob(void **state) {
        (void) state;
        /* A 3.58 GET_APPCONF reply: [17] + 170 bytes: signature 1962523771 =
         * 74 F9 BC 7B, controller id 74 (0x4A) at offset 4, timeout_msec 1000 =
         * 00 00 03 E8 at offset 5, the rest zero. */
        uint8_t reply[1 + 170] = { 0x11, 0x74, 0xF9, 0xBC, 0x7B, 0x4A, 0x00, 0x00, 0x03, 0xE8 };
        VescConfBlob b;
        memset(&b, 0xA5, sizeof b);
        assert_int("decode", vesc_conf_blob_decode(reply, sizeof reply, &b), 0);
        assert_int("cmd", b.cmd, COMM_GET_APPCONF);
        assert_int("signature", b.signature, 1962523771u);
        assert_ptr_equal(b.data, reply + 1);
        assert_int("len", b.len, 170);

        uint8_t id = 0;
        assert_int("get id", vesc_appconf_get_controller_id(b.data, b.len, &id), 0);
        assert_int("id", id, 74);

        /* Read-modify-write of the id (§13.3) and re-encode as SET_APPCONF (16). */
        uint8_t data[170];
        memcpy(data, reply + 1, sizeof data);
        assert_int("set id", vesc_appconf_set_controller_id(data, sizeof data, 12), 0);
        uint8_t exp[1 + 170];
        memcpy(exp, reply, sizeof exp);
        exp[0] = 0x10;
        exp[5] = 12;
        uint8_t buf[600];
        ssize_t n = vesc_conf_blob_encode(COMM_SET_APPCONF, data, sizeof data, buf, sizeof buf);
        assert_bytes("SET_APPCONF with id 12", buf, n, exp, sizeof exp);
        assert_int("encode no room", vesc_conf_blob_encode(COMM_SET_APPCONF, data, sizeof data, buf, 170), -ENOBUFS);

        /* A GET_MCCONF reply (14): 3.58 signature 503309878 = 1D FF E6 36. */
        uint8_t mc[1 + 403] = { 0x0E, 0x1D, 0xFF, 0xE6, 0x36 };
        assert_int("mc decode", vesc_conf_blob_decode(mc, sizeof mc, &b), 0);
        assert_int("mc cmd", b.cmd, COMM_GET_MCCONF);
        assert_int("mc signature", b.signature, 503309878u);
        assert_int("mc len", b.len, 403);

        /* Malformed: no whole signature; wrong command; id past the end. */
        assert_int("truncated", vesc_conf_blob_decode(reply, 4, &b), -EBADMSG);
        assert_int("cmd only", vesc_conf_blob_decode(reply, 1, &b), -EBADMSG);
        uint8_t wrong[sizeof reply];
        memcpy(wrong, reply, sizeof wrong);
        wrong[0] = 0x04;
        assert_int("wrong command", vesc_conf_blob_decode(wrong, sizeof wrong, &b), -EPROTO);
        assert_int("id past end", vesc_appconf_get_controller_id(data, 4, &id), -EBADMSG);
        assert_true(vesc_appconf_set_controller_id(data, 4, 1) < 0);
        /* Over one 512-byte packet: 512 data bytes + command byte. */
        static uint8_t big[512];
        assert_true(vesc_conf_blob_encode(COMM_SET_MCCONF, big, sizeof big, buf, sizeof buf) < 0);
}

/* ------------------------------------------------- firmware update */

static void test_flash_requests(void **state) {
        (void) state;
        uint8_t buf[600];
        ssize_t n;

        /* ERASE_NEW_APP (2) for 393208 bytes = 0x0005FFF8. */
        n = vesc_erase_new_app_encode(393208, buf, sizeof buf);
        assert_bytes("ERASE_NEW_APP", buf, n, ((const uint8_t[]){ 0x02, 0x00, 0x05, 0xFF, 0xF8 }), 5);
        assert_int("erase no room", vesc_erase_new_app_encode(1, buf, 4), -ENOBUFS);

        /* ERASE_BOOTLOADER (73 = 0x49), no payload. */
        n = vesc_erase_bootloader_encode(buf, sizeof buf);
        assert_bytes("ERASE_BOOTLOADER", buf, n, ((const uint8_t[]){ 0x49 }), 1);

        /* WRITE_NEW_APP_DATA (3) at 393216 = 0x00060000 (bootloader sector). */
        n = vesc_write_new_app_encode(393216, (const uint8_t[]){ 0x01, 0x02, 0x03 }, 3, buf, sizeof buf);
        assert_bytes("WRITE_NEW_APP_DATA", buf, n,
                     ((const uint8_t[]){ 0x03, 0x00, 0x06, 0x00, 0x00, 0x01, 0x02, 0x03 }), 8);

        uint32_t off;
        const uint8_t *data;
        size_t len;
        assert_int("write decode", vesc_write_new_app_request_decode(buf, (size_t) n, &off, &data, &len), 0);
        assert_int("offset", off, 393216);
        assert_int("len", len, 3);
        assert_ptr_equal(data, buf + 5);

        /* 507 data bytes fill the 512-byte packet; 508 are refused (§14.3). */
        static uint8_t chunk[508];
        for (size_t i = 0; i < sizeof chunk; i++)
                chunk[i] = (uint8_t) (i * 7);
        n = vesc_write_new_app_encode(0x00000180, chunk, 507, buf, sizeof buf);
        assert_int("507 bytes", n, 512);
        assert_bytes("507 header", buf, 5, ((const uint8_t[]){ 0x03, 0x00, 0x00, 0x01, 0x80 }), 5);
        assert_bytes("507 data", buf + 5, 507, chunk, 507);
        assert_true(vesc_write_new_app_encode(0, chunk, 508, buf, sizeof buf) < 0);

        assert_int("write decode truncated", vesc_write_new_app_request_decode(buf, 4, &off, &data, &len), -EBADMSG);
        static const uint8_t wrong[] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
        assert_int("write decode wrong cmd", vesc_write_new_app_request_decode(wrong, sizeof wrong, &off, &data, &len),
                   -EPROTO);
}

typedef struct FlashReplyVector {
        const char *name;
        uint8_t bytes[6];
        size_t len;
        VescFlashReply r;
} FlashReplyVector;

static const FlashReplyVector flash_replies[] = {
        /* [2][ok]. */
        { "erase ok", { 0x02, 0x01 }, 2, { .cmd = 2, .ok = true } },
        { "erase failed", { 0x02, 0x00 }, 2, { .cmd = 2, .ok = false } },
        /* [3][ok] before 5.00. */
        { "write ok, no echo", { 0x03, 0x01 }, 2, { .cmd = 3, .ok = true } },
        /* [3][ok][offset u32] from 5.00: offset 393216 = 00 06 00 00. */
        { "write ok, echo", { 0x03, 0x01, 0x00, 0x06, 0x00, 0x00 }, 6,
          { .cmd = 3, .ok = true, .has_offset = true, .offset = 393216 } },
        { "write failed, echo 0x180", { 0x03, 0x00, 0x00, 0x00, 0x01, 0x80 }, 6,
          { .cmd = 3, .ok = false, .has_offset = true, .offset = 0x180 } },
        /* [73][ok]. */
        { "erase bootloader ok", { 0x49, 0x01 }, 2, { .cmd = 73, .ok = true } },
};

static void test_flash_replies(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(flash_replies); i++) {
                const FlashReplyVector *t = &flash_replies[i];
                VescFlashReply r;
                memset(&r, 0xA5, sizeof r);
                assert_int(t->name, vesc_flash_reply_decode(t->bytes, t->len, &r), 0);
                assert_int(t->name, r.cmd, t->r.cmd);
                assert_int(t->name, r.ok, t->r.ok);
                assert_int(t->name, r.has_offset, t->r.has_offset);
                if (t->r.has_offset)
                        assert_int(t->name, r.offset, t->r.offset);

                uint8_t buf[16];
                ssize_t n = vesc_flash_reply_encode(&t->r, buf, sizeof buf);
                assert_bytes(t->name, buf, n, t->bytes, t->len);
        }
        VescFlashReply r;
        assert_int("command only", vesc_flash_reply_decode((const uint8_t[]){ 0x02 }, 1, &r), -EBADMSG);
        assert_int("empty", vesc_flash_reply_decode((const uint8_t[]){ 0x02 }, 0, &r), -EBADMSG);
        assert_int("GET_VALUES is no flash reply", vesc_flash_reply_decode((const uint8_t[]){ 0x04, 0x01 }, 2, &r),
                   -EPROTO);
}

static void test_simple_and_control(void **state) {
        (void) state;
        static const struct { CommPacketId cmd; uint8_t byte; } rows[] = {
                { COMM_FW_VERSION, 0x00 }, { COMM_JUMP_TO_BOOTLOADER, 0x01 }, { COMM_GET_VALUES, 0x04 },
                { COMM_GET_MCCONF, 0x0E }, { COMM_GET_APPCONF, 0x11 }, { COMM_REBOOT, 0x1D },
                { COMM_ALIVE, 0x1E }, { COMM_GET_MCCONF_TEMP, 0x5B },
        };
        uint8_t buf[16];
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                memset(buf, 0xEE, sizeof buf);
                ssize_t n = vesc_simple_encode(rows[i].cmd, buf, sizeof buf);
                assert_bytes("simple", buf, n, &rows[i].byte, 1);
                assert_int("simple no room", vesc_simple_encode(rows[i].cmd, buf, 0), -ENOBUFS);
        }

        /* APP_DISABLE_OUTPUT (63 = 0x3F): forward flag u8, i32 ms. */
        static const struct { bool fwd; int32_t ms; uint8_t b[6]; } ado[] = {
                { true, -1, { 0x3F, 0x01, 0xFF, 0xFF, 0xFF, 0xFF } },  /* until re-enabled */
                { false, 5000, { 0x3F, 0x00, 0x00, 0x00, 0x13, 0x88 } },
                { false, 0, { 0x3F, 0x00, 0x00, 0x00, 0x00, 0x00 } },  /* re-enable */
        };
        for (size_t i = 0; i < ELEMENTSOF(ado); i++) {
                ssize_t n = vesc_app_disable_output_encode(ado[i].fwd, ado[i].ms, buf, sizeof buf);
                assert_bytes("APP_DISABLE_OUTPUT", buf, n, ado[i].b, 6);
                bool fwd = !ado[i].fwd;
                int32_t ms = 12345;
                assert_int("ado decode", vesc_app_disable_output_decode(ado[i].b, 6, &fwd, &ms), 0);
                assert_int("ado fwd", fwd, ado[i].fwd);
                assert_int("ado ms", ms, ado[i].ms);
        }
        bool fwd;
        int32_t ms;
        assert_int("ado truncated", vesc_app_disable_output_decode(ado[0].b, 5, &fwd, &ms), -EBADMSG);
        assert_int("ado wrong cmd",
                   vesc_app_disable_output_decode((const uint8_t[]){ 0x3E, 0, 0, 0, 0, 0 }, 6, &fwd, &ms), -EPROTO);
}

static void test_fault_names(void **state) {
        (void) state;
        static const struct { unsigned code; const char *name; } rows[] = {
                { 0, "NONE" }, { 1, "OVER_VOLTAGE" }, { 5, "OVER_TEMP_FET" }, { 18, "UNBALANCED_CURRENTS" },
                { 33, "ABS_OVERSPEED" }, { 34, "UNKNOWN" }, { 200, "UNKNOWN" },
        };
        for (size_t i = 0; i < ELEMENTSOF(rows); i++)
                assert_string_equal(vesc_fault_to_string(rows[i].code), rows[i].name);
        assert_non_null(comm_packet_id_to_string(COMM_FW_VERSION));
        assert_non_null(comm_packet_id_to_string(COMM_WRITE_NEW_APP_DATA));
        assert_null(comm_packet_id_to_string(250));
}

static void test_blob_signature(void **state) {
        static const uint8_t blob[] = { 0x8d, 0x0e, 0x0b, 0xa1, 0x01 };

        assert_int_equal(vesc_conf_blob_signature(blob, sizeof blob), 0x8d0e0ba1);
        assert_int_equal(vesc_conf_blob_signature(blob, 3), 0);
        assert_int_equal(vesc_conf_blob_signature(NULL, 8), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fw_version),
                cmocka_unit_test(test_fw_version_encode_by_version),
                cmocka_unit_test(test_fw_version_truncated),
                cmocka_unit_test(test_version_format),
                cmocka_unit_test(test_values_versions),
                cmocka_unit_test(test_values_malformed),
                cmocka_unit_test(test_values_selective),
                cmocka_unit_test(test_mcconf_temp),
                cmocka_unit_test(test_get_mcconf_temp),
                cmocka_unit_test(test_conf_signature_size),
                cmocka_unit_test(test_conf_blob),
                cmocka_unit_test(test_flash_requests),
                cmocka_unit_test(test_flash_replies),
                cmocka_unit_test(test_simple_and_control),
                cmocka_unit_test(test_fault_names),
                cmocka_unit_test(test_blob_signature),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
