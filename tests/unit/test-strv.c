/* Unit tests for common/strv.c: formatted lines appended in order, the
 * unique variant skips equal lines, an empty vector is handed over as
 * { NULL }, and strv_done() leaves an empty vector behind. */

#include <stdlib.h>

#include "macro.h"
#include "strv.h"
#include "test-util.h"

static void test_addf_in_order(void **state) {
        Strv l = {};

        (void) state;
        assert_int_equal(strv_addf(&l, "%s %d", "id", 12), 0);
        assert_int_equal(strv_addf(&l, "id 12"), 0);   /* not unique: kept twice */
        assert_int_equal(strv_addf(&l, "%zu bytes", (size_t) 384), 0);
        assert_int_equal(l.n, 3);
        assert_string_equal(l.v[0], "id 12");
        assert_string_equal(l.v[1], "id 12");
        assert_string_equal(l.v[2], "384 bytes");
        assert_null(l.v[3]);
        strv_done(&l);
        assert_null(l.v);
        assert_int_equal(l.n, 0);
}

static void test_addf_unique(void **state) {
        Strv l = {};

        (void) state;
        assert_int_equal(strv_addf_unique(&l, "firmware %s \u2260 %s", "5.03", "3.58"), 1);
        assert_int_equal(strv_addf_unique(&l, "firmware 5.03 \u2260 3.58"), 0);
        assert_int_equal(strv_addf_unique(&l, "hardware 60 \u2260 410"), 1);
        assert_int_equal(l.n, 2);
        assert_string_equal(l.v[1], "hardware 60 \u2260 410");
        assert_null(l.v[2]);
        strv_done(&l);
}

static void test_take(void **state) {
        Strv l = {};
        char **v;

        (void) state;
        v = strv_take(&l);   /* nothing added: an empty vector, not NULL */
        assert_non_null(v);
        assert_null(v[0]);
        assert_null(strv_free(v));

        assert_int_equal(strv_addf(&l, "one"), 0);
        v = strv_take(&l);
        assert_null(l.v);
        assert_int_equal(l.n, 0);
        assert_string_equal(v[0], "one");
        assert_null(v[1]);
        assert_null(strv_free(v));
        assert_null(strv_free(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_addf_in_order),
                cmocka_unit_test(test_addf_unique),
                cmocka_unit_test(test_take),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
