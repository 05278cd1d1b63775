/* Fuzz configuration by name (daemon/core/config-layout.h).
 *
 * Input: a serialized MCCONF or APPCONF blob, signature first (what follows
 * the command byte of GET_MCCONF/GET_APPCONF).  For each configuration whose
 * layout the signature names:
 *   - decoding works exactly when the length is the layout's size;
 *   - every decoded value written back gives the same bytes (decode-encode
 *     is the identity), except values no encoding accepts (NaN/Inf floats,
 *     denormals the firmware flushes), and in-range values stay writable;
 *   - the blob diffs empty against itself;
 *   - migrating it into every layout of the same configuration succeeds,
 *     partitions the names, never carries controller_id, and every carried
 *     value equals its source after the target's encoding;
 *   - every layout's default blob decodes to in-range values.
 * Any other input must be refused without touching memory past it. */

#include <errno.h>
#include <math.h>
#include <string.h>

#include "core/config-layout.h"
#include "fuzz.h"

#define BLOB_MAX 512

static bool listed(const char *const *list, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(list[i], name) == 0)
                        return true;
        return false;
}

static void check_migrations(const ConfigLayout *from, const uint8_t *src, size_t len) {
        for (size_t k = 0; k < config_layouts_count; k++) {
                const ConfigLayout *to = &config_layouts[k];
                uint8_t dst[BLOB_MAX], before[BLOB_MAX];
                ConfigMigration m = {};

                if (to->which != from->which)
                        continue;
                FUZZ_CHECK(config_layout_default(to, dst, sizeof dst) == to->size);
                memcpy(before, dst, to->size);
                FUZZ_CHECK(config_migrate(from, src, len, to, dst, to->size, &m) == 0);
                FUZZ_CHECK(m.n_carried + m.n_defaulted + m.n_kept == to->n_params);
                for (size_t i = 0; i < to->n_params; i++) {
                        const ConfigParam *q = &to->params[i];
                        const ConfigParam *p = config_layout_param(from, q->name);
                        ConfigValue a, b;

                        if (strcmp(q->name, "controller_id") == 0) {
                                FUZZ_CHECK(listed(m.kept, m.n_kept, q->name));
                                FUZZ_CHECK(dst[q->offset] == before[q->offset]);
                                continue;
                        }
                        if (!listed(m.carried, m.n_carried, q->name))
                                continue;
                        FUZZ_CHECK(p != NULL);
                        FUZZ_CHECK(config_param_get(p, src, len, &a) == 0);
                        FUZZ_CHECK(config_param_get(q, dst, to->size, &b) == 0);
                        FUZZ_CHECK(config_values_equal(p, &a, q, &b));
                }
                for (size_t i = 0; i < m.n_dropped; i++)
                        FUZZ_CHECK(!config_layout_param(to, m.dropped[i]));
                config_migration_done(&m);
        }
}

static void check_blob(ConfigWhich which, const uint8_t *data, size_t size) {
        const ConfigLayout *l = config_layout_of_blob(which, data, size);
        ConfigValue vals[256];
        uint8_t copy[BLOB_MAX];
        ConfigDiff d = {};
        int r;

        if (!l) {
                FUZZ_CHECK(size < 4 || !config_layout_find(which, (uint32_t) data[0] << 24 |
                                                           (uint32_t) data[1] << 16 |
                                                           (uint32_t) data[2] << 8 | data[3]));
                return;
        }
        FUZZ_CHECK(l->n_params <= 256);
        r = config_layout_decode(l, data, size, vals);
        if (size != l->size) {
                FUZZ_CHECK(r == -EBADMSG);
                FUZZ_CHECK(config_diff(l, data, size, l, data, size, true, &d) == -EBADMSG);
                return;
        }
        FUZZ_CHECK(r == 0);

        memcpy(copy, data, size);
        bool exact = true;
        for (size_t i = 0; i < l->n_params; i++) {
                const ConfigParam *p = &l->params[i];
                double x = vals[i].number;
                uint32_t raw;

                if (p->kind == CONFIG_KIND_ENUM)
                        FUZZ_CHECK((vals[i].label != NULL) == (x < p->n_labels));
                r = config_param_encode(p, x, &raw);
                if (r < 0) {
                        /* only floats no encoding takes */
                        FUZZ_CHECK(p->enc == CONFIG_ENC_F32A && !isfinite(x));
                        continue;
                }
                r = config_param_check(p, x);
                FUZZ_CHECK(r == 0 || r == -ERANGE);
                if (r < 0)
                        continue;
                FUZZ_CHECK(config_param_set(p, copy, size, x) == 0);
                /* the firmware sends tiny floats and -0 as 0 */
                if (p->enc == CONFIG_ENC_F32A && raw == 0 && (x != 0 || signbit(x)))
                        exact = false;
        }
        /* Writing back what was read (in range) changes nothing. */
        if (exact)
                FUZZ_CHECK(memcmp(copy, data, size) == 0);

        r = config_diff(l, data, size, l, data, size, true, &d);
        FUZZ_CHECK(r == 0 && d.n_entries == 0);
        config_diff_done(&d);

        check_migrations(l, data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        check_blob(CONFIG_MCCONF, data, size);
        check_blob(CONFIG_APPCONF, data, size);

        /* Defaults are in range everywhere (once per run is enough, but
         * cheap). */
        if (size == 0)
                for (size_t k = 0; k < config_layouts_count; k++) {
                        const ConfigLayout *l = &config_layouts[k];
                        uint8_t b[BLOB_MAX];
                        FUZZ_CHECK(config_layout_default(l, b, sizeof b) == l->size);
                        for (size_t i = 0; i < l->n_params; i++) {
                                ConfigValue v;
                                FUZZ_CHECK(config_param_get(&l->params[i], b, l->size, &v) == 0);
                                FUZZ_CHECK(config_param_check(&l->params[i], v.number) == 0);
                        }
                }
        return 0;
}
