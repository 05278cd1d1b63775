/* Unit tests of the field tables (daemon/core/fields.c): the one
 * CamelCase <-> snake_case rule, lookups by either name, the change mask ->
 * property names map, and the Controller table's getters on a model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/controller.h"
#include "core/fields.h"
#include "proto/vesc-can.h"

static void test_names(void **state) {
        char out[FIELD_NAME_MAX];

        field_snake("BusOffCount", out, sizeof out);
        assert_string_equal(out, "bus_off_count");
        field_snake("already_snake", out, sizeof out);
        assert_string_equal(out, "already_snake");
        field_camel("bus_off_count", out, sizeof out);
        assert_string_equal(out, "BusOffCount");
        field_snake("WattHoursCharged", out, 6);
        assert_string_equal(out, "watt");
}

/* Every row: a CamelCase name whose snake_case round-trips, a known type,
 * a getter, at least one dirty bit, no name twice. */
static void test_controller_table(void **state) {
        const FieldTable *t = &controller_field_table;

        assert_true(t->n > 20);
        for (size_t i = 0; i < t->n; i++) {
                const Field *f = &t->fields[i];
                char snake[FIELD_NAME_MAX], camel[FIELD_NAME_MAX];

                assert_true(f->name[0] >= 'A' && f->name[0] <= 'Z');
                field_snake(f->name, snake, sizeof snake);
                field_camel(snake, camel, sizeof camel);
                assert_string_equal(camel, f->name);
                assert_non_null(strstr(" y b u t x d s o as ao ", f->type));
                assert_non_null(f->get);
                assert_true(f->dirty != 0);
                assert_ptr_equal(field_table_find(t, f->name), f);
                assert_ptr_equal(field_table_find(t, snake), f);
                for (size_t k = 0; k < i; k++)
                        assert_string_not_equal(t->fields[k].name, f->name);
        }
        assert_null(field_table_find(t, "NoSuchField"));
        assert_non_null(field_table_find(t, "Polls"));
        assert_non_null(field_table_find(t, "went_offline"));
}

static void test_changed(void **state) {
        const char *names[64];
        size_t n;

        n = field_table_changed(&controller_field_table, CONTROLLER_DIRTY_FAULT, names, 64);
        assert_int_equal(n, 2);
        assert_string_equal(names[0], "Fault");
        assert_string_equal(names[1], "FaultCode");
        assert_null(names[2]);
        /* identity: Uuid is const, so not announced (HwName, HwType,
         * FirmwareVersion, FirmwareTestBuild, FirmwareName,
         * BootloaderGeneration, PrimaryMotor) */
        n = field_table_changed(&controller_field_table, CONTROLLER_DIRTY_IDENTITY, names, 64);
        assert_int_equal(n, 7);
        for (size_t i = 0; i < n; i++)
                assert_string_not_equal(names[i], "Uuid");
        /* counters are read on request */
        assert_int_equal(field_table_changed(&controller_field_table, CONTROLLER_DIRTY_COUNTERS, names, 64), 0);
        n = field_table_changed(&controller_field_table, UINT64_C(1) << TELEMETRY_TACHOMETER, names, 64);
        assert_int_equal(n, 1);
        assert_string_equal(names[0], "Tachometer");
        /* a short buffer stays terminated */
        assert_int_equal(field_table_changed(&controller_field_table, CONTROLLER_DIRTY_IDENTITY, names, 3), 2);
        assert_null(names[2]);
}

static void test_getters(void **state) {
        const Field *f;
        Controller c;
        FieldValue v;
        VescStatus st = { .type = CAN_PACKET_STATUS_5, .s5 = { .tachometer = 1234, .v_in = 42.5 } };

        controller_init(&c, 74);
        f = field_table_find(&controller_field_table, "Tachometer");
        assert_false(f->get(&c, &v));
        f = field_table_find(&controller_field_table, "McconfSignature");
        assert_false(f->get(&c, &v));
        assert_int_equal(v.u, 0);
        assert_int_equal(controller_apply_status(&c, &st, 1000), 0);
        f = field_table_find(&controller_field_table, "Tachometer");
        assert_true(f->get(&c, &v));
        assert_int_equal(v.x, 1234);
        f = field_table_find(&controller_field_table, "voltage_in");
        assert_true(f->get(&c, &v));
        assert_true(v.d == 42.5);
        f = field_table_find(&controller_field_table, "StatusFrames");
        assert_true(f->get(&c, &v));
        assert_int_equal(v.u, 1);
        f = field_table_find(&controller_field_table, "Id");
        assert_true(f->get(&c, &v));
        assert_int_equal(v.u, 74);
        f = field_table_find(&controller_field_table, "Fault");
        assert_true(f->get(&c, &v));
        assert_string_equal(v.s, "NONE");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_controller_table),
                cmocka_unit_test(test_changed),
                cmocka_unit_test(test_getters),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
