/* Unit tests for daemon/proto/vesc-can: id packing (spec §2.1), status
 * broadcasts (§5), single-frame commands (§4, §7), PING/PONG/NOTIFY_BOOT
 * (§6) and the UUID-derived default id (§8.4).
 *
 * Every expected frame is written out by hand from the spec; the derivation
 * is in the comment next to it (values were checked with a scratch Python
 * script: int(value*scale) truncates toward zero like the firmware's cast). */

#include <errno.h>
#include <linux/can.h>
#include <linux/can/error.h>
#include <stdint.h>
#include <string.h>

#include "macro.h"
#include "proto/vesc-can.h"
#include "test-util.h"

/* EFF flag | (type << 8) | addr, spelled out so a wrong vesc_can_id() cannot
 * hide behind itself. */
#define EID(type, addr) (CAN_EFF_FLAG | ((canid_t) (type) << 8) | (canid_t) (addr))

/* ------------------------------------------------------------ ids */

typedef struct IdVector {
        const char *name;
        canid_t id;
        int ret;
        uint8_t type, addr;
} IdVector;

static const IdVector id_vectors[] = {
        /* §4 example: SET_CURRENT (1) to 23 = EID 0x00000117. */
        { "SET_CURRENT to 23", 0x80000117, 0, 1, 23 },
        /* §19: PROCESS_SHORT_BUFFER (8) to 31 = 0x0000081F. */
        { "SHORT to 31", 0x8000081F, 0, 8, 31 },
        /* Highest valid: type 255, addr 255, bits 16..28 zero. */
        { "type 255 addr 255", 0x8000FFFF, 0, 255, 255 },
        { "all zero eff", 0x80000000, 0, 0, 0 },
        /* Standard 11-bit frame (no EFF flag): not VESC. */
        { "standard frame", 0x00000117, -EBADMSG, 0, 0 },
        /* RTR frame. */
        { "RTR eff", CAN_EFF_FLAG | CAN_RTR_FLAG | 0x117, -EBADMSG, 0, 0 },
        /* Error frame (bus-off), as SocketCAN delivers it. */
        { "error frame", CAN_ERR_FLAG | CAN_ERR_BUSOFF, -EBADMSG, 0, 0 },
        { "error frame with eff", CAN_EFF_FLAG | CAN_ERR_FLAG | 0x117, -EBADMSG, 0, 0 },
        /* Bits 16..28 must be zero (§2.1): the firmware would read EID >> 8 as
         * an unknown type. */
        { "bit 16 set", 0x80010117, -EBADMSG, 0, 0 },
        { "bit 28 set", 0x90000117, -EBADMSG, 0, 0 },
        { "bits 16..28 all set", 0x9FFF0117, -EBADMSG, 0, 0 },
};

static void test_id_unpack(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(id_vectors); i++) {
                const IdVector *v = &id_vectors[i];
                uint8_t type = 0xAA, addr = 0xAA;
                int r = vesc_can_id_unpack(v->id, &type, &addr);
                assert_int(v->name, r, v->ret);
                if (r == 0) {
                        assert_int(v->name, type, v->type);
                        assert_int(v->name, addr, v->addr);
                }
        }
}

static void test_id_pack(void **state) {
        (void) state;
        assert_int("SET_CURRENT to 23", vesc_can_id(CAN_PACKET_SET_CURRENT, 23), 0x80000117);
        assert_int("PING to 31", vesc_can_id(CAN_PACKET_PING, 31), 0x8000111F);
        assert_int("PONG to 253", vesc_can_id(CAN_PACKET_PONG, 253), 0x800012FD);
        assert_int("STATUS_6 from 74", vesc_can_id(CAN_PACKET_STATUS_6, 74), 0x80003A4A);
        /* Round trip through unpack for every type and a few addresses. */
        for (unsigned t = 0; t < 256; t++)
                for (unsigned a = 0; a < 256; a += 51) {
                        uint8_t type, addr;
                        assert_int("roundtrip", vesc_can_id_unpack(vesc_can_id((uint8_t) t, (uint8_t) a), &type, &addr), 0);
                        assert_int("roundtrip type", type, t);
                        assert_int("roundtrip addr", addr, a);
                }
}

/* ------------------------------------------------------------ status */

typedef struct StatusVector {
        const char *name;
        canid_t id;
        uint8_t data[8];
        VescStatus st;     /* expected decode; also the encoder's input */
} StatusVector;

static const StatusVector status_vectors[] = {
        /* STATUS (9) from 31: ERPM i32 -12345 = FF FF CF C7; current f16(1e1)
         * -12.3 A = -123 = FF 85; duty f16(1e3) -0.456 = -456 = FE 38. */
        { "STATUS", 0x8000091F, { 0xFF, 0xFF, 0xCF, 0xC7, 0xFF, 0x85, 0xFE, 0x38 },
          { .type = 9, .sender = 31, .s1 = { -12345, -12.3, -0.456 } } },
        /* STATUS (9) from 12, positive: ERPM 250000 = 00 03 D0 90; 80.5 A = 805 =
         * 03 25; duty 0.95 = 950 = 03 B6. */
        { "STATUS positive", 0x8000090C, { 0x00, 0x03, 0xD0, 0x90, 0x03, 0x25, 0x03, 0xB6 },
          { .type = 9, .sender = 12, .s1 = { 250000, 80.5, 0.95 } } },
        /* STATUS_2 (14 = 0x0E) from 74 (0x4A): Ah f32(1e4) 12.5 = 125000 =
         * 00 01 E8 48; Ah charged -2.0 = -20000 = FF FF B1 E0. */
        { "STATUS_2", 0x80000E4A, { 0x00, 0x01, 0xE8, 0x48, 0xFF, 0xFF, 0xB1, 0xE0 },
          { .type = 14, .sender = 74, .s2 = { 12.5, -2.0 } } },
        /* STATUS_3 (15 = 0x0F) from 74: Wh f32(1e4) 1234.5678 = 12345678 =
         * 00 BC 61 4E; Wh charged 98.7654 = 987654 = 00 0F 12 06. */
        { "STATUS_3", 0x80000F4A, { 0x00, 0xBC, 0x61, 0x4E, 0x00, 0x0F, 0x12, 0x06 },
          { .type = 15, .sender = 74, .s3 = { 1234.5678, 98.7654 } } },
        /* STATUS_4 (16 = 0x10) from 12: FET 45.6 C f16(1e1) = 456 = 01 C8; motor
         * -5.5 C = -55 = FF C9; input current -20.1 A = -201 = FF 37; PID position
         * f16(50) 123.46 deg = 6173 = 18 1D. */
        { "STATUS_4", 0x8000100C, { 0x01, 0xC8, 0xFF, 0xC9, 0xFF, 0x37, 0x18, 0x1D },
          { .type = 16, .sender = 12, .s4 = { 45.6, -5.5, -20.1, 123.46 } } },
        /* STATUS_4 negative PID position: -100 deg * 50 = -5000 = EC 78. */
        { "STATUS_4 negative pos", 0x8000100C, { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xEC, 0x78 },
          { .type = 16, .sender = 12, .s4 = { 0.0, 0.0, 0.0, -100.0 } } },
        /* STATUS_5 (27 = 0x1B) from 12: tachometer i32 -1000000 = FF F0 BD C0;
         * V in f16(1e1) 48.3 V = 483 = 01 E3; bytes 6-7 reserved 0. */
        { "STATUS_5", 0x80001B0C, { 0xFF, 0xF0, 0xBD, 0xC0, 0x01, 0xE3, 0x00, 0x00 },
          { .type = 27, .sender = 12, .s5 = { -1000000, 48.3 } } },
        /* STATUS_6 (58 = 0x3A) from 74: ADC1 f16(1e3) 3.3 V = 3300 = 0C E4; ADC2 0;
         * ADC3 1.65 = 1650 = 06 72; PPM -0.75 = -750 = FD 12. */
        { "STATUS_6", 0x80003A4A, { 0x0C, 0xE4, 0x00, 0x00, 0x06, 0x72, 0xFD, 0x12 },
          { .type = 58, .sender = 74, .s6 = { 3.3, 0.0, 1.65, -0.75 } } },
};

static void check_status_fields(const char *name, const VescStatus *got, const VescStatus *exp) {
        assert_int(name, got->type, exp->type);
        assert_int(name, got->sender, exp->sender);
        switch (exp->type) {
        case 9:
                assert_int(name, got->s1.erpm, exp->s1.erpm);
                assert_double(name, got->s1.current, exp->s1.current);
                assert_double(name, got->s1.duty, exp->s1.duty);
                break;
        case 14:
                assert_double(name, got->s2.ah, exp->s2.ah);
                assert_double(name, got->s2.ah_charged, exp->s2.ah_charged);
                break;
        case 15:
                assert_double(name, got->s3.wh, exp->s3.wh);
                assert_double(name, got->s3.wh_charged, exp->s3.wh_charged);
                break;
        case 16:
                assert_double(name, got->s4.temp_fet, exp->s4.temp_fet);
                assert_double(name, got->s4.temp_motor, exp->s4.temp_motor);
                assert_double(name, got->s4.current_in, exp->s4.current_in);
                assert_double(name, got->s4.pid_pos, exp->s4.pid_pos);
                break;
        case 27:
                assert_int(name, got->s5.tachometer, exp->s5.tachometer);
                assert_double(name, got->s5.v_in, exp->s5.v_in);
                break;
        case 58:
                assert_double(name, got->s6.adc1, exp->s6.adc1);
                assert_double(name, got->s6.adc2, exp->s6.adc2);
                assert_double(name, got->s6.adc3, exp->s6.adc3);
                assert_double(name, got->s6.ppm, exp->s6.ppm);
                break;
        default:
                fail();
        }
}

static void test_status_decode(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(status_vectors); i++) {
                const StatusVector *v = &status_vectors[i];
                struct can_frame f = tu_frame(v->id, v->data, 8);
                VescStatus st;
                memset(&st, 0xA5, sizeof st);
                assert_int(v->name, vesc_status_decode(&f, &st), 0);
                check_status_fields(v->name, &st, &v->st);
        }
}

static void test_status_encode(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(status_vectors); i++) {
                const StatusVector *v = &status_vectors[i];
                struct can_frame f;
                memset(&f, 0xA5, sizeof f);
                assert_int(v->name, vesc_status_encode(&v->st, &f), 0);
                assert_frame(v->name, &f, v->id, v->data, 8);

                /* Decode(encode(x)) == x for these values. */
                VescStatus back;
                assert_int(v->name, vesc_status_decode(&f, &back), 0);
                check_status_fields(v->name, &back, &v->st);
        }
}

static void test_status_malformed(void **state) {
        (void) state;
        static const uint8_t d[8] = { 0 };
        /* DLC 7 and 0 for a status type: -EBADMSG (§5.1: all frames are 8 bytes). */
        struct can_frame f = tu_frame(EID(CAN_PACKET_STATUS, 31), d, 7);
        VescStatus st;
        assert_int("STATUS dlc 7", vesc_status_decode(&f, &st), -EBADMSG);
        f = tu_frame(EID(CAN_PACKET_STATUS_6, 31), d, 0);
        assert_int("STATUS_6 dlc 0", vesc_status_decode(&f, &st), -EBADMSG);
        /* Not a status type. */
        f = tu_frame(EID(CAN_PACKET_SET_CURRENT, 31), d, 8);
        assert_int("SET_CURRENT is not status", vesc_status_decode(&f, &st), -EOPNOTSUPP);
        f = tu_frame(EID(CAN_PACKET_PONG, 31), d, 8);
        assert_int("PONG is not status", vesc_status_decode(&f, &st), -EOPNOTSUPP);
        /* Encode of a non-status type is refused. */
        VescStatus bad = { .type = CAN_PACKET_PING, .sender = 1 };
        assert_true(vesc_status_encode(&bad, &f) < 0);
}

/* The inline per-frame test names exactly the six status types of §5.1. */
static void test_status_type_inline(void **state) {
        (void) state;
        for (unsigned type = 0; type < 256; type++) {
                bool expect = type == 9 || type == 14 || type == 15 || type == 16 || type == 27 || type == 58;
                char name[32];

                snprintf(name, sizeof name, "type %u", type);
                assert_int(name, vesc_is_status_type((uint8_t) type), expect);
                assert_int(name, vesc_status_type_is_valid((uint8_t) type), expect);
        }
}

/* ------------------------------------------------- single-frame commands */

typedef struct CmdVector {
        const char *name;
        uint8_t type, dest;
        double value;        /* encoder input and expected decode */
        canid_t id;
        uint8_t data[4];
} CmdVector;

static const CmdVector cmd_vectors[] = {
        /* §4 example: 51 A to 23 -> EID 0x117, f32(1e3) 51000 = 00 00 C7 38. */
        { "§4 51 A to 23", 1, 23, 51.0, 0x80000117, { 0x00, 0x00, 0xC7, 0x38 } },
        /* §19: 10 A to 31 -> ID 0000011F, 00 00 27 10. */
        { "§19 10 A to 31", 1, 31, 10.0, 0x8000011F, { 0x00, 0x00, 0x27, 0x10 } },
        /* Negative current: -60 A = -60000 = FF FF 15 A0. */
        { "SET_CURRENT -60 A", 1, 31, -60.0, 0x8000011F, { 0xFF, 0xFF, 0x15, 0xA0 } },
        /* SET_DUTY (0) f32(1e5): 0.5 = 50000 = 00 00 C3 50; -0.25 = FF FF 9E 58. */
        { "SET_DUTY 0.5", 0, 31, 0.5, 0x8000001F, { 0x00, 0x00, 0xC3, 0x50 } },
        { "SET_DUTY -0.25", 0, 31, -0.25, 0x8000001F, { 0xFF, 0xFF, 0x9E, 0x58 } },
        /* SET_CURRENT_BRAKE (2) 20 A = 20000 = 00 00 4E 20. */
        { "SET_CURRENT_BRAKE 20 A", 2, 12, 20.0, 0x8000020C, { 0x00, 0x00, 0x4E, 0x20 } },
        /* SET_RPM (3) i32 scale 1: -3000 ERPM = FF FF F4 48. */
        { "SET_RPM -3000", 3, 12, -3000.0, 0x8000030C, { 0xFF, 0xFF, 0xF4, 0x48 } },
        /* SET_POS (4) f32(1e6): 180 deg = 180000000 = 0A BA 95 00. */
        { "SET_POS 180", 4, 12, 180.0, 0x8000040C, { 0x0A, 0xBA, 0x95, 0x00 } },
        /* SET_CURRENT_REL (10 = 0x0A) f32(1e5): -0.5 = -50000 = FF FF 3C B0. */
        { "SET_CURRENT_REL -0.5", 10, 74, -0.5, 0x80000A4A, { 0xFF, 0xFF, 0x3C, 0xB0 } },
        /* SET_CURRENT_BRAKE_REL (11) f32(1e5): 0.75 = 75000 = 00 01 24 F8. */
        { "SET_CURRENT_BRAKE_REL 0.75", 11, 74, 0.75, 0x80000B4A, { 0x00, 0x01, 0x24, 0xF8 } },
        /* SET_CURRENT_HANDBRAKE (12) f32(1e3): 7.5 A = 7500 = 00 00 1D 4C. */
        { "SET_CURRENT_HANDBRAKE 7.5", 12, 74, 7.5, 0x80000C4A, { 0x00, 0x00, 0x1D, 0x4C } },
        /* SET_CURRENT_HANDBRAKE_REL (13) f32(1e5): 0.3 = 30000 = 00 00 75 30. */
        { "SET_CURRENT_HANDBRAKE_REL 0.3", 13, 74, 0.3, 0x80000D4A, { 0x00, 0x00, 0x75, 0x30 } },
        /* Broadcast address 255. */
        { "SET_CURRENT 0 to 255", 1, 255, 0.0, 0x800001FF, { 0x00, 0x00, 0x00, 0x00 } },
};

/* Truncation toward zero on encode: 1.0009 A -> 1000.9 -> 1000 = 00 00 03 E8;
 * -1.0009 A -> -1000 = FF FF FC 18 (floor would give -1001). */
static const CmdVector cmd_trunc_vectors[] = {
        { "SET_CURRENT 1.0009 truncates", 1, 31, 1.0009, 0x8000011F, { 0x00, 0x00, 0x03, 0xE8 } },
        { "SET_CURRENT -1.0009 toward zero", 1, 31, -1.0009, 0x8000011F, { 0xFF, 0xFF, 0xFC, 0x18 } },
};

static void test_cmd_encode(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cmd_vectors) + ELEMENTSOF(cmd_trunc_vectors); i++) {
                const CmdVector *v = i < ELEMENTSOF(cmd_vectors) ? &cmd_vectors[i]
                                                                  : &cmd_trunc_vectors[i - ELEMENTSOF(cmd_vectors)];
                struct can_frame f;
                memset(&f, 0xA5, sizeof f);
                assert_int(v->name, vesc_cmd_encode(&f, v->dest, v->type, v->value), 0);
                /* Always DLC 4, including SET_CURRENT (§4.1). */
                assert_frame(v->name, &f, v->id, v->data, 4);
        }
}

static void test_cmd_encode_invalid(void **state) {
        (void) state;
        struct can_frame f;
        assert_int("PING", vesc_cmd_encode(&f, 1, CAN_PACKET_PING, 1.0), -EINVAL);
        assert_int("STATUS", vesc_cmd_encode(&f, 1, CAN_PACKET_STATUS, 1.0), -EINVAL);
        assert_int("FILL", vesc_cmd_encode(&f, 1, CAN_PACKET_FILL_RX_BUFFER, 1.0), -EINVAL);
        assert_int("CONF_CURRENT_LIMITS", vesc_cmd_encode(&f, 1, CAN_PACKET_CONF_CURRENT_LIMITS, 1.0), -EINVAL);
        assert_int("pair with SET_CURRENT", vesc_conf_pair_encode(&f, 1, CAN_PACKET_SET_CURRENT, 1.0, 2.0), -EINVAL);
        assert_int("pair with STATUS_2", vesc_conf_pair_encode(&f, 1, CAN_PACKET_STATUS_2, 1.0, 2.0), -EINVAL);
}

static void test_cmd_decode(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cmd_vectors); i++) {
                const CmdVector *v = &cmd_vectors[i];
                struct can_frame f = tu_frame(v->id, v->data, 4);
                for (unsigned major = 3; major <= 7; major += 3) {
                        VescCmd c;
                        memset(&c, 0xA5, sizeof c);
                        assert_int(v->name, vesc_cmd_decode(&f, major, &c), 0);
                        assert_int(v->name, c.type, v->type);
                        assert_int(v->name, c.dest, v->dest);
                        assert_double(v->name, c.value, v->value);
                        assert_false(c.has_value2);
                }
        }
}

/* SET_CURRENT_REL 6-byte form: rel 0.5 = 50000 = 00 00 C3 50, then off-delay
 * f16(1e3) 0.5 s = 500 = 01 F4 (§4). */
static void test_current_rel_off_delay(void **state) {
        (void) state;
        static const uint8_t exp[] = { 0x00, 0x00, 0xC3, 0x50, 0x01, 0xF4 };
        struct can_frame f;
        memset(&f, 0xA5, sizeof f);
        assert_int("encode", vesc_cmd_current_rel_off_delay_encode(&f, 31, 0.5, 0.5), 0);
        assert_frame("SET_CURRENT_REL 6-byte", &f, 0x80000A1F, exp, 6);

        /* Decoded in the documented order on every version that has the
         * 6-byte forms (§4.1, 5.03+); older firmware ignores the two extra
         * bytes (§4), so 3.x/4.x give the relative current only. */
        for (unsigned major = 3; major <= 7; major++) {
                VescCmd c;
                assert_int("decode", vesc_cmd_decode(&f, major, &c), 0);
                assert_int("type", c.type, CAN_PACKET_SET_CURRENT_REL);
                assert_int("dest", c.dest, 31);
                assert_double("rel", c.value, 0.5);
                if (major >= 5) {
                        assert_true(c.has_value2);
                        assert_double("off delay", c.value2, 0.5);
                } else
                        assert_false(c.has_value2);
        }
}

/* §4.1: a 6-byte SET_CURRENT `00 00 27 10 01 F4` (10 A + 0.5 s, as the
 * sender builds it).  5.03 reads current then off-delay: 10 A, 0.5 s.  6.00+
 * read off-delay from bytes 0-1 (0x0000 = 0 s) and the current from bytes
 * 2-5: 0x271001F4 = 655360500 / 1000 = 655360.5 A ("about 655 kA"). */
static void test_set_current_6byte(void **state) {
        (void) state;
        static const uint8_t d[] = { 0x00, 0x00, 0x27, 0x10, 0x01, 0xF4 };
        struct can_frame f = tu_frame(0x8000011F, d, 6);
        VescCmd c;

        /* 3.x/4.x have no off-delay: the extra bytes are ignored (§4). */
        assert_int("3.x decode", vesc_cmd_decode(&f, 3, &c), 0);
        assert_double("3.x current", c.value, 10.0);
        assert_false(c.has_value2);

        assert_int("5.x decode", vesc_cmd_decode(&f, 5, &c), 0);
        assert_int("type", c.type, CAN_PACKET_SET_CURRENT);
        assert_double("5.x current", c.value, 10.0);
        assert_true(c.has_value2);
        assert_double("5.x off delay", c.value2, 0.5);

        for (unsigned major = 6; major <= 7; major++) {
                assert_int("6+ decode", vesc_cmd_decode(&f, major, &c), 0);
                assert_double("6+ current", c.value, 655360.5);
                assert_true(c.has_value2);
                assert_double("6+ off delay", c.value2, 0.0);
        }
}

typedef struct PairVector {
        const char *name;
        uint8_t type, dest;
        double a, b;
        canid_t id;
        uint8_t data[8];
} PairVector;

static const PairVector pair_vectors[] = {
        /* §7 CONF_CURRENT_LIMITS (21 = 0x15) to 12: min -60 A f32(1e3) = -60000 =
         * FF FF 15 A0, max 80 A = 80000 = 00 01 38 80. */
        { "CONF_CURRENT_LIMITS", 21, 12, -60.0, 80.0, 0x8000150C,
          { 0xFF, 0xFF, 0x15, 0xA0, 0x00, 0x01, 0x38, 0x80 } },
        /* CONF_STORE_CURRENT_LIMITS (22 = 0x16) to 74. */
        { "CONF_STORE_CURRENT_LIMITS", 22, 74, -60.0, 80.0, 0x8000164A,
          { 0xFF, 0xFF, 0x15, 0xA0, 0x00, 0x01, 0x38, 0x80 } },
        /* CONF_CURRENT_LIMITS_IN (23 = 0x17): -20 A = FF FF B1 E0, 30 A = 00 00 75 30. */
        { "CONF_CURRENT_LIMITS_IN", 23, 12, -20.0, 30.0, 0x8000170C,
          { 0xFF, 0xFF, 0xB1, 0xE0, 0x00, 0x00, 0x75, 0x30 } },
        /* CONF_STORE_CURRENT_LIMITS_IN (24 = 0x18). */
        { "CONF_STORE_CURRENT_LIMITS_IN", 24, 12, -20.0, 30.0, 0x8000180C,
          { 0xFF, 0xFF, 0xB1, 0xE0, 0x00, 0x00, 0x75, 0x30 } },
        /* CONF_FOC_ERPMS (25 = 0x19): 2500 = 2500000 = 00 26 25 A0; 4000 =
         * 4000000 = 00 3D 09 00. */
        { "CONF_FOC_ERPMS", 25, 12, 2500.0, 4000.0, 0x8000190C,
          { 0x00, 0x26, 0x25, 0xA0, 0x00, 0x3D, 0x09, 0x00 } },
        { "CONF_STORE_FOC_ERPMS", 26, 12, 2500.0, 4000.0, 0x80001A0C,
          { 0x00, 0x26, 0x25, 0xA0, 0x00, 0x3D, 0x09, 0x00 } },
        /* CONF_BATTERY_CUT (29 = 0x1D): 40 V = 40000 = 00 00 9C 40; 38 V = 38000 =
         * 00 00 94 70. */
        { "CONF_BATTERY_CUT", 29, 12, 40.0, 38.0, 0x80001D0C,
          { 0x00, 0x00, 0x9C, 0x40, 0x00, 0x00, 0x94, 0x70 } },
        { "CONF_STORE_BATTERY_CUT", 30, 12, 40.0, 38.0, 0x80001E0C,
          { 0x00, 0x00, 0x9C, 0x40, 0x00, 0x00, 0x94, 0x70 } },
};

static void test_conf_pairs(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(pair_vectors); i++) {
                const PairVector *v = &pair_vectors[i];
                struct can_frame f;
                memset(&f, 0xA5, sizeof f);
                assert_int(v->name, vesc_conf_pair_encode(&f, v->dest, v->type, v->a, v->b), 0);
                assert_frame(v->name, &f, v->id, v->data, 8);

                VescCmd c;
                assert_int(v->name, vesc_cmd_decode(&f, 6, &c), 0);
                assert_int(v->name, c.type, v->type);
                assert_int(v->name, c.dest, v->dest);
                assert_double(v->name, c.value, v->a);
                assert_true(c.has_value2);
                assert_double(v->name, c.value2, v->b);
        }
}

static void test_cmd_decode_malformed(void **state) {
        (void) state;
        static const uint8_t d[8] = { 0x00, 0x00, 0x27, 0x10, 0x00, 0x00, 0x27, 0x10 };
        VescCmd c;
        struct can_frame f = tu_frame(EID(CAN_PACKET_SET_CURRENT, 31), d, 3);
        assert_int("SET_CURRENT dlc 3", vesc_cmd_decode(&f, 5, &c), -EBADMSG);
        f = tu_frame(EID(CAN_PACKET_SET_DUTY, 31), d, 0);
        assert_int("SET_DUTY dlc 0", vesc_cmd_decode(&f, 5, &c), -EBADMSG);
        f = tu_frame(EID(CAN_PACKET_CONF_CURRENT_LIMITS, 31), d, 7);
        assert_int("CONF_CURRENT_LIMITS dlc 7", vesc_cmd_decode(&f, 5, &c), -EBADMSG);
        f = tu_frame(EID(CAN_PACKET_STATUS, 31), d, 8);
        assert_int("STATUS not a command", vesc_cmd_decode(&f, 5, &c), -EOPNOTSUPP);
        f = tu_frame(EID(CAN_PACKET_PING, 31), d, 1);
        assert_int("PING not a command", vesc_cmd_decode(&f, 5, &c), -EOPNOTSUPP);
        f = tu_frame(EID(CAN_PACKET_FILL_RX_BUFFER, 31), d, 8);
        assert_int("FILL not a command", vesc_cmd_decode(&f, 5, &c), -EOPNOTSUPP);
}

/* --------------------------------------------------- PING/PONG/BOOT */

static void test_ping_pong(void **state) {
        (void) state;
        struct can_frame f;

        /* §19: ping controller 31 from 253: ID 0000111F, data FD. */
        memset(&f, 0xA5, sizeof f);
        vesc_ping_encode(&f, 31, 253);
        assert_frame("§19 PING", &f, 0x8000111F, ((const uint8_t[]){ 0xFD }), 1);

        /* §19: 5.03+ reply: ID 000012FD, data 1F 00 (hw type 0 = VESC). */
        memset(&f, 0xA5, sizeof f);
        vesc_pong_encode(&f, 253, 31, 0);
        assert_frame("§19 PONG 5.03", &f, 0x800012FD, ((const uint8_t[]){ 0x1F, 0x00 }), 2);

        /* 3.58: 1F only. */
        memset(&f, 0xA5, sizeof f);
        vesc_pong_encode(&f, 253, 31, -1);
        assert_frame("§19 PONG 3.58", &f, 0x800012FD, ((const uint8_t[]){ 0x1F }), 1);

        VescPong p;
        f = tu_frame(0x800012FD, (const uint8_t[]){ 0x1F, 0x00 }, 2);
        memset(&p, 0xA5, sizeof p);
        assert_int("decode 2-byte", vesc_pong_decode(&f, &p), 0);
        assert_int("to", p.to, 253);
        assert_int("from", p.from, 31);
        assert_true(p.has_hw_type);
        assert_int("hw_type", p.hw_type, 0);

        /* hw type 2 = CUSTOM_MODULE (§12.1). */
        f = tu_frame(0x800012FD, (const uint8_t[]){ 0x4A, 0x02 }, 2);
        assert_int("decode hw 2", vesc_pong_decode(&f, &p), 0);
        assert_int("from", p.from, 74);
        assert_int("hw_type", p.hw_type, 2);

        f = tu_frame(0x800012FD, (const uint8_t[]){ 0x1F }, 1);
        memset(&p, 0xA5, sizeof p);
        assert_int("decode 1-byte", vesc_pong_decode(&f, &p), 0);
        assert_int("to", p.to, 253);
        assert_int("from", p.from, 31);
        assert_false(p.has_hw_type);

        f = tu_frame(0x800012FD, NULL, 0);
        assert_int("decode empty", vesc_pong_decode(&f, &p), -EBADMSG);
}

static void test_notify_boot(void **state) {
        (void) state;
        struct can_frame f;
        char name[9];
        uint8_t sender;

        /* NOTIFY_BOOT (57 = 0x39) from 12 with hw "60": ASCII 36 30, no terminator. */
        memset(&f, 0xA5, sizeof f);
        vesc_notify_boot_encode(&f, 12, "60");
        assert_frame("boot 60", &f, 0x8000390C, "60", 2);
        memset(name, 'x', sizeof name);
        assert_int("decode 60", vesc_notify_boot_decode(&f, &sender, name), 0);
        assert_int("sender", sender, 12);
        assert_string_equal(name, "60");

        /* A long hw name is truncated to 8 bytes: "UBOX_SINGLE_75" -> "UBOX_SIN". */
        memset(&f, 0xA5, sizeof f);
        vesc_notify_boot_encode(&f, 74, "UBOX_SINGLE_75");
        assert_frame("boot long name", &f, 0x8000394A, "UBOX_SIN", 8);
        memset(name, 'x', sizeof name);
        assert_int("decode long", vesc_notify_boot_decode(&f, &sender, name), 0);
        assert_int("sender", sender, 74);
        assert_string_equal(name, "UBOX_SIN");

        /* Exactly 8 characters. */
        vesc_notify_boot_encode(&f, 1, "HD60_DUA");
        assert_frame("boot 8 chars", &f, 0x80003901, "HD60_DUA", 8);

        /* Decoding rejects other types. */
        f = tu_frame(EID(CAN_PACKET_STATUS, 12), (const uint8_t *) "60", 2);
        assert_true(vesc_notify_boot_decode(&f, &sender, name) < 0);
}

/* ------------------------------------------------------ default ids */

typedef struct UuidVector {
        const char *name;
        uint8_t uuid[12];
        unsigned major, minor;
        uint8_t id;
} UuidVector;

/* UUIDs of the presets (DESIGN.md).  CRC-32C computed bitwise in Python:
 * A 3c0029000d51393236353934 -> 0x3BDBF48A, & 0x7F = 0x0A = 10;
 * B 2f002b001451363336333531 -> 0x84D16A4A, & 0x7F = 0x4A = 74.
 * §8.4: 3.58-5.02 no reserved ids; 5.03-6.05 reserve {10, 11}; 6.06+
 * reserve {1, 2, 3, 4, 10, 11}; skip by +1 mod 128.  So A = 10 on 3.58
 * (dual-358 preset), 10 -> 11 -> 12 on 5.03/6.05/6.06 (presets say 12);
 * B = 74 everywhere (presets say 74).  Agrees with DESIGN.md.
 * Synthetic UUIDs (eleven zero bytes + one) exercise the other reserved
 * values: ..20 -> 0x0BDD3B83 & 0x7F = 3; ..8F -> 0xF785B201 & 0x7F = 1;
 * ..B4 -> 0x5EEF508B & 0x7F = 11; ..B7 -> 0x4DBFA37F & 0x7F = 127;
 * ..21 -> 0xF9B6B880 & 0x7F = 0. */
#define UUID_A { 0x3c, 0x00, 0x29, 0x00, 0x0d, 0x51, 0x39, 0x32, 0x36, 0x35, 0x39, 0x34 }
#define UUID_B { 0x2f, 0x00, 0x2b, 0x00, 0x14, 0x51, 0x36, 0x33, 0x36, 0x33, 0x35, 0x31 }
#define UUID_Z(last) { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last }

static const UuidVector uuid_vectors[] = {
        { "A 3.58", UUID_A, 3, 58, 10 },
        { "A 5.02", UUID_A, 5, 2, 10 },
        { "A 5.03", UUID_A, 5, 3, 12 },
        { "A 6.00", UUID_A, 6, 0, 12 },
        { "A 6.05", UUID_A, 6, 5, 12 },
        { "A 6.06", UUID_A, 6, 6, 12 },
        { "A 7.00", UUID_A, 7, 0, 12 },
        { "B 3.58", UUID_B, 3, 58, 74 },
        { "B 5.03", UUID_B, 5, 3, 74 },
        { "B 6.05", UUID_B, 6, 5, 74 },
        { "B 6.06", UUID_B, 6, 6, 74 },
        /* crc & 0x7F = 3: reserved only from 6.06 (3 -> 4 -> 5). */
        { "crc 3 on 6.05", UUID_Z(0x20), 6, 5, 3 },
        { "crc 3 on 6.06", UUID_Z(0x20), 6, 6, 5 },
        /* crc & 0x7F = 1: 6.06 walks 1,2,3,4 -> 5. */
        { "crc 1 on 3.58", UUID_Z(0x8F), 3, 58, 1 },
        { "crc 1 on 6.05", UUID_Z(0x8F), 6, 5, 1 },
        { "crc 1 on 6.06", UUID_Z(0x8F), 6, 6, 5 },
        /* crc & 0x7F = 11: 5.03+ -> 12, 3.58 keeps 11. */
        { "crc 11 on 3.58", UUID_Z(0xB4), 3, 58, 11 },
        { "crc 11 on 5.03", UUID_Z(0xB4), 5, 3, 12 },
        { "crc 11 on 6.06", UUID_Z(0xB4), 6, 6, 12 },
        /* 127 and 0 are never reserved. */
        { "crc 127 on 6.06", UUID_Z(0xB7), 6, 6, 127 },
        { "crc 0 on 6.06", UUID_Z(0x21), 6, 6, 0 },
};

static void test_default_id(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(uuid_vectors); i++) {
                const UuidVector *v = &uuid_vectors[i];
                assert_int(v->name, vesc_default_id_from_uuid(v->uuid, v->major, v->minor), v->id);
        }
}

static void test_packet_names(void **state) {
        (void) state;
        assert_non_null(can_packet_id_to_string(CAN_PACKET_SET_CURRENT));
        assert_non_null(can_packet_id_to_string(CAN_PACKET_STATUS_6));
        assert_non_null(can_packet_id_to_string(CAN_PACKET_NOTIFY_BOOT));
        assert_null(can_packet_id_to_string(200));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_id_unpack),
                cmocka_unit_test(test_id_pack),
                cmocka_unit_test(test_status_decode),
                cmocka_unit_test(test_status_encode),
                cmocka_unit_test(test_status_malformed),
                cmocka_unit_test(test_status_type_inline),
                cmocka_unit_test(test_cmd_encode),
                cmocka_unit_test(test_cmd_encode_invalid),
                cmocka_unit_test(test_cmd_decode),
                cmocka_unit_test(test_current_rel_off_delay),
                cmocka_unit_test(test_set_current_6byte),
                cmocka_unit_test(test_conf_pairs),
                cmocka_unit_test(test_cmd_decode_malformed),
                cmocka_unit_test(test_ping_pong),
                cmocka_unit_test(test_notify_boot),
                cmocka_unit_test(test_default_id),
                cmocka_unit_test(test_packet_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
