/* Unit tests for daemon/core/config-layout.c: configuration by name.
 *
 * Signatures, sizes, offsets and encodings below are copied by hand from the
 * layout notes (vesc-protocol.md §13.1/§13.2, vesc-config-layouts.md); the
 * expected bytes are worked out by hand from §0.2, never with the code under
 * test. */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/config-layout.h"
#include "macro.h"
#include "test-util.h"

#define BLOB_MAX 512

typedef struct Expect {
        ConfigWhich which;
        const char *version;
        uint32_t signature;
        uint16_t size;
} Expect;

/* §13.2 signatures, §13.1 / the notes' "total bytes" rows. */
static const Expect expects[] = {
        { CONFIG_MCCONF, "3.58", 503309878u, 403 },
        { CONFIG_MCCONF, "5.03", 2525666056u, 484 },
        { CONFIG_MCCONF, "6.05", 1065524471u, 477 },
        { CONFIG_MCCONF, "6.06", 788332866u, 483 },
        { CONFIG_MCCONF, "7.00", 1470992211u, 488 },
        { CONFIG_APPCONF, "3.58", 1962523771u, 170 },
        { CONFIG_APPCONF, "5.03", 3733512279u, 476 },
        { CONFIG_APPCONF, "6.05", 2099347128u, 278 },
        { CONFIG_APPCONF, "6.06", 2099347128u, 278 },
        { CONFIG_APPCONF, "7.00", 2384027283u, 284 },
};

static const ConfigLayout *layout(ConfigWhich w, const char *version) {
        const ConfigLayout *l = config_layout_by_version(w, version);
        assert_non_null(l);
        return l;
}

static const ConfigParam *param(const ConfigLayout *l, const char *name) {
        const ConfigParam *p = config_layout_param(l, name);
        if (!p)
                fail_msg("%s %s: no parameter %s", l->version, config_which_to_string(l->which), name);
        return p;
}

static size_t make_default(const ConfigLayout *l, uint8_t *blob) {
        int r = config_layout_default(l, blob, BLOB_MAX);
        assert_int_equal(r, l->size);
        return (size_t) r;
}

static double get_number(const ConfigLayout *l, const uint8_t *blob, size_t len, const char *name) {
        ConfigValue v;
        assert_int_equal(config_param_get(param(l, name), blob, len, &v), 0);
        return v.number;
}

static const char *get_label(const ConfigLayout *l, const uint8_t *blob, size_t len, const char *name) {
        ConfigValue v;
        assert_int_equal(config_param_get(param(l, name), blob, len, &v), 0);
        return v.label;
}

static void set_number(const ConfigLayout *l, uint8_t *blob, size_t len, const char *name, double x) {
        int r = config_layout_set(l, blob, len, name, x);
        if (r != 0)
                fail_msg("set %s %s = %g: %d", l->version, name, x, r);
}

static void set_label(const ConfigLayout *l, uint8_t *blob, size_t len, const char *name, const char *label) {
        int r = config_layout_set_label(l, blob, len, name, label);
        if (r != 0)
                fail_msg("set %s %s = %s: %d", l->version, name, label, r);
}

static bool in_list(const char *const *list, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(list[i], name) == 0)
                        return true;
        return false;
}

/* ------------------------------------------------------------ table */

static void test_layouts_by_signature(void **state) {
        (void) state;
        assert_int_equal(config_layouts_count, ELEMENTSOF(expects));
        for (size_t i = 0; i < ELEMENTSOF(expects); i++) {
                const Expect *e = &expects[i];
                const ConfigLayout *l = layout(e->which, e->version);
                const ConfigLayout *f = config_layout_find(e->which, e->signature);

                assert_int_equal(l->signature, e->signature);
                assert_int_equal(l->size, e->size);
                assert_non_null(f);
                assert_int_equal(f->signature, e->signature);
                /* 6.06's APPCONF is 6.05's (same signature): the older name. */
                if (e->which == CONFIG_APPCONF && strcmp(e->version, "6.06") == 0)
                        assert_string_equal(f->version, "6.05");
                else
                        assert_ptr_equal(f, l);
        }
        /* 6.00's signatures and a test build's are unknown. */
        assert_null(config_layout_find(CONFIG_MCCONF, 776184161u));
        assert_null(config_layout_find(CONFIG_APPCONF, 486554156u));
        /* Signatures are per configuration: an MCCONF one is no APPCONF. */
        assert_null(config_layout_find(CONFIG_APPCONF, 2525666056u));
        assert_null(config_layout_by_version(CONFIG_MCCONF, "6.00"));
        assert_int_equal(config_which_from_string("appconf"), CONFIG_APPCONF);
        assert_int_equal(config_which_from_string("bogus"), _CONFIG_WHICH_INVALID);
        assert_string_equal(config_which_to_string(CONFIG_MCCONF), "mcconf");

        /* 5.03 MCCONF starts 96 8A 9B 08 (2525666056). */
        const uint8_t head[] = { 0x96, 0x8A, 0x9B, 0x08 };
        assert_ptr_equal(config_layout_of_blob(CONFIG_MCCONF, head, 4), layout(CONFIG_MCCONF, "5.03"));
        assert_null(config_layout_of_blob(CONFIG_MCCONF, head, 3));
}

/* Parameters tile the blob: offsets strictly increase, each starts where the
 * previous ends, the last ends at the size. */
static void test_layouts_contiguous(void **state) {
        (void) state;
        for (size_t i = 0; i < config_layouts_count; i++) {
                const ConfigLayout *l = &config_layouts[i];
                unsigned end = 4;

                for (size_t j = 0; j < l->n_params; j++) {
                        const ConfigParam *p = &l->params[j];
                        unsigned w = p->enc <= CONFIG_ENC_I8 ? 1 :
                                     (p->enc <= CONFIG_ENC_I16 || p->enc == CONFIG_ENC_F16) ? 2 : 4;
                        if (p->offset != end)
                                fail_msg("%s %s: %s at %u, expected %u", l->version,
                                         config_which_to_string(l->which), p->name, p->offset, end);
                        end += w;
                        assert_true(p->min <= p->def && p->def <= p->max);
                        if (p->kind == CONFIG_KIND_ENUM)
                                assert_true(p->n_labels > 0 && p->max == p->n_labels - 1);
                }
                assert_int_equal(end, l->size);
        }
}

typedef struct Where {
        ConfigWhich which;
        const char *version, *name;
        uint16_t offset;
        ConfigEnc enc;
        double scale;
} Where;

/* Spot checks against the notes' tables. */
static const Where wheres[] = {
        { CONFIG_MCCONF, "3.58", "l_erpm_start", 36, CONFIG_ENC_F32A, 1 },
        { CONFIG_MCCONF, "5.03", "l_erpm_start", 36, CONFIG_ENC_F16, 10000 },
        { CONFIG_MCCONF, "6.05", "l_in_current_map_start", 24, CONFIG_ENC_F16, 10000 },
        { CONFIG_MCCONF, "6.05", "l_temp_fet_start", 63, CONFIG_ENC_U8, 1 },
        { CONFIG_MCCONF, "3.58", "hall_table__0", 137, CONFIG_ENC_I8, 1 },   /* read back signed */
        { CONFIG_MCCONF, "5.03", "foc_hall_table__7", 244, CONFIG_ENC_U8, 1 },
        { CONFIG_MCCONF, "5.03", "gpd_buffer_notify_left", 328, CONFIG_ENC_I16, 1 },
        { CONFIG_MCCONF, "6.05", "m_ntcx_ptcx_res", 435, CONFIG_ENC_F16, 0.1 },
        { CONFIG_MCCONF, "7.00", "foc_fw_backoff", 321, CONFIG_ENC_F16, 1000 },
        { CONFIG_MCCONF, "7.00", "m_fault_stop_time_ms", 394, CONFIG_ENC_I32, 1 },
        { CONFIG_MCCONF, "7.00", "bms.fwd_can_mode", 487, CONFIG_ENC_U8, 1 },
        { CONFIG_APPCONF, "3.58", "app_nrf_conf.send_crc_ack", 169, CONFIG_ENC_U8, 1 },
        { CONFIG_APPCONF, "5.03", "app_nrf_conf.retries", 191, CONFIG_ENC_I8, 1 },
        { CONFIG_APPCONF, "6.06", "can_status_rate_2", 15, CONFIG_ENC_U16, 1 },
        { CONFIG_APPCONF, "7.00", "app_uart_baudrate", 139, CONFIG_ENC_U32, 1 },
        { CONFIG_APPCONF, "7.00", "imu_conf.gyro_offsets__2", 280, CONFIG_ENC_F32A, 1 },
};

static void test_layouts_spot_checks(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(wheres); i++) {
                const Where *w = &wheres[i];
                const ConfigParam *p = param(layout(w->which, w->version), w->name);
                assert_int_equal(p->offset, w->offset);
                assert_int_equal(p->enc, w->enc);
                assert_true(p->scale == w->scale);
        }
        /* Present in one release only. */
        assert_null(config_layout_param(layout(CONFIG_MCCONF, "5.03"), "foc_f_sw"));
        assert_non_null(config_layout_param(layout(CONFIG_MCCONF, "3.58"), "foc_f_sw"));
        /* VESC Tool's 3.58 description has it; firmware 3.58 does not. */
        assert_null(config_layout_param(layout(CONFIG_APPCONF, "3.58"), "app_ppm_conf.max_erpm_for_dir"));
        /* Facts: unit, range, default, labels (VESC Tool). */
        const ConfigParam *p = param(layout(CONFIG_MCCONF, "5.03"), "l_current_max");
        assert_string_equal(p->unit, "A");
        assert_true(p->min == 0 && p->max == 1000 && p->def == 60);
        p = param(layout(CONFIG_MCCONF, "6.05"), "motor_type");
        assert_int_equal(p->kind, CONFIG_KIND_ENUM);
        assert_int_equal(p->n_labels, 3);       /* GPD removed in 6.05 (§13.3) */
        assert_string_equal(config_param_label(p, 2), "FOC");
        p = param(layout(CONFIG_MCCONF, "5.03"), "foc_motor_r");
        assert_string_equal(p->unit, "Ω");     /* VESC Tool shows mΩ, x1000 */
        assert_string_equal(p->vt_unit, "mΩ");
        assert_true(p->vt_scale == 1000);
}

/* ------------------------------------------------------------ encodings */

static void test_encodings_by_hand(void **state) {
        const ConfigLayout *l = layout(CONFIG_MCCONF, "6.05");
        const ConfigLayout *l503 = layout(CONFIG_MCCONF, "5.03");
        const ConfigLayout *a = layout(CONFIG_APPCONF, "7.00");
        uint8_t b[BLOB_MAX], c[BLOB_MAX];
        size_t n = make_default(l, b), n503 = make_default(l503, c);
        (void) state;

        /* Signature, big-endian: 1065524471 = 0x3F829CF7. */
        assert_bytes("signature", b, 4, ((const uint8_t[]) { 0x3F, 0x82, 0x9C, 0xF7 }), 4);
        /* f32a 60.0 = 0x42700000 at offset 8. */
        assert_bytes("l_current_max", b + 8, 4, ((const uint8_t[]) { 0x42, 0x70, 0x00, 0x00 }), 4);

        /* f16(10000): 0.95 -> 9500 = 0x251C. */
        set_number(l, b, n, "l_max_duty", 0.95);
        assert_bytes("l_max_duty", b + 71, 2, ((const uint8_t[]) { 0x25, 0x1C }), 2);
        assert_true(get_number(l, b, n, "l_max_duty") == 0.95);
        /* f16(10): 10.26 -> 102.6 truncated -> 102 = 0x0066, reads 10.2. */
        set_number(l, b, n, "l_min_vin", 10.26);
        assert_bytes("l_min_vin", b + 50, 2, ((const uint8_t[]) { 0x00, 0x66 }), 2);
        assert_true(get_number(l, b, n, "l_min_vin") == 10.2);
        /* f16(10000): 0.25 -> 2500 = 0x09C4. */
        set_number(l, b, n, "l_current_min_scale", 0.25);
        assert_bytes("l_current_min_scale", b + 83, 2, ((const uint8_t[]) { 0x09, 0xC4 }), 2);
        /* f16(0.1): 10000 ohm -> 1000 = 0x03E8. */
        set_number(l, b, n, "m_ntcx_ptcx_res", 10000);
        assert_bytes("m_ntcx_ptcx_res", b + 435, 2, ((const uint8_t[]) { 0x03, 0xE8 }), 2);
        /* i8: hall_table__0 = -1 -> FF, read back -1. */
        set_number(l, b, n, "hall_table__0", -1);
        assert_int_equal(b[111], 0xFF);
        assert_true(get_number(l, b, n, "hall_table__0") == -1);
        /* u8 temperature 85 at 63. */
        set_number(l, b, n, "l_temp_fet_start", 85);
        assert_int_equal(b[63], 85);
        /* i32: m_fault_stop_time_ms 500 = 0x000001F4 at 383. */
        set_number(l, b, n, "m_fault_stop_time_ms", 500);
        assert_bytes("m_fault_stop_time_ms", b + 383, 4, ((const uint8_t[]) { 0, 0, 0x01, 0xF4 }), 4);
        /* u32: m_encoder_counts 8192 = 0x2000 at 393. */
        set_number(l, b, n, "m_encoder_counts", 8192);
        assert_bytes("m_encoder_counts", b + 393, 4, ((const uint8_t[]) { 0, 0, 0x20, 0x00 }), 4);
        /* f32a: foc_motor_r 0.0123 is the float 0.0123f = 0x3C4985F0. */
        set_number(l, b, n, "foc_motor_r", 0.0123);
        assert_bytes("foc_motor_r", b + 165, 4, ((const uint8_t[]) { 0x3C, 0x49, 0x85, 0xF0 }), 4);
        assert_true(get_number(l, b, n, "foc_motor_r") == (double) 0.0123f);
        /* enum by label. */
        set_label(l, b, n, "motor_type", "DC");
        assert_int_equal(b[6], 1);
        assert_string_equal(get_label(l, b, n, "motor_type"), "DC");
        /* bool by label. */
        set_label(l, b, n, "m_invert_direction", "true");
        assert_int_equal(b[410], 1);
        /* i16: 5.03 gpd_buffer_notify_left 2000 = 0x07D0 at 328; its range is
         * 0..2048, so a negative value is refused, but a blob holding 0xFFFD
         * reads -3 (signed). */
        set_number(l503, c, n503, "gpd_buffer_notify_left", 2000);
        assert_bytes("gpd_buffer_notify_left", c + 328, 2, ((const uint8_t[]) { 0x07, 0xD0 }), 2);
        assert_int_equal(config_layout_set(l503, c, n503, "gpd_buffer_notify_left", -3), -ERANGE);
        c[328] = 0xFF;
        c[329] = 0xFD;
        assert_true(get_number(l503, c, n503, "gpd_buffer_notify_left") == -3);
        /* u8 read back: foc_hall_table__0 0xFF is 255, not -1. */
        c[237] = 0xFF;
        assert_true(get_number(l503, c, n503, "foc_hall_table__0") == 255);
        /* u16: APPCONF 7.00 can_status_rate_1 50 at 13. */
        uint8_t d[BLOB_MAX];
        size_t m = make_default(a, d);
        set_number(a, d, m, "can_status_rate_1", 50);
        assert_bytes("can_status_rate_1", d + 13, 2, ((const uint8_t[]) { 0x00, 0x32 }), 2);
        /* u8 controller id. */
        set_number(a, d, m, "controller_id", 42);
        assert_int_equal(d[4], 42);
}

/* Per layout: every parameter set to a value of its own (not the default
 * where the range allows), decoded again, equal after the encoding; and
 * decode -> encode gives the same bytes. */
static double probe_value(const ConfigParam *p, unsigned salt) {
        switch (p->kind) {
        case CONFIG_KIND_ENUM:
                if (p->n_labels < 2)
                        return 0;
                return (unsigned) p->def + 1 < p->n_labels ? p->def + 1 : p->def - 1;
        case CONFIG_KIND_BOOL:
                return p->def ? 0 : 1;
        default: {
                double span = p->max - p->min;
                double x = p->min + span * (0.25 + 0.5 * (double) (salt % 7) / 7.0);
                if (p->enc <= CONFIG_ENC_I32)
                        x = floor(x);
                if (p->enc == CONFIG_ENC_F16 || p->enc == CONFIG_ENC_F32) {
                        /* within the encoding */
                        double lim = (p->enc == CONFIG_ENC_F16 ? 32767.0 : 2147483647.0) / p->scale;
                        if (x > lim)
                                x = lim * 0.5;
                        if (x < -lim)
                                x = -lim * 0.5;
                }
                if (p->enc <= CONFIG_ENC_I32) {
                        double lo, hi;
                        switch (p->enc) {
                        case CONFIG_ENC_U8: lo = 0; hi = 255; break;
                        case CONFIG_ENC_I8: lo = -128; hi = 127; break;
                        case CONFIG_ENC_U16: lo = 0; hi = 65535; break;
                        default: lo = -1e9; hi = 1e9; break;
                        }
                        x = fmin(fmax(x, fmax(lo, ceil(p->min))), fmin(hi, floor(p->max)));
                }
                return x;
        }
        }
}

static void test_round_trip_every_layout(void **state) {
        (void) state;
        for (size_t i = 0; i < config_layouts_count; i++) {
                const ConfigLayout *l = &config_layouts[i];
                uint8_t b[BLOB_MAX], c[BLOB_MAX];
                size_t n = make_default(l, b);
                ConfigValue *vals = calloc(l->n_params, sizeof *vals);
                double *want = calloc(l->n_params, sizeof *want);
                assert_non_null(vals);
                assert_non_null(want);

                /* Defaults decode to the table's defaults. */
                assert_int_equal(config_layout_decode(l, b, n, vals), 0);
                for (size_t j = 0; j < l->n_params; j++) {
                        const ConfigParam *p = &l->params[j];
                        ConfigValue d = { .kind = p->kind, .number = p->def };
                        if (!config_values_equal(p, &vals[j], p, &d))
                                fail_msg("%s %s default %g, decoded %g", l->version, p->name, p->def, vals[j].number);
                }

                for (size_t j = 0; j < l->n_params; j++) {
                        const ConfigParam *p = &l->params[j];
                        want[j] = probe_value(p, (unsigned) j);
                        int r = config_param_set(p, b, n, want[j]);
                        if (r != 0)
                                fail_msg("%s %s: set %g: %d", l->version, p->name, want[j], r);
                }
                assert_int_equal(config_layout_decode(l, b, n, vals), 0);
                memset(c, 0, sizeof c);
                c[0] = b[0]; c[1] = b[1]; c[2] = b[2]; c[3] = b[3];
                for (size_t j = 0; j < l->n_params; j++) {
                        const ConfigParam *p = &l->params[j];
                        double got = vals[j].number, exp = want[j];
                        bool ok;
                        if (p->enc == CONFIG_ENC_F32A)
                                ok = got == (double) (float) exp;
                        else if (p->enc == CONFIG_ENC_F16 || p->enc == CONFIG_ENC_F32)
                                ok = fabs(got - exp) < 1.0 / p->scale + 1e-9;
                        else
                                ok = got == exp;
                        if (!ok)
                                fail_msg("%s %s: wrote %.17g, read %.17g", l->version, p->name, exp, got);
                        if (p->kind == CONFIG_KIND_ENUM)
                                assert_string_equal(vals[j].label, config_param_label(p, (unsigned) exp));
                        /* decode -> encode is the identity */
                        assert_int_equal(config_param_set(p, c, n, got), 0);
                }
                assert_bytes(l->version, c, n, b, n);
                free(vals);
                free(want);
        }
}

/* ------------------------------------------------------------ refusals */

static void test_range_refusal(void **state) {
        const ConfigLayout *l = layout(CONFIG_MCCONF, "6.05");
        const ConfigLayout *l503 = layout(CONFIG_MCCONF, "5.03");
        uint8_t b[BLOB_MAX], before[BLOB_MAX], c[BLOB_MAX];
        size_t n = make_default(l, b), n503 = make_default(l503, c);
        (void) state;

        memcpy(before, b, n);
        assert_int_equal(config_layout_set(l, b, n, "l_current_max", 5000.5), -ERANGE);   /* 6.05: max 5000 */
        assert_int_equal(config_layout_set(l, b, n, "l_current_max", -1), -ERANGE);       /* min 0 */
        assert_int_equal(config_layout_set(l, b, n, "l_current_max", NAN), -EINVAL);
        assert_int_equal(config_layout_set(l, b, n, "l_current_max", INFINITY), -EINVAL);
        assert_int_equal(config_layout_set(l, b, n, "motor_type", 3), -ERANGE);           /* BLDC DC FOC */
        assert_int_equal(config_layout_set(l, b, n, "motor_type", 1.5), -EINVAL);
        assert_int_equal(config_layout_set_label(l, b, n, "motor_type", "GPD"), -EINVAL);
        assert_int_equal(config_layout_set(l, b, n, "m_invert_direction", 2), -ERANGE);
        assert_int_equal(config_layout_set_label(l, b, n, "m_invert_direction", "yes"), -EINVAL);
        assert_int_equal(config_layout_set(l, b, n, "hall_table__0", 7), -ERANGE);        /* -1 .. 6 */
        assert_int_equal(config_layout_set(l, b, n, "hall_table__0", -2), -ERANGE);
        assert_int_equal(config_layout_set(l, b, n, "si_battery_cells", 2.5), -EINVAL);
        assert_int_equal(config_layout_set(l, b, n, "no_such_param", 1), -ENOENT);
        assert_int_equal(config_layout_set(l, b, n - 1, "l_current_max", 10), -EBADMSG);
        /* f16(1000) cannot hold more than 32.767 whatever VESC Tool allows. */
        assert_int_equal(config_layout_set(l, b, n, "foc_hfi_gain", 40), -ERANGE);
        assert_int_equal(config_layout_set(l, b, n, "foc_hfi_gain", 30), 0);
        b[257] = before[257];
        b[258] = before[258];
        assert_bytes("blob unchanged by refusals", b, n, before, n);
        /* The same index is fine where the enum has it (5.03 has GPD). */
        assert_int_equal(config_layout_set(l503, c, n503, "motor_type", 3), 0);
        assert_string_equal(get_label(l503, c, n503, "motor_type"), "GPD");
        /* At the bound, after the encoding: a float read back is in range. */
        assert_int_equal(config_layout_set(l, b, n, "l_current_max", 5000), 0);
        assert_int_equal(config_layout_set(l, b, n, "l_current_max", get_number(l, b, n, "l_current_max")), 0);
        /* A blob of another layout is refused. */
        assert_int_equal(config_layout_set(l503, b, n, "l_current_max", 10), -EBADMSG);
}

/* ------------------------------------------------------------ migration */

static void check_partition(const ConfigLayout *from, const ConfigLayout *to, const ConfigMigration *m) {
        /* Every target name is in exactly one of carried/defaulted/kept,
         * every source-only name in dropped. */
        assert_int_equal(m->n_carried + m->n_defaulted + m->n_kept, to->n_params);
        for (size_t i = 0; i < to->n_params; i++) {
                const char *nm = to->params[i].name;
                int k = in_list(m->carried, m->n_carried, nm) + in_list(m->defaulted, m->n_defaulted, nm) +
                        in_list(m->kept, m->n_kept, nm);
                assert_int_equal(k, 1);
        }
        for (size_t i = 0; i < from->n_params; i++) {
                const char *nm = from->params[i].name;
                bool only_src = !config_layout_param(to, nm);
                assert_int_equal(in_list(m->dropped, m->n_dropped, nm), only_src);
        }
}

static void test_migrate_358_to_503(void **state) {
        const ConfigLayout *f = layout(CONFIG_MCCONF, "3.58"), *t = layout(CONFIG_MCCONF, "5.03");
        uint8_t src[BLOB_MAX], dst[BLOB_MAX];
        size_t ns = make_default(f, src), nd = make_default(t, dst);
        ConfigMigration m = {};
        (void) state;

        set_number(f, src, ns, "l_current_max", 47.5);
        set_number(f, src, ns, "l_current_min", -33.25);
        set_number(f, src, ns, "l_in_current_max", 21.7);
        set_label(f, src, ns, "motor_type", "FOC");
        set_label(f, src, ns, "sensor_mode", "Sensored");
        set_number(f, src, ns, "foc_motor_r", 0.0123);
        set_number(f, src, ns, "foc_motor_l", 1.7e-5);
        set_number(f, src, ns, "foc_motor_flux_linkage", 0.00456);
        set_number(f, src, ns, "l_erpm_start", 0.7);          /* f32a -> f16(10000) */
        set_number(f, src, ns, "l_temp_fet_start", 77);       /* f32a -> f16(10) */
        set_number(f, src, ns, "si_battery_cells", 12);
        set_number(f, src, ns, "hall_table__3", 4);
        set_number(f, src, ns, "foc_f_sw", 30000);            /* 3.58 only */

        assert_int_equal(config_migrate(f, src, ns, t, dst, nd, &m), 0);
        check_partition(f, t, &m);
        static const char *const motor[] = {
                "l_current_max", "l_current_min", "l_in_current_max", "motor_type", "sensor_mode",
                "foc_motor_r", "foc_motor_l", "foc_motor_flux_linkage", "l_erpm_start",
                "l_temp_fet_start", "si_battery_cells", "hall_table__3",
        };
        for (size_t i = 0; i < ELEMENTSOF(motor); i++) {
                ConfigValue a, b;
                assert_true(in_list(m.carried, m.n_carried, motor[i]));
                assert_int_equal(config_param_get(param(f, motor[i]), src, ns, &a), 0);
                assert_int_equal(config_param_get(param(t, motor[i]), dst, nd, &b), 0);
                if (!config_values_equal(param(f, motor[i]), &a, param(t, motor[i]), &b))
                        fail_msg("%s: %.9g carried as %.9g", motor[i], a.number, b.number);
        }
        /* By hand: */
        assert_true(get_number(t, dst, nd, "l_current_max") == 47.5);
        assert_string_equal(get_label(t, dst, nd, "motor_type"), "FOC");
        assert_true(get_number(t, dst, nd, "l_erpm_start") == 0.7);
        assert_true(get_number(t, dst, nd, "l_temp_fet_start") == 77);
        assert_true(get_number(t, dst, nd, "foc_motor_r") == (double) 0.0123f);
        /* Only in 3.58 / only in 5.03. */
        assert_true(in_list(m.dropped, m.n_dropped, "foc_f_sw"));
        assert_true(in_list(m.dropped, m.n_dropped, "foc_sl_d_current_duty"));
        assert_true(in_list(m.defaulted, m.n_defaulted, "foc_f_zv"));
        assert_true(in_list(m.defaulted, m.n_defaulted, "foc_motor_ld_lq_diff"));
        assert_true(in_list(m.defaulted, m.n_defaulted, "l_duty_start"));
        /* Signature stays the target's. */
        assert_ptr_equal(config_layout_of_blob(CONFIG_MCCONF, dst, nd), t);
        config_migration_done(&m);
}

static void test_migrate_503_to_605(void **state) {
        const ConfigLayout *f = layout(CONFIG_MCCONF, "5.03"), *t = layout(CONFIG_MCCONF, "6.05");
        uint8_t src[BLOB_MAX], dst[BLOB_MAX];
        size_t ns = make_default(f, src), nd = make_default(t, dst);
        ConfigMigration m = {};
        (void) state;

        set_number(f, src, ns, "l_current_max", 88);
        set_label(f, src, ns, "motor_type", "FOC");
        set_label(f, src, ns, "foc_sensor_mode", "HFI");
        set_number(f, src, ns, "foc_motor_r", 0.031);
        set_number(f, src, ns, "foc_motor_flux_linkage", 0.0123);
        set_number(f, src, ns, "l_min_vin", 33.3);            /* f32a -> f16(10): 333 */
        set_number(f, src, ns, "l_temp_fet_start", 85.5);     /* f16(10) -> u8: 85 */
        set_number(f, src, ns, "foc_hfi_voltage_start", 21.25); /* f32a -> f16(10): 212 = 21.2 */
        set_number(f, src, ns, "s_pid_kd_filter", 0.2);

        assert_int_equal(config_migrate(f, src, ns, t, dst, nd, &m), 0);
        check_partition(f, t, &m);
        assert_true(get_number(t, dst, nd, "l_current_max") == 88);
        assert_string_equal(get_label(t, dst, nd, "motor_type"), "FOC");
        assert_string_equal(get_label(t, dst, nd, "foc_sensor_mode"), "HFI");
        assert_true(get_number(t, dst, nd, "foc_motor_r") == (double) 0.031f);
        assert_true(get_number(t, dst, nd, "l_min_vin") == 33.3);
        assert_true(get_number(t, dst, nd, "l_temp_fet_start") == 85);
        assert_true(get_number(t, dst, nd, "foc_hfi_voltage_start") == 21.2);
        for (size_t i = 0; i < t->n_params; i++) {
                const ConfigParam *q = &t->params[i];
                const ConfigParam *p = config_layout_param(f, q->name);
                ConfigValue a, b;
                if (!in_list(m.carried, m.n_carried, q->name))
                        continue;
                assert_non_null(p);
                assert_int_equal(config_param_get(p, src, ns, &a), 0);
                assert_int_equal(config_param_get(q, dst, nd, &b), 0);
                if (!config_values_equal(p, &a, q, &b))
                        fail_msg("%s: %.9g carried as %.9g", q->name, a.number, b.number);
        }
        /* 5.03 only: the sin/cos encoder gains; 6.05 only: the HFI gain. */
        assert_true(in_list(m.dropped, m.n_dropped, "foc_encoder_sin_gain"));
        assert_true(in_list(m.defaulted, m.n_defaulted, "foc_hfi_gain"));
        config_migration_done(&m);
}

static void test_migrate_appconf(void **state) {
        const ConfigLayout *f = layout(CONFIG_APPCONF, "5.03"), *t = layout(CONFIG_APPCONF, "6.05");
        uint8_t src[BLOB_MAX], dst[BLOB_MAX], before[BLOB_MAX];
        size_t ns = make_default(f, src), nd = make_default(t, dst);
        ConfigMigration m = {};
        (void) state;

        set_number(f, src, ns, "controller_id", 42);
        set_number(t, dst, nd, "controller_id", 7);
        set_number(f, src, ns, "timeout_msec", 2500);
        set_label(f, src, ns, "app_to_use", "PAS");            /* 5.03 index 10, 6.05 index 9 */
        set_label(f, src, ns, "can_baud_rate", "CAN_BAUD_1M");
        memcpy(before, dst, nd);
        assert_int_equal(config_migrate(f, src, ns, t, dst, nd, &m), 0);
        check_partition(f, t, &m);
        /* controller_id is never carried. */
        assert_int_equal(dst[4], 7);
        assert_true(in_list(m.kept, m.n_kept, "controller_id"));
        assert_false(in_list(m.carried, m.n_carried, "controller_id"));
        assert_true(get_number(t, dst, nd, "timeout_msec") == 2500);
        assert_string_equal(get_label(t, dst, nd, "app_to_use"), "PAS");
        assert_int_equal(dst[param(t, "app_to_use")->offset], 9);
        assert_string_equal(get_label(t, dst, nd, "can_baud_rate"), "CAN_BAUD_1M");
        assert_true(in_list(m.dropped, m.n_dropped, "send_can_status"));
        assert_true(in_list(m.dropped, m.n_dropped, "app_balance_conf.kp"));
        assert_true(in_list(m.defaulted, m.n_defaulted, "can_status_rate_1"));
        config_migration_done(&m);

        /* A label the target lacks is defaulted, not carried by index. */
        set_label(f, src, ns, "app_to_use", "Balance");        /* 5.03 index 9 */
        memcpy(dst, before, nd);
        assert_int_equal(config_migrate(f, src, ns, t, dst, nd, &m), 0);
        assert_true(in_list(m.defaulted, m.n_defaulted, "app_to_use"));
        assert_int_equal(dst[param(t, "app_to_use")->offset], before[param(t, "app_to_use")->offset]);
        config_migration_done(&m);

        /* Bad blobs: nothing written. */
        memcpy(dst, before, nd);
        assert_int_equal(config_migrate(f, src, ns - 1, t, dst, nd, &m), -EBADMSG);
        assert_int_equal(config_migrate(t, src, ns, t, dst, nd, &m), -EBADMSG);
        assert_bytes("dst untouched", dst, nd, before, nd);
}

/* ------------------------------------------------------------ diff */

static void test_diff(void **state) {
        const ConfigLayout *f = layout(CONFIG_MCCONF, "3.58"), *t = layout(CONFIG_MCCONF, "5.03");
        uint8_t a[BLOB_MAX], b[BLOB_MAX], c[BLOB_MAX];
        size_t na = make_default(f, a), nb = make_default(t, b);
        ConfigMigration m = {};
        ConfigDiff d = {};
        (void) state;

        /* A blob against itself: nothing. */
        assert_int_equal(config_diff(t, b, nb, t, b, nb, true, &d), 0);
        config_diff_done(&d);

        /* Same layout, two changes. */
        memcpy(c, b, nb);
        set_number(t, c, nb, "l_current_max", 55);
        set_label(t, c, nb, "motor_type", "BLDC");
        assert_int_equal(config_diff(t, b, nb, t, c, nb, false, &d), 2);
        assert_string_equal(d.entries[0].name, "motor_type");   /* serialization order */
        assert_string_equal(d.entries[0].value_a.label, "FOC");
        assert_string_equal(d.entries[0].value_b.label, "BLDC");
        assert_string_equal(d.entries[1].name, "l_current_max");
        assert_true(d.entries[1].value_a.number == 60 && d.entries[1].value_b.number == 55);
        assert_string_equal(d.entries[1].unit, "A");
        config_diff_done(&d);

        /* Across layouts after a migration: only the names one side lacks,
         * and those that could not be carried, differ. */
        set_number(f, a, na, "l_current_max", 47.5);
        set_number(f, a, na, "l_temp_fet_start", 77);
        assert_int_equal(config_migrate(f, a, na, t, b, nb, &m), 0);
        int r = config_diff(f, a, na, t, b, nb, false, &d);
        assert_true(r >= 0);
        for (size_t i = 0; i < d.n_entries; i++)
                if (in_list(m.carried, m.n_carried, d.entries[i].name))
                        fail_msg("%s carried but differs", d.entries[i].name);
        config_diff_done(&d);
        /* With names only on one side: foc_f_sw (a only), foc_f_zv (b only). */
        r = config_diff(f, a, na, t, b, nb, true, &d);
        assert_true(r >= (int) (m.n_dropped + 1));
        bool seen_a = false, seen_b = false;
        for (size_t i = 0; i < d.n_entries; i++) {
                if (strcmp(d.entries[i].name, "foc_f_sw") == 0) {
                        seen_a = true;
                        assert_non_null(d.entries[i].a);
                        assert_null(d.entries[i].b);
                }
                if (strcmp(d.entries[i].name, "foc_f_zv") == 0) {
                        seen_b = true;
                        assert_null(d.entries[i].a);
                        assert_non_null(d.entries[i].b);
                        assert_string_equal(d.entries[i].unit, "Hz");
                }
        }
        assert_true(seen_a && seen_b);
        config_diff_done(&d);
        config_migration_done(&m);

        /* Equal after the encoding: 3.58 f32a 77.04 vs 5.03 f16(10) 77.0. */
        set_number(f, a, na, "l_temp_fet_start", 77.04);
        assert_true(config_diff(f, a, na, t, b, nb, false, &d) >= 0);
        for (size_t i = 0; i < d.n_entries; i++)
                assert_string_not_equal(d.entries[i].name, "l_temp_fet_start");
        config_diff_done(&d);

        assert_int_equal(config_diff(f, a, na - 1, t, b, nb, false, &d), -EBADMSG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_layouts_by_signature),
                cmocka_unit_test(test_layouts_contiguous),
                cmocka_unit_test(test_layouts_spot_checks),
                cmocka_unit_test(test_encodings_by_hand),
                cmocka_unit_test(test_round_trip_every_layout),
                cmocka_unit_test(test_range_refusal),
                cmocka_unit_test(test_migrate_358_to_503),
                cmocka_unit_test(test_migrate_503_to_605),
                cmocka_unit_test(test_migrate_appconf),
                cmocka_unit_test(test_diff),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
