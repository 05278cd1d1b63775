/* COMM packets (spec §11-§14): the command payloads carried in serial
 * frames or CAN buffers.  A payload always starts with its command byte.
 *
 * Encoders write into a caller buffer and return the length (or -ENOBUFS);
 * decoders take the whole payload including the command byte and return 0,
 * -EBADMSG (truncated/malformed) or -EPROTO (wrong command byte).
 * Pure: no I/O, no allocation. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum CommPacketId {
        COMM_FW_VERSION = 0,
        COMM_JUMP_TO_BOOTLOADER = 1,
        COMM_ERASE_NEW_APP = 2,
        COMM_WRITE_NEW_APP_DATA = 3,
        COMM_GET_VALUES = 4,
        COMM_SET_DUTY = 5,
        COMM_SET_CURRENT = 6,
        COMM_SET_CURRENT_BRAKE = 7,
        COMM_SET_RPM = 8,
        COMM_SET_POS = 9,
        COMM_SET_HANDBRAKE = 10,
        COMM_SET_MCCONF = 13,
        COMM_GET_MCCONF = 14,
        COMM_GET_MCCONF_DEFAULT = 15,
        COMM_SET_APPCONF = 16,
        COMM_GET_APPCONF = 17,
        COMM_GET_APPCONF_DEFAULT = 18,
        COMM_TERMINAL_CMD = 20,
        COMM_PRINT = 21,
        COMM_REBOOT = 29,
        COMM_ALIVE = 30,
        COMM_FORWARD_CAN = 34,
        COMM_GET_VALUES_SETUP = 47,
        COMM_SET_MCCONF_TEMP = 48,
        COMM_SET_MCCONF_TEMP_SETUP = 49,
        COMM_GET_VALUES_SELECTIVE = 50,
        COMM_GET_VALUES_SETUP_SELECTIVE = 51,
        COMM_PING_CAN = 62,
        COMM_APP_DISABLE_OUTPUT = 63,
        COMM_ERASE_BOOTLOADER = 73,
        COMM_WRITE_NEW_APP_DATA_LZO = 81,
        COMM_SET_CURRENT_REL = 84,
        COMM_SET_BATTERY_CUT = 86,
        COMM_GET_MCCONF_TEMP = 91,
        COMM_GET_BATTERY_CUT = 115,
        COMM_SET_APPCONF_NO_STORE = 149,
        COMM_SHUTDOWN = 156,
        COMM_FW_INFO = 157,
} CommPacketId;

const char *comm_packet_id_to_string(unsigned cmd); /* NULL if not listed */

/* ------------------------------------------------------- FW_VERSION */

#define VESC_UUID_LEN 12
#define VESC_NAME_MAX 64

typedef struct VescFwVersion {
        uint8_t major, minor;
        char hw_name[VESC_NAME_MAX];
        uint8_t uuid[VESC_UUID_LEN];
        uint8_t pairing_done;
        bool has_test_build;      /* 5.00+ */
        uint8_t test_build;
        bool has_hw_type;         /* 5.02+ (absent means 0 = VESC) */
        uint8_t hw_type;
        uint8_t custom_configs;
        bool has_ui_flags;        /* 5.03+ */
        uint8_t phase_filters, qml_hw, qml_app;
        bool has_fw_name;         /* 6.00+ */
        uint8_t nrf_flags;
        char fw_name[VESC_NAME_MAX];
        bool has_hw_crc;          /* 6.05+ */
        uint32_t hw_crc;
} VescFwVersion;

/* Tolerant of every generation: later fields are read only if present. */
int vesc_fw_version_decode(const uint8_t *p, size_t n, VescFwVersion *ret);
/* The reply exactly as firmware major.minor lays it out (§12.1): fields
 * beyond that version are not written whatever the has_* flags say. */
ssize_t vesc_fw_version_encode(const VescFwVersion *v, uint8_t *buf, size_t size);
/* "3.58", "6.05" (two-digit minor). */
void vesc_version_format(uint8_t major, uint8_t minor, char out[static 8]);

/* ------------------------------------------------------- GET_VALUES */

typedef enum VescValueBit {
        VALUE_TEMP_FET = 0, VALUE_TEMP_MOTOR = 1, VALUE_CURRENT_MOTOR = 2,
        VALUE_CURRENT_IN = 3, VALUE_ID = 4, VALUE_IQ = 5, VALUE_DUTY = 6,
        VALUE_ERPM = 7, VALUE_V_IN = 8, VALUE_AH = 9, VALUE_AH_CHARGED = 10,
        VALUE_WH = 11, VALUE_WH_CHARGED = 12, VALUE_TACHO = 13, VALUE_TACHO_ABS = 14,
        VALUE_FAULT = 15, VALUE_PID_POS = 16, VALUE_CONTROLLER_ID = 17,
        VALUE_TEMP_MOS123 = 18, VALUE_VD = 19, VALUE_VQ = 20, VALUE_STATUS = 21,
        _VALUE_BIT_MAX = 22,
} VescValueBit;

typedef struct VescValues {
        uint32_t present;   /* bit mask of VescValueBit actually decoded/to encode */
        double temp_fet, temp_motor;
        double current_motor, current_in, id, iq;
        double duty, erpm, v_in;
        double ah, ah_charged, wh, wh_charged;
        int32_t tacho, tacho_abs;
        uint8_t fault;
        double pid_pos;
        uint8_t controller_id;
        double temp_mos[3];
        double vd, vq;
        uint8_t status;
} VescValues;

/* Full reply length after the command byte for a firmware version: 64
 * (<= 3.59), 72 (3.60-5.02), 73 (5.03+). */
size_t vesc_values_len_for_version(unsigned major, unsigned minor);
/* Field mask a version knows (bits 0-18, +19/20 from 3.60, +21 from 5.03). */
uint32_t vesc_values_mask_for_version(unsigned major, unsigned minor);

/* GET_VALUES reply: fields by remaining length (64/72/73 or anything in between). */
int vesc_values_decode(const uint8_t *p, size_t n, VescValues *ret);
/* GET_VALUES_SELECTIVE reply: echoed mask, then the set fields in bit order. */
int vesc_values_selective_decode(const uint8_t *p, size_t n, VescValues *ret);
/* Replies as firmware major.minor sends them. */
ssize_t vesc_values_encode(const VescValues *v, unsigned major, unsigned minor, uint8_t *buf, size_t size);
ssize_t vesc_values_selective_encode(const VescValues *v, uint32_t mask, unsigned major, unsigned minor,
                                     uint8_t *buf, size_t size);
ssize_t vesc_get_values_selective_request(uint32_t mask, uint8_t *buf, size_t size);

/* ------------------------------------------------ MCCONF_TEMP (limits) */

typedef struct VescMcconfTemp {
        bool store, forward_can, ack, divide_by_controllers;
        float current_min_scale, current_max_scale;
        float min_erpm, max_erpm;     /* SETUP variant: min/max speed in m/s */
        float min_duty, max_duty;
        float watt_min, watt_max;
        bool has_in_current;          /* optional 5.00+ tail */
        float in_current_min, in_current_max;
} VescMcconfTemp;

/* cmd = COMM_SET_MCCONF_TEMP or COMM_SET_MCCONF_TEMP_SETUP. */
ssize_t vesc_mcconf_temp_encode(const VescMcconfTemp *t, CommPacketId cmd, uint8_t *buf, size_t size);
int vesc_mcconf_temp_decode(const uint8_t *p, size_t n, VescMcconfTemp *ret, CommPacketId *ret_cmd);

typedef struct VescMcconfTempReply {  /* COMM_GET_MCCONF_TEMP (5.02+) */
        float current_min_scale, current_max_scale, min_erpm, max_erpm, min_duty, max_duty;
        float watt_min, watt_max, in_current_min, in_current_max;
        uint8_t motor_poles;
        float gear_ratio, wheel_diameter;
} VescMcconfTempReply;
int vesc_get_mcconf_temp_decode(const uint8_t *p, size_t n, VescMcconfTempReply *ret);
ssize_t vesc_get_mcconf_temp_encode(const VescMcconfTempReply *r, uint8_t *buf, size_t size);

/* ------------------------------------------------- config blobs */

typedef enum VescConfKind { VESC_CONF_MC = 0, VESC_CONF_APP = 1 } VescConfKind;

/* Known signature for firmware major.minor (§13.2), 0 if unknown. */
uint32_t vesc_conf_signature(VescConfKind kind, unsigned major, unsigned minor);
/* The signature a serialized configuration starts with (u32 big-endian),
 * 0 for NULL or fewer than 4 bytes. */
uint32_t vesc_conf_blob_signature(const uint8_t *blob, size_t len);
/* Serialized size (§13.1) for versions whose layout we know, 0 otherwise. */
size_t vesc_conf_size(VescConfKind kind, unsigned major, unsigned minor);

/* A GET_* reply or SET_* request: command byte + u32 signature + body.
 * Decoding gives a view into p (no copy). */
typedef struct VescConfBlob {
        uint8_t cmd;
        uint32_t signature;
        const uint8_t *data;   /* serialized config including the signature */
        size_t len;            /* bytes of data (<= 511) */
} VescConfBlob;
int vesc_conf_blob_decode(const uint8_t *p, size_t n, VescConfBlob *ret);
/* cmd + data (data already carries its signature). */
ssize_t vesc_conf_blob_encode(uint8_t cmd, const uint8_t *data, size_t len, uint8_t *buf, size_t size);

/* Stable-prefix helpers (§13.3): APPCONF controller id and CAN status schedule. */
int vesc_appconf_get_controller_id(const uint8_t *data, size_t len, uint8_t *ret);
int vesc_appconf_set_controller_id(uint8_t *data, size_t len, uint8_t id);

/* ------------------------------------------------- firmware update */

ssize_t vesc_erase_new_app_encode(uint32_t size, uint8_t *buf, size_t bufsize);
ssize_t vesc_erase_bootloader_encode(uint8_t *buf, size_t bufsize);
/* [3][offset u32][data]; len <= 507. */
ssize_t vesc_write_new_app_encode(uint32_t offset, const uint8_t *data, size_t len, uint8_t *buf, size_t bufsize);
int vesc_write_new_app_request_decode(const uint8_t *p, size_t n, uint32_t *ret_offset,
                                      const uint8_t **ret_data, size_t *ret_len);

typedef struct VescFlashReply {
        uint8_t cmd;           /* 2, 3 or 73 */
        bool ok;
        bool has_offset;       /* WRITE_NEW_APP_DATA on 5.00+ */
        uint32_t offset;
} VescFlashReply;
int vesc_flash_reply_decode(const uint8_t *p, size_t n, VescFlashReply *ret);
ssize_t vesc_flash_reply_encode(const VescFlashReply *r, uint8_t *buf, size_t size);

/* Single-byte commands and small control payloads. */
ssize_t vesc_simple_encode(CommPacketId cmd, uint8_t *buf, size_t size); /* FW_VERSION, JUMP, REBOOT, ALIVE, GET_VALUES, GET_*CONF, GET_MCCONF_TEMP */
ssize_t vesc_app_disable_output_encode(bool forward_can, int32_t msec, uint8_t *buf, size_t size);
int vesc_app_disable_output_decode(const uint8_t *p, size_t n, bool *ret_forward, int32_t *ret_msec);

/* -------------------------------------------------------- faults */

/* "NONE", "OVER_VOLTAGE", ...  (§12.12); "UNKNOWN" past the table. */
const char *vesc_fault_to_string(unsigned fault);
