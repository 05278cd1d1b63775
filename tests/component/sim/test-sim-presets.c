/* vesc-sim's boards beyond a plain pair, and the faults its motor model
 * raises:
 *   - dual-mismatch-accessories: a VESC Express and a VESC BMS that answer
 *     PING and FW_VERSION only, never broadcast, ignore everything else;
 *   - board-4wd: four 6.05 controllers at their UUID default ids (spec §8.4),
 *     STATUS 1-4 at 50 Hz each;
 *   - board-4wd-collide: four 6.05 controllers at user-set ids whose UUID
 *     default ids collide in two pairs; the control socket's `lose` and the
 *     id-clash counter;
 *   - dual-mcu: one MCU, two motors at id and id + 1 (spec §16.3);
 *   - faults (spec §12.12) from voltage, temperature, current and the DRV
 *     pin, driven through the control socket, seen in GET_VALUES and in the
 *     status frames, cleared as mc_interface.c clears them.
 * One raw vbus member, the codec and the control socket; every wait is
 * bounded. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sim-harness.h"
#include "proto/vesc-can.h"
#include "proto/vesc-comm.h"
#include "wire.h"

#define T_MS 2000
/* A fault stops the motor for m_fault_stop_time_ms (500 ms at time scale
 * 1); waits allow for a loaded machine. */
#define FAULT_MS 5000

static const uint8_t uuid_a[12] = { 0x3c, 0x00, 0x29, 0x00, 0x0d, 0x51, 0x39, 0x32, 0x36, 0x35, 0x39, 0x34 };
static const uint8_t uuid_b[12] = { 0x2f, 0x00, 0x2b, 0x00, 0x14, 0x51, 0x36, 0x33, 0x36, 0x33, 0x35, 0x31 };
static const uint8_t uuid_c[12] = { 0x41, 0x00, 0x33, 0x00, 0x0f, 0x51, 0x39, 0x32, 0x36, 0x35, 0x39, 0x34 };
static const uint8_t uuid_d[12] = { 0x1e, 0x00, 0x27, 0x00, 0x11, 0x51, 0x36, 0x33, 0x36, 0x33, 0x35, 0x00 };
static const uint8_t uuid_f1[12] = { 0x10, 0x00, 0x23, 0x00, 0x0d, 0x51, 0x39, 0x32, 0x36, 0x35, 0x39, 0x34 };
static const uint8_t uuid_f2[12] = { 0x11, 0x00, 0x29, 0x00, 0x0d, 0x51, 0x39, 0x32, 0x36, 0x35, 0x39, 0x34 };
static const uint8_t uuid_r1[12] = { 0x17, 0x00, 0x28, 0x00, 0x0d, 0x51, 0x39, 0x32, 0x36, 0x35, 0x39, 0x34 };
static const uint8_t uuid_r2[12] = { 0x16, 0x00, 0x22, 0x00, 0x0d, 0x51, 0x39, 0x32, 0x36, 0x35, 0x39, 0x34 };
static const uint8_t uuid_express[12] = { 0xf4, 0x12, 0xfa, 0x4a, 0x1b, 0x2c, 0, 0, 0, 0, 0, 0 };
static const uint8_t uuid_bms[12] = { 0x5b, 0x00, 0x30, 0x00, 0x08, 0x51, 0x39, 0x32, 0x36, 0x35, 0x39, 0x34 };
static const uint8_t uuid_dual[12] = { 0x5a, 0x00, 0x30, 0x00, 0x09, 0x51, 0x39, 0x32, 0x36, 0x35, 0x39, 0x40 };

static Harness harness;

static int start(void **state, const char *board) {
        static const char *const extra[] = { "--time-scale", "1", NULL };

        return harness_setup(state, &harness, board, extra);
}
static int setup_accessories(void **state) {
        return start(state, "dual-mismatch-accessories");
}
static int setup_4wd(void **state) {
        return start(state, "board-4wd");
}
static int setup_4wd_collide(void **state) {
        return start(state, "board-4wd-collide");
}
static int setup_dual_mcu(void **state) {
        return start(state, "dual-mcu");
}
static int setup_ok(void **state) {
        return start(state, "dual-ok");
}

/* ------------------------------------------------------------ helpers */

static void ctl(Harness *h, const char *cmd) {
        char buf[4096];

        assert_int_equal(harness_control(h, cmd, buf, sizeof buf), 0);
        if (strncmp(buf, "ok", 2) != 0)
                fail_msg("control '%s': %s", cmd, buf);
}

static void fw_version(Harness *h, uint8_t id, VescFwVersion *v) {
        uint8_t req = COMM_FW_VERSION, buf[512];
        ssize_t n = harness_request(h, id, &req, 1, buf, sizeof buf, T_MS);

        assert_true(n > 0);
        assert_int_equal(vesc_fw_version_decode(buf, (size_t) n, v), 0);
}

static void check_fw(Harness *h, uint8_t id, const char *hw, uint8_t hw_type, const uint8_t *uuid) {
        VescFwVersion v;

        fw_version(h, id, &v);
        assert_int_equal(v.major, 6);
        assert_int_equal(v.minor, 5);
        assert_string_equal(v.hw_name, hw);
        assert_memory_equal(v.uuid, uuid, 12);
        assert_true(v.has_hw_type);
        assert_int_equal(v.hw_type, hw_type);
}

static void check_pong(Harness *h, uint8_t id, uint8_t hw_type) {
        uint8_t d[8];

        assert_int_equal(harness_ping(h, id, HARNESS_OWN_ID, d, T_MS), 2);
        assert_int_equal(d[0], id);
        assert_int_equal(d[1], hw_type);
}

static int get_values(Harness *h, uint8_t id, VescValues *v, int timeout_ms) {
        uint8_t req = COMM_GET_VALUES, buf[512];
        ssize_t n = harness_request(h, id, &req, 1, buf, sizeof buf, timeout_ms);

        if (n < 0)
                return (int) n;
        assert_int_equal(vesc_values_decode(buf, (size_t) n, v), 0);
        return 0;
}

/* Poll GET_VALUES until the fault code is `want` (bounded). */
static bool wait_fault(Harness *h, uint8_t id, uint8_t want, VescValues *ret) {
        uint64_t deadline = harness_now_usec() + (uint64_t) FAULT_MS * 1000;

        while (harness_now_usec() < deadline) {
                VescValues v;

                if (get_values(h, id, &v, 300) == 0 && v.fault == want) {
                        if (ret)
                                *ret = v;
                        return true;
                }
        }
        return false;
}

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

/* Frames sent with `id` in the low byte (replies are addressed to us). */
static unsigned frames_from(Harness *h, uint8_t id, int ms) {
        static Counts c;
        unsigned n = 0;

        count_frames(h, &c, ms);
        for (int t = 0; t < 64; t++)
                n += c.type[t][id];
        return n;
}

static void check_status_1234(const Counts *c, uint8_t id) {
        /* 1 s at 50 Hz: bounds that hold on a slow machine, never above the rate */
        assert_in_range(c->type[CAN_PACKET_STATUS][id], 5, 60);
        assert_in_range(c->type[CAN_PACKET_STATUS_2][id], 5, 60);
        assert_in_range(c->type[CAN_PACKET_STATUS_3][id], 5, 60);
        assert_in_range(c->type[CAN_PACKET_STATUS_4][id], 5, 60);
        assert_int_equal(c->type[CAN_PACKET_STATUS_5][id], 0);
}

/* The latest STATUS_1 / STATUS_4 of id within ms. */
static bool last_status(Harness *h, uint8_t id, uint8_t type, VescStatus *ret, int ms) {
        uint64_t deadline = harness_now_usec() + (uint64_t) ms * 1000;
        bool seen = false;

        while (harness_now_usec() < deadline) {
                struct can_frame f;
                VescStatus st;

                if (harness_recv(h, &f, 50) < 0 || f.can_id != vesc_can_id(type, id))
                        continue;
                if (vesc_status_decode(&f, &st) == 0) {
                        *ret = st;
                        seen = true;
                }
        }
        return seen;
}

/* ------------------------------------------------------------ ids */

static void test_ids_are_uuid_defaults(void **state) {
        (void) state;
        /* board-4wd: every controller at its UUID default under 6.05 */
        assert_int_equal(vesc_default_id_from_uuid(uuid_a, 6, 5), 12);
        assert_int_equal(vesc_default_id_from_uuid(uuid_b, 6, 5), 74);
        assert_int_equal(vesc_default_id_from_uuid(uuid_c, 6, 5), 21);
        assert_int_equal(vesc_default_id_from_uuid(uuid_d, 6, 5), 62);
        /* board-4wd-collide: F1/R1 share 40, F2/R2 share 45, under both
         * test targets (the reserved ids are the same) */
        static const unsigned versions[2][2] = { { 5, 3 }, { 6, 5 } };
        for (int v = 0; v < 2; v++) {
                assert_int_equal(vesc_default_id_from_uuid(uuid_f1, versions[v][0], versions[v][1]), 40);
                assert_int_equal(vesc_default_id_from_uuid(uuid_r1, versions[v][0], versions[v][1]), 40);
                assert_int_equal(vesc_default_id_from_uuid(uuid_f2, versions[v][0], versions[v][1]), 45);
                assert_int_equal(vesc_default_id_from_uuid(uuid_r2, versions[v][0], versions[v][1]), 45);
        }
        /* dual-mcu: id 20 was set by hand; an update resets it to this */
        assert_int_equal(vesc_default_id_from_uuid(uuid_dual, 6, 5), 8);
}

/* ------------------------------------------------------------ accessories */

static void test_accessories(void **state) {
        Harness *h = *state;
        uint8_t req, buf[512];
        VescFwVersion v;

        /* the pair as in dual-mismatch */
        fw_version(h, 12, &v);
        assert_int_equal(v.major, 5);
        assert_int_equal(v.minor, 3);
        fw_version(h, 74, &v);
        assert_int_equal(v.major, 3);
        assert_int_equal(v.minor, 58);

        /* PONG with the addressed id and HW_TYPE; FW_VERSION */
        check_pong(h, 2, 2);
        check_pong(h, 10, 1);
        check_fw(h, 2, "VESC Express T", 2, uuid_express);
        check_fw(h, 10, "12s7p", 1, uuid_bms);

        /* nothing else is answered */
        req = COMM_GET_VALUES;
        assert_true(harness_request(h, 2, &req, 1, buf, sizeof buf, 300) < 0);
        assert_true(harness_request(h, 10, &req, 1, buf, sizeof buf, 300) < 0);
        req = COMM_GET_APPCONF;
        assert_true(harness_request(h, 2, &req, 1, buf, sizeof buf, 300) < 0);
        assert_true(harness_request(h, 10, &req, 1, buf, sizeof buf, 300) < 0);
        req = COMM_GET_MCCONF;
        assert_true(harness_request(h, 10, &req, 1, buf, sizeof buf, 300) < 0);
        {
                uint8_t erase[5] = { COMM_ERASE_NEW_APP, 0, 1, 0, 0 };
                assert_true(harness_request(h, 2, erase, sizeof erase, buf, sizeof buf, 500) < 0);
        }

        /* no status broadcasts, no NOTIFY_BOOT: silent unless asked */
        assert_int_equal(frames_from(h, 2, 1000), 0);
        assert_int_equal(frames_from(h, 10, 200), 0);
}

/* ------------------------------------------------------------ 4wd */

static void test_4wd(void **state) {
        Harness *h = *state;
        static Counts c;
        const uint8_t ids[4] = { 12, 74, 21, 62 };
        const uint8_t *uuids[4] = { uuid_a, uuid_b, uuid_c, uuid_d };

        for (int i = 0; i < 4; i++) {
                check_pong(h, ids[i], 0);
                check_fw(h, ids[i], "60", 0, uuids[i]);
        }
        count_frames(h, &c, 1000);
        for (int i = 0; i < 4; i++)
                check_status_1234(&c, ids[i]);
}

/* ------------------------------------------------------------ 4wd-collide */

/* SET_APPCONF of controller `id`'s own configuration with controller_id
 * replaced by new_id; the length of the reply (-ETIMEDOUT: none). */
static ssize_t set_appconf_id(Harness *h, uint8_t id, uint8_t new_id) {
        uint8_t req = COMM_GET_APPCONF, buf[1024];
        ssize_t n = harness_request(h, id, &req, 1, buf, sizeof buf, T_MS);

        assert_true(n > 6);
        assert_int_equal(buf[5], id); /* after the command byte and the signature */
        buf[0] = COMM_SET_APPCONF;
        buf[5] = new_id;
        return harness_request(h, id, buf, (size_t) n, buf, sizeof buf, T_MS / 2);
}

static void test_4wd_collide(void **state) {
        Harness *h = *state;
        static Counts c;
        const uint8_t ids[4] = { 20, 21, 30, 31 };
        const uint8_t *uuids[4] = { uuid_f1, uuid_f2, uuid_r1, uuid_r2 };
        char buf[8192];

        for (int i = 0; i < 4; i++) {
                check_pong(h, ids[i], 0);
                check_fw(h, ids[i], "60", 0, uuids[i]);
        }
        count_frames(h, &c, 1000);
        for (int i = 0; i < 4; i++)
                check_status_1234(&c, ids[i]);
        assert_int_equal(harness_control(h, "status", buf, sizeof buf), 0);
        assert_null(strstr(buf, "\"id_clashes\":1"));

        /* lost: no ack, nothing stored (A still answers at 20) */
        ctl(h, "lose A appconf on");
        assert_true(set_appconf_id(h, 20, 22) < 0);
        check_fw(h, 20, "60", 0, uuid_f1);
        assert_int_equal(harness_wait_status(h, "\"lost_conf\":1", T_MS), 0);
        ctl(h, "lose A appconf off");
        /* moved onto B's id: both answer at 21, counted as a clash */
        assert_true(set_appconf_id(h, 20, 21) > 0);
        assert_int_equal(harness_wait_status(h, "\"id_clashes\":1", T_MS), 0);

        assert_int_equal(harness_control(h, "lose A appconf maybe", buf, sizeof buf), 0);
        assert_true(strncmp(buf, "error: ", 7) == 0);
        assert_int_equal(harness_control(h, "lose A firmware on", buf, sizeof buf), 0);
        assert_true(strncmp(buf, "error: ", 7) == 0);
}

/* ------------------------------------------------------------ dual-mcu */

static void test_dual_mcu(void **state) {
        Harness *h = *state;
        static Counts c;
        uint8_t uuid2[12], req, buf[520];
        VescValues v;
        ssize_t n;

        memcpy(uuid2, uuid_dual, 12);
        uuid2[11]++;

        /* each id answers PING with itself, FW_VERSION with its UUID */
        check_pong(h, 20, 0);
        check_pong(h, 21, 0);
        check_fw(h, 20, "STORMCORE_100D", 0, uuid_dual);
        check_fw(h, 21, "STORMCORE_100D", 0, uuid2);
        assert_int_equal(harness_ping(h, 22, HARNESS_OWN_ID, buf, 300), -ETIMEDOUT);

        /* GET_VALUES bit 17 and APPCONF's controller_id show the id asked */
        assert_int_equal(get_values(h, 21, &v, T_MS), 0);
        assert_int_equal(v.controller_id, 21);
        assert_int_equal(get_values(h, 20, &v, T_MS), 0);
        assert_int_equal(v.controller_id, 20);
        req = COMM_GET_APPCONF;
        n = harness_request(h, 21, &req, 1, buf, sizeof buf, T_MS);
        assert_int_equal(n, 1 + 278);
        assert_int_equal(buf[1 + 4], 21);
        n = harness_request(h, 20, &req, 1, buf, sizeof buf, T_MS);
        assert_int_equal(n, 1 + 278);
        assert_int_equal(buf[1 + 4], 20);

        /* APPCONF written through id 21 keeps the primary id */
        buf[0] = COMM_SET_APPCONF;
        buf[1 + 4] = 33;
        assert_int_equal(harness_send_buffer(h, 21, HARNESS_OWN_ID, 0, buf, (size_t) n), 0);
        assert_int_equal(harness_wait_reply(h, COMM_SET_APPCONF, buf, sizeof buf, NULL, T_MS), 1);
        check_pong(h, 20, 0);
        check_pong(h, 21, 0);

        /* STATUS 1-4 at 50 Hz for both ids */
        count_frames(h, &c, 1000);
        check_status_1234(&c, 20);
        check_status_1234(&c, 21);

        /* the motors are separate: a current on motor 2 only */
        ctl(h, "set A2 current 10");
        assert_true(last_status(h, 21, CAN_PACKET_STATUS, &(VescStatus) {}, 300));
        {
                VescStatus s1, s2;
                assert_true(last_status(h, 21, CAN_PACKET_STATUS, &s2, 300));
                assert_true(last_status(h, 20, CAN_PACKET_STATUS, &s1, 300));
                assert_true(s2.s1.current > 5);
                assert_true(fabs(s1.s1.current) < 0.5);
        }
        ctl(h, "set A2 current 0");
}

/* ------------------------------------------------------------ faults */

static void test_fault_voltage(void **state) {
        Harness *h = *state;
        VescValues v;

        assert_true(wait_fault(h, 12, 0, &v));
        assert_true(v.v_in > 45);

        ctl(h, "set A v_in 5");         /* below l_min_vin 8 V */
        assert_true(wait_fault(h, 12, 2, &v));
        assert_true(v.v_in < 6);
        assert_true(wait_fault(h, 74, 0, NULL));        /* B's battery is its own */
        ctl(h, "set A v_in 50");
        assert_true(wait_fault(h, 12, 0, NULL));

        ctl(h, "set A v_in 60");        /* above l_max_vin 57 V */
        assert_true(wait_fault(h, 12, 1, NULL));
        ctl(h, "set A v_in 50.4");
        assert_true(wait_fault(h, 12, 0, NULL));
}

/* The limit comes from the configuration: l_max_vin lowered below the
 * battery voltage (6.05 MCCONF offset 52, f16(10)) is an over-voltage. */
static void test_fault_configured_limit(void **state) {
        Harness *h = *state;
        uint8_t req = COMM_GET_MCCONF, conf[520], reply[16];
        ssize_t n = harness_request(h, 74, &req, 1, conf, sizeof conf, T_MS);

        assert_int_equal(n, 1 + 477);
        assert_int_equal((int16_t) be16_get(conf + 1 + 50), 80);   /* l_min_vin 8.0 */
        assert_int_equal((int16_t) be16_get(conf + 1 + 52), 570);  /* l_max_vin 57.0 */
        assert_int_equal(conf[1 + 64], 100);                       /* l_temp_fet_end */
        assert_true(wait_fault(h, 74, 0, NULL));

        conf[0] = COMM_SET_MCCONF;
        be16_put(conf + 1 + 52, 450);
        assert_int_equal(harness_send_buffer(h, 74, HARNESS_OWN_ID, 0, conf, (size_t) n), 0);
        assert_int_equal(harness_wait_reply(h, COMM_SET_MCCONF, reply, sizeof reply, NULL, T_MS), 1);
        assert_true(wait_fault(h, 74, 1, NULL));

        be16_put(conf + 1 + 52, 570);
        assert_int_equal(harness_send_buffer(h, 74, HARNESS_OWN_ID, 0, conf, (size_t) n), 0);
        assert_int_equal(harness_wait_reply(h, COMM_SET_MCCONF, reply, sizeof reply, NULL, T_MS), 1);
        assert_true(wait_fault(h, 74, 0, NULL));
}

/* Over-temperature under load: the bridge stops (STATUS_1 current 0, the
 * rider's commands ignored), STATUS_4 shows the temperature; cooled down,
 * the fault clears and the held throttle drives the motor again. */
static void test_fault_temp_fet(void **state) {
        Harness *h = *state;
        VescStatus s1, s4;
        VescValues v;

        ctl(h, "set A current 20");
        assert_true(last_status(h, 12, CAN_PACKET_STATUS, &s1, 300));
        assert_true(s1.s1.current > 15);

        ctl(h, "set A temp_fet 120");   /* l_temp_fet_end 100 °C */
        assert_true(wait_fault(h, 12, 5, &v));
        assert_true(v.temp_fet > 99);
        assert_true(fabs(v.current_motor) < 0.5);
        assert_true(last_status(h, 12, CAN_PACKET_STATUS, &s1, 300));
        assert_true(fabs(s1.s1.current) < 0.5);
        assert_true(last_status(h, 12, CAN_PACKET_STATUS_4, &s4, 300));
        assert_true(s4.s4.temp_fet > 99);
        /* still hot after the fault-stop time: still faulted */
        assert_true(last_status(h, 12, CAN_PACKET_STATUS, &s1, 800));
        assert_true(wait_fault(h, 12, 5, NULL));

        ctl(h, "set A temp_fet 30");
        assert_true(wait_fault(h, 12, 0, NULL));
        assert_true(last_status(h, 12, CAN_PACKET_STATUS, &s1, 300));
        assert_true(s1.s1.current > 15);
        ctl(h, "set A current 0");
}

static void test_fault_temp_motor(void **state) {
        Harness *h = *state;
        VescValues v;

        ctl(h, "set B temp_motor 105");
        assert_true(wait_fault(h, 74, 6, &v));
        assert_true(v.temp_motor > 100);
        assert_true(wait_fault(h, 12, 0, NULL));
        ctl(h, "set B temp_motor 40");
        assert_true(wait_fault(h, 74, 0, NULL));
}

/* A load the current controller cannot hold (l_abs_current_max 150 A). */
static void test_fault_over_current(void **state) {
        Harness *h = *state;

        ctl(h, "set A load 200");
        /* no current without switching: no fault */
        assert_true(wait_fault(h, 12, 0, NULL));
        {
                VescValues v;
                assert_true(last_status(h, 12, CAN_PACKET_STATUS, &(VescStatus) {}, 600));
                assert_int_equal(get_values(h, 12, &v, T_MS), 0);
                assert_int_equal(v.fault, 0);
        }
        ctl(h, "set A current 10");
        assert_true(wait_fault(h, 12, 4, NULL));
        ctl(h, "set A load 0");
        assert_true(wait_fault(h, 12, 0, NULL));
        ctl(h, "set A current 0");
}

/* The DRV pin holds the fault as long as it is asserted. */
static void test_fault_drv(void **state) {
        Harness *h = *state;
        VescStatus st;

        ctl(h, "set B drv on");
        assert_true(wait_fault(h, 74, 3, NULL));
        assert_true(last_status(h, 74, CAN_PACKET_STATUS, &st, 1000));   /* > fault-stop time */
        assert_true(wait_fault(h, 74, 3, NULL));
        ctl(h, "set B drv off");
        assert_true(wait_fault(h, 74, 0, NULL));
}

/* The control socket reports the fault too. */
static void test_fault_in_control_status(void **state) {
        Harness *h = *state;
        char buf[8192];

        ctl(h, "set A temp_fet 120");
        assert_true(wait_fault(h, 12, 5, NULL));
        assert_int_equal(harness_control(h, "status", buf, sizeof buf), 0);
        assert_non_null(strstr(buf, "\"fault\":5,\"fault_name\":\"OVER_TEMP_FET\""));
        ctl(h, "set A temp_fet 25");
        assert_true(wait_fault(h, 12, 0, NULL));
}

/* A dual-motor controller faults per motor. */
static void test_fault_second_motor(void **state) {
        Harness *h = *state;

        ctl(h, "set A2 temp_fet 120");
        assert_true(wait_fault(h, 21, 5, NULL));
        assert_true(wait_fault(h, 20, 0, NULL));
        ctl(h, "set 5a0030000951393236353941 temp_fet 30");
        assert_true(wait_fault(h, 21, 0, NULL));
        /* the battery is the board's */
        ctl(h, "set A v_in 5");
        assert_true(wait_fault(h, 20, 2, NULL));
        assert_true(wait_fault(h, 21, 2, NULL));
        ctl(h, "set A v_in 50");
        assert_true(wait_fault(h, 20, 0, NULL));
        assert_true(wait_fault(h, 21, 0, NULL));
}

static void test_control_errors(void **state) {
        Harness *h = *state;
        char buf[256];

        assert_int_equal(harness_control(h, "set A drv maybe", buf, sizeof buf), 0);
        assert_true(strncmp(buf, "error: ", 7) == 0);
        assert_int_equal(harness_control(h, "set A load x", buf, sizeof buf), 0);
        assert_true(strncmp(buf, "error: ", 7) == 0);
        /* a second motor only exists on a dual-motor board */
        assert_int_equal(harness_control(h, "set A2 temp_fet 30", buf, sizeof buf), 0);
        assert_true(strncmp(buf, "error: ", 7) == 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ids_are_uuid_defaults),
                cmocka_unit_test_setup_teardown(test_accessories, setup_accessories, harness_teardown),
                cmocka_unit_test_setup_teardown(test_4wd, setup_4wd, harness_teardown),
                cmocka_unit_test_setup_teardown(test_4wd_collide, setup_4wd_collide, harness_teardown),
                cmocka_unit_test_setup_teardown(test_dual_mcu, setup_dual_mcu, harness_teardown),
                cmocka_unit_test_setup_teardown(test_fault_voltage, setup_ok, harness_teardown),
                cmocka_unit_test_setup_teardown(test_fault_configured_limit, setup_ok, harness_teardown),
                cmocka_unit_test_setup_teardown(test_fault_temp_fet, setup_ok, harness_teardown),
                cmocka_unit_test_setup_teardown(test_fault_temp_motor, setup_ok, harness_teardown),
                cmocka_unit_test_setup_teardown(test_fault_over_current, setup_ok, harness_teardown),
                cmocka_unit_test_setup_teardown(test_fault_drv, setup_ok, harness_teardown),
                cmocka_unit_test_setup_teardown(test_fault_in_control_status, setup_ok, harness_teardown),
                cmocka_unit_test_setup_teardown(test_fault_second_motor, setup_dual_mcu, harness_teardown),
                cmocka_unit_test_setup_teardown(test_control_errors, setup_ok, harness_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
