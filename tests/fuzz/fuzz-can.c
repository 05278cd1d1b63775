/* Fuzz the single-frame CAN decoders (vesc-can.h).
 *
 * Input: id u32 BE (raw can_id, flags included), len u8 (raw, may exceed 8),
 * up to 8 data bytes, then one byte for the firmware major the command
 * decoder models.  Every successful decode is re-encoded and decoded again;
 * the values must agree to the last wire digit and the frame id must be
 * rebuilt exactly. */

#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "proto/vesc-can.h"
#include "wire.h"

static void check_status(const struct can_frame *f) {
        VescStatus a, b;
        struct can_frame g;

        int r = vesc_status_decode(f, &a);
        FUZZ_CHECK(r == 0 || r == -EOPNOTSUPP || r == -EBADMSG);
        if (r < 0)
                return;
        FUZZ_CHECK(f->len == 8);
        FUZZ_CHECK(vesc_status_encode(&a, &g) == 0);
        FUZZ_CHECK(g.can_id == f->can_id && g.len == 8);
        FUZZ_CHECK(vesc_status_decode(&g, &b) == 0);
        FUZZ_CHECK(a.type == b.type && a.sender == b.sender);

        switch (a.type) {
        case CAN_PACKET_STATUS:
                FUZZ_CHECK(a.s1.erpm == b.s1.erpm);
                FUZZ_NEAR(a.s1.current, b.s1.current, 1e1);
                FUZZ_NEAR(a.s1.duty, b.s1.duty, 1e3);
                break;
        case CAN_PACKET_STATUS_2:
                FUZZ_NEAR(a.s2.ah, b.s2.ah, 1e4);
                FUZZ_NEAR(a.s2.ah_charged, b.s2.ah_charged, 1e4);
                break;
        case CAN_PACKET_STATUS_3:
                FUZZ_NEAR(a.s3.wh, b.s3.wh, 1e4);
                FUZZ_NEAR(a.s3.wh_charged, b.s3.wh_charged, 1e4);
                break;
        case CAN_PACKET_STATUS_4:
                FUZZ_NEAR(a.s4.temp_fet, b.s4.temp_fet, 1e1);
                FUZZ_NEAR(a.s4.temp_motor, b.s4.temp_motor, 1e1);
                FUZZ_NEAR(a.s4.current_in, b.s4.current_in, 1e1);
                FUZZ_NEAR(a.s4.pid_pos, b.s4.pid_pos, 50);
                break;
        case CAN_PACKET_STATUS_5:
                FUZZ_CHECK(a.s5.tachometer == b.s5.tachometer);
                FUZZ_NEAR(a.s5.v_in, b.s5.v_in, 1e1);
                FUZZ_CHECK(g.data[6] == 0 && g.data[7] == 0);
                break;
        case CAN_PACKET_STATUS_6:
                FUZZ_NEAR(a.s6.adc1, b.s6.adc1, 1e3);
                FUZZ_NEAR(a.s6.adc2, b.s6.adc2, 1e3);
                FUZZ_NEAR(a.s6.adc3, b.s6.adc3, 1e3);
                FUZZ_NEAR(a.s6.ppm, b.s6.ppm, 1e3);
                break;
        default:
                FUZZ_CHECK(!"status decoder returned a non-status type");
        }
}

static double scale_of(unsigned type) {
        switch (type) {
        case CAN_PACKET_SET_DUTY:
        case CAN_PACKET_SET_CURRENT_REL:
        case CAN_PACKET_SET_CURRENT_BRAKE_REL:
        case CAN_PACKET_SET_CURRENT_HANDBRAKE_REL:
                return 1e5;
        case CAN_PACKET_SET_RPM:
                return 1;
        case CAN_PACKET_SET_POS:
                return 1e6;
        default:
                return 1e3;
        }
}

static void check_cmd(const struct can_frame *f, unsigned major) {
        VescCmd a, b;
        struct can_frame g;

        int r = vesc_cmd_decode(f, major, &a);
        FUZZ_CHECK(r == 0 || r == -EOPNOTSUPP || r == -EBADMSG);
        if (r < 0)
                return;
        FUZZ_CHECK(f->len >= 4 && f->len <= 8);

        if (vesc_conf_pair_encode(&g, a.dest, a.type, a.value, a.value2) == 0) {
                FUZZ_CHECK(a.has_value2 && f->len == 8);
                FUZZ_CHECK(g.can_id == f->can_id && g.len == 8);
                FUZZ_CHECK(vesc_cmd_decode(&g, major, &b) == 0);
                FUZZ_NEAR(a.value, b.value, 1e3);
                FUZZ_NEAR(a.value2, b.value2, 1e3);
                return;
        }

        double s = scale_of(a.type);
        if (a.type == CAN_PACKET_SET_CURRENT_REL && a.has_value2) {
                FUZZ_CHECK(vesc_cmd_current_rel_off_delay_encode(&g, a.dest, a.value, a.value2) == 0);
                FUZZ_CHECK(g.len == 6);
        } else {
                FUZZ_CHECK(vesc_cmd_encode(&g, a.dest, a.type, a.value) == 0);
                /* SET_CURRENT is never encoded with more than 4 bytes (§4.1). */
                FUZZ_CHECK(g.len == 4);
        }
        FUZZ_CHECK(g.can_id == f->can_id);
        FUZZ_CHECK(vesc_cmd_decode(&g, major, &b) == 0);
        FUZZ_CHECK(a.type == b.type && a.dest == b.dest);
        FUZZ_NEAR(a.value, b.value, s);
        if (a.type == CAN_PACKET_SET_CURRENT_REL && a.has_value2)
                FUZZ_NEAR(a.value2, b.value2, 1e3);
}

static void check_pong(const struct can_frame *f) {
        VescPong a, b;
        struct can_frame g;

        int r = vesc_pong_decode(f, &a);
        FUZZ_CHECK(r == 0 || r == -EOPNOTSUPP || r == -EBADMSG);
        if (r < 0)
                return;
        vesc_pong_encode(&g, a.to, a.from, a.has_hw_type ? a.hw_type : -1);
        FUZZ_CHECK(g.can_id == f->can_id);
        FUZZ_CHECK(vesc_pong_decode(&g, &b) == 0);
        FUZZ_CHECK(a.to == b.to && a.from == b.from && a.has_hw_type == b.has_hw_type && a.hw_type == b.hw_type);
}

static void check_boot(const struct can_frame *f) {
        char a[9], b[9];
        uint8_t sa, sb;
        struct can_frame g;

        int r = vesc_notify_boot_decode(f, &sa, a);
        FUZZ_CHECK(r == 0 || r == -EOPNOTSUPP || r == -EBADMSG);
        if (r < 0)
                return;
        FUZZ_CHECK(strlen(a) <= 8 && strlen(a) <= f->len);
        vesc_notify_boot_encode(&g, sa, a);
        FUZZ_CHECK(g.can_id == f->can_id);
        FUZZ_CHECK(vesc_notify_boot_decode(&g, &sb, b) == 0);
        FUZZ_CHECK(sa == sb && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct can_frame f = {};
        uint8_t type, addr;

        if (size < 5)
                return 0;
        f.can_id = be32_get(data);
        f.len = data[4];
        size_t n = size - 5 < CAN_MAX_DLEN ? size - 5 : CAN_MAX_DLEN;
        memcpy(f.data, data + 5, n);
        unsigned major = size > 5 + CAN_MAX_DLEN ? data[5 + CAN_MAX_DLEN] : 6;

        if (vesc_can_id_unpack(f.can_id, &type, &addr) == 0) {
                FUZZ_CHECK(vesc_can_id(type, addr) == f.can_id);
                (void) can_packet_id_to_string(type);
        } else
                FUZZ_CHECK(!(f.can_id & CAN_EFF_FLAG) || (f.can_id & (CAN_RTR_FLAG | CAN_ERR_FLAG)) ||
                           ((f.can_id & CAN_EFF_MASK) >> 16) != 0);

        check_status(&f);
        check_cmd(&f, major);
        check_pong(&f);
        check_boot(&f);
        return 0;
}
