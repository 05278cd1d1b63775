# daemon/update/local.mk: the firmware update modules' tests (the modules
# themselves are listed in daemon/local.mk).  The tests link only the pure
# library (daemon/libvescd.a, common/libvesc.a), the store where they read
# snapshots, jansson and cmocka.

# The pure modules (update-plan, -progress, -transfer, -engine) are in
# daemon/libvescd.a (daemon/local.mk); update-store.c (jansson, files) is
# compiled into the tests that read snapshots and reports.
UPDATE_STORE_SOURCES = daemon/update/update-store.h daemon/update/update-store.c
FW_UPDATE_TEST_LIBS = $(VESCD_PURE_LIBS) $(JANSSON_LIBS) $(TEST_LIBS) -lm

check_PROGRAMS += tests/unit/update/test-update-plan tests/unit/update/test-update-engine \
	tests/unit/update/test-update-driver
TESTS += tests/unit/update/test-update-plan tests/unit/update/test-update-engine \
	tests/unit/update/test-update-driver

tests_unit_update_test_update_plan_SOURCES = tests/unit/update/test-update-plan.c
tests_unit_update_test_update_plan_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_unit_update_test_update_plan_CFLAGS = $(TEST_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_update_test_update_plan_LDADD = $(FW_UPDATE_TEST_LIBS)

tests_unit_update_test_update_engine_SOURCES = \
	tests/unit/update/test-update-engine.c $(UPDATE_STORE_SOURCES) \
	tests/unit/update/fake-vesc.h tests/unit/update/fake-vesc.c
tests_unit_update_test_update_engine_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_unit_update_test_update_engine_CFLAGS = $(TEST_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_update_test_update_engine_LDADD = $(FW_UPDATE_TEST_LIBS)

# The job driver through a fake host: no daemon, no event loop.
tests_unit_update_test_update_driver_SOURCES = \
	tests/unit/update/test-update-driver.c $(UPDATE_STORE_SOURCES) \
	daemon/update/update-driver.h daemon/update/update-driver.c \
	daemon/core/log.h daemon/core/log.c \
	tests/unit/update/fake-vesc.h tests/unit/update/fake-vesc.c
tests_unit_update_test_update_driver_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_unit_update_test_update_driver_CFLAGS = $(TEST_CFLAGS) $(JANSSON_CFLAGS) $(SYSTEMD_CFLAGS) $(SODIUM_CFLAGS)
tests_unit_update_test_update_driver_LDADD = firmware/libvescfw.a $(SODIUM_LIBS) $(FW_UPDATE_TEST_LIBS) $(SYSTEMD_LIBS)

EXTRA_DIST += docs/firmware-update.md

# ------------------------------------------ firmware update integration
# Real vescd + vesc-sim + a private dbus-daemon (tests/integration's
# harness, extended by tests/integration/update/update_harness.py); each
# script runs its scenarios at a small --time-scale.  They need the test
# image sets (make imagesets) and exit 77 without the ARM toolchain.
update_integration_tests = \
	tests/integration/update/test-update-seed.py \
	tests/integration/update/test-update-migrate.py \
	tests/integration/update/test-update-fault-gate.py \
	tests/integration/update/test-holds.py \
	tests/integration/update/test-holds-job.py \
	tests/integration/update/test-update-faults.py \
	tests/integration/update/test-update-bootloader.py \
	tests/integration/update/test-update-restart.py \
	tests/integration/update/test-rollback.py \
	tests/integration/update/test-update-board.py \
	tests/integration/update/test-update-accessories.py \
	tests/integration/update/test-board-dual-mcu.py \
	tests/integration/update/test-update-board-4wd.py \
	tests/integration/update/test-update-board-collide.py \
	tests/integration/update/test-update-board-done.py \
	tests/integration/update/test-update-id-not-restored.py \
	tests/integration/update/test-image-store.py \
	tests/integration/update/test-plan.py \
	tests/integration/update/test-update-eta.py \
	tests/integration/update/test-plan-offline.py \
	tests/integration/update/test-plan-absent.py
TESTS += $(update_integration_tests)
dist_noinst_SCRIPTS += $(update_integration_tests)
dist_noinst_DATA += tests/integration/update/update_harness.py
EXTRA_DIST += docs/firmware-update-api.md
