# daemon/update/local.mk: the firmware update engine (pure: planning, progress,
# the per-controller state machine and the pair transaction) and its tests.
# daemon/libfwupdate.a is linked by vescd; the tests link only these
# modules + common/libvesc.a + jansson + cmocka.

noinst_LIBRARIES += daemon/libfwupdate.a
daemon_libfwupdate_a_SOURCES = \
	daemon/update/fw-update.h daemon/update/fw-update.c
daemon_libfwupdate_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)

FW_UPDATE_TEST_LIBS = daemon/libfwupdate.a $(VESCD_PURE_LIBS) $(JANSSON_LIBS) $(TEST_LIBS) -lm

check_PROGRAMS += tests/unit/update/test-fw-plan tests/unit/update/test-fw-update
TESTS += tests/unit/update/test-fw-plan tests/unit/update/test-fw-update

tests_unit_update_test_fw_plan_SOURCES = tests/unit/update/test-fw-plan.c
tests_unit_update_test_fw_plan_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_unit_update_test_fw_plan_CFLAGS = $(TEST_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_update_test_fw_plan_LDADD = $(FW_UPDATE_TEST_LIBS)

tests_unit_update_test_fw_update_SOURCES = \
	tests/unit/update/test-fw-update.c \
	tests/unit/update/fake-vesc.h tests/unit/update/fake-vesc.c
tests_unit_update_test_fw_update_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_unit_update_test_fw_update_CFLAGS = $(TEST_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_update_test_fw_update_LDADD = $(FW_UPDATE_TEST_LIBS)

EXTRA_DIST += docs/firmware-update.md

# ------------------------------------------ firmware update integration
# Real vescd + vesc-sim + a private dbus-daemon (tests/integration's
# harness, extended by tests/integration/update/update_harness.py); each
# script runs its scenarios at a small --time-scale.  They need the test
# image sets (make imagesets) and exit 77 without the ARM toolchain.
update_integration_tests = \
	tests/integration/update/test-update-seed.py \
	tests/integration/update/test-update-fault-gate.py \
	tests/integration/update/test-holds.py \
	tests/integration/update/test-update-faults.py \
	tests/integration/update/test-update-bootloader.py \
	tests/integration/update/test-update-restart.py \
	tests/integration/update/test-rollback.py \
	tests/integration/update/test-update-board.py
TESTS += $(update_integration_tests)
dist_noinst_SCRIPTS += $(update_integration_tests)
dist_noinst_DATA += tests/integration/update/update_harness.py
EXTRA_DIST += docs/firmware-update-api.md
