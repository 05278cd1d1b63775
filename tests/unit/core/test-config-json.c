/* core/config-json: configuration by name as JSON on every layout of the
 * table (render, apply, diff, backup file). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/config-json.h"
#include "macro.h"

/* Every layout renders by name; applying its own rendered params gives the
 * same bytes back (the numbers survive the encoding); raw is the blob. */
static void test_render_roundtrip(void **state) {
        for (size_t i = 0; i < config_layouts_count; i++) {
                const ConfigLayout *l = &config_layouts[i];
                _cleanup_free_ uint8_t *blob = malloc(l->size), *copy = malloc(l->size), *raw = NULL;
                _cleanup_free_ char *msg = NULL;
                size_t raw_len = 0;
                json_t *o, *params;
                int id;

                assert_non_null(blob);
                assert_int_equal(config_layout_default(l, blob, l->size), l->size);
                o = config_json_render(l->which, blob, l->size);
                assert_non_null(o);
                /* 6.06's APPCONF is 6.05's: the oldest release with the signature names it */
                assert_string_equal(json_string_value(json_object_get(o, "layout")),
                                    config_layout_find(l->which, l->signature)->version);
                assert_int_equal(json_integer_value(json_object_get(o, "signature")), l->signature);
                params = json_object_get(o, "params");
                assert_int_equal(json_object_size(params), l->n_params);
                assert_int_equal(config_base64_decode(json_string_value(json_object_get(o, "raw")), &raw, &raw_len), 0);
                assert_int_equal(raw_len, l->size);
                assert_memory_equal(raw, blob, l->size);

                /* scribble, then apply the rendered values: the default again */
                memcpy(copy, blob, l->size);
                for (size_t k = 4; k < l->size; k++)
                        copy[k] ^= 0x5a;
                json_object_del(params, "controller_id");
                assert_int_equal(config_json_apply(l, copy, l->size, params, false, &id, &msg), 0);
                assert_int_equal(id, -1);
                for (size_t k = 0; k < l->n_params; k++) {
                        const ConfigParam *p = &l->params[k];
                        ConfigValue a, b;
                        if (strcmp(p->name, "controller_id") == 0)
                                continue;
                        assert_int_equal(config_param_get(p, blob, l->size, &a), 0);
                        assert_int_equal(config_param_get(p, copy, l->size, &b), 0);
                        if (!config_values_equal(p, &a, p, &b))
                                fail_msg("%s %s: %s not carried through JSON", l->version,
                                         config_which_to_string(l->which), p->name);
                }
                json_decref(o);
        }
}

static const ConfigLayout *mc(const char *v) {
        const ConfigLayout *l = config_layout_by_version(CONFIG_MCCONF, v);
        assert_non_null(l);
        return l;
}

static void test_apply_refusals(void **state) {
        const ConfigLayout *l = mc("3.58");
        _cleanup_free_ uint8_t *blob = malloc(l->size), *before = malloc(l->size);
        char *msg = NULL;
        json_t *p;
        int id;

        assert_int_equal(config_layout_default(l, blob, l->size), l->size);
        memcpy(before, blob, l->size);

        p = json_pack("{s:f, s:f}", "foc_motor_r", 0.05, "l_current_max", 5000.0);
        assert_int_equal(config_json_apply(l, blob, l->size, p, false, &id, &msg), -ERANGE);
        assert_non_null(strstr(msg, "l_current_max"));
        assert_non_null(strstr(msg, "0 to 1000 A"));
        assert_memory_equal(blob, before, l->size); /* all or nothing */
        json_decref(p);
        free(msg), msg = NULL;

        p = json_pack("{s:s}", "motor_type", "WARP");
        assert_int_equal(config_json_apply(l, blob, l->size, p, false, &id, &msg), -EINVAL);
        assert_non_null(strstr(msg, "one of BLDC, DC, FOC, GPD"));
        json_decref(p);
        free(msg), msg = NULL;

        p = json_pack("{s:i}", "nope", 1);
        assert_int_equal(config_json_apply(l, blob, l->size, p, false, &id, &msg), -ENOENT);
        assert_non_null(strstr(msg, "nope"));
        assert_non_null(strstr(msg, "3.58"));
        json_decref(p);
        free(msg), msg = NULL;

        p = json_pack("{s:s, s:f}", "motor_type", "FOC", "l_current_max", 42.5);
        assert_int_equal(config_json_apply(l, blob, l->size, p, false, &id, &msg), 0);
        json_decref(p);
        {
                ConfigValue v;
                assert_int_equal(config_param_get(config_layout_param(l, "l_current_max"), blob, l->size, &v), 0);
                assert_true(v.number == 42.5);
                assert_int_equal(config_param_get(config_layout_param(l, "motor_type"), blob, l->size, &v), 0);
                assert_string_equal(v.label, "FOC");
        }

        /* controller_id only when allowed */
        const ConfigLayout *al = config_layout_by_version(CONFIG_APPCONF, "3.58");
        _cleanup_free_ uint8_t *app = malloc(al->size);
        assert_int_equal(config_layout_default(al, app, al->size), al->size);
        p = json_pack("{s:i}", "controller_id", 9);
        assert_int_equal(config_json_apply(al, app, al->size, p, false, &id, &msg), -EINVAL);
        assert_non_null(strstr(msg, "controller_id"));
        free(msg), msg = NULL;
        assert_int_equal(config_json_apply(al, app, al->size, p, true, &id, &msg), 0);
        assert_int_equal(id, 9);
        json_decref(p);
}

/* Diff by name on every pair of consecutive layouts (and one with itself). */
static void test_diff(void **state) {
        static const char *const versions[] = { "3.58", "5.03", "6.05", "6.06", "7.00" };

        for (ConfigWhich w = 0; w < _CONFIG_WHICH_MAX; w++)
                for (size_t i = 0; i + 1 < ELEMENTSOF(versions); i++) {
                        const ConfigLayout *la = config_layout_by_version(w, versions[i]);
                        const ConfigLayout *lb = config_layout_by_version(w, versions[i + 1]);
                        _cleanup_free_ uint8_t *a = malloc(la->size), *b = malloc(lb->size);
                        _cleanup_free_ char *msg = NULL;
                        json_t *d = NULL;

                        assert_int_equal(config_layout_default(la, a, la->size), la->size);
                        assert_int_equal(config_layout_default(lb, b, lb->size), lb->size);
                        assert_int_equal(config_json_diff(w, a, la->size, a, la->size, &d, &msg), 0);
                        assert_true(json_is_true(json_object_get(d, "equal")));
                        json_decref(d);
                        assert_int_equal(config_json_diff(w, a, la->size, b, lb->size, &d, &msg), 0);
                        assert_string_equal(json_string_value(json_object_get(d, "layout_a")),
                                            config_layout_find(w, la->signature)->version);
                        assert_string_equal(json_string_value(json_object_get(d, "layout_b")),
                                            config_layout_find(w, lb->signature)->version);
                        json_t *e;
                        size_t k;
                        json_array_foreach(json_object_get(d, "differences"), k, e) {
                                assert_non_null(json_string_value(json_object_get(e, "name")));
                                assert_non_null(json_object_get(e, "a"));
                                assert_non_null(json_object_get(e, "b"));
                                assert_non_null(json_string_value(json_object_get(e, "unit")));
                                assert_string_not_equal(json_string_value(json_object_get(e, "name")), "controller_id");
                                assert_false(json_equal(json_object_get(e, "a"), json_object_get(e, "b")));
                        }
                        json_decref(d);
                }
}

static void test_backup(void **state) {
        const ConfigLayout *l = mc("5.03"), *al = config_layout_by_version(CONFIG_APPCONF, "5.03");
        _cleanup_free_ uint8_t *m = malloc(l->size), *a = malloc(al->size);
        uint8_t *m2 = NULL, *a2 = NULL;
        size_t m2_len = 0, a2_len = 0;
        char *msg = NULL;
        json_t *f, *s;
        char *text;

        config_layout_default(l, m, l->size);
        config_layout_default(al, a, al->size);
        f = config_json_backup("3c0029000d51393236353934", "5.03", m, l->size, a, al->size);
        assert_non_null(f);
        assert_int_equal(json_integer_value(json_object_get(f, "format")), 1);
        text = json_dumps(f, 0);
        assert_non_null(text);
        s = json_loads(text, 0, NULL); /* through text, as a file */
        free(text);
        assert_int_equal(config_json_parse_backup(s, &m2, &m2_len, &a2, &a2_len, &msg), 0);
        assert_int_equal(m2_len, l->size);
        assert_memory_equal(m2, m, l->size);
        assert_int_equal(a2_len, al->size);
        assert_memory_equal(a2, a, al->size);
        free(m2);
        free(a2);
        json_object_set_new(s, "format", json_integer(2));
        assert_int_equal(config_json_parse_backup(s, &m2, &m2_len, &a2, &a2_len, &msg), -EINVAL);
        assert_non_null(strstr(msg, "format"));
        free(msg);
        json_decref(s);
        json_decref(f);
}

static void test_base64(void **state) {
        static const struct { const char *plain, *enc; } cases[] = {
                { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *e = config_base64_encode((const uint8_t *) cases[i].plain, strlen(cases[i].plain));
                _cleanup_free_ uint8_t *d = NULL;
                size_t n;
                assert_string_equal(e, cases[i].enc);
                assert_int_equal(config_base64_decode(e, &d, &n), 0);
                assert_int_equal(n, strlen(cases[i].plain));
                assert_memory_equal(d, cases[i].plain, n);
        }
        uint8_t *d;
        size_t n;
        assert_int_equal(config_base64_decode("Zg=", &d, &n), -EINVAL);
        assert_int_equal(config_base64_decode("Z=g=", &d, &n), -EINVAL);
        assert_int_equal(config_base64_decode("Zm9*", &d, &n), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_render_roundtrip), cmocka_unit_test(test_apply_refusals),
                cmocka_unit_test(test_diff), cmocka_unit_test(test_backup), cmocka_unit_test(test_base64),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
