/* vesc-sim's default configuration blobs come from the configuration layout
 * table (daemon/core/config-layouts.tsv) for every release the table has:
 * right signature and size, every value decodes in range, the fields
 * vesc-sim documents (simfw.h) hold its values and the others the table's
 * defaults.  6.00 has no table layout and keeps its own blob. */

#include <string.h>

#include "core/config-layout.h"
#include "macro.h"
#include "simfw.h"
#include "test-util.h"

static const struct { unsigned major, minor; } versions[] = {
        { 3, 58 }, { 5, 3 }, { 6, 5 }, { 6, 6 }, { 7, 0 },
};

static void check_in_range(const ConfigLayout *l, const uint8_t *b, size_t n) {
        for (size_t i = 0; i < l->n_params; i++) {
                ConfigValue v;
                assert_int_equal(config_param_get(&l->params[i], b, n, &v), 0);
                if (config_param_check(&l->params[i], v.number) != 0)
                        fail_msg("%s %s = %g out of range", l->version, l->params[i].name, v.number);
        }
}

static double number(const ConfigLayout *l, const uint8_t *b, size_t n, const char *name) {
        ConfigValue v;
        const ConfigParam *p = config_layout_param(l, name);
        assert_non_null(p);
        assert_int_equal(config_param_get(p, b, n, &v), 0);
        return v.number;
}

static void test_defaults_from_table(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(versions); i++) {
                unsigned ma = versions[i].major, mi = versions[i].minor;
                uint8_t mc[SIM_CONF_MAX], app[SIM_CONF_MAX];
                size_t nm = sim_fw_default_mcconf(ma, mi, mc);
                size_t na = sim_fw_default_appconf(ma, mi, 37, app);
                const ConfigLayout *lm = config_layout_of_blob(CONFIG_MCCONF, mc, nm);
                const ConfigLayout *la = config_layout_of_blob(CONFIG_APPCONF, app, na);

                assert_non_null(lm);
                assert_non_null(la);
                assert_int_equal(nm, lm->size);
                assert_int_equal(na, la->size);
                check_in_range(lm, mc, nm);
                check_in_range(la, app, na);
                /* vesc-sim's own values (simfw.h) */
                assert_true(number(la, app, na, "controller_id") == 37);
                assert_true(number(la, app, na, "timeout_msec") == 1000);
                assert_true(number(lm, mc, nm, "l_current_max") == 60);
                assert_true(number(lm, mc, nm, "l_in_current_min") == -20);
                assert_true(number(lm, mc, nm, "motor_type") == 2);
                /* the rest: the table's defaults */
                const ConfigParam *p = config_layout_param(lm, "foc_motor_r");
                assert_true(number(lm, mc, nm, "foc_motor_r") == (double) (float) p->def);
                p = config_layout_param(lm, "si_battery_cells");
                assert_true(number(lm, mc, nm, "si_battery_cells") == p->def);
        }
}

static void test_600_not_in_table(void **state) {
        uint8_t mc[SIM_CONF_MAX];
        size_t n = sim_fw_default_mcconf(6, 0, mc);
        (void) state;
        assert_int_equal(n, 481);
        assert_null(config_layout_of_blob(CONFIG_MCCONF, mc, n));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults_from_table),
                cmocka_unit_test(test_600_not_in_table),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
