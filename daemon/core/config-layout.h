/* Configuration by name: the serialized MCCONF/APPCONF layouts of the VESC
 * firmware releases vescd knows (3.58, 5.03, 6.05, 6.06, 7.00), compiled in
 * from config-layouts.tsv, and what can be done with a blob once its layout
 * is known: read and write parameters by name (range-checked), compare two
 * blobs by name, carry a configuration into another release's layout, build
 * a layout's default blob.
 *
 * Pure: no I/O, no clock, no sd-bus/libevent/jansson.  Values are doubles
 * (exact for every encoding: i32/u32 and f32a fit a double); enum values
 * carry their index and label.  Blobs are what follows the command byte of
 * COMM_GET_MCCONF/APPCONF (spec §13.1): signature first. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ConfigWhich {
        CONFIG_MCCONF = 0,
        CONFIG_APPCONF = 1,
        _CONFIG_WHICH_MAX,
        _CONFIG_WHICH_INVALID = -EINVAL,
} ConfigWhich;

const char *config_which_to_string(ConfigWhich w);     /* "mcconf" / "appconf" */
ConfigWhich config_which_from_string(const char *s);   /* or _CONFIG_WHICH_INVALID */

/* Wire encodings (spec §0.2).  F16/F32 hold value x scale, truncated. */
typedef enum ConfigEnc {
        CONFIG_ENC_U8,
        CONFIG_ENC_I8,
        CONFIG_ENC_U16,
        CONFIG_ENC_I16,
        CONFIG_ENC_U32,
        CONFIG_ENC_I32,
        CONFIG_ENC_F16,
        CONFIG_ENC_F32,
        CONFIG_ENC_F32A,
        _CONFIG_ENC_MAX,
} ConfigEnc;

typedef enum ConfigKind {
        CONFIG_KIND_DOUBLE,
        CONFIG_KIND_INT,
        CONFIG_KIND_ENUM,
        CONFIG_KIND_BOOL,
        CONFIG_KIND_BITFIELD,
        CONFIG_KIND_SIGNATURE,  /* offset 0 only; never in ConfigLayout.params */
        _CONFIG_KIND_MAX,
} ConfigKind;

const char *config_kind_to_string(ConfigKind k);       /* "double", "int", "enum", … */

#define CONFIG_PARAM_NAME_MAX 48         /* with its NUL; the generator refuses longer names */
#define CONFIG_PARAM_UNIT_MAX 16
#define CONFIG_LABEL_MAX 40

/* One parameter of one layout (a row of config-layouts.tsv).  The table holds
 * no pointers: strings are arrays and enum labels an index into one pool, so
 * the ~1500 rows stay in read-only, shared file pages of a PIE binary instead
 * of being relocated into private dirty memory at start (bench-rss). */
typedef struct ConfigParam {
        char name[CONFIG_PARAM_NAME_MAX]; /* VESC Tool's name: l_current_max, hall_table__0, app_ppm_conf.hyst */
        uint16_t offset;                /* after the command byte */
        uint8_t enc;                    /* ConfigEnc */
        uint8_t kind;                   /* ConfigKind */
        char unit[CONFIG_PARAM_UNIT_MAX];     /* of the serialized value; "" = none or a fraction */
        char vt_unit[CONFIG_PARAM_UNIT_MAX];  /* VESC Tool shows value * vt_scale in vt_unit */
        double scale;                   /* F16/F32; 1 otherwise */
        double vt_scale;
        double min, max, def;           /* VESC Tool's range and default */
        uint16_t first_label;           /* enum labels: config_param_label() */
        uint16_t n_labels;
} ConfigParam;

/* Enum label i of p, or NULL when i >= p->n_labels. */
const char *config_param_label(const ConfigParam *p, unsigned i);

typedef struct ConfigLayout {
        const char *version;            /* "5.03" */
        ConfigWhich which;
        uint32_t signature;
        uint16_t size;                  /* serialized size incl. the signature */
        const ConfigParam *params;      /* serialization order, signature excluded */
        size_t n_params;
} ConfigLayout;

/* Every compiled-in layout, MCCONF and APPCONF of each release, by version. */
extern const ConfigLayout config_layouts[];
extern const size_t config_layouts_count;

/* The layout whose signature this is, or NULL.  6.05 and 6.06 share their
 * APPCONF layout: the oldest release with it is returned ("6.05"). */
const ConfigLayout *config_layout_find(ConfigWhich which, uint32_t signature);
/* The layout of blob (its first 4 bytes), NULL if unknown or shorter than 4. */
const ConfigLayout *config_layout_of_blob(ConfigWhich which, const uint8_t *blob, size_t len);
/* The layout of a release by its version string ("5.03"), or NULL. */
const ConfigLayout *config_layout_by_version(ConfigWhich which, const char *version);
/* The parameter of a layout by name, or NULL. */
const ConfigParam *config_layout_param(const ConfigLayout *l, const char *name);

/* A decoded value.  number: the value (DOUBLE, INT, BITFIELD), the index
 * (ENUM) or 0/1 (BOOL).  label: ENUM only, the label of the index or NULL
 * when the index is past the labels. */
typedef struct ConfigValue {
        ConfigKind kind;
        double number;
        const char *label;
} ConfigValue;

/* Read one parameter from a blob of p's layout.  -EBADMSG if the blob is
 * too short for it. */
int config_param_get(const ConfigParam *p, const uint8_t *blob, size_t len, ConfigValue *ret);
/* Read all parameters: ret_values[i] belongs to l->params[i] (room for
 * l->n_params).  -EBADMSG if len != l->size or the signature is not l's. */
int config_layout_decode(const ConfigLayout *l, const uint8_t *blob, size_t len, ConfigValue *ret_values);

/* The raw integer a value is serialized as (F16/F32: as the firmware,
 * (float) value * (float) scale truncated toward zero by the C cast; a
 * product within a few float steps of an integer is taken as that integer,
 * so decode-encode is the identity).  F32A: the float's bit pattern (tiny
 * magnitudes and -0 as 0, as the firmware from 5.03).  -ERANGE if the encoding
 * cannot hold it, -EINVAL if not finite or (integer encodings) not whole. */
int config_param_encode(const ConfigParam *p, double value, uint32_t *ret_raw);
/* Range check without writing: -ERANGE outside [min, max] of the table (an
 * enum index past its labels, a bool other than 0/1) or of the encoding,
 * compared after the encoding; -EINVAL as config_param_encode(). */
int config_param_check(const ConfigParam *p, double value);
/* Write a number (ENUM: the index; BOOL: 0/1) into a blob of p's layout
 * after config_param_check(); the blob is unchanged on error.  -EBADMSG if
 * the blob is too short. */
int config_param_set(const ConfigParam *p, uint8_t *blob, size_t len, double value);
/* ENUM by label (exact match), BOOL by "true"/"false"; -EINVAL otherwise. */
int config_param_set_label(const ConfigParam *p, uint8_t *blob, size_t len, const char *label);
/* By name: -ENOENT if l has no such parameter, else as above.  The blob
 * must be a blob of layout l (-EBADMSG otherwise). */
int config_layout_set(const ConfigLayout *l, uint8_t *blob, size_t len, const char *name, double value);
int config_layout_set_label(const ConfigLayout *l, uint8_t *blob, size_t len, const char *name, const char *label);

/* The default blob of a layout (signature + every table default) into out.
 * Returns l->size, or -ENOBUFS if out_len is smaller. */
int config_layout_default(const ConfigLayout *l, uint8_t *out, size_t out_len);

/* Two values of the same name equal "after the encoding": ENUM by label
 * when both have one (index otherwise); numbers when the value of either
 * side, serialized in the other side's encoding, gives the other side's
 * raw value (into an integer encoding truncated toward zero, as the
 * firmware's cast: 5.03's f16(10) 85.5 equals 6.05's u8 85). */
bool config_values_equal(const ConfigParam *pa, const ConfigValue *a, const ConfigParam *pb, const ConfigValue *b);

/* One difference between two blobs.  a/b NULL: the name is absent from
 * that side's layout (its value is then unset). */
typedef struct ConfigDiffEntry {
        const char *name;
        const ConfigParam *a, *b;
        ConfigValue value_a, value_b;
        const char *unit;               /* of b if present, else of a */
} ConfigDiffEntry;

typedef struct ConfigDiff {
        ConfigDiffEntry *entries;       /* a's order, then names only in b */
        size_t n_entries;
} ConfigDiff;

/* Compare blob a (layout la) with blob b (layout lb) by name.  Names only
 * in one layout are reported when include_missing is true.  Returns the
 * number of entries (>= 0); -EBADMSG if a blob does not match its layout,
 * -ENOMEM.  Free with config_diff_done(). */
int config_diff(const ConfigLayout *la, const uint8_t *a, size_t alen,
                const ConfigLayout *lb, const uint8_t *b, size_t blen,
                bool include_missing, ConfigDiff *ret);
void config_diff_done(ConfigDiff *d);

/* The outcome of a migration; arrays of names pointing into the table.
 *   carried:   in both layouts, written into the target
 *   dropped:   only in the source layout
 *   defaulted: only in the target layout, or in both but not representable
 *              there (outside the target's range, enum label unknown there)
 *   kept:      deliberately left as the target blob has it (controller_id) */
typedef struct ConfigMigration {
        const char **carried, **dropped, **defaulted, **kept;
        size_t n_carried, n_dropped, n_defaulted, n_kept;
} ConfigMigration;

/* Carry every parameter present in both layouts from src (layout from) into
 * dst (layout to; normally its default blob, config_layout_default(), or the
 * controller's configuration after the update), written in the target's
 * encoding (enums by label; numbers into integer encodings truncated as
 * config_values_equal() says); controller_id is never carried.  Returns 0; -EBADMSG if a blob
 * does not match its layout, -ENOMEM.  dst is only written on success.
 * Free with config_migration_done(). */
int config_migrate(const ConfigLayout *from, const uint8_t *src, size_t src_len,
                   const ConfigLayout *to, uint8_t *dst, size_t dst_len,
                   ConfigMigration *ret);
void config_migration_done(ConfigMigration *m);
