/* Configuration by name: reading, writing, comparing and migrating
 * serialized MCCONF/APPCONF blobs with the compiled-in layout table
 * (config-layouts.tsv, turned into C at build time).  See config-layout.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/config-layout.h"
#include "core/string-table.h"

static const char *const which_names[_CONFIG_WHICH_MAX] = {
        [CONFIG_MCCONF] = "mcconf",
        [CONFIG_APPCONF] = "appconf",
};

static const char *const kind_names[_CONFIG_KIND_MAX] = {
        [CONFIG_KIND_DOUBLE] = "double",
        [CONFIG_KIND_INT] = "int",
        [CONFIG_KIND_ENUM] = "enum",
        [CONFIG_KIND_BOOL] = "bool",
        [CONFIG_KIND_BITFIELD] = "bitfield",
        [CONFIG_KIND_SIGNATURE] = "signature",
};

DEFINE_STRING_TABLE_LOOKUP(config_which, ConfigWhich, which_names, _CONFIG_WHICH_MAX)

const char *config_kind_to_string(ConfigKind k) {
        return k >= 0 && k < _CONFIG_KIND_MAX ? kind_names[k] : NULL;
}

/* ------------------------------------------------------------ lookup */

const ConfigLayout *config_layout_find(ConfigWhich which, uint32_t signature) {
        for (size_t i = 0; i < config_layouts_count; i++)
                if (config_layouts[i].which == which && config_layouts[i].signature == signature)
                        return &config_layouts[i];
        return NULL;
}

static uint32_t get_be32(const uint8_t *b) {
        return (uint32_t) b[0] << 24 | (uint32_t) b[1] << 16 | (uint32_t) b[2] << 8 | b[3];
}

static void put_be(uint8_t *b, uint32_t v, unsigned width) {
        for (unsigned i = 0; i < width; i++)
                b[i] = (uint8_t) (v >> (8 * (width - 1 - i)));
}

const ConfigLayout *config_layout_of_blob(ConfigWhich which, const uint8_t *blob, size_t len) {
        if (!blob || len < 4)
                return NULL;
        return config_layout_find(which, get_be32(blob));
}

const ConfigLayout *config_layout_by_version(ConfigWhich which, const char *version) {
        for (size_t i = 0; version && i < config_layouts_count; i++)
                if (config_layouts[i].which == which && strcmp(config_layouts[i].version, version) == 0)
                        return &config_layouts[i];
        return NULL;
}

const ConfigParam *config_layout_param(const ConfigLayout *l, const char *name) {
        for (size_t i = 0; l && name && i < l->n_params; i++)
                if (strcmp(l->params[i].name, name) == 0)
                        return &l->params[i];
        return NULL;
}

static bool blob_matches(const ConfigLayout *l, const uint8_t *blob, size_t len) {
        return l && blob && len == l->size && get_be32(blob) == l->signature;
}

/* ------------------------------------------------------------ encodings */

static unsigned enc_width(ConfigEnc e) {
        switch (e) {
        case CONFIG_ENC_U8:
        case CONFIG_ENC_I8:
                return 1;
        case CONFIG_ENC_U16:
        case CONFIG_ENC_I16:
        case CONFIG_ENC_F16:
                return 2;
        default:
                return 4;
        }
}

/* The integer range an encoding holds (F32A: not used). */
static void enc_limits(ConfigEnc e, int64_t *lo, int64_t *hi) {
        switch (e) {
        case CONFIG_ENC_U8:  *lo = 0;          *hi = UINT8_MAX;  break;
        case CONFIG_ENC_I8:  *lo = INT8_MIN;   *hi = INT8_MAX;   break;
        case CONFIG_ENC_U16: *lo = 0;          *hi = UINT16_MAX; break;
        case CONFIG_ENC_I16:
        case CONFIG_ENC_F16: *lo = INT16_MIN;  *hi = INT16_MAX;  break;
        case CONFIG_ENC_U32: *lo = 0;          *hi = UINT32_MAX; break;
        default:             *lo = INT32_MIN;  *hi = INT32_MAX;  break;
        }
}

static float bits_to_float(uint32_t u) {
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
}

static uint32_t float_to_bits(float f) {
        uint32_t u;
        memcpy(&u, &f, sizeof u);
        return u;
}

/* The serialized integer of a value (F32A: the float's bits), unclamped
 * by the table's range. */
static int enc_value(const ConfigParam *p, double value, int64_t *ret) {
        int64_t lo, hi;
        double x;

        if (!isfinite(value))
                return -EINVAL;
        if (p->enc == CONFIG_ENC_F32A) {
                float f;

                if (fabs(value) > 3.4028234663852886e38)
                        return -ERANGE;
                f = (float) value;
                /* As the firmware (5.03+): tiny magnitudes and -0 go out as 0. */
                if (fabsf(f) < 1.5e-38f)
                        f = 0.0f;
                *ret = float_to_bits(f);
                return 0;
        }
        enc_limits(p->enc, &lo, &hi);
        if (p->enc == CONFIG_ENC_F16 || p->enc == CONFIG_ENC_F32) {
                double r;

                /* As the firmware: the float value times the float scale in
                 * float arithmetic, truncated toward zero by the cast (so
                 * 3.58's f32a 0.7f goes out as f16(10000) 7000, not 6999).
                 * A product within a few float steps of an integer is taken
                 * as that integer, which makes decode-encode the identity. */
                if (fabs(value) > 3.4028234663852886e38)
                        return -ERANGE;
                x = (double) ((float) value * (float) p->scale);
                if (!isfinite(x))
                        return -ERANGE;
                r = nearbyint(x);
                x = fabs(x - r) <= fmax(1e-6, fabs(r) * 4.8e-7) ? r : trunc(x);
        } else {
                if (value != floor(value))
                        return -EINVAL;
                x = value;
        }
        if (x < (double) lo || x > (double) hi)
                return -ERANGE;
        *ret = (int64_t) x;
        return 0;
}

int config_param_encode(const ConfigParam *p, double value, uint32_t *ret_raw) {
        int64_t v;
        int r;

        r = enc_value(p, value, &v);
        if (r < 0)
                return r;
        *ret_raw = (uint32_t) v;        /* two's complement for the signed ones */
        return 0;
}

/* The raw integer stored in the blob (signed for signed encodings). */
static int64_t raw_get(const ConfigParam *p, const uint8_t *b) {
        uint32_t u = 0;

        for (unsigned i = 0; i < enc_width(p->enc); i++)
                u = u << 8 | b[i];
        switch (p->enc) {
        case CONFIG_ENC_I8:
                return (int8_t) u;
        case CONFIG_ENC_I16:
        case CONFIG_ENC_F16:
                return (int16_t) u;
        case CONFIG_ENC_I32:
        case CONFIG_ENC_F32:
                return (int32_t) u;
        default:
                return u;
        }
}

static double raw_to_value(const ConfigParam *p, int64_t raw) {
        switch (p->enc) {
        case CONFIG_ENC_F16:
        case CONFIG_ENC_F32:
                return (double) raw / p->scale;
        case CONFIG_ENC_F32A:
                return (double) bits_to_float((uint32_t) raw);
        default:
                return (double) raw;
        }
}

/* The generated table (config-layout-table.c): every enum label, by
 * ConfigParam.first_label + index. */
extern const char config_labels[][CONFIG_LABEL_MAX];

const char *config_param_label(const ConfigParam *p, unsigned i) {
        return i < p->n_labels ? config_labels[p->first_label + i] : NULL;
}

static void make_value(const ConfigParam *p, double number, ConfigValue *ret) {
        *ret = (ConfigValue) { .kind = p->kind, .number = number };
        if (p->kind == CONFIG_KIND_ENUM && number >= 0 && number < p->n_labels)
                ret->label = config_param_label(p, (unsigned) number);
}

int config_param_get(const ConfigParam *p, const uint8_t *blob, size_t len, ConfigValue *ret) {
        if (!p || !blob || (size_t) p->offset + enc_width(p->enc) > len)
                return -EBADMSG;
        make_value(p, raw_to_value(p, raw_get(p, blob + p->offset)), ret);
        return 0;
}

int config_layout_decode(const ConfigLayout *l, const uint8_t *blob, size_t len, ConfigValue *ret_values) {
        if (!blob_matches(l, blob, len))
                return -EBADMSG;
        for (size_t i = 0; i < l->n_params; i++) {
                int r = config_param_get(&l->params[i], blob, len, &ret_values[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ------------------------------------------------------------ writing */

/* A table bound in the encoding's integers, clamped to what it can hold. */
static int64_t bound_raw(const ConfigParam *p, double bound, bool upper) {
        int64_t lo, hi, v;

        enc_limits(p->enc, &lo, &hi);
        if (p->enc != CONFIG_ENC_F16 && p->enc != CONFIG_ENC_F32)
                bound = upper ? floor(bound) : ceil(bound);
        if (enc_value(p, bound, &v) < 0)
                return upper ? hi : lo;
        return v;
}

int config_param_check(const ConfigParam *p, double value) {
        int64_t v;
        int r;

        if (!p || p->kind == CONFIG_KIND_SIGNATURE)
                return -EINVAL;
        r = enc_value(p, value, &v);
        if (r < 0)
                return r;
        switch (p->kind) {
        case CONFIG_KIND_BOOL:
                return value == 0 || value == 1 ? 0 : -ERANGE;
        case CONFIG_KIND_ENUM:
                if (p->n_labels > 0 && (value < 0 || value >= p->n_labels))
                        return -ERANGE;
                break;
        default:
                break;
        }
        if (p->enc == CONFIG_ENC_F32A) {
                float f = bits_to_float((uint32_t) v);
                if (f < (float) p->min || f > (float) p->max)
                        return -ERANGE;
                return 0;
        }
        if (v < bound_raw(p, p->min, false) || v > bound_raw(p, p->max, true))
                return -ERANGE;
        return 0;
}

static void raw_put(const ConfigParam *p, uint8_t *blob, int64_t v) {
        put_be(blob + p->offset, (uint32_t) v, enc_width(p->enc));
}

int config_param_set(const ConfigParam *p, uint8_t *blob, size_t len, double value) {
        int64_t v;
        int r;

        if (!p || !blob || (size_t) p->offset + enc_width(p->enc) > len)
                return -EBADMSG;
        r = config_param_check(p, value);
        if (r < 0)
                return r;
        r = enc_value(p, value, &v);
        if (r < 0)
                return r;
        raw_put(p, blob, v);
        return 0;
}

static int label_index(const ConfigParam *p, const char *label) {
        for (unsigned i = 0; label && i < p->n_labels; i++)
                if (strcmp(config_param_label(p, i), label) == 0)
                        return (int) i;
        return -ENOENT;
}

int config_param_set_label(const ConfigParam *p, uint8_t *blob, size_t len, const char *label) {
        int i;

        if (!p || !label)
                return -EINVAL;
        if (p->kind == CONFIG_KIND_BOOL) {
                if (strcmp(label, "true") == 0)
                        return config_param_set(p, blob, len, 1);
                if (strcmp(label, "false") == 0)
                        return config_param_set(p, blob, len, 0);
                return -EINVAL;
        }
        if (p->kind != CONFIG_KIND_ENUM)
                return -EINVAL;
        i = label_index(p, label);
        if (i < 0)
                return -EINVAL;
        return config_param_set(p, blob, len, i);
}

/* The parameter @name of @l, for a write into @blob: -EBADMSG when the blob
 * is not of @l, -ENOENT when @l has no such parameter. */
static int param_to_write(const ConfigLayout *l, const uint8_t *blob, size_t len, const char *name,
                          const ConfigParam **ret) {
        if (!blob_matches(l, blob, len))
                return -EBADMSG;
        *ret = config_layout_param(l, name);
        return *ret ? 0 : -ENOENT;
}

int config_layout_set(const ConfigLayout *l, uint8_t *blob, size_t len, const char *name, double value) {
        const ConfigParam *p;
        int r = param_to_write(l, blob, len, name, &p);

        return r < 0 ? r : config_param_set(p, blob, len, value);
}

int config_layout_set_label(const ConfigLayout *l, uint8_t *blob, size_t len, const char *name, const char *label) {
        const ConfigParam *p;
        int r = param_to_write(l, blob, len, name, &p);

        return r < 0 ? r : config_param_set_label(p, blob, len, label);
}

int config_layout_default(const ConfigLayout *l, uint8_t *out, size_t out_len) {
        if (!l || !out)
                return -EINVAL;
        if (out_len < l->size)
                return -ENOBUFS;
        memset(out, 0, l->size);
        put_be(out, l->signature, 4);
        for (size_t i = 0; i < l->n_params; i++) {
                const ConfigParam *p = &l->params[i];
                int64_t v;

                /* The table's defaults are in range (the generator checks
                 * them); a default the encoding cannot hold stays 0. */
                if (enc_value(p, p->def, &v) == 0)
                        raw_put(p, out, v);
        }
        return l->size;
}

/* ------------------------------------------------------------ comparing */

static bool enc_is_integer(ConfigEnc e) {
        return e != CONFIG_ENC_F16 && e != CONFIG_ENC_F32 && e != CONFIG_ENC_F32A;
}

/* A value as an integer encoding of p takes it from a number of another
 * layout: truncated toward zero, as the firmware's C cast (e.g. 5.03's
 * l_temp_fet_start f16(10) 85.5 is 6.05's u8 85). */
static double cast_for(const ConfigParam *p, double value) {
        double r;

        if (!enc_is_integer(p->enc) || !isfinite(value))
                return value;
        r = nearbyint(value);
        return fabs(value - r) < 1e-6 ? r : trunc(value);
}

/* value and other give the same raw value in p's encoding. */
static bool same_raw(const ConfigParam *p, double value, double other) {
        int64_t a, b;

        if (enc_value(p, cast_for(p, value), &a) < 0 || enc_value(p, cast_for(p, other), &b) < 0)
                return false;
        return a == b;
}

bool config_values_equal(const ConfigParam *pa, const ConfigValue *a, const ConfigParam *pb, const ConfigValue *b) {
        if (a->label && b->label)
                return strcmp(a->label, b->label) == 0;
        if (a->number == b->number || (isnan(a->number) && isnan(b->number)))
                return true;
        /* a's value in b's encoding gives b's raw value, or the reverse. */
        return same_raw(pb, a->number, b->number) || same_raw(pa, b->number, a->number);
}

static int diff_add(ConfigDiff *d, size_t *cap, const ConfigDiffEntry *e) {
        if (d->n_entries == *cap) {
                size_t n = *cap ? *cap * 2 : 32;
                ConfigDiffEntry *x = realloc(d->entries, n * sizeof *x);
                if (!x)
                        return -ENOMEM;
                d->entries = x;
                *cap = n;
        }
        d->entries[d->n_entries++] = *e;
        return 0;
}

int config_diff(const ConfigLayout *la, const uint8_t *a, size_t alen,
                const ConfigLayout *lb, const uint8_t *b, size_t blen,
                bool include_missing, ConfigDiff *ret) {
        ConfigDiff d = {};
        size_t cap = 0;
        int r;

        if (!blob_matches(la, a, alen) || !blob_matches(lb, b, blen))
                return -EBADMSG;
        for (size_t i = 0; i < la->n_params; i++) {
                const ConfigParam *pa = &la->params[i];
                const ConfigParam *pb = config_layout_param(lb, pa->name);
                ConfigDiffEntry e = { .name = pa->name, .a = pa, .b = pb, .unit = pb ? pb->unit : pa->unit };

                (void) config_param_get(pa, a, alen, &e.value_a);
                if (pb) {
                        (void) config_param_get(pb, b, blen, &e.value_b);
                        if (config_values_equal(pa, &e.value_a, pb, &e.value_b))
                                continue;
                } else if (!include_missing)
                        continue;
                r = diff_add(&d, &cap, &e);
                if (r < 0)
                        goto fail;
        }
        for (size_t i = 0; include_missing && i < lb->n_params; i++) {
                const ConfigParam *pb = &lb->params[i];
                ConfigDiffEntry e = { .name = pb->name, .b = pb, .unit = pb->unit };

                if (config_layout_param(la, pb->name))
                        continue;
                (void) config_param_get(pb, b, blen, &e.value_b);
                r = diff_add(&d, &cap, &e);
                if (r < 0)
                        goto fail;
        }
        *ret = d;
        return (int) d.n_entries;
fail:
        config_diff_done(&d);
        return r;
}

void config_diff_done(ConfigDiff *d) {
        if (!d)
                return;
        free(d->entries);
        *d = (ConfigDiff) {};
}

/* ------------------------------------------------------------ migration */

void config_migration_done(ConfigMigration *m) {
        if (!m)
                return;
        free(m->carried);
        free(m->dropped);
        free(m->defaulted);
        free(m->kept);
        *m = (ConfigMigration) {};
}

/* The value p (source) holds, as a number for target q; -ERANGE if q cannot
 * express it (an enum label q does not have). */
static int carry_value(const ConfigParam *p, const ConfigValue *v, const ConfigParam *q, double *ret) {
        if (q->kind == CONFIG_KIND_ENUM && p->kind == CONFIG_KIND_ENUM) {
                int i = label_index(q, v->label);
                if (i < 0)
                        return -ERANGE;
                *ret = i;
                return 0;
        }
        *ret = cast_for(q, v->number);
        return config_param_check(q, *ret);
}

int config_migrate(const ConfigLayout *from, const uint8_t *src, size_t src_len,
                   const ConfigLayout *to, uint8_t *dst, size_t dst_len,
                   ConfigMigration *ret) {
        ConfigMigration m = {};
        uint8_t *out = NULL;
        int r = -ENOMEM;

        if (!blob_matches(from, src, src_len) || !blob_matches(to, dst, dst_len))
                return -EBADMSG;
        out = malloc(dst_len);
        m.carried = calloc(to->n_params + 1, sizeof *m.carried);
        m.defaulted = calloc(to->n_params + 1, sizeof *m.defaulted);
        m.kept = calloc(to->n_params + 1, sizeof *m.kept);
        m.dropped = calloc(from->n_params + 1, sizeof *m.dropped);
        if (!out || !m.carried || !m.defaulted || !m.kept || !m.dropped)
                goto fail;
        memcpy(out, dst, dst_len);

        for (size_t i = 0; i < to->n_params; i++) {
                const ConfigParam *q = &to->params[i];
                const ConfigParam *p;
                ConfigValue v;
                double x;

                if (strcmp(q->name, "controller_id") == 0) {
                        m.kept[m.n_kept++] = q->name;
                        continue;
                }
                p = config_layout_param(from, q->name);
                if (!p || config_param_get(p, src, src_len, &v) < 0 ||
                    carry_value(p, &v, q, &x) < 0 || config_param_set(q, out, dst_len, x) < 0) {
                        m.defaulted[m.n_defaulted++] = q->name;
                        continue;
                }
                m.carried[m.n_carried++] = q->name;
        }
        for (size_t i = 0; i < from->n_params; i++)
                if (!config_layout_param(to, from->params[i].name) &&
                    strcmp(from->params[i].name, "controller_id") != 0)
                        m.dropped[m.n_dropped++] = from->params[i].name;

        memcpy(dst, out, dst_len);
        free(out);
        *ret = m;
        return 0;
fail:
        free(out);
        config_migration_done(&m);
        return r;
}
