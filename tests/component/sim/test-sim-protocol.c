/* vesc-sim against the protocol codec: each preset's controllers must answer
 * exactly as their firmware versions do (spec §5, §6, §8.3, §12.1, §12.2,
 * §13).  The test is one raw vbus member and uses only libvesc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "canbits.h"
#include "crc.h"
#include "sim-harness.h"
#include "proto/vesc-can.h"
#include "proto/vesc-comm.h"
#include "wire.h"

#define T_MS 2000

static const uint8_t uuid_a[12] = { 0x3c, 0x00, 0x29, 0x00, 0x0d, 0x51, 0x39, 0x32, 0x36, 0x35, 0x39, 0x34 };
static const uint8_t uuid_b[12] = { 0x2f, 0x00, 0x2b, 0x00, 0x14, 0x51, 0x36, 0x33, 0x36, 0x33, 0x35, 0x31 };

static int start(void **state, const char *board) {
        static Harness h;
        static const char *const extra[] = { "--time-scale", "0.05", NULL };

        return harness_setup(state, &h, board, extra);
}
static int setup_mismatch(void **state) {
        return start(state, "dual-mismatch");
}
static int setup_single(void **state) {
        return start(state, "single");
}
static int setup_ok(void **state) {
        return start(state, "dual-ok");
}
/* --bitrate: a slow bus, so the wire time of one long reply is well above
 * scheduling noise; the test asserts only a lower bound. */
#define TIMED_BITRATE 125000u
static int setup_timed(void **state) {
        static Harness h;
        static const char *const extra[] = { "--time-scale", "0.05", "--bitrate", "125000", NULL };

        return harness_setup(state, &h, "single", extra);
}

/* ------------------------------------------------------------ PING */

static void test_ping_forms(void **state) {
        Harness *h = *state;
        uint8_t d[8];
        bool seen_a = false, seen_b = false;
        uint64_t deadline;

        /* 5.03: 2 bytes, the addressed id then HW_TYPE 0 */
        assert_int_equal(harness_ping(h, 12, HARNESS_OWN_ID, d, T_MS), 2);
        assert_int_equal(d[0], 12);
        assert_int_equal(d[1], 0);
        /* 3.58: 1 byte, its own id */
        assert_int_equal(harness_ping(h, 74, HARNESS_OWN_ID, d, T_MS), 1);
        assert_int_equal(d[0], 74);

        /* Broadcast ping: 5.03 answers with 255 in byte 0 (spec §6.2). */
        {
                struct can_frame f;
                vesc_ping_encode(&f, 255, 252);
                assert_int_equal(harness_send(h, &f), 0);
        }
        deadline = harness_now_usec() + T_MS * 1000u;
        while ((!seen_a || !seen_b) && harness_now_usec() < deadline) {
                struct can_frame f;
                if (harness_recv(h, &f, 200) < 0 || f.can_id != vesc_can_id(CAN_PACKET_PONG, 252))
                        continue;
                if (f.can_dlc == 2 && f.data[0] == 255)
                        seen_a = true;
                if (f.can_dlc == 1 && f.data[0] == 74)
                        seen_b = true;
        }
        assert_true(seen_a);
        assert_true(seen_b);
}

static void test_ping_605(void **state) {
        Harness *h = *state;
        uint8_t d[8];

        assert_int_equal(harness_ping(h, 12, HARNESS_OWN_ID, d, T_MS), 2);
        assert_int_equal(d[0], 12);
        assert_int_equal(d[1], 0);
}

/* ------------------------------------------------------- FW_VERSION */

static void check_fw(Harness *h, uint8_t id, size_t want_len, unsigned major, unsigned minor, const uint8_t *uuid) {
        uint8_t req = COMM_FW_VERSION, buf[512];
        VescFwVersion v;
        ssize_t n = harness_request(h, id, &req, 1, buf, sizeof buf, T_MS);

        assert_int_equal(n, (ssize_t) want_len);
        assert_int_equal(vesc_fw_version_decode(buf, (size_t) n, &v), 0);
        assert_int_equal(v.major, major);
        assert_int_equal(v.minor, minor);
        assert_string_equal(v.hw_name, "60");
        assert_memory_equal(v.uuid, uuid, 12);
        assert_true(!v.has_hw_type || v.hw_type == 0);
}

static void test_fw_version_mismatch(void **state) {
        check_fw(*state, 12, 25, 5, 3, uuid_a);
        check_fw(*state, 74, 19, 3, 58, uuid_b);
}

static void test_fw_version_605(void **state) {
        check_fw(*state, 12, 31, 6, 5, uuid_a);
}

/* ------------------------------------------------------- GET_VALUES */

static void check_values(Harness *h, uint8_t id, size_t want_len) {
        uint8_t req = COMM_GET_VALUES, buf[512];
        VescValues v;
        ssize_t n = harness_request(h, id, &req, 1, buf, sizeof buf, T_MS);

        assert_int_equal(n, (ssize_t) want_len + 1);
        assert_int_equal(vesc_values_decode(buf, (size_t) n, &v), 0);
        assert_int_equal(v.controller_id, id);
        assert_true(v.v_in > 30 && v.v_in < 60);
}

static void test_values_mismatch(void **state) {
        check_values(*state, 12, 73);
        check_values(*state, 74, 64);
}

static void test_values_605(void **state) {
        Harness *h = *state;
        uint8_t req[8], buf[512];
        ssize_t k = vesc_get_values_selective_request((1u << VALUE_ERPM) | (1u << VALUE_V_IN), req, sizeof req);
        VescValues v;
        ssize_t n;

        check_values(h, 12, 73);
        assert_true(k > 0);
        n = harness_request(h, 12, req, (size_t) k, buf, sizeof buf, T_MS);
        assert_int_equal(n, 1 + 4 + 4 + 2);
        assert_int_equal(vesc_values_selective_decode(buf, (size_t) n, &v), 0);
        assert_true(v.v_in > 30);
}

/* ------------------------------------------------------- status */

typedef struct Counts {
        unsigned type[64][256];
} Counts;

static void count_frames(Harness *h, Counts *c, int ms) {
        uint64_t deadline = harness_now_usec() + (uint64_t) ms * 1000;

        memset(c, 0, sizeof *c);
        while (harness_now_usec() < deadline) {
                struct can_frame f;
                uint8_t type, addr;

                if (harness_recv(h, &f, 50) < 0)
                        continue;
                if (vesc_can_id_unpack(f.can_id, &type, &addr) == 0 && type < 64)
                        c->type[type][addr]++;
        }
}

static void test_status_mismatch(void **state) {
        Harness *h = *state;
        static Counts c;

        /* 1 s at 50 Hz: bounds that hold on a slow machine, never above the rate */
        count_frames(h, &c, 1000);
        assert_in_range(c.type[CAN_PACKET_STATUS][74], 5, 60);
        assert_int_equal(c.type[CAN_PACKET_STATUS_2][74], 0);
        assert_int_equal(c.type[CAN_PACKET_STATUS][12], 0);
}

static void test_status_ok(void **state) {
        Harness *h = *state;
        static Counts c;

        count_frames(h, &c, 1000);
        for (int id = 0; id < 256; id++) {
                if (id != 12 && id != 74)
                        continue;
                assert_in_range(c.type[CAN_PACKET_STATUS][id], 5, 60);
                assert_in_range(c.type[CAN_PACKET_STATUS_2][id], 5, 60);
                assert_in_range(c.type[CAN_PACKET_STATUS_3][id], 5, 60);
                assert_in_range(c.type[CAN_PACKET_STATUS_4][id], 5, 60);
                assert_int_equal(c.type[CAN_PACKET_STATUS_5][id], 0);
        }
}

/* ------------------------------------------------------- config */

static ssize_t get_conf(Harness *h, uint8_t id, uint8_t cmd, uint8_t *buf, size_t size) {
        return harness_request(h, id, &cmd, 1, buf, size, T_MS);
}

static void test_config_mismatch(void **state) {
        Harness *h = *state;
        uint8_t buf[520];
        ssize_t n;

        n = get_conf(h, 12, COMM_GET_APPCONF, buf, sizeof buf);
        assert_int_equal(n, 1 + 476);
        assert_int_equal(be32_get(buf + 1), vesc_conf_signature(VESC_CONF_APP, 5, 3));
        assert_int_equal(be32_get(buf + 1), 3733512279u);
        assert_int_equal(buf[1 + 4], 12);
        assert_int_equal(buf[1 + 13], 0);               /* broadcasts off */

        n = get_conf(h, 74, COMM_GET_APPCONF, buf, sizeof buf);
        assert_int_equal(n, 1 + 170);
        assert_int_equal(be32_get(buf + 1), 1962523771u);
        assert_int_equal(buf[1 + 4], 74);
        assert_int_equal(buf[1 + 13], 1);               /* CAN_STATUS_1 */
        assert_int_equal(be16_get(buf + 1 + 14), 50);
        assert_int_equal(buf[1 + 16], 2);               /* 500K */

        n = get_conf(h, 12, COMM_GET_MCCONF, buf, sizeof buf);
        assert_int_equal(n, 1 + 484);
        assert_int_equal(be32_get(buf + 1), 2525666056u);
        n = get_conf(h, 74, COMM_GET_MCCONF, buf, sizeof buf);
        assert_int_equal(n, 1 + 403);
        assert_int_equal(be32_get(buf + 1), 503309878u);
}

static void test_set_appconf(void **state) {
        Harness *h = *state;
        uint8_t conf[520], reply[520];
        ssize_t n = get_conf(h, 12, COMM_GET_APPCONF, conf, sizeof conf);
        static Counts c;

        assert_int_equal(n, 477);

        /* Wrong signature: a COMM_PRINT instead of the ack. */
        conf[0] = COMM_SET_APPCONF;
        conf[1] ^= 0xff;
        assert_int_equal(harness_send_buffer(h, 12, HARNESS_OWN_ID, 0, conf, (size_t) n), 0);
        assert_true(harness_wait_reply(h, COMM_PRINT, reply, sizeof reply, NULL, T_MS) > 1);
        assert_true(harness_wait_reply(h, COMM_SET_APPCONF, reply, sizeof reply, NULL, 300) < 0);

        /* Right signature, STATUS_1+2 at 50 Hz: ack [16], then broadcasts. */
        conf[1] ^= 0xff;
        conf[1 + 13] = 2;
        assert_int_equal(harness_send_buffer(h, 12, HARNESS_OWN_ID, 0, conf, (size_t) n), 0);
        assert_int_equal(harness_wait_reply(h, COMM_SET_APPCONF, reply, sizeof reply, NULL, T_MS), 1);
        count_frames(h, &c, 600);
        assert_in_range(c.type[CAN_PACKET_STATUS][12], 3, 40);
        assert_in_range(c.type[CAN_PACKET_STATUS_2][12], 3, 40);
        assert_int_equal(c.type[CAN_PACKET_STATUS_3][12], 0);
}

/* CONF_(STORE_)CURRENT_LIMITS(_IN): min and max in mA; the STORE forms
 * also write them to the mcconf (l_current_max/min at bytes 8/12,
 * l_in_current_max/min at 16/20, float32_auto), the others only change
 * the limits in force (the control socket's in_current_min/max). */
static void send_limits(Harness *h, uint8_t type, uint8_t id, int32_t min_ma, int32_t max_ma) {
        struct can_frame f = { .can_id = vesc_can_id(type, id), .can_dlc = 8 };

        be32_put(f.data, (uint32_t) min_ma);
        be32_put(f.data + 4, (uint32_t) max_ma);
        assert_int_equal(harness_send(h, &f), 0);
}

static void check_mcconf_limit(const uint8_t *conf, size_t at, double want) {
        double got = f32a_from_bits(be32_get(conf + 1 + at));

        if (got < want - 1e-3 || got > want + 1e-3)
                fail_msg("mcconf byte %zu: %g, want %g", at, got, want);
}

static void test_current_limits(void **state) {
        Harness *h = *state;
        uint8_t before[520], conf[520];
        char buf[8192];

        assert_true(get_conf(h, 12, COMM_GET_MCCONF, before, sizeof before) > 1 + 24);
        send_limits(h, CAN_PACKET_CONF_CURRENT_LIMITS, 12, -41000, 51000);
        send_limits(h, CAN_PACKET_CONF_CURRENT_LIMITS_IN, 12, -11000, 22000);
        assert_int_equal(harness_wait_status(h, "\"in_current_min\":-11.0", T_MS), 0);
        assert_int_equal(harness_control(h, "status", buf, sizeof buf), 0);
        assert_non_null(strstr(buf, "\"in_current_max\":22.0"));
        /* not stored */
        assert_true(get_conf(h, 12, COMM_GET_MCCONF, conf, sizeof conf) > 1 + 24);
        assert_memory_equal(conf + 1 + 8, before + 1 + 8, 16);

        send_limits(h, CAN_PACKET_CONF_STORE_CURRENT_LIMITS, 12, -40000, 50000);
        send_limits(h, CAN_PACKET_CONF_STORE_CURRENT_LIMITS_IN, 12, -10000, 20000);
        assert_int_equal(harness_wait_status(h, "\"in_current_min\":-10.0", T_MS), 0);
        assert_true(get_conf(h, 12, COMM_GET_MCCONF, conf, sizeof conf) > 1 + 24);
        check_mcconf_limit(conf, 8, 50);
        check_mcconf_limit(conf, 12, -40);
        check_mcconf_limit(conf, 16, 20);
        check_mcconf_limit(conf, 20, -10);
}

/* ------------------------------------------------------- buffers */

/* A 10-byte GET_VALUES (the firmware ignores trailing bytes): 2 FILL frames
 * + PROCESS, built by hand so that they can be interleaved. */
static void long_request(uint8_t sender, uint8_t dest, uint8_t fill, struct can_frame fr[3], bool bad_crc) {
        uint8_t p[10];

        p[0] = COMM_GET_VALUES;
        for (int i = 1; i < 10; i++)
                p[i] = (uint8_t) (fill + i);
        memset(fr, 0, 3 * sizeof fr[0]);
        fr[0].can_id = vesc_can_id(CAN_PACKET_FILL_RX_BUFFER, dest);
        fr[0].can_dlc = 8;
        fr[0].data[0] = 0;
        memcpy(fr[0].data + 1, p, 7);
        fr[1].can_id = vesc_can_id(CAN_PACKET_FILL_RX_BUFFER, dest);
        fr[1].can_dlc = 4;
        fr[1].data[0] = 7;
        memcpy(fr[1].data + 1, p + 7, 3);
        fr[2].can_id = vesc_can_id(CAN_PACKET_PROCESS_RX_BUFFER, dest);
        fr[2].can_dlc = 6;
        fr[2].data[0] = sender;
        fr[2].data[1] = 0;
        be16_put(fr[2].data + 2, 10);
        be16_put(fr[2].data + 4, (uint16_t) (crc16(p, 10) ^ (bad_crc ? 0x0101 : 0)));
}

static void send3(Harness *h, const struct can_frame *f, int a, int b, int c) {
        assert_int_equal(harness_send(h, &f[a]), 0);
        assert_int_equal(harness_send(h, &f[b]), 0);
        assert_int_equal(harness_send(h, &f[c]), 0);
}

static void test_crc_drop(void **state, uint8_t id) {
        Harness *h = *state;
        struct can_frame fr[3];
        uint8_t buf[512];

        long_request(HARNESS_OWN_ID, id, 0x10, fr, true);
        send3(h, fr, 0, 1, 2);
        /* silently dropped: no reply at all */
        assert_true(harness_wait_reply(h, COMM_GET_VALUES, buf, sizeof buf, NULL, 400) < 0);

        long_request(HARNESS_OWN_ID, id, 0x10, fr, false);
        send3(h, fr, 0, 1, 2);
        assert_true(harness_wait_reply(h, COMM_GET_VALUES, buf, sizeof buf, NULL, T_MS) > 60);
}

static void test_crc_drop_358(void **state) {
        test_crc_drop(state, 74);
}

static void test_crc_drop_605(void **state) {
        test_crc_drop(state, 12);
}

static void test_interleave(void **state, uint8_t id) {
        Harness *h = *state;
        struct can_frame x[3], y[3];
        uint8_t buf[512];
        uint64_t deadline;
        unsigned replies = 0;

        long_request(HARNESS_OWN_ID, id, 0x20, x, false);
        long_request(252, id, 0x40, y, false);
        /* X0 Y0 Y7 X7 XP YP: the 3.58 buffer ends up half X, half Y; the
         * 6.05 matching crosses the second halves over.  Both CRCs fail. */
        assert_int_equal(harness_send(h, &x[0]), 0);
        assert_int_equal(harness_send(h, &y[0]), 0);
        assert_int_equal(harness_send(h, &y[1]), 0);
        assert_int_equal(harness_send(h, &x[1]), 0);
        assert_int_equal(harness_send(h, &x[2]), 0);
        assert_int_equal(harness_send(h, &y[2]), 0);

        deadline = harness_now_usec() + 500000u;
        while (harness_now_usec() < deadline) {
                struct can_frame f;
                uint8_t type, addr;
                if (harness_recv(h, &f, 50) < 0)
                        continue;
                if (vesc_can_id_unpack(f.can_id, &type, &addr) == 0 &&
                    (type == CAN_PACKET_PROCESS_RX_BUFFER || type == CAN_PACKET_PROCESS_SHORT_BUFFER) &&
                    (addr == HARNESS_OWN_ID || addr == 252))
                        replies++;
        }
        assert_int_equal(replies, 0);

        /* each alone works */
        send3(h, x, 0, 1, 2);
        assert_true(harness_wait_reply(h, COMM_GET_VALUES, buf, sizeof buf, NULL, T_MS) > 60);
}

static void test_interleave_358(void **state) {
        test_interleave(state, 74);
}

static void test_interleave_605(void **state) {
        test_interleave(state, 12);
}

/* vesc-sim --bitrate: the hub paces every frame by its wire length, so the
 * request and its ~80-frame reply (6.05 GET_MCCONF, 478 bytes) share one wire and
 * cannot complete faster than their bits at the bitrate (DESIGN.md "vbus").
 * Other traffic only adds wire time, so the bound holds whatever else is on
 * the bus; nothing asserts an upper bound. */
static void test_timed_bus(void **state) {
        Harness *h = *state;
        uint8_t req = COMM_GET_MCCONF;
        struct can_frame f;
        VescSegmenter s;
        uint64_t bits = 0, t0, t1, min_usec;
        unsigned frames = 0;
        bool done = false;

        assert_int_equal(vesc_segmenter_init(&s, 12, HARNESS_OWN_ID, VESC_MODE_PROCESS_REPLY, &req, 1), 0);
        t0 = harness_now_usec();
        while (vesc_segmenter_next(&s, &f) > 0) {
                bits += can_frame_wire_bits(&f);
                assert_int_equal(harness_send(h, &f), 0);
        }
        while (!done) {
                uint8_t type;

                assert_int_equal(harness_recv(h, &f, T_MS), 0);
                if (!(f.can_id & CAN_EFF_FLAG) || (f.can_id & 0xff) != HARNESS_OWN_ID)
                        continue;
                type = (uint8_t) ((f.can_id & CAN_EFF_MASK) >> 8);
                if (type < CAN_PACKET_FILL_RX_BUFFER || type > CAN_PACKET_PROCESS_SHORT_BUFFER)
                        continue;
                bits += can_frame_wire_bits(&f);
                frames++;
                done = type == CAN_PACKET_PROCESS_RX_BUFFER;
        }
        t1 = harness_now_usec();
        min_usec = bits * 1000000u / TIMED_BITRATE;
        print_message("# %u reply frames, %llu wire bits: %llu us (bound %llu us)\n", frames,
                      (unsigned long long) bits, (unsigned long long) (t1 - t0), (unsigned long long) min_usec);
        /* 478 bytes = 37 FILL + 37 LONG + 1 PROCESS (spec §8.1) */
        assert_int_equal(frames, 75);
        assert_true(t1 - t0 >= min_usec);
}

static void test_ids_are_uuid_defaults(void **state) {
        /* Preset ids follow the firmware's UUID rule (spec §8.4). */
        assert_int_equal(vesc_default_id_from_uuid(uuid_a, 5, 3), 12);
        assert_int_equal(vesc_default_id_from_uuid(uuid_a, 3, 58), 10);
        assert_int_equal(vesc_default_id_from_uuid(uuid_b, 3, 58), 74);
        assert_int_equal(vesc_default_id_from_uuid(uuid_b, 6, 5), 74);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ids_are_uuid_defaults),
                cmocka_unit_test_setup_teardown(test_ping_forms, setup_mismatch, harness_teardown),
                cmocka_unit_test_setup_teardown(test_fw_version_mismatch, setup_mismatch, harness_teardown),
                cmocka_unit_test_setup_teardown(test_values_mismatch, setup_mismatch, harness_teardown),
                cmocka_unit_test_setup_teardown(test_status_mismatch, setup_mismatch, harness_teardown),
                cmocka_unit_test_setup_teardown(test_config_mismatch, setup_mismatch, harness_teardown),
                cmocka_unit_test_setup_teardown(test_set_appconf, setup_mismatch, harness_teardown),
                cmocka_unit_test_setup_teardown(test_crc_drop_358, setup_mismatch, harness_teardown),
                cmocka_unit_test_setup_teardown(test_interleave_358, setup_mismatch, harness_teardown),
                cmocka_unit_test_setup_teardown(test_ping_605, setup_single, harness_teardown),
                cmocka_unit_test_setup_teardown(test_fw_version_605, setup_single, harness_teardown),
                cmocka_unit_test_setup_teardown(test_values_605, setup_single, harness_teardown),
                cmocka_unit_test_setup_teardown(test_crc_drop_605, setup_single, harness_teardown),
                cmocka_unit_test_setup_teardown(test_interleave_605, setup_single, harness_teardown),
                cmocka_unit_test_setup_teardown(test_status_ok, setup_ok, harness_teardown),
                cmocka_unit_test_setup_teardown(test_current_limits, setup_ok, harness_teardown),
                cmocka_unit_test_setup_teardown(test_timed_bus, setup_timed, harness_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
