/* Fuzz the COMM payload decoders (vesc-comm.h).
 *
 * Input: one payload, command byte first.  Every decoder is run on it; what
 * decodes is encoded again and decoded a second time, and the two decodes
 * must agree (scaled numbers to the last wire digit, float32_auto bit for
 * bit except the values the firmware flushes to zero).  Where the encoding is
 * canonical (config blobs, write requests) the bytes must come back
 * unchanged. */

#include <errno.h>
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "proto/vesc-comm.h"

#define BUF 1024

static void check_err(int r) {
        FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -EPROTO);
}

static void feq(float a, float b) {
        uint32_t x, y;
        memcpy(&x, &a, sizeof x);
        memcpy(&y, &b, sizeof y);
        FUZZ_CHECK(x == y || (isnan(a) && isnan(b)) || (fabsf(a) < 1.5e-38f && b == 0));
}

static void check_fw_version(const uint8_t *p, size_t n) {
        VescFwVersion a, b;
        uint8_t buf[BUF];

        int r = vesc_fw_version_decode(p, n, &a);
        check_err(r);
        if (r < 0)
                return;
        FUZZ_CHECK(strlen(a.hw_name) < VESC_NAME_MAX && strlen(a.fw_name) < VESC_NAME_MAX);
        ssize_t m = vesc_fw_version_encode(&a, buf, sizeof buf);
        FUZZ_CHECK(m > 0);
        FUZZ_CHECK(vesc_fw_version_decode(buf, (size_t) m, &b) == 0);

        unsigned v = a.major * 100u + a.minor;
        FUZZ_CHECK(a.major == b.major && a.minor == b.minor);
        FUZZ_CHECK(strcmp(a.hw_name, b.hw_name) == 0);
        FUZZ_CHECK(memcmp(a.uuid, b.uuid, VESC_UUID_LEN) == 0 && a.pairing_done == b.pairing_done);
        FUZZ_CHECK(b.has_test_build == (v >= 500) && b.has_hw_type == (v >= 502));
        FUZZ_CHECK(b.has_ui_flags == (v >= 503) && b.has_fw_name == (v >= 600) && b.has_hw_crc == (v >= 605));
        if (v >= 500)
                FUZZ_CHECK(a.test_build == b.test_build);
        if (v >= 502)
                FUZZ_CHECK(a.hw_type == b.hw_type && a.custom_configs == b.custom_configs);
        if (v >= 503)
                FUZZ_CHECK(a.phase_filters == b.phase_filters && a.qml_hw == b.qml_hw && a.qml_app == b.qml_app);
        if (v >= 600)
                FUZZ_CHECK(a.nrf_flags == b.nrf_flags && strcmp(a.fw_name, b.fw_name) == 0);
        if (v >= 605)
                FUZZ_CHECK(a.hw_crc == b.hw_crc);

        /* A reply that is exactly what its version sends re-encodes to itself. */
        if ((size_t) m == n && strlen(a.hw_name) + 1 < VESC_NAME_MAX && strlen(a.fw_name) + 1 < VESC_NAME_MAX)
                FUZZ_CHECK(memcmp(buf, p, n) == 0);
}

static void values_near(const VescValues *a, const VescValues *b, uint32_t mask) {
#define BIT(x) (mask & UINT32_C(1) << (x))
        if (BIT(VALUE_TEMP_FET)) FUZZ_NEAR(a->temp_fet, b->temp_fet, 1e1);
        if (BIT(VALUE_TEMP_MOTOR)) FUZZ_NEAR(a->temp_motor, b->temp_motor, 1e1);
        if (BIT(VALUE_CURRENT_MOTOR)) FUZZ_NEAR(a->current_motor, b->current_motor, 1e2);
        if (BIT(VALUE_CURRENT_IN)) FUZZ_NEAR(a->current_in, b->current_in, 1e2);
        if (BIT(VALUE_ID)) FUZZ_NEAR(a->id, b->id, 1e2);
        if (BIT(VALUE_IQ)) FUZZ_NEAR(a->iq, b->iq, 1e2);
        if (BIT(VALUE_DUTY)) FUZZ_NEAR(a->duty, b->duty, 1e3);
        if (BIT(VALUE_ERPM)) FUZZ_NEAR(a->erpm, b->erpm, 1);
        if (BIT(VALUE_V_IN)) FUZZ_NEAR(a->v_in, b->v_in, 1e1);
        if (BIT(VALUE_AH)) FUZZ_NEAR(a->ah, b->ah, 1e4);
        if (BIT(VALUE_AH_CHARGED)) FUZZ_NEAR(a->ah_charged, b->ah_charged, 1e4);
        if (BIT(VALUE_WH)) FUZZ_NEAR(a->wh, b->wh, 1e4);
        if (BIT(VALUE_WH_CHARGED)) FUZZ_NEAR(a->wh_charged, b->wh_charged, 1e4);
        if (BIT(VALUE_TACHO)) FUZZ_CHECK(a->tacho == b->tacho);
        if (BIT(VALUE_TACHO_ABS)) FUZZ_CHECK(a->tacho_abs == b->tacho_abs);
        if (BIT(VALUE_FAULT)) FUZZ_CHECK(a->fault == b->fault);
        if (BIT(VALUE_PID_POS)) FUZZ_NEAR(a->pid_pos, b->pid_pos, 1e6);
        if (BIT(VALUE_CONTROLLER_ID)) FUZZ_CHECK(a->controller_id == b->controller_id);
        if (BIT(VALUE_TEMP_MOS123))
                for (int i = 0; i < 3; i++)
                        FUZZ_NEAR(a->temp_mos[i], b->temp_mos[i], 1e1);
        if (BIT(VALUE_VD)) FUZZ_NEAR(a->vd, b->vd, 1e3);
        if (BIT(VALUE_VQ)) FUZZ_NEAR(a->vq, b->vq, 1e3);
        if (BIT(VALUE_STATUS)) FUZZ_CHECK(a->status == b->status);
#undef BIT
}

static void check_values(const uint8_t *p, size_t n) {
        VescValues a, b;
        uint8_t buf[BUF];

        int r = vesc_values_decode(p, n, &a);
        check_err(r);
        if (r == 0) {
                FUZZ_CHECK(n >= 65);
                unsigned major = 3, minor = 58;
                if (a.present & UINT32_C(1) << VALUE_STATUS)
                        major = 5, minor = 3;
                else if (a.present & (UINT32_C(1) << VALUE_VD | UINT32_C(1) << VALUE_VQ))
                        minor = 60;
                FUZZ_CHECK((a.present & ~vesc_values_mask_for_version(major, minor)) == 0);
                ssize_t m = vesc_values_encode(&a, major, minor, buf, sizeof buf);
                FUZZ_CHECK(m == (ssize_t) vesc_values_len_for_version(major, minor) + 1);
                FUZZ_CHECK(vesc_values_decode(buf, (size_t) m, &b) == 0);
                FUZZ_CHECK(b.present == vesc_values_mask_for_version(major, minor));
                values_near(&a, &b, a.present);
        }

        r = vesc_values_selective_decode(p, n, &a);
        check_err(r);
        if (r == 0) {
                FUZZ_CHECK(a.present < UINT32_C(1) << _VALUE_BIT_MAX);
                ssize_t m = vesc_values_selective_encode(&a, a.present, 7, 0, buf, sizeof buf);
                FUZZ_CHECK(m >= 5);
                FUZZ_CHECK(vesc_values_selective_decode(buf, (size_t) m, &b) == 0);
                FUZZ_CHECK(b.present == a.present);
                values_near(&a, &b, a.present);
        }
}

static void check_mcconf_temp(const uint8_t *p, size_t n) {
        VescMcconfTemp a, b;
        VescMcconfTempReply x, y;
        CommPacketId cmd, cmd2;
        uint8_t buf[BUF];

        int r = vesc_mcconf_temp_decode(p, n, &a, &cmd);
        check_err(r);
        if (r == 0) {
                ssize_t m = vesc_mcconf_temp_encode(&a, cmd, buf, sizeof buf);
                FUZZ_CHECK(m == (a.has_in_current ? 45 : 37));
                FUZZ_CHECK(vesc_mcconf_temp_decode(buf, (size_t) m, &b, &cmd2) == 0 && cmd == cmd2);
                FUZZ_CHECK(a.store == b.store && a.forward_can == b.forward_can && a.ack == b.ack &&
                           a.divide_by_controllers == b.divide_by_controllers && a.has_in_current == b.has_in_current);
                feq(a.current_min_scale, b.current_min_scale);
                feq(a.current_max_scale, b.current_max_scale);
                feq(a.min_erpm, b.min_erpm);
                feq(a.max_erpm, b.max_erpm);
                feq(a.min_duty, b.min_duty);
                feq(a.max_duty, b.max_duty);
                feq(a.watt_min, b.watt_min);
                feq(a.watt_max, b.watt_max);
                if (a.has_in_current) {
                        feq(a.in_current_min, b.in_current_min);
                        feq(a.in_current_max, b.in_current_max);
                }
        }

        r = vesc_get_mcconf_temp_decode(p, n, &x);
        check_err(r);
        if (r == 0) {
                FUZZ_CHECK(n >= 50);
                ssize_t m = vesc_get_mcconf_temp_encode(&x, buf, sizeof buf);
                FUZZ_CHECK(m == 50);
                FUZZ_CHECK(vesc_get_mcconf_temp_decode(buf, (size_t) m, &y) == 0);
                feq(x.current_min_scale, y.current_min_scale);
                feq(x.current_max_scale, y.current_max_scale);
                feq(x.min_erpm, y.min_erpm);
                feq(x.max_erpm, y.max_erpm);
                feq(x.min_duty, y.min_duty);
                feq(x.max_duty, y.max_duty);
                feq(x.watt_min, y.watt_min);
                feq(x.watt_max, y.watt_max);
                feq(x.in_current_min, y.in_current_min);
                feq(x.in_current_max, y.in_current_max);
                FUZZ_CHECK(x.motor_poles == y.motor_poles);
                feq(x.gear_ratio, y.gear_ratio);
                feq(x.wheel_diameter, y.wheel_diameter);
        }
}

static void check_conf(const uint8_t *p, size_t n) {
        VescConfBlob c;
        uint8_t buf[BUF], copy[BUF];

        int r = vesc_conf_blob_decode(p, n, &c);
        check_err(r);
        if (r < 0)
                return;
        FUZZ_CHECK(c.len >= 4 && c.len <= 511 && c.data == p + 1 && c.len == n - 1);
        ssize_t m = vesc_conf_blob_encode(c.cmd, c.data, c.len, buf, sizeof buf);
        FUZZ_CHECK(m == (ssize_t) n && memcmp(buf, p, n) == 0);

        uint8_t id, id2;
        memcpy(copy, c.data, c.len);
        if (vesc_appconf_get_controller_id(copy, c.len, &id) == 0) {
                FUZZ_CHECK(vesc_appconf_set_controller_id(copy, c.len, (uint8_t) (id + 1)) == 0);
                FUZZ_CHECK(vesc_appconf_get_controller_id(copy, c.len, &id2) == 0 && id2 == (uint8_t) (id + 1));
                copy[4] = id;
                FUZZ_CHECK(memcmp(copy, c.data, c.len) == 0);
        } else
                FUZZ_CHECK(c.len <= 4);
}

static void check_flash(const uint8_t *p, size_t n) {
        uint8_t buf[BUF];

        uint32_t off;
        const uint8_t *d;
        size_t dlen;
        int r = vesc_write_new_app_request_decode(p, n, &off, &d, &dlen);
        check_err(r);
        if (r == 0) {
                FUZZ_CHECK(d == p + 5 && dlen == n - 5);
                ssize_t m = vesc_write_new_app_encode(off, d, dlen, buf, sizeof buf);
                if (dlen <= 507)
                        FUZZ_CHECK(m == (ssize_t) n && memcmp(buf, p, n) == 0);
                else
                        FUZZ_CHECK(m == -EINVAL);
        }

        VescFlashReply a, b;
        r = vesc_flash_reply_decode(p, n, &a);
        check_err(r);
        if (r == 0) {
                ssize_t m = vesc_flash_reply_encode(&a, buf, sizeof buf);
                FUZZ_CHECK(m == (a.has_offset ? 6 : 2));
                FUZZ_CHECK(vesc_flash_reply_decode(buf, (size_t) m, &b) == 0);
                FUZZ_CHECK(a.cmd == b.cmd && a.ok == b.ok && a.has_offset == b.has_offset && a.offset == b.offset);
        }

        bool fwd, fwd2;
        int32_t ms, ms2;
        r = vesc_app_disable_output_decode(p, n, &fwd, &ms);
        check_err(r);
        if (r == 0) {
                FUZZ_CHECK(vesc_app_disable_output_encode(fwd, ms, buf, sizeof buf) == 6);
                FUZZ_CHECK(vesc_app_disable_output_decode(buf, 6, &fwd2, &ms2) == 0 && fwd == fwd2 && ms == ms2);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        uint8_t buf[8];

        check_fw_version(data, size);
        check_values(data, size);
        check_mcconf_temp(data, size);
        check_conf(data, size);
        check_flash(data, size);

        if (size > 0) {
                (void) comm_packet_id_to_string(data[0]);
                FUZZ_CHECK(vesc_fault_to_string(data[0]) != NULL);
                ssize_t m = vesc_simple_encode((CommPacketId) data[0], buf, sizeof buf);
                FUZZ_CHECK(m == 1 || m == -EINVAL);
                if (m == 1)
                        FUZZ_CHECK(buf[0] == data[0]);
                if (size >= 2) {
                        char v[8];
                        vesc_version_format(data[0], data[1], v);
                        FUZZ_CHECK(strlen(v) >= 4);
                }
        }
        return 0;
}
