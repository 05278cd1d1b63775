/* Per-version facts of the simulated firmware: signatures and serialized
 * configuration sizes (spec §13.1-13.2), default configuration blobs, and
 * reading/writing the stable APPCONF/MCCONF prefix (spec §13.3). */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "core/config-layout.h"
#include "macro.h"
#include "simfw.h"
#include "wire.h"

/* Ordered by version.  Sizes and signatures from spec §13.1/§13.2; 6.02
 * shares the 6.00 layout (same signatures). */
static const SimFwInfo fw_table[] = {
        { 3, 58,  503309878u, 1962523771u, 403, 170 },
        { 5,  3, 2525666056u, 3733512279u, 484, 476 },
        { 6,  0,  776184161u,  486554156u, 481, 493 },
        { 6,  2,  776184161u,  486554156u, 481, 493 },
        { 6,  5, 1065524471u, 2099347128u, 477, 278 },
        { 6,  6,  788332866u, 2099347128u, 483, 278 },
        { 7,  0, 1470992211u, 2384027283u, 488, 284 },
};

/**
 * sim_fw_info() - the table row describing a firmware version
 * @major: firmware major
 * @minor: firmware minor
 *
 * Returns the row of the newest known release not newer than major.minor,
 * or the oldest row for versions below the table.  Never NULL.
 */
const SimFwInfo *sim_fw_info(unsigned major, unsigned minor) {
        const SimFwInfo *best = &fw_table[0];
        unsigned code = sim_fw_code(major, minor);

        for (size_t i = 0; i < ELEMENTSOF(fw_table); i++)
                if (sim_fw_code(fw_table[i].major, fw_table[i].minor) <= code)
                        best = &fw_table[i];
        return best;
}

/**
 * sim_fw_known() - whether major.minor has its own table row
 * @major: firmware major
 * @minor: firmware minor
 *
 * Returns true for the releases whose layouts vesc-sim reproduces exactly.
 */
bool sim_fw_known(unsigned major, unsigned minor) {
        for (size_t i = 0; i < ELEMENTSOF(fw_table); i++)
                if (fw_table[i].major == major && fw_table[i].minor == minor)
                        return true;
        return false;
}

/**
 * sim_fw_rx_gen() - receive-buffer generation of a version (spec §8.3)
 * @major: firmware major
 * @minor: firmware minor
 *
 * Returns SIM_RX_SINGLE up to 6.00, SIM_RX_MULTI_602 for 6.02-6.04,
 * SIM_RX_MULTI_605 from 6.05.
 */
SimRxGen sim_fw_rx_gen(unsigned major, unsigned minor) {
        unsigned code = sim_fw_code(major, minor);

        if (code <= 600)
                return SIM_RX_SINGLE;
        if (code < 605)
                return SIM_RX_MULTI_602;
        return SIM_RX_MULTI_605;
}

static void fill_pattern(uint8_t *out, size_t from, size_t to) {
        /* Deterministic, non-zero, offset-dependent: a restore that shifts
         * bytes shows up in a comparison. */
        for (size_t i = from; i < to; i++)
                out[i] = (uint8_t) (i * 37u + 11u);
}

/**
 * sim_fw_default_appconf() - APPCONF blob as a freshly flashed firmware has it
 * @major: firmware major
 * @minor: firmware minor
 * @id: controller id to put at offset 4
 * @out: receives the blob (signature first)
 *
 * Returns the blob length (the version's serialized APPCONF size).
 */
/* The configuration layout table (daemon/core/config-layouts.tsv) has the
 * releases whose layouts vesc-sim reproduces, except 6.00/6.02: for those
 * the default blob starts from the table's defaults, for the others from a
 * fixed pattern.  Either way the fields below are then set as documented
 * in simfw.h. */
static const ConfigLayout *table_layout(ConfigWhich which, const SimFwInfo *fi) {
        const ConfigLayout *l = config_layout_find(which, which == CONFIG_MCCONF ? fi->mc_signature : fi->app_signature);

        return l && l->size == (which == CONFIG_MCCONF ? fi->mc_size : fi->app_size) ? l : NULL;
}

static void table_set(const ConfigLayout *l, uint8_t *out, const char *name, double v) {
        int r = config_layout_set(l, out, l->size, name, v);
        assert(r == 0);
        (void) r;
}

static size_t table_default_appconf(const ConfigLayout *l, unsigned major, uint8_t id, uint8_t *out) {
        int n = config_layout_default(l, out, SIM_CONF_MAX);

        assert(n == l->size);
        table_set(l, out, "controller_id", id);
        table_set(l, out, "timeout_msec", 1000);
        table_set(l, out, "timeout_brake_current", 0);
        table_set(l, out, "can_baud_rate", 2);                  /* CAN_BAUD_500K */
        if (major >= 6) {
                table_set(l, out, "can_status_rate_1", 50);
                table_set(l, out, "can_status_rate_2", 5);
                table_set(l, out, "can_status_msgs_r1", 0);
                table_set(l, out, "can_status_msgs_r2", 0);
                table_set(l, out, "can_mode", 0);               /* VESC */
        } else {
                table_set(l, out, "send_can_status", 0);        /* disabled */
                table_set(l, out, "send_can_status_rate_hz", 50);
        }
        return (size_t) n;
}

static size_t table_default_mcconf(const ConfigLayout *l, uint8_t *out) {
        int n = config_layout_default(l, out, SIM_CONF_MAX);

        assert(n == l->size);
        table_set(l, out, "pwm_mode", 1);
        table_set(l, out, "comm_mode", 0);
        table_set(l, out, "motor_type", 2);                     /* FOC */
        table_set(l, out, "sensor_mode", 0);
        table_set(l, out, "l_current_max", 60);
        table_set(l, out, "l_current_min", -60);
        table_set(l, out, "l_in_current_max", 60);
        table_set(l, out, "l_in_current_min", -20);
        table_set(l, out, "l_abs_current_max", 150);
        table_set(l, out, "l_min_erpm", -100000);
        table_set(l, out, "l_max_erpm", 100000);
        return (size_t) n;
}

size_t sim_fw_default_appconf(unsigned major, unsigned minor, uint8_t id, uint8_t out[static SIM_CONF_MAX]) {
        const SimFwInfo *fi = sim_fw_info(major, minor);
        const ConfigLayout *l = table_layout(CONFIG_APPCONF, fi);
        size_t n = fi->app_size;

        memset(out, 0, SIM_CONF_MAX);
        if (l)
                return table_default_appconf(l, major, id, out);
        fill_pattern(out, 40, n);
        be32_put(out, fi->app_signature);
        out[4] = id;
        be32_put(out + 5, 1000);                /* timeout_msec */
        be32_put(out + 9, f32a_to_bits(0.0f));  /* timeout_brake_current */
        if (major >= 6) {
                be16_put(out + 13, 50);         /* can_status_rate_1 */
                be16_put(out + 15, 5);          /* can_status_rate_2 */
                out[17] = 0;                    /* can_status_msgs_r1 */
                out[18] = 0;                    /* can_status_msgs_r2 */
                out[19] = 2;                    /* can_baud_rate: 500K */
                out[23] = 0;                    /* can_mode: VESC */
        } else {
                out[13] = 0;                    /* send_can_status: disabled */
                be16_put(out + 14, 50);         /* send_can_status_rate_hz */
                out[16] = 2;                    /* can_baud_rate: 500K */
        }
        return n;
}

/**
 * sim_fw_default_mcconf() - MCCONF blob as a freshly flashed firmware has it
 * @major: firmware major
 * @minor: firmware minor
 * @out: receives the blob
 *
 * Returns the blob length.  The stable prefix holds FOC, ±60 A motor,
 * 60/-20 A battery current, ±100000 ERPM.
 */
size_t sim_fw_default_mcconf(unsigned major, unsigned minor, uint8_t out[static SIM_CONF_MAX]) {
        const SimFwInfo *fi = sim_fw_info(major, minor);
        const ConfigLayout *l = table_layout(CONFIG_MCCONF, fi);
        size_t n = fi->mc_size;

        memset(out, 0, SIM_CONF_MAX);
        if (l)
                return table_default_mcconf(l, out);
        fill_pattern(out, 40, n);
        be32_put(out, fi->mc_signature);
        out[4] = 1;     /* pwm_mode */
        out[5] = 0;     /* comm_mode */
        out[6] = 2;     /* motor_type FOC */
        out[7] = 0;     /* sensor_mode */
        be32_put(out + 8, f32a_to_bits(60.0f));
        be32_put(out + 12, f32a_to_bits(-60.0f));
        be32_put(out + 16, f32a_to_bits(60.0f));
        be32_put(out + 20, f32a_to_bits(-20.0f));
        if (sim_fw_code(major, minor) >= 605) {
                be16_put(out + 24, (uint16_t) wire_scale16(-1.0, 10000)); /* l_in_current_map_start */
                be16_put(out + 26, (uint16_t) wire_scale16(0.005, 10000));
                be32_put(out + 28, f32a_to_bits(150.0f));
                be32_put(out + 32, f32a_to_bits(-100000.0f));
                be32_put(out + 36, f32a_to_bits(100000.0f));
        } else {
                be32_put(out + 24, f32a_to_bits(150.0f));
                be32_put(out + 28, f32a_to_bits(-100000.0f));
                be32_put(out + 32, f32a_to_bits(100000.0f));
        }
        return n;
}

/**
 * sim_fw_appconf_schedule() - read the status broadcast schedule
 * @major: firmware major (selects the encoding, spec §5.2)
 * @app: APPCONF blob
 * @len: its length
 * @ret: the schedule, in the two-set form
 */
void sim_fw_appconf_schedule(unsigned major, const uint8_t *app, size_t len, SimStatusSchedule *ret) {
        static const uint8_t enum_to_bits[] = { 0x00, 0x01, 0x03, 0x07, 0x0f, 0x1f };

        *ret = (SimStatusSchedule) {};
        if (major >= 6) {
                if (len < 19)
                        return;
                ret->rate[0] = be16_get(app + 13);
                ret->rate[1] = be16_get(app + 15);
                ret->msgs[0] = app[17] & 0x3f;
                ret->msgs[1] = app[18] & 0x3f;
        } else {
                if (len < 16)
                        return;
                /* Values past the enum send nothing (the firmware's switch has no case). */
                ret->msgs[0] = app[13] < ELEMENTSOF(enum_to_bits) ? enum_to_bits[app[13]] : 0;
                ret->rate[0] = be16_get(app + 14);
        }
}

/**
 * sim_fw_appconf_set_schedule() - store a schedule in an APPCONF blob
 * @major: firmware major
 * @app: APPCONF blob, modified in place
 * @len: its length
 * @s: schedule
 *
 * Returns 0, or -EINVAL when the blob is too short or (3.x-5.x) the set is
 * not one of the enum's prefixes.
 */
int sim_fw_appconf_set_schedule(unsigned major, uint8_t *app, size_t len, const SimStatusSchedule *s) {
        if (major >= 6) {
                if (len < 19)
                        return -EINVAL;
                be16_put(app + 13, s->rate[0]);
                be16_put(app + 15, s->rate[1]);
                app[17] = s->msgs[0];
                app[18] = s->msgs[1];
                return 0;
        }
        if (len < 16)
                return -EINVAL;
        for (uint8_t e = 0; e <= 5; e++)
                if (s->msgs[0] == (uint8_t) ((1u << e) - 1u)) {
                        app[13] = e;
                        be16_put(app + 14, s->rate[0]);
                        return 0;
                }
        return -EINVAL;
}

/**
 * sim_fw_mcconf_limits() - motor limits from the MCCONF stable prefix
 * @major: firmware major
 * @minor: firmware minor
 * @mc: MCCONF blob
 * @len: its length
 * @ret: limits (defaults where the blob is too short)
 */
void sim_fw_mcconf_limits(unsigned major, unsigned minor, const uint8_t *mc, size_t len, SimMotorLimits *ret) {
        size_t erpm_off = sim_fw_code(major, minor) >= 605 ? 32 : 28;

        *ret = (SimMotorLimits) { 60, -60, 60, -20, -100000, 100000 };
        if (len >= 24) {
                ret->current_max = f32a_from_bits(be32_get(mc + 8));
                ret->current_min = f32a_from_bits(be32_get(mc + 12));
                ret->in_current_max = f32a_from_bits(be32_get(mc + 16));
                ret->in_current_min = f32a_from_bits(be32_get(mc + 20));
        }
        if (len >= erpm_off + 8) {
                ret->erpm_min = f32a_from_bits(be32_get(mc + erpm_off));
                ret->erpm_max = f32a_from_bits(be32_get(mc + erpm_off + 4));
        }
}

/**
 * sim_fw_appconf_timeout_msec() - APPCONF timeout_msec (offset 5)
 * @app: APPCONF blob
 * @len: its length
 *
 * Returns the command timeout in ms, 1000 when the blob is too short.
 */
uint32_t sim_fw_appconf_timeout_msec(const uint8_t *app, size_t len) {
        return len >= 9 ? be32_get(app + 5) : 1000;
}

/* ------------------------------------------------------------ fault limits */

/* HW_LIM_* and MCCONF defaults of the hwconf (release_6_05): hw_60_core.h
 * (VESC 6 Mk1/Mk2 target) and hw_stormcore_100d_core.h. */
static const SimHwInfo hw_table[] = {
        { "60", { 6, 57 }, { 0, 160 }, { -40, 110 }, { 8, 57, 150, 85, 100, 85, 100, 500 } },
        { "STORMCORE_100D", { 6, 94 }, { 0, 150 }, { -40, 120 }, { 8, 92, 150, 85, 100, 85, 100, 500 } },
};

/**
 * sim_fw_hw_info() - bounds and defaults of a hardware target
 * @hw_name: the FW_VERSION hardware name
 *
 * Returns the table row, or the "60" row for other names.  Never NULL.
 */
const SimHwInfo *sim_fw_hw_info(const char *hw_name) {
        for (size_t i = 0; i < ELEMENTSOF(hw_table); i++)
                if (hw_name && strcmp(hw_table[i].hw_name, hw_name) == 0)
                        return &hw_table[i];
        return &hw_table[0];
}

typedef enum FieldEnc {
        ENC_F32A,
        ENC_F16_10,
        ENC_U8,
} FieldEnc;

typedef struct FaultLayout {
        uint16_t abs_current;           /* always f32a */
        uint16_t vin;                   /* min_vin, max_vin follows */
        FieldEnc vin_enc;
        uint16_t temp;                  /* fet start, fet end, motor start, motor end */
        FieldEnc temp_enc;
        uint16_t fault_stop;            /* i32 */
} FaultLayout;

/* Offsets after the command byte (config layouts appendix; 6.00/6.02 from
 * confgenerator.c at release_6_00/6_02, identical to 5.03 up to the
 * temperatures). */
static FaultLayout fault_layout(unsigned major, unsigned minor) {
        unsigned v = sim_fw_code(major, minor);

        if (v < 503)
                return (FaultLayout) { 24, 48, ENC_F32A, 65, ENC_F32A, 351 };
        if (v < 600)
                return (FaultLayout) { 24, 46, ENC_F32A, 63, ENC_F16_10, 412 };
        if (v < 605)
                return (FaultLayout) { 24, 46, ENC_F32A, 63, ENC_F16_10, 393 };
        if (v < 606)
                return (FaultLayout) { 28, 50, ENC_F16_10, 63, ENC_U8, 383 };
        if (v < 700)
                return (FaultLayout) { 28, 50, ENC_F16_10, 63, ENC_U8, 389 };
        return (FaultLayout) { 28, 50, ENC_F16_10, 63, ENC_U8, 394 };
}

static size_t enc_size(FieldEnc e) {
        return e == ENC_F32A ? 4 : e == ENC_F16_10 ? 2 : 1;
}

static void get_field(const uint8_t *mc, size_t len, size_t off, FieldEnc e, float *v) {
        float x;

        if (off + enc_size(e) > len)
                return;
        switch (e) {
        case ENC_F32A:
                x = f32a_from_bits(be32_get(mc + off));
                break;
        case ENC_F16_10:
                x = (float) ((int16_t) be16_get(mc + off) / 10.0);
                break;
        default:
                x = mc[off];
                break;
        }
        if (isfinite(x))
                *v = x;
}

static void put_field(uint8_t *mc, size_t len, size_t off, FieldEnc e, float v) {
        if (off + enc_size(e) > len)
                return;
        switch (e) {
        case ENC_F32A:
                be32_put(mc + off, f32a_to_bits(v));
                break;
        case ENC_F16_10:
                be16_put(mc + off, (uint16_t) wire_scale16(v, 10));
                break;
        default:
                mc[off] = (uint8_t) CLAMP(v, 0.0f, 255.0f);
                break;
        }
}

/**
 * sim_fw_mcconf_fault_limits() - the limits the fault checks use
 * @major: firmware major
 * @minor: firmware minor
 * @hw: hardware row (bounds, defaults)
 * @mc: MCCONF blob
 * @len: its length
 * @ret: the limits
 *
 * As the firmware applies an accepted MCCONF: voltage, absolute current
 * and FET temperature are truncated to the hardware's bounds.
 */
void sim_fw_mcconf_fault_limits(unsigned major, unsigned minor, const SimHwInfo *hw, const uint8_t *mc, size_t len,
                                SimFaultLimits *ret) {
        FaultLayout l = fault_layout(major, minor);
        size_t t = enc_size(l.temp_enc), vs = enc_size(l.vin_enc);

        *ret = hw->defaults;
        get_field(mc, len, l.abs_current, ENC_F32A, &ret->abs_current_max);
        get_field(mc, len, l.vin, l.vin_enc, &ret->min_vin);
        get_field(mc, len, l.vin + vs, l.vin_enc, &ret->max_vin);
        get_field(mc, len, l.temp, l.temp_enc, &ret->temp_fet_start);
        get_field(mc, len, l.temp + t, l.temp_enc, &ret->temp_fet_end);
        get_field(mc, len, l.temp + 2 * t, l.temp_enc, &ret->temp_motor_start);
        get_field(mc, len, l.temp + 3 * t, l.temp_enc, &ret->temp_motor_end);
        if (l.fault_stop + 4u <= len)
                ret->fault_stop_time_ms = (int32_t) be32_get(mc + l.fault_stop);

        ret->min_vin = CLAMP(ret->min_vin, hw->vin_lim[0], hw->vin_lim[1]);
        ret->max_vin = CLAMP(ret->max_vin, hw->vin_lim[0], hw->vin_lim[1]);
        ret->abs_current_max = CLAMP(ret->abs_current_max, hw->abs_current_lim[0], hw->abs_current_lim[1]);
        ret->temp_fet_start = CLAMP(ret->temp_fet_start, hw->temp_fet_lim[0], hw->temp_fet_lim[1]);
        ret->temp_fet_end = CLAMP(ret->temp_fet_end, hw->temp_fet_lim[0], hw->temp_fet_lim[1]);
}

/**
 * sim_fw_mcconf_set_fault_limits() - store fault limits in an MCCONF blob
 * @major: firmware major
 * @minor: firmware minor
 * @mc: MCCONF blob, modified in place
 * @len: its length
 * @l: the limits
 */
void sim_fw_mcconf_set_fault_limits(unsigned major, unsigned minor, uint8_t *mc, size_t len, const SimFaultLimits *l) {
        FaultLayout f = fault_layout(major, minor);
        size_t t = enc_size(f.temp_enc), vs = enc_size(f.vin_enc);

        put_field(mc, len, f.abs_current, ENC_F32A, l->abs_current_max);
        put_field(mc, len, f.vin, f.vin_enc, l->min_vin);
        put_field(mc, len, f.vin + vs, f.vin_enc, l->max_vin);
        put_field(mc, len, f.temp, f.temp_enc, l->temp_fet_start);
        put_field(mc, len, f.temp + t, f.temp_enc, l->temp_fet_end);
        put_field(mc, len, f.temp + 2 * t, f.temp_enc, l->temp_motor_start);
        put_field(mc, len, f.temp + 3 * t, f.temp_enc, l->temp_motor_end);
        if (f.fault_stop + 4u <= len)
                be32_put(mc + f.fault_stop, (uint32_t) l->fault_stop_time_ms);
}
