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
#include "update/update-plan.h"

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
        /* job errors: found by name, never from an errno (0 is not an error) */
        assert_int_equal(vescd_error_from_name("GateFailed")->json_code, 1019);
        assert_int_equal(vescd_error_from_name("Refused")->json_code, 1025);
        assert_int_equal(vescd_error_from_name("Refused")->errno_value, 0);
        assert_string_equal(vescd_error_from_errno(0)->name, "Failed");
        assert_string_equal(vescd_error_from_errno(-EUSERS)->name, "TooManyClients");
        assert_int_equal(vescd_error_from_errno(-EUSERS)->json_code, 1026);
}

/* Every way a firmware job can end is a row of the one table, except the
 * image problems (BadImage with a detail) and the internal ones (Failed). */
static void test_job_errors(void **state) {
        static const char *const not_rows[] = { "None", "WrongHardware", "InvalidImage", "ImageTooLarge",
                                                "NoBootloaderInSet", "Internal" };

        for (FwError e = 0; e < _FW_ERROR_MAX; e++) {
                const char *name = fw_error_to_string(e);
                bool listed = false;

                assert_non_null(name);
                for (size_t i = 0; i < sizeof not_rows / sizeof not_rows[0]; i++)
                        listed = listed || strcmp(not_rows[i], name) == 0;
                if (!listed && !vescd_error_from_name(name))
                        fail_msg("job error %s is not in VESCD_ERRORS()", name);
        }
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
        const struct CMUnitTest tests[] = { cmocka_unit_test(test_stable), cmocka_unit_test(test_unique),
                                            cmocka_unit_test(test_job_errors) };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
