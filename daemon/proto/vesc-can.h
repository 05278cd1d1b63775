/* VESC on CAN, single frames: 29-bit id packing (spec §2.1), the
 * CAN_PACKET_ID enum (§3), single-frame commands (§4, §7), status
 * broadcasts (§5), PING/PONG/NOTIFY_BOOT (§6).
 *
 * Pure: no I/O, no allocation, no clock.  Frames are Linux
 * `struct can_frame` (id with CAN_EFF_FLAG; unused data bytes zero). */
#pragma once

#include <errno.h>
#include <linux/can.h>
#include <stdbool.h>
#include <stdint.h>

#define VESC_ID_BROADCAST 255

typedef enum CanPacketId {
        CAN_PACKET_SET_DUTY = 0,
        CAN_PACKET_SET_CURRENT = 1,
        CAN_PACKET_SET_CURRENT_BRAKE = 2,
        CAN_PACKET_SET_RPM = 3,
        CAN_PACKET_SET_POS = 4,
        CAN_PACKET_FILL_RX_BUFFER = 5,
        CAN_PACKET_FILL_RX_BUFFER_LONG = 6,
        CAN_PACKET_PROCESS_RX_BUFFER = 7,
        CAN_PACKET_PROCESS_SHORT_BUFFER = 8,
        CAN_PACKET_STATUS = 9,
        CAN_PACKET_SET_CURRENT_REL = 10,
        CAN_PACKET_SET_CURRENT_BRAKE_REL = 11,
        CAN_PACKET_SET_CURRENT_HANDBRAKE = 12,
        CAN_PACKET_SET_CURRENT_HANDBRAKE_REL = 13,
        CAN_PACKET_STATUS_2 = 14,
        CAN_PACKET_STATUS_3 = 15,
        CAN_PACKET_STATUS_4 = 16,
        CAN_PACKET_PING = 17,
        CAN_PACKET_PONG = 18,
        CAN_PACKET_DETECT_APPLY_ALL_FOC = 19,
        CAN_PACKET_DETECT_APPLY_ALL_FOC_RES = 20,
        CAN_PACKET_CONF_CURRENT_LIMITS = 21,
        CAN_PACKET_CONF_STORE_CURRENT_LIMITS = 22,
        CAN_PACKET_CONF_CURRENT_LIMITS_IN = 23,
        CAN_PACKET_CONF_STORE_CURRENT_LIMITS_IN = 24,
        CAN_PACKET_CONF_FOC_ERPMS = 25,
        CAN_PACKET_CONF_STORE_FOC_ERPMS = 26,
        CAN_PACKET_STATUS_5 = 27,
        CAN_PACKET_POLL_TS5700N8501_STATUS = 28,
        CAN_PACKET_CONF_BATTERY_CUT = 29,
        CAN_PACKET_CONF_STORE_BATTERY_CUT = 30,
        CAN_PACKET_SHUTDOWN = 31,
        CAN_PACKET_NOTIFY_BOOT = 57,
        CAN_PACKET_STATUS_6 = 58,
        CAN_PACKET_UPDATE_BAUD = 63,
        _CAN_PACKET_MAX = 69,
} CanPacketId;

const char *can_packet_id_to_string(unsigned type); /* NULL if unknown */

/* (type << 8) | addr with CAN_EFF_FLAG set. */
static inline canid_t vesc_can_id(uint8_t type, uint8_t addr) {
        return CAN_EFF_FLAG | ((canid_t) type << 8) | addr;
}

/* The second motor's id of a single-MCU dual-motor controller whose motor 1
 * is at id (spec §16.3: id + 1, 254 + 1 wraps to 0). */
static inline uint8_t vesc_second_motor_id(uint8_t id) {
        return id + 1 == VESC_ID_BROADCAST ? 0 : (uint8_t) (id + 1);
}

/* Split a received frame id.  Returns 0 for a VESC frame (extended data
 * frame, bits 16..28 zero), -EBADMSG for anything else (standard, RTR, error
 * frames, or a type field the firmware would read as unknown).  Inline: it
 * runs for every received frame (bench-ingest). */
static inline int vesc_can_id_unpack(canid_t id, uint8_t *ret_type, uint8_t *ret_addr) {
        canid_t eid = id & CAN_EFF_MASK;

        if (!(id & CAN_EFF_FLAG) || (id & (CAN_RTR_FLAG | CAN_ERR_FLAG)) || (eid >> 16))
                return -EBADMSG;
        if (ret_type)
                *ret_type = (uint8_t) (eid >> 8);
        if (ret_addr)
                *ret_addr = (uint8_t) eid;
        return 0;
}

/* ------------------------------------------------ single-frame commands */

/* A 4-byte command of §4 (SET_DUTY, SET_CURRENT (always DLC 4, §4.1),
 * SET_CURRENT_BRAKE, SET_RPM, SET_POS, SET_CURRENT_REL, _BRAKE_REL,
 * _HANDBRAKE, _HANDBRAKE_REL) with its scale applied.  -EINVAL for other types. */
int vesc_cmd_encode(struct can_frame *ret, uint8_t dest, CanPacketId type, double value);

/* SET_CURRENT_REL 6-byte form: value f32(1e5) then off-delay f16(1e3). */
int vesc_cmd_current_rel_off_delay_encode(struct can_frame *ret, uint8_t dest, double rel, double off_delay_s);

/* Two-value configuration commands of §7 (CONF_[STORE_]CURRENT_LIMITS[_IN],
 * CONF_[STORE_]FOC_ERPMS, CONF_[STORE_]BATTERY_CUT): two f32(1e3), DLC 8. */
int vesc_conf_pair_encode(struct can_frame *ret, uint8_t dest, CanPacketId type, double a, double b);

typedef struct VescCmd {
        uint8_t type;  /* CanPacketId */
        uint8_t dest;  /* low byte of the id */
        double value;  /* first value, scaled */
        double value2; /* conf pairs: second value; 6-byte SET_CURRENT_REL: off-delay */
        bool has_value2;
} VescCmd;

/* Decode any command of §4 or §7 (two-value forms).  firmware_major selects
 * the 6-byte SET_CURRENT reading: 6+ reads off-delay first (§4.1, the
 * firmware's own behaviour, reproduced by vesc-sim), older reads current first.
 * -EBADMSG short frame, -EOPNOTSUPP not a command type. */
int vesc_cmd_decode(const struct can_frame *f, unsigned firmware_major, VescCmd *ret);

/* ------------------------------------------------------ status frames */

typedef struct VescStatus {
        uint8_t type;   /* CAN_PACKET_STATUS .. STATUS_6 */
        uint8_t sender; /* low byte of the id */
        union {
                struct { int32_t erpm; double current; double duty; } s1;
                struct { double ah; double ah_charged; } s2;
                struct { double wh; double wh_charged; } s3;
                struct { double temp_fet; double temp_motor; double current_in; double pid_pos; } s4;
                struct { int32_t tachometer; double v_in; } s5;
                struct { double adc1; double adc2; double adc3; double ppm; } s6;
        };
} VescStatus;

/* True for STATUS, STATUS_2 .. STATUS_6 (types 9, 14, 15, 16, 27, 58). */
bool vesc_status_type_is_valid(uint8_t type);

/* The same test inline, for the per-frame path: one bit per status type. */
#define VESC_STATUS_TYPES                                                              \
        ((UINT64_C(1) << CAN_PACKET_STATUS) | (UINT64_C(1) << CAN_PACKET_STATUS_2) |     \
         (UINT64_C(1) << CAN_PACKET_STATUS_3) | (UINT64_C(1) << CAN_PACKET_STATUS_4) |   \
         (UINT64_C(1) << CAN_PACKET_STATUS_5) | (UINT64_C(1) << CAN_PACKET_STATUS_6))
static inline bool vesc_is_status_type(uint8_t type) {
        return type < 64 && ((VESC_STATUS_TYPES >> type) & 1);
}

/* The status fields (§5.1), read straight from a status frame's 8 data
 * bytes: for a decoder that puts each value where it is needed (vescd's
 * controller model, per frame) instead of into a VescStatus first.
 * vesc_status_decode() reads through the same accessors, so the layout is
 * written down once. */
static inline double vesc_status_f16(const uint8_t *p, double scale) {
        return (int16_t) (uint16_t) ((p[0] << 8) | p[1]) / scale;
}
static inline double vesc_status_f32(const uint8_t *p, double scale) {
        return (int32_t) (((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3]) /
               scale;
}
static inline int32_t vesc_status_i32(const uint8_t *p) {
        return (int32_t) (((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3]);
}
/* STATUS: ERPM i32, motor current f16(1e1), duty f16(1e3) */
static inline int32_t vesc_status1_erpm(const uint8_t *d) { return vesc_status_i32(d); }
static inline double vesc_status1_current(const uint8_t *d) { return vesc_status_f16(d + 4, 1e1); }
static inline double vesc_status1_duty(const uint8_t *d) { return vesc_status_f16(d + 6, 1e3); }
/* STATUS_2: Ah, Ah charged, f32(1e4) */
static inline double vesc_status2_ah(const uint8_t *d) { return vesc_status_f32(d, 1e4); }
static inline double vesc_status2_ah_charged(const uint8_t *d) { return vesc_status_f32(d + 4, 1e4); }
/* STATUS_3: Wh, Wh charged, f32(1e4) */
static inline double vesc_status3_wh(const uint8_t *d) { return vesc_status_f32(d, 1e4); }
static inline double vesc_status3_wh_charged(const uint8_t *d) { return vesc_status_f32(d + 4, 1e4); }
/* STATUS_4: FET and motor temperature, input current f16(1e1), PID position f16(50) */
static inline double vesc_status4_temp_fet(const uint8_t *d) { return vesc_status_f16(d, 1e1); }
static inline double vesc_status4_temp_motor(const uint8_t *d) { return vesc_status_f16(d + 2, 1e1); }
static inline double vesc_status4_current_in(const uint8_t *d) { return vesc_status_f16(d + 4, 1e1); }
static inline double vesc_status4_pid_pos(const uint8_t *d) { return vesc_status_f16(d + 6, 50); }
/* STATUS_5: tachometer i32, input voltage f16(1e1) */
static inline int32_t vesc_status5_tachometer(const uint8_t *d) { return vesc_status_i32(d); }
static inline double vesc_status5_v_in(const uint8_t *d) { return vesc_status_f16(d + 4, 1e1); }
/* STATUS_6: ADC1..3, PPM, f16(1e3) */
static inline double vesc_status6_adc(const uint8_t *d, unsigned i) { return vesc_status_f16(d + 2 * i, 1e3); }
static inline double vesc_status6_ppm(const uint8_t *d) { return vesc_status_f16(d + 6, 1e3); }
/* Returns 0, -EOPNOTSUPP (not a status type), -EBADMSG (DLC != 8). */
int vesc_status_decode(const struct can_frame *f, VescStatus *ret);
/* Builds the 8-byte frame the firmware sends for st->type from st->sender. */
int vesc_status_encode(const VescStatus *st, struct can_frame *ret);

/* --------------------------------------------------- PING/PONG/BOOT */

/* PING to dest carrying the reply address. */
void vesc_ping_encode(struct can_frame *ret, uint8_t dest, uint8_t sender);

typedef struct VescPong {
        uint8_t to;      /* low byte of the id: who the pong is for */
        uint8_t from;    /* byte 0: responder id (5.03+: the id the ping was addressed to) */
        bool has_hw_type; /* 5.02+ */
        uint8_t hw_type;
} VescPong;

/* hw_type < 0: the 1-byte 3.58..5.01 form. */
void vesc_pong_encode(struct can_frame *ret, uint8_t to, uint8_t from, int hw_type);
int vesc_pong_decode(const struct can_frame *f, VescPong *ret);

/* NOTIFY_BOOT (6.00+): sender id in the low byte, hw name truncated to 8 bytes. */
void vesc_notify_boot_encode(struct can_frame *ret, uint8_t sender, const char *hw_name);
/* hw_name receives up to 8 characters plus NUL (size >= 9). */
int vesc_notify_boot_decode(const struct can_frame *f, uint8_t *ret_sender, char hw_name[static 9]);

/* ------------------------------------------------------------ ids */

/* Default controller id derived from a 12-byte UUID for a firmware version
 * (spec §8.4): CRC-32C & 0x7F, then skip reserved values (mod 128). */
uint8_t vesc_default_id_from_uuid(const uint8_t uuid[static 12], unsigned major, unsigned minor);
