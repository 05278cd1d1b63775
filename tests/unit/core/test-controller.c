/* Unit tests of the controller model (daemon/core/controller.c): identity from
 * COMM_FW_VERSION, status frames, GET_VALUES, liveness with time as an
 * argument, dirty bits. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/controller.h"
#include "core/controller-status.h"
#include "proto/vesc-can.h"

#define MS 1000ULL

static const uint8_t uuid_b[12] = { 0x2f, 0x00, 0x2b, 0x00, 0x14, 0x51, 0x36, 0x33, 0x36, 0x33, 0x35, 0x31 };

static VescFwVersion fw(uint8_t major, uint8_t minor) {
        VescFwVersion v = { .major = major, .minor = minor };
        memcpy(v.uuid, uuid_b, sizeof uuid_b);
        strcpy(v.hw_name, "60");
        return v;
}

static void test_identity(void **state) {
        Controller c;
        VescFwVersion v = fw(3, 58);

        controller_init(&c, 74);
        assert_false(c.has_identity);
        assert_false(c.online);
        assert_int_equal(controller_apply_fw_version(&c, &v, 1000 * MS), 1);
        assert_true(c.has_identity);
        assert_string_equal(c.uuid_str, "2f002b001451363336333531");
        assert_string_equal(c.fw_version, "3.58");
        assert_string_equal(c.hw_name, "60");
        assert_string_equal(c.fw_name, "");
        assert_true(c.online);
        assert_true(controller_take_dirty(&c, CONTROLLER_DIRTY_IDENTITY));
        assert_true(controller_take_dirty(&c, CONTROLLER_DIRTY_ONLINE));
        /* the same reply again changes nothing */
        assert_int_equal(controller_apply_fw_version(&c, &v, 1100 * MS), 0);
        assert_false(controller_take_dirty(&c, CONTROLLER_DIRTY_IDENTITY));
        /* an update to 5.03 is a change; known signatures are dropped */
        controller_set_signatures(&c, 0x1234, 0x5678);
        v = fw(5, 3);
        v.has_test_build = true;
        assert_int_equal(controller_apply_fw_version(&c, &v, 1200 * MS), 1);
        assert_string_equal(c.fw_version, "5.03");
        assert_int_equal(c.mc_signature, 0);
        assert_int_equal(c.app_signature, 0);
}

static void test_status(void **state) {
        Controller c;
        VescStatus st = { .type = CAN_PACKET_STATUS, .sender = 74, .s1 = { .erpm = 1234, .current = 5.5, .duty = 0.25 } };

        controller_init(&c, 74);
        assert_int_equal(controller_apply_status(&c, &st, 10 * MS), 0);
        assert_true(c.online);
        assert_true(c.broadcasting);
        assert_int_equal(c.telemetry[TELEMETRY_ERPM], 1234);
        uint64_t d = controller_take_dirty(&c, CONTROLLER_DIRTY_TELEMETRY_MASK);
        assert_true(d & (1u << TELEMETRY_ERPM));
        assert_true(d & (1u << TELEMETRY_CURRENT_MOTOR));
        assert_true(d & (1u << TELEMETRY_DUTY_CYCLE));
        assert_false(d & (1u << TELEMETRY_VOLTAGE_IN));
        /* same values: no telemetry dirt, but a fresh sample for watchers */
        (void) controller_take_dirty(&c, UINT64_MAX);
        assert_int_equal(controller_apply_status(&c, &st, 30 * MS), 0);
        assert_false(controller_take_dirty(&c, CONTROLLER_DIRTY_TELEMETRY_MASK));
        assert_true(controller_take_dirty(&c, CONTROLLER_DIRTY_SAMPLE));
        assert_false(CONTROLLER_DIRTY_STATE_MASK & CONTROLLER_DIRTY_SAMPLE);

        st = (VescStatus) { .type = CAN_PACKET_STATUS_5, .sender = 74, .s5 = { .tachometer = -600, .v_in = 48.2 } };
        assert_int_equal(controller_apply_status(&c, &st, 40 * MS), 0);
        /* a negative double converted to an unsigned type is undefined (0 on ARM) */
        assert_int_equal((int64_t) c.telemetry[TELEMETRY_TACHOMETER], -600);
        assert_true(c.telemetry[TELEMETRY_VOLTAGE_IN] > 48.1 && c.telemetry[TELEMETRY_VOLTAGE_IN] < 48.3);

        st = (VescStatus) { .type = CAN_PACKET_STATUS_6, .sender = 74 };
        (void) controller_take_dirty(&c, UINT64_MAX);
        assert_int_equal(controller_apply_status(&c, &st, 50 * MS), -EOPNOTSUPP);
        assert_false(controller_take_dirty(&c, CONTROLLER_DIRTY_SAMPLE)); /* nothing modelled */
}

/* vescd's per-frame path decodes a status frame straight into the model:
 * the same model, dirty bits and return value as decoding it first. */
static void test_status_frame_same(void **state) {
        static const struct {
                uint8_t type;
                uint8_t d[8];
        } frames[] = {
                { CAN_PACKET_STATUS, { 0x00, 0x00, 0x04, 0xd2, 0x00, 0x37, 0x00, 0xfa } },
                { CAN_PACKET_STATUS, { 0x00, 0x00, 0x04, 0xd2, 0x00, 0x37, 0x00, 0xfa } }, /* same again */
                { CAN_PACKET_STATUS, { 0xff, 0xff, 0xfb, 0x2e, 0xff, 0xc9, 0xfc, 0x18 } }, /* negative */
                { CAN_PACKET_STATUS_2, { 0x00, 0x01, 0x86, 0xa0, 0x80, 0x00, 0x00, 0x00 } },
                { CAN_PACKET_STATUS_3, { 0x7f, 0xff, 0xff, 0xff, 0x00, 0x00, 0x27, 0x10 } },
                { CAN_PACKET_STATUS_4, { 0x01, 0xf4, 0x02, 0x58, 0xff, 0x9c, 0x12, 0x34 } },
                { CAN_PACKET_STATUS_5, { 0xff, 0xff, 0xfd, 0xa8, 0x01, 0xe2, 0x00, 0x00 } },
                { CAN_PACKET_STATUS_6, { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 } },
                { CAN_PACKET_STATUS_4, { 0x01, 0xf4, 0x02, 0x58, 0xff, 0x9c, 0x43, 0x21 } }, /* only pid_pos */
                { CAN_PACKET_STATUS_2, { 0x00, 0x01, 0x86, 0xa1, 0x80, 0x00, 0x00, 0x00 } },
        };
        Controller a, b;

        controller_init(&a, 12);
        controller_init(&b, 12);
        for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++) {
                struct can_frame f = { .can_id = CAN_EFF_FLAG | (canid_t) frames[i].type << 8 | 12, .len = 8 };
                uint64_t now = (i + 1) * 20 * MS;
                VescStatus st;
                int ra, rb;

                memcpy(f.data, frames[i].d, 8);
                assert_int_equal(vesc_status_decode(&f, &st), 0);
                ra = controller_apply_status(&a, &st, now);
                rb = controller_apply_status_frame(&b, frames[i].type, f.data, now);
                assert_int_equal(ra, rb);
                assert_int_equal(a.dirty, b.dirty);
                assert_int_equal(a.telemetry_present, b.telemetry_present);
                assert_memory_equal(a.telemetry, b.telemetry, sizeof a.telemetry);
                assert_int_equal(a.online, b.online);
                assert_int_equal(a.broadcasting, b.broadcasting);
                assert_int_equal(a.last_seen_usec, b.last_seen_usec);
                assert_int_equal(a.last_status_usec, b.last_status_usec);
                assert_int_equal(a.sample_usec, b.sample_usec);
                assert_int_equal(a.counters.status_frames, b.counters.status_frames);
                if (i % 3 == 2) {
                        (void) controller_take_dirty(&a, UINT64_MAX);
                        (void) controller_take_dirty(&b, UINT64_MAX);
                }
        }
        /* the values really arrived: 0x04d2 ERPM, then -1234 */
        /* (a double: converted to int first, as cmocka's unsigned compare of a
         * negative double is undefined and reads 0 on ARM) */
        assert_int_equal((int) b.telemetry[TELEMETRY_ERPM], -1234);
        assert_int_equal(b.counters.status_frames, sizeof frames / sizeof frames[0]);
}

static void test_values_fault(void **state) {
        Controller c;
        VescValues v = {
                .present = (1u << VALUE_FAULT) | (1u << VALUE_V_IN) | (1u << VALUE_TEMP_FET),
                .fault = 2,
                .v_in = 36.0,
                .temp_fet = 41.5,
        };

        controller_init(&c, 12);
        assert_int_equal(controller_apply_values(&c, &v, 5 * MS), 1);
        assert_string_equal(controller_fault_name(&c), "UNDER_VOLTAGE");
        assert_true(controller_take_dirty(&c, CONTROLLER_DIRTY_FAULT));
        assert_int_equal(c.telemetry[TELEMETRY_VOLTAGE_IN], 36.0);
        assert_false(c.broadcasting); /* replies are not broadcasts */
        assert_int_equal(controller_apply_values(&c, &v, 6 * MS), 0);
        v.fault = 0;
        assert_int_equal(controller_apply_values(&c, &v, 7 * MS), 1);
        assert_string_equal(controller_fault_name(&c), "NONE");
}

static void test_liveness(void **state) {
        Controller c;
        const uint64_t timeout = 1000 * MS;

        controller_init(&c, 12);
        assert_int_equal(controller_liveness_deadline(&c, timeout), UINT64_MAX);
        assert_int_equal(controller_seen(&c, 100 * MS), 1);
        assert_int_equal(controller_seen(&c, 200 * MS), 0);
        assert_int_equal(controller_liveness_deadline(&c, timeout), 1200 * MS);
        (void) controller_take_dirty(&c, UINT64_MAX);
        /* an hour of silence takes no time here */
        assert_int_equal(controller_check_liveness(&c, 1199 * MS, timeout), 0);
        assert_true(c.online);
        assert_int_equal(controller_check_liveness(&c, 1200 * MS, timeout), 1);
        assert_false(c.online);
        assert_true(controller_take_dirty(&c, CONTROLLER_DIRTY_ONLINE));
        assert_int_equal(controller_check_liveness(&c, 3600 * 1000 * MS, timeout), 0);
        assert_int_equal(c.counters.went_offline, 1);
        /* comes back */
        assert_int_equal(controller_seen(&c, 3600 * 1000 * MS + 1), 1);
        assert_true(c.online);
        assert_true(controller_take_dirty(&c, CONTROLLER_DIRTY_ONLINE));
}

static void test_broadcast_stops(void **state) {
        Controller c;
        VescStatus st = { .type = CAN_PACKET_STATUS, .sender = 12 };

        controller_init(&c, 12);
        (void) controller_apply_status(&c, &st, 0);
        (void) controller_take_dirty(&c, UINT64_MAX);
        /* polls keep it online, but the broadcasts stopped */
        (void) controller_seen(&c, 900 * MS);
        assert_int_equal(controller_check_liveness(&c, 1000 * MS, 1000 * MS), 0);
        assert_false(c.broadcasting);
        assert_true(c.online);
        assert_true(controller_take_dirty(&c, CONTROLLER_DIRTY_BROADCASTS));
}

static void test_id_and_uuid(void **state) {
        Controller c;
        uint8_t u[12];

        controller_init(&c, 10);
        assert_int_equal(controller_set_id(&c, 10), 0);
        assert_int_equal(controller_set_id(&c, 12), 1);
        assert_true(controller_take_dirty(&c, CONTROLLER_DIRTY_ID));
        assert_int_equal(controller_parse_uuid("2F002B001451363336333531", u), 0);
        assert_memory_equal(u, uuid_b, 12);
        assert_int_equal(controller_parse_uuid("2f002b00145136333633353", u), -EINVAL);
        assert_int_equal(controller_parse_uuid("2f002b0014513633363335zz", u), -EINVAL);
        assert_int_equal(controller_parse_uuid(NULL, u), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_identity),
                cmocka_unit_test(test_status),
                cmocka_unit_test(test_status_frame_same),
                cmocka_unit_test(test_values_fault),
                cmocka_unit_test(test_liveness),
                cmocka_unit_test(test_broadcast_stops),
                cmocka_unit_test(test_id_and_uuid),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
