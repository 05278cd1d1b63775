/* Configuration by name as JSON.  See config-json.h. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config-json.h"
#include "core/format.h"
#include "macro.h"
#include "wire.h"

static int set_message(char **ret, const char *fmt, ...) _printf_(2, 3);
static int set_message(char **ret, const char *fmt, ...) {
        if (!ret)
                return 0;
        free(*ret);
        FORMAT_ARGS(*ret, fmt);
        return 0;
}

/* ------------------------------------------------------------- base64 */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *config_base64_encode(const uint8_t *data, size_t size) {
        char *out = malloc((size + 2) / 3 * 4 + 1), *o = out;

        if (!out)
                return NULL;
        for (size_t i = 0; i < size; i += 3) {
                uint32_t v = (uint32_t) data[i] << 16;
                if (i + 1 < size)
                        v |= (uint32_t) data[i + 1] << 8;
                if (i + 2 < size)
                        v |= data[i + 2];
                *o++ = b64[(v >> 18) & 63];
                *o++ = b64[(v >> 12) & 63];
                *o++ = i + 1 < size ? b64[(v >> 6) & 63] : '=';
                *o++ = i + 2 < size ? b64[v & 63] : '=';
        }
        *o = 0;
        return out;
}

static int b64_index(char c) {
        const char *p = c ? strchr(b64, c) : NULL;
        return p ? (int) (p - b64) : -1;
}

int config_base64_decode(const char *s, uint8_t **ret, size_t *ret_size) {
        size_t n = s ? strlen(s) : 0, k = 0;
        uint8_t *out;

        if (!s || n % 4 != 0)
                return -EINVAL;
        out = malloc(n / 4 * 3 + 1);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < n; i += 4) {
                int v[4];
                unsigned pad = 0;
                for (unsigned j = 0; j < 4; j++) {
                        if (s[i + j] == '=' && i + 4 == n && j >= 2 && (j == 3 || s[i + 3] == '=')) {
                                v[j] = 0;
                                pad++;
                                continue;
                        }
                        v[j] = b64_index(s[i + j]);
                        if (v[j] < 0 || pad) {
                                free(out);
                                return -EINVAL;
                        }
                }
                uint32_t w = (uint32_t) v[0] << 18 | (uint32_t) v[1] << 12 | (uint32_t) v[2] << 6 | (uint32_t) v[3];
                out[k++] = (uint8_t) (w >> 16);
                if (pad < 2)
                        out[k++] = (uint8_t) (w >> 8);
                if (pad < 1)
                        out[k++] = (uint8_t) w;
        }
        *ret = out;
        *ret_size = k;
        return 0;
}

/* ------------------------------------------------------------- render */

/* The shortest decimal that the parameter's encoding stores as v does:
 * 0.0157 rather than the float's 0.015699999406933784. */
static double short_number(const ConfigParam *p, double v) {
        uint32_t want, got;
        char buf[40];

        if (config_param_encode(p, v, &want) < 0)
                return v;
        for (int prec = 1; prec <= 17; prec++) {
                double d;
                (void) snprintf(buf, sizeof buf, "%.*g", prec, v);
                d = strtod(buf, NULL);
                if (config_param_encode(p, d, &got) >= 0 && got == want)
                        return d;
        }
        return v;
}

json_t *config_json_value(const ConfigParam *p, const ConfigValue *v) {
        switch (v->kind) {
        case CONFIG_KIND_ENUM:
                return v->label ? json_string(v->label) : json_integer((json_int_t) v->number);
        case CONFIG_KIND_BOOL:
                return json_boolean(v->number != 0);
        case CONFIG_KIND_INT:
        case CONFIG_KIND_BITFIELD:
        case CONFIG_KIND_SIGNATURE:
                return json_integer((json_int_t) v->number);
        default:
                return json_real(short_number(p, v->number));
        }
}

json_t *config_json_render(ConfigWhich which, const uint8_t *blob, size_t len) {
        const ConfigLayout *l = config_layout_of_blob(which, blob, len);
        json_t *o = NULL, *params = json_object();
        _cleanup_free_ ConfigValue *values = NULL;
        _cleanup_free_ char *raw = config_base64_encode(blob, len);

        if (!params || !raw)
                goto fail;
        if (l && l->size != len)
                l = NULL; /* the signature of a known layout, another size: not decoded */
        if (l) {
                values = calloc(l->n_params ? l->n_params : 1, sizeof *values);
                if (!values)
                        goto fail;
                if (config_layout_decode(l, blob, len, values) < 0)
                        l = NULL;
        }
        for (size_t i = 0; l && i < l->n_params; i++)
                if (json_object_set_new(params, l->params[i].name, config_json_value(&l->params[i], &values[i])) < 0)
                        goto fail;
        o = json_pack("{s:I, s:o, s:O, s:s}", "signature", (json_int_t) (len >= 4 ? be32_get(blob) : 0), "layout",
                      l ? json_string(l->version) : json_null(), "params", params, "raw", raw);
fail:
        json_decref(params);
        return o;
}

/* -------------------------------------------------------------- apply */

/* "0 to 1000 A", "BLDC, DC, FOC", "true or false" */
static void describe_range(const ConfigParam *p, char *buf, size_t size) {
        size_t n = 0;

        if (p->kind == CONFIG_KIND_BOOL) {
                (void) snprintf(buf, size, "true or false");
                return;
        }
        if (p->kind == CONFIG_KIND_ENUM && p->n_labels) {
                buf[0] = 0;
                for (unsigned i = 0; i < p->n_labels && n < size; i++)
                        n += (size_t) snprintf(buf + n, size - n, "%s%s", i ? ", " : "one of ",
                                              config_param_label(p, i));
                return;
        }
        (void) snprintf(buf, size, "%g to %g%s%s", p->min, p->max, *p->unit ? " " : "", p->unit);
}

static int apply_one(const ConfigParam *p, uint8_t *blob, size_t len, const char *name, json_t *v,
                     char **ret_message) {
        char range[256];
        int r;

        describe_range(p, range, sizeof range);
        if (json_is_string(v)) {
                r = config_param_set_label(p, blob, len, json_string_value(v));
                if (r == -EINVAL)
                        return set_message(ret_message, "%s: '%s' is not valid; expected %s", name,
                                           json_string_value(v), range),
                               -EINVAL;
                return r;
        }
        if (json_is_boolean(v)) {
                if (p->kind != CONFIG_KIND_BOOL)
                        return set_message(ret_message, "%s: a boolean is not valid; expected %s", name, range), -EINVAL;
                return config_param_set(p, blob, len, json_is_true(v) ? 1 : 0);
        }
        if (!json_is_number(v))
                return set_message(ret_message, "%s: expected %s", name, range), -EINVAL;
        r = config_param_set(p, blob, len, json_number_value(v));
        if (r == -ERANGE || r == -EINVAL)
                return set_message(ret_message, "%s: %g is outside its range %s", name, json_number_value(v), range),
                       -ERANGE;
        return r;
}

int config_json_apply(const ConfigLayout *l, uint8_t *blob, size_t len, json_t *params, bool allow_controller_id,
                      int *ret_new_id, char **ret_message) {
        _cleanup_free_ uint8_t *work = NULL;
        const char *name;
        json_t *v;
        int r;

        *ret_new_id = -1;
        if (!json_is_object(params) || json_object_size(params) == 0)
                return set_message(ret_message, "params must be an object of at least one {name: value}"), -EINVAL;
        if (len != l->size)
                return set_message(ret_message, "the configuration read has %zu bytes, layout %s has %u", len,
                                   l->version, (unsigned) l->size),
                       -EBADMSG;
        work = malloc(len);
        if (!work)
                return -ENOMEM;
        memcpy(work, blob, len);
        json_object_foreach(params, name, v) {
                const ConfigParam *p = config_layout_param(l, name);

                if (!p)
                        return set_message(ret_message, "no parameter '%s' in the %s layout of firmware %s", name,
                                           config_which_to_string(l->which), l->version),
                               -ENOENT;
                if (strcmp(name, "controller_id") == 0 && !allow_controller_id)
                        return set_message(ret_message, "controller_id is changed only when asked explicitly"),
                               -EINVAL;
                r = apply_one(p, work, len, name, v, ret_message);
                if (r < 0)
                        return r;
                if (strcmp(name, "controller_id") == 0)
                        *ret_new_id = (int) json_integer_value(v);
        }
        memcpy(blob, work, len);
        return 0;
}

/* --------------------------------------------------------------- diff */

static const ConfigLayout *layout_checked(ConfigWhich which, const uint8_t *b, size_t n) {
        const ConfigLayout *l = config_layout_of_blob(which, b, n);
        return l && l->size == n ? l : NULL;
}

int config_json_diff(ConfigWhich which, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, json_t **ret,
                     char **ret_message) {
        const ConfigLayout *la = layout_checked(which, a, alen), *lb = layout_checked(which, b, blen);
        ConfigDiff d = {};
        json_t *list, *o;
        int r;

        if (!la || !lb)
                return set_message(ret_message, "%s configuration signature 0x%08x is not a known layout",
                                   config_which_to_string(which), (unsigned) (la ? be32_get(b) : be32_get(a))),
                       -EMEDIUMTYPE;
        r = config_diff(la, a, alen, lb, b, blen, true, &d);
        if (r < 0)
                return r;
        list = json_array();
        for (size_t i = 0; list && i < d.n_entries; i++) {
                const ConfigDiffEntry *e = &d.entries[i];
                if (strcmp(e->name, "controller_id") == 0)
                        continue;
                if (json_array_append_new(list,
                                          json_pack("{s:s, s:o, s:o, s:s}", "name", e->name, "a",
                                                    e->a ? config_json_value(e->a, &e->value_a) : json_null(), "b",
                                                    e->b ? config_json_value(e->b, &e->value_b) : json_null(), "unit",
                                                    e->unit ? e->unit : "")) < 0) {
                        json_decref(list);
                        list = NULL;
                }
        }
        config_diff_done(&d);
        if (!list)
                return -ENOMEM;
        o = json_pack("{s:s, s:b, s:s, s:s, s:o}", "which", config_which_to_string(which), "equal",
                      json_array_size(list) == 0, "layout_a", la->version, "layout_b", lb->version, "differences", list);
        if (!o)
                return -ENOMEM;
        *ret = o;
        return 0;
}

/* ------------------------------------------------------------- backup */

json_t *config_json_backup(const char *uuid, const char *firmware_version, const uint8_t *mc, size_t mc_len,
                           const uint8_t *app, size_t app_len) {
        return json_pack("{s:i, s:s, s:s, s:o, s:o}", "format", CONFIG_BACKUP_FORMAT, "uuid", uuid ? uuid : "",
                         "firmware_version", firmware_version ? firmware_version : "", "mcconf",
                         config_json_render(CONFIG_MCCONF, mc, mc_len), "appconf",
                         config_json_render(CONFIG_APPCONF, app, app_len));
}

int config_json_parse_backup(json_t *backup, uint8_t **ret_mc, size_t *ret_mc_len, uint8_t **ret_app,
                             size_t *ret_app_len, char **ret_message) {
        static const char *const parts[2] = { "mcconf", "appconf" };
        uint8_t *blob[2] = {};
        size_t len[2] = {};
        json_t *f;

        f = json_object_get(backup, "format");
        if (!json_is_object(backup) || !json_is_integer(f) || json_integer_value(f) != CONFIG_BACKUP_FORMAT)
                return set_message(ret_message, "not a vescd configuration backup (\"format\": %d expected)",
                                   CONFIG_BACKUP_FORMAT),
                       -EINVAL;
        for (unsigned i = 0; i < 2; i++) {
                json_t *part = json_object_get(backup, parts[i]), *raw;
                int r;

                if (!part || json_is_null(part))
                        continue;
                raw = json_object_get(part, "raw");
                r = json_is_string(raw) ? config_base64_decode(json_string_value(raw), &blob[i], &len[i]) : -EINVAL;
                if (r < 0 || (len[i] > 0 && len[i] < 4)) {
                        free(blob[0]);
                        free(blob[1]);
                        if (r == -ENOMEM)
                                return r;
                        return set_message(ret_message, "backup: %s.raw must be the base64 of a configuration",
                                           parts[i]),
                               -EINVAL;
                }
        }
        if (len[0] == 0 && len[1] == 0) {
                free(blob[0]);
                free(blob[1]);
                return set_message(ret_message, "backup holds no configuration"), -EINVAL;
        }
        *ret_mc = blob[0];
        *ret_mc_len = len[0];
        *ret_app = blob[1];
        *ret_app_len = len[1];
        return 0;
}
