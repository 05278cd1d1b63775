/* Unit tests of the error table (daemon/core/errors.c): stable names and
 * numbers, unique codes, errno folding. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/errors.h"

static void test_stable(void **state) {
        assert_string_equal(vescd_error_from_errno(-EPERM)->bus_name, "org.vescd1.Error.PermissionDenied");
        assert_int_equal(vescd_error_from_errno(EPERM)->json_code, 1001);
        assert_int_equal(vescd_error_from_errno(-EACCES)->json_code, 1001);
        assert_string_equal(vescd_error_from_errno(-ETIMEDOUT)->name, "Timeout");
        assert_string_equal(vescd_error_from_errno(-EHOSTDOWN)->name, "Offline");
        assert_string_equal(vescd_error_from_errno(-EMEDIUMTYPE)->name, "SignatureMismatch");
        assert_string_equal(vescd_error_from_errno(-EBADMSG)->name, "ProtocolError");
        assert_string_equal(vescd_error_from_errno(-E2BIG)->name, "Failed");
        assert_int_equal(vescd_error_from_errno(-E2BIG)->json_code, 1000);
        assert_int_equal(vescd_error_from_name("NoSuchController")->errno_value, ENODEV);
        assert_int_equal(vescd_error_from_name("org.vescd1.Error.Busy")->json_code, 1003);
        assert_null(vescd_error_from_name("org.vescd1.Error.Nope"));
        /* appended later: never renumbered */
        assert_string_equal(vescd_error_from_errno(-EALREADY)->name, "NothingToDo");
        assert_int_equal(vescd_error_from_name("NothingToDo")->json_code, 1017);
        assert_string_equal(vescd_error_from_errno(-ENOPKG)->name, "NeedsIntermediate");
        assert_int_equal(vescd_error_from_name("NeedsIntermediate")->json_code, 1018);
}

static void test_unique(void **state) {
        unsigned n;
        const VescdError *t = vescd_error_table(&n);

        for (unsigned i = 0; i < n; i++)
                for (unsigned j = i + 1; j < n; j++) {
                        assert_int_not_equal(t[i].json_code, t[j].json_code);
                        assert_string_not_equal(t[i].name, t[j].name);
                }
}

int main(void) {
        const struct CMUnitTest tests[] = { cmocka_unit_test(test_stable), cmocka_unit_test(test_unique) };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
