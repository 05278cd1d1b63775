/* Single CAN frames of the VESC protocol: id packing (spec §2.1), the
 * CAN_PACKET_ID names (§3), control commands (§4, §7), status broadcasts
 * (§5), PING/PONG/NOTIFY_BOOT (§6) and the UUID-derived default id (§8.4).
 *
 * Every encoder zeroes the whole frame first so unused data bytes are 0, and
 * every decoder refuses frames that are not VESC frames or whose DLC is too
 * short: the firmware itself does not check the DLC of simple commands and
 * would read stale bytes (§4.2), so accepting a short frame here would only
 * hide a bug in whoever sent it. */

#include <errno.h>
#include <string.h>

#include "crc.h"
#include "macro.h"
#include "proto/vesc-can.h"
#include "wire.h"

static const char *const can_packet_names[_CAN_PACKET_MAX] = {
        [0] = "CAN_PACKET_SET_DUTY",
        [1] = "CAN_PACKET_SET_CURRENT",
        [2] = "CAN_PACKET_SET_CURRENT_BRAKE",
        [3] = "CAN_PACKET_SET_RPM",
        [4] = "CAN_PACKET_SET_POS",
        [5] = "CAN_PACKET_FILL_RX_BUFFER",
        [6] = "CAN_PACKET_FILL_RX_BUFFER_LONG",
        [7] = "CAN_PACKET_PROCESS_RX_BUFFER",
        [8] = "CAN_PACKET_PROCESS_SHORT_BUFFER",
        [9] = "CAN_PACKET_STATUS",
        [10] = "CAN_PACKET_SET_CURRENT_REL",
        [11] = "CAN_PACKET_SET_CURRENT_BRAKE_REL",
        [12] = "CAN_PACKET_SET_CURRENT_HANDBRAKE",
        [13] = "CAN_PACKET_SET_CURRENT_HANDBRAKE_REL",
        [14] = "CAN_PACKET_STATUS_2",
        [15] = "CAN_PACKET_STATUS_3",
        [16] = "CAN_PACKET_STATUS_4",
        [17] = "CAN_PACKET_PING",
        [18] = "CAN_PACKET_PONG",
        [19] = "CAN_PACKET_DETECT_APPLY_ALL_FOC",
        [20] = "CAN_PACKET_DETECT_APPLY_ALL_FOC_RES",
        [21] = "CAN_PACKET_CONF_CURRENT_LIMITS",
        [22] = "CAN_PACKET_CONF_STORE_CURRENT_LIMITS",
        [23] = "CAN_PACKET_CONF_CURRENT_LIMITS_IN",
        [24] = "CAN_PACKET_CONF_STORE_CURRENT_LIMITS_IN",
        [25] = "CAN_PACKET_CONF_FOC_ERPMS",
        [26] = "CAN_PACKET_CONF_STORE_FOC_ERPMS",
        [27] = "CAN_PACKET_STATUS_5",
        [28] = "CAN_PACKET_POLL_TS5700N8501_STATUS",
        [29] = "CAN_PACKET_CONF_BATTERY_CUT",
        [30] = "CAN_PACKET_CONF_STORE_BATTERY_CUT",
        [31] = "CAN_PACKET_SHUTDOWN",
        [32] = "CAN_PACKET_IO_BOARD_ADC_1_TO_4",
        [33] = "CAN_PACKET_IO_BOARD_ADC_5_TO_8",
        [34] = "CAN_PACKET_IO_BOARD_ADC_9_TO_12",
        [35] = "CAN_PACKET_IO_BOARD_DIGITAL_IN",
        [36] = "CAN_PACKET_IO_BOARD_SET_OUTPUT_DIGITAL",
        [37] = "CAN_PACKET_IO_BOARD_SET_OUTPUT_PWM",
        [38] = "CAN_PACKET_BMS_V_TOT",
        [39] = "CAN_PACKET_BMS_I",
        [40] = "CAN_PACKET_BMS_AH_WH",
        [41] = "CAN_PACKET_BMS_V_CELL",
        [42] = "CAN_PACKET_BMS_BAL",
        [43] = "CAN_PACKET_BMS_TEMPS",
        [44] = "CAN_PACKET_BMS_HUM",
        [45] = "CAN_PACKET_BMS_SOC_SOH_TEMP_STAT",
        [46] = "CAN_PACKET_PSW_STAT",
        [47] = "CAN_PACKET_PSW_SWITCH",
        [48] = "CAN_PACKET_BMS_HW_DATA_1",
        [49] = "CAN_PACKET_BMS_HW_DATA_2",
        [50] = "CAN_PACKET_BMS_HW_DATA_3",
        [51] = "CAN_PACKET_BMS_HW_DATA_4",
        [52] = "CAN_PACKET_BMS_HW_DATA_5",
        [53] = "CAN_PACKET_BMS_AH_WH_CHG_TOTAL",
        [54] = "CAN_PACKET_BMS_AH_WH_DIS_TOTAL",
        [55] = "CAN_PACKET_UPDATE_PID_POS_OFFSET",
        [56] = "CAN_PACKET_POLL_ROTOR_POS",
        [57] = "CAN_PACKET_NOTIFY_BOOT",
        [58] = "CAN_PACKET_STATUS_6",
        [59] = "CAN_PACKET_GNSS_TIME",
        [60] = "CAN_PACKET_GNSS_LAT",
        [61] = "CAN_PACKET_GNSS_LON",
        [62] = "CAN_PACKET_GNSS_ALT_SPEED_HDOP",
        [63] = "CAN_PACKET_UPDATE_BAUD",
        [64] = "CAN_PACKET_BMS_STATUS_1",
        [65] = "CAN_PACKET_BMS_STATUS_2",
        [66] = "CAN_PACKET_BMS_STATUS_3",
        [67] = "CAN_PACKET_BMS_STATUS_4",
        [68] = "CAN_PACKET_BMS_STATUS_5",
};

/**
 * can_packet_id_to_string() - name of a CAN_PACKET_ID value
 * @type: packet type (bits 8..15 of the extended id)
 *
 * Return: the upstream enum name ("CAN_PACKET_STATUS_5"), static storage,
 * or NULL for values no firmware up to 7.01 defines.
 */
const char *can_packet_id_to_string(unsigned type) {
        if (type >= ELEMENTSOF(can_packet_names))
                return NULL;
        return can_packet_names[type];
}

static void frame_init(struct can_frame *f, uint8_t type, uint8_t addr, uint8_t len) {
        memset(f, 0, sizeof *f);
        f->can_id = vesc_can_id(type, addr);
        f->len = len;
}

/* Scale of the 4-byte value of each single-value command (§4); 0 = not one. */
static double cmd_scale(unsigned type) {
        switch (type) {
        case CAN_PACKET_SET_DUTY:
        case CAN_PACKET_SET_CURRENT_REL:
        case CAN_PACKET_SET_CURRENT_BRAKE_REL:
        case CAN_PACKET_SET_CURRENT_HANDBRAKE_REL:
                return 1e5;
        case CAN_PACKET_SET_CURRENT:
        case CAN_PACKET_SET_CURRENT_BRAKE:
        case CAN_PACKET_SET_CURRENT_HANDBRAKE:
                return 1e3;
        case CAN_PACKET_SET_RPM:
                return 1;
        case CAN_PACKET_SET_POS:
                return 1e6;
        default:
                return 0;
        }
}

static bool is_conf_pair(unsigned type) {
        switch (type) {
        case CAN_PACKET_CONF_CURRENT_LIMITS:
        case CAN_PACKET_CONF_STORE_CURRENT_LIMITS:
        case CAN_PACKET_CONF_CURRENT_LIMITS_IN:
        case CAN_PACKET_CONF_STORE_CURRENT_LIMITS_IN:
        case CAN_PACKET_CONF_FOC_ERPMS:
        case CAN_PACKET_CONF_STORE_FOC_ERPMS:
        case CAN_PACKET_CONF_BATTERY_CUT:
        case CAN_PACKET_CONF_STORE_BATTERY_CUT:
                return true;
        default:
                return false;
        }
}

/**
 * vesc_cmd_encode() - build a 4-byte control command frame (§4)
 * @ret: frame to fill
 * @dest: destination controller id (255 = all)
 * @type: SET_DUTY, SET_CURRENT, SET_CURRENT_BRAKE, SET_RPM, SET_POS,
 *        SET_CURRENT_REL, SET_CURRENT_BRAKE_REL, SET_CURRENT_HANDBRAKE(_REL)
 * @value: value in natural units (A, duty, ERPM, degrees, relative)
 *
 * SET_CURRENT is always DLC 4: 6.00+ firmware reads a 6-byte SET_CURRENT
 * with the off-delay first (§4.1) and would run the motor at its maximum
 * current.  Values are truncated toward zero and saturated.
 *
 * Return: 0, or -EINVAL if @type is not a single-value command.
 */
int vesc_cmd_encode(struct can_frame *ret, uint8_t dest, CanPacketId type, double value) {
        double scale = cmd_scale(type);
        if (scale == 0)
                return -EINVAL;
        frame_init(ret, type, dest, 4);
        be32_put(ret->data, (uint32_t) wire_scale32(value, scale));
        return 0;
}

/**
 * vesc_cmd_current_rel_off_delay_encode() - SET_CURRENT_REL, 6-byte form
 * @ret: frame to fill
 * @dest: destination controller id
 * @rel: relative current -1..1, f32(1e5)
 * @off_delay_s: off-delay in seconds, f16(1e3)
 *
 * This is the one way to send an off-delay: every version decodes the
 * 6-byte SET_CURRENT_REL in the documented order (§4.1).
 */
int vesc_cmd_current_rel_off_delay_encode(struct can_frame *ret, uint8_t dest, double rel, double off_delay_s) {
        frame_init(ret, CAN_PACKET_SET_CURRENT_REL, dest, 6);
        be32_put(ret->data, (uint32_t) wire_scale32(rel, 1e5));
        be16_put(ret->data + 4, (uint16_t) wire_scale16(off_delay_s, 1e3));
        return 0;
}

/**
 * vesc_conf_pair_encode() - two-value configuration command (§7)
 * @ret: frame to fill
 * @dest: destination controller id
 * @type: CONF_[STORE_]CURRENT_LIMITS[_IN], CONF_[STORE_]FOC_ERPMS,
 *        CONF_[STORE_]BATTERY_CUT
 * @a: first value (min current, open-loop ERPM, cut start), f32(1e3)
 * @b: second value, f32(1e3)
 *
 * Return: 0, or -EINVAL for other types.
 */
int vesc_conf_pair_encode(struct can_frame *ret, uint8_t dest, CanPacketId type, double a, double b) {
        if (!is_conf_pair(type))
                return -EINVAL;
        frame_init(ret, type, dest, 8);
        be32_put(ret->data, (uint32_t) wire_scale32(a, 1e3));
        be32_put(ret->data + 4, (uint32_t) wire_scale32(b, 1e3));
        return 0;
}

static double get_f32(const uint8_t *p, double scale) {
        return (int32_t) be32_get(p) / scale;
}
static double get_f16(const uint8_t *p, double scale) {
        return (int16_t) be16_get(p) / scale;
}

/**
 * vesc_cmd_decode() - decode a control or configuration command frame
 * @f: received frame
 * @firmware_major: major version of the receiver being modelled; decides
 *        how the extra two bytes of a 6-byte SET_CURRENT are read
 * @ret: decoded command
 *
 * 6-byte SET_CURRENT: major >= 6 reads the off-delay from bytes 0-1 and the
 * current from bytes 2-5, as the 6.00+ firmware really does (§4.1); major 5
 * reads current then off-delay; older firmware ignores bytes 4-5 and so does
 * this decoder.  6-byte SET_CURRENT_REL is read in the documented order from
 * 5.x on.
 *
 * Return: 0; -EBADMSG for a non-VESC id or a DLC too short for the type;
 * -EOPNOTSUPP if the type is not a command of §4 or a value pair of §7.
 */
int vesc_cmd_decode(const struct can_frame *f, unsigned firmware_major, VescCmd *ret) {
        uint8_t type, dest;
        if (vesc_can_id_unpack(f->can_id, &type, &dest) < 0 || f->len > CAN_MAX_DLEN)
                return -EBADMSG;

        double scale = cmd_scale(type);
        bool pair = is_conf_pair(type);
        if (scale == 0 && !pair)
                return -EOPNOTSUPP;
        if (f->len < (pair ? 8 : 4))
                return -EBADMSG;

        VescCmd c = { .type = type, .dest = dest };
        if (pair) {
                c.value = get_f32(f->data, 1e3);
                c.value2 = get_f32(f->data + 4, 1e3);
                c.has_value2 = true;
        } else if (type == CAN_PACKET_SET_CURRENT && f->len >= 6 && firmware_major >= 6) {
                c.value2 = get_f16(f->data, 1e3);
                c.value = get_f32(f->data + 2, 1e3);
                c.has_value2 = true;
        } else {
                c.value = get_f32(f->data, scale);
                if ((type == CAN_PACKET_SET_CURRENT || type == CAN_PACKET_SET_CURRENT_REL) && f->len >= 6 &&
                    firmware_major >= 5) {
                        c.value2 = get_f16(f->data + 4, 1e3);
                        c.has_value2 = true;
                }
        }
        *ret = c;
        return 0;
}

/**
 * vesc_status_type_is_valid() - whether a CAN packet type is a status broadcast
 * @type: CAN_PACKET_ID (§3)
 *
 * Return: true for STATUS and STATUS_2 .. STATUS_6 (§5.1), whose id carries
 * the sender rather than the destination.
 */
bool vesc_status_type_is_valid(uint8_t type) {
        return vesc_is_status_type(type);
}

/**
 * vesc_status_decode() - decode a STATUS..STATUS_6 broadcast (§5.1)
 * @f: received frame
 * @ret: decoded status; ->sender is the low byte of the id
 *
 * Return: 0; -EOPNOTSUPP if the frame is not a status type; -EBADMSG for a
 * non-VESC id or a DLC other than 8.
 */
int vesc_status_decode(const struct can_frame *f, VescStatus *ret) {
        uint8_t type, sender;
        if (vesc_can_id_unpack(f->can_id, &type, &sender) < 0)
                return -EBADMSG;

        if (!vesc_status_type_is_valid(type))
                return -EOPNOTSUPP;
        if (f->len != 8)
                return -EBADMSG;

        const uint8_t *d = f->data;
        VescStatus *st = ret;

        st->type = type;
        st->sender = sender;
        switch (type) {
        case CAN_PACKET_STATUS:
                st->s1.erpm = vesc_status1_erpm(d);
                st->s1.current = vesc_status1_current(d);
                st->s1.duty = vesc_status1_duty(d);
                break;
        case CAN_PACKET_STATUS_2:
                st->s2.ah = vesc_status2_ah(d);
                st->s2.ah_charged = vesc_status2_ah_charged(d);
                break;
        case CAN_PACKET_STATUS_3:
                st->s3.wh = vesc_status3_wh(d);
                st->s3.wh_charged = vesc_status3_wh_charged(d);
                break;
        case CAN_PACKET_STATUS_4:
                st->s4.temp_fet = vesc_status4_temp_fet(d);
                st->s4.temp_motor = vesc_status4_temp_motor(d);
                st->s4.current_in = vesc_status4_current_in(d);
                st->s4.pid_pos = vesc_status4_pid_pos(d);
                break;
        case CAN_PACKET_STATUS_5:
                st->s5.tachometer = vesc_status5_tachometer(d);
                st->s5.v_in = vesc_status5_v_in(d);
                break;
        case CAN_PACKET_STATUS_6:
                st->s6.adc1 = vesc_status6_adc(d, 0);
                st->s6.adc2 = vesc_status6_adc(d, 1);
                st->s6.adc3 = vesc_status6_adc(d, 2);
                st->s6.ppm = vesc_status6_ppm(d);
                break;
        }
        return 0;
}

/**
 * vesc_status_encode() - the 8-byte status frame the firmware sends (§5.1)
 * @st: values; ->type selects the layout, ->sender goes into the id
 * @ret: frame to fill
 *
 * Scaled values are truncated toward zero like the firmware's C casts
 * (and saturated instead of wrapping); STATUS_5 bytes 6-7 are zero.
 *
 * Return: 0, or -EINVAL if ->type is not a status type.
 */
int vesc_status_encode(const VescStatus *st, struct can_frame *ret) {
        uint8_t *d = ret->data;

        if (!vesc_status_type_is_valid(st->type))
                return -EINVAL;
        frame_init(ret, st->type, st->sender, 8);

        switch (st->type) {
        case CAN_PACKET_STATUS:
                be32_put(d, (uint32_t) st->s1.erpm);
                be16_put(d + 4, (uint16_t) wire_scale16(st->s1.current, 1e1));
                be16_put(d + 6, (uint16_t) wire_scale16(st->s1.duty, 1e3));
                break;
        case CAN_PACKET_STATUS_2:
                be32_put(d, (uint32_t) wire_scale32(st->s2.ah, 1e4));
                be32_put(d + 4, (uint32_t) wire_scale32(st->s2.ah_charged, 1e4));
                break;
        case CAN_PACKET_STATUS_3:
                be32_put(d, (uint32_t) wire_scale32(st->s3.wh, 1e4));
                be32_put(d + 4, (uint32_t) wire_scale32(st->s3.wh_charged, 1e4));
                break;
        case CAN_PACKET_STATUS_4:
                be16_put(d, (uint16_t) wire_scale16(st->s4.temp_fet, 1e1));
                be16_put(d + 2, (uint16_t) wire_scale16(st->s4.temp_motor, 1e1));
                be16_put(d + 4, (uint16_t) wire_scale16(st->s4.current_in, 1e1));
                be16_put(d + 6, (uint16_t) wire_scale16(st->s4.pid_pos, 50));
                break;
        case CAN_PACKET_STATUS_5:
                be32_put(d, (uint32_t) st->s5.tachometer);
                be16_put(d + 4, (uint16_t) wire_scale16(st->s5.v_in, 1e1));
                break;
        case CAN_PACKET_STATUS_6:
                be16_put(d, (uint16_t) wire_scale16(st->s6.adc1, 1e3));
                be16_put(d + 2, (uint16_t) wire_scale16(st->s6.adc2, 1e3));
                be16_put(d + 4, (uint16_t) wire_scale16(st->s6.adc3, 1e3));
                be16_put(d + 6, (uint16_t) wire_scale16(st->s6.ppm, 1e3));
                break;
        }
        return 0;
}

/**
 * vesc_ping_encode() - PING (§6.1)
 * @ret: frame to fill
 * @dest: id being probed (never 255 for discovery: 5.03+ PONGs cannot be
 *        told apart then)
 * @sender: our own id, where the PONG goes
 */
void vesc_ping_encode(struct can_frame *ret, uint8_t dest, uint8_t sender) {
        frame_init(ret, CAN_PACKET_PING, dest, 1);
        ret->data[0] = sender;
}

/**
 * vesc_pong_encode() - PONG as a given firmware generation sends it (§6.2)
 * @ret: frame to fill
 * @to: the pinger's id (from the PING's byte 0)
 * @from: byte 0: responder id (5.03+: the id the PING was addressed to)
 * @hw_type: HW_TYPE for the 2-byte 5.02+ form; < 0 for the 1-byte form
 */
void vesc_pong_encode(struct can_frame *ret, uint8_t to, uint8_t from, int hw_type) {
        frame_init(ret, CAN_PACKET_PONG, to, hw_type < 0 ? 1 : 2);
        ret->data[0] = from;
        if (hw_type >= 0)
                ret->data[1] = (uint8_t) hw_type;
}

/**
 * vesc_pong_decode() - decode a PONG (1-byte and 2-byte forms)
 * @f: received frame
 * @ret: decoded pong
 *
 * Return: 0; -EOPNOTSUPP if not a PONG; -EBADMSG for a non-VESC id, DLC 0
 * or DLC > 8.
 */
int vesc_pong_decode(const struct can_frame *f, VescPong *ret) {
        uint8_t type, to;
        if (vesc_can_id_unpack(f->can_id, &type, &to) < 0)
                return -EBADMSG;
        if (type != CAN_PACKET_PONG)
                return -EOPNOTSUPP;
        if (f->len < 1 || f->len > CAN_MAX_DLEN)
                return -EBADMSG;
        *ret = (VescPong){
                .to = to,
                .from = f->data[0],
                .has_hw_type = f->len >= 2,
                .hw_type = f->len >= 2 ? f->data[1] : 0,
        };
        return 0;
}

/**
 * vesc_notify_boot_encode() - NOTIFY_BOOT (6.00+, §6.3)
 * @ret: frame to fill
 * @sender: the booting controller's id
 * @hw_name: hardware name; the first 8 characters are sent, no terminator
 */
void vesc_notify_boot_encode(struct can_frame *ret, uint8_t sender, const char *hw_name) {
        size_t n = strnlen(hw_name, CAN_MAX_DLEN);
        frame_init(ret, CAN_PACKET_NOTIFY_BOOT, sender, (uint8_t) n);
        memcpy(ret->data, hw_name, n);
}

/**
 * vesc_notify_boot_decode() - decode NOTIFY_BOOT
 * @f: received frame
 * @ret_sender: receives the booting controller's id
 * @hw_name: receives up to 8 characters of the hardware name, NUL-terminated
 *
 * Return: 0; -EOPNOTSUPP if not NOTIFY_BOOT; -EBADMSG for a non-VESC id or
 * DLC > 8.
 */
int vesc_notify_boot_decode(const struct can_frame *f, uint8_t *ret_sender, char hw_name[static 9]) {
        uint8_t type, sender;
        if (vesc_can_id_unpack(f->can_id, &type, &sender) < 0)
                return -EBADMSG;
        if (type != CAN_PACKET_NOTIFY_BOOT)
                return -EOPNOTSUPP;
        if (f->len > CAN_MAX_DLEN)
                return -EBADMSG;
        size_t n = strnlen((const char *) f->data, f->len);
        memcpy(hw_name, f->data, n);
        hw_name[n] = 0;
        *ret_sender = sender;
        return 0;
}

/**
 * vesc_default_id_from_uuid() - the firmware's UUID-derived default id (§8.4)
 * @uuid: the 12 UUID bytes as COMM_FW_VERSION reports them (primary motor)
 * @major: firmware major version
 * @minor: firmware minor version
 *
 * CRC-32C of the UUID masked to 0..127; then, while the id is reserved for
 * that version, add one (mod 128).  Reserved: none up to 5.02, {10, 11} in
 * 5.03-6.05, {1, 2, 3, 4, 10, 11} from 6.06.
 *
 * Return: the default id (0..127).
 */
uint8_t vesc_default_id_from_uuid(const uint8_t uuid[static 12], unsigned major, unsigned minor) {
        unsigned v = major * 100 + minor;
        uint8_t id = (uint8_t) (crc32c(uuid, 12) & 0x7F);

        /* At most six steps: the reserved sets have no run longer than four. */
        for (;;) {
                bool reserved = false;
                if (v >= 503)
                        reserved = id == 10 || id == 11;
                if (v >= 606)
                        reserved = reserved || (id >= 1 && id <= 4);
                if (!reserved)
                        return id;
                id = (id + 1) & 0x7F;
        }
}
