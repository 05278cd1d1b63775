# daemon: vescd and its unit/integration tests, D-Bus and systemd files.
# (daemon/proto/, daemon/update/local.mk and daemon/json/local.mk have their own
# fragments; they add to daemon_vescd_SOURCES/LDADD with +=.)

# daemon/libvescd.a: the pure modules of daemon/core and daemon/update (no
# sd-bus, libevent, jansson, sockets or clocks), linked by vescd, the tests
# and bench/.  The layering proto <- core <- {transport, update} <- {dbus,
# json} <- main.c is checked by tests/unit/test-layering.py.
noinst_LIBRARIES += daemon/libvescd.a
daemon_libvescd_a_SOURCES = \
	daemon/core/controller.h daemon/core/controller-status.h daemon/core/controller.c \
	daemon/core/fields.h daemon/core/fields.c \
	daemon/core/limits.h \
	daemon/core/methods.h daemon/core/methods.c \
	daemon/core/board.h daemon/core/board.c \
	daemon/core/request.h daemon/core/request.c \
	daemon/core/schedule.h daemon/core/schedule.c \
	daemon/core/errors.h daemon/core/errors.c \
	daemon/core/hold.h daemon/core/hold.c \
	daemon/core/string-table.h \
	daemon/update/update-plan.h daemon/update/update-plan.c \
	daemon/update/update-progress.h daemon/update/update-progress.c \
	daemon/update/update-transfer.h daemon/update/update-transfer.c \
	daemon/update/update-engine.h daemon/update/update-engine.c \
	daemon/update/update-migrate.h daemon/update/update-migrate.c
VESCD_PURE_LIBS = daemon/libvescd.a common/libvesc.a

sbin_PROGRAMS += daemon/vescd
# The event-loop modules by folder, for vescd and for the component tests
# that run the real core and adapters over fake edges (tests/component/).
vescd_core_sources = \
	daemon/core/daemon.h daemon/core/daemon-private.h daemon/core/daemon.c daemon/core/listeners.h \
	daemon/core/members.h daemon/core/members.c \
	daemon/core/operations.h daemon/core/operations.c \
	daemon/core/ride-mode.c \
	daemon/core/transport.h daemon/core/transport.c \
	daemon/core/config.h daemon/core/config.c \
	daemon/core/config-json.h daemon/core/config-json.c daemon/core/format.h \
	daemon/core/log.h daemon/core/log.c \
	daemon/core/render.h daemon/core/render.c \
	daemon/core/fields-manager.c
vescd_transport_sources = \
	daemon/transport/transport-vbus.c daemon/transport/transport-socketcan.c \
	daemon/transport/canlink.h daemon/transport/canlink.c \
	daemon/transport/transports.h daemon/transport/transports.c
vescd_update_sources = \
	daemon/update/update-store.h daemon/update/update-store.c \
	daemon/update/update-driver.h daemon/update/update-driver.c \
	daemon/update/update-manager.h daemon/update/update-manager.c
vescd_dbus_sources = \
	daemon/dbus/bus.h daemon/dbus/bus.c daemon/dbus/bus-creds.c daemon/dbus/bus-manager.c daemon/dbus/bus-controller.c \
	daemon/dbus/bus-job.c

daemon_vescd_SOURCES = daemon/main.c $(vescd_core_sources) $(vescd_transport_sources) $(vescd_update_sources) \
	$(vescd_dbus_sources)
daemon_vescd_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS) $(LIBEVENT_CFLAGS) $(JANSSON_CFLAGS) $(SOCKETCAN_CFLAGS) \
	$(SODIUM_CFLAGS)
# vescd uses only libevent's core (loop, buffers, bufferevents, listeners), not
# its HTTP/DNS/RPC half: libevent_core (same package) instead of libevent keeps
# ~130 KiB of library pages out of vescd's RSS (bench-rss, docs/benchmarks.md).
daemon_vescd_libevent = $(LIBEVENT_LIBS:-levent=-levent_core)
daemon_vescd_LDADD = daemon/libvescd.a firmware/libvescfw.a $(SODIUM_LIBS) common/libvesc.a $(SYSTEMD_LIBS) $(daemon_vescd_libevent) $(JANSSON_LIBS) $(SOCKETCAN_LIBS) -lm

# ------------------------------------------------------------ unit tests
# Each links only the module it tests (plus the pure codec library).
check_PROGRAMS += tests/unit/core/test-controller tests/unit/core/test-board tests/unit/core/test-request \
	tests/unit/core/test-config tests/unit/core/test-errors tests/unit/core/test-fields tests/unit/core/test-log \
	tests/unit/core/test-hold tests/unit/core/test-schedule
TESTS += tests/unit/core/test-controller tests/unit/core/test-board tests/unit/core/test-request \
	tests/unit/core/test-config tests/unit/core/test-errors tests/unit/core/test-fields tests/unit/core/test-log \
	tests/unit/core/test-hold tests/unit/core/test-schedule

tests_unit_core_test_fields_SOURCES = tests/unit/core/test-fields.c
tests_unit_core_test_fields_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_unit_core_test_fields_CFLAGS = $(TEST_CFLAGS)
tests_unit_core_test_fields_LDADD = $(VESCD_PURE_LIBS) $(TEST_LIBS) -lm

tests_unit_core_test_controller_SOURCES = tests/unit/core/test-controller.c
tests_unit_core_test_controller_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_unit_core_test_controller_CFLAGS = $(TEST_CFLAGS)
tests_unit_core_test_controller_LDADD = $(VESCD_PURE_LIBS) $(TEST_LIBS) -lm

tests_unit_core_test_board_SOURCES = tests/unit/core/test-board.c
tests_unit_core_test_board_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_unit_core_test_board_CFLAGS = $(TEST_CFLAGS)
tests_unit_core_test_board_LDADD = $(VESCD_PURE_LIBS) $(TEST_LIBS) -lm

tests_unit_core_test_request_SOURCES = tests/unit/core/test-request.c
tests_unit_core_test_request_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_unit_core_test_request_CFLAGS = $(TEST_CFLAGS)
tests_unit_core_test_request_LDADD = $(VESCD_PURE_LIBS) $(TEST_LIBS) -lm

tests_unit_core_test_schedule_SOURCES = tests/unit/core/test-schedule.c
tests_unit_core_test_schedule_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_unit_core_test_schedule_CFLAGS = $(TEST_CFLAGS)
tests_unit_core_test_schedule_LDADD = $(VESCD_PURE_LIBS) $(TEST_LIBS) -lm

tests_unit_core_test_config_SOURCES = tests/unit/core/test-config.c daemon/core/config.h daemon/core/config.c \
	daemon/core/log.h daemon/core/log.c
tests_unit_core_test_config_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_unit_core_test_config_CFLAGS = $(TEST_CFLAGS) $(SYSTEMD_CFLAGS)
tests_unit_core_test_config_LDADD = $(TEST_LIBS) $(SYSTEMD_LIBS)

tests_unit_core_test_log_SOURCES = tests/unit/core/test-log.c daemon/core/log.h daemon/core/log.c
tests_unit_core_test_log_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_unit_core_test_log_CFLAGS = $(TEST_CFLAGS) $(SYSTEMD_CFLAGS)
tests_unit_core_test_log_LDADD = $(TEST_LIBS) $(SYSTEMD_LIBS)

# journal records: native protocol, never blocking (a full socket drops and counts)
check_PROGRAMS += tests/unit/core/test-log-journal
TESTS += tests/unit/core/test-log-journal
tests_unit_core_test_log_journal_SOURCES = tests/unit/core/test-log-journal.c daemon/core/log.h daemon/core/log.c
tests_unit_core_test_log_journal_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_unit_core_test_log_journal_CFLAGS = $(TEST_CFLAGS)
tests_unit_core_test_log_journal_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/unit/core/test-config-json
TESTS += tests/unit/core/test-config-json
tests_unit_core_test_config_json_SOURCES = tests/unit/core/test-config-json.c daemon/core/config-json.h \
	daemon/core/config-json.c
tests_unit_core_test_config_json_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_unit_core_test_config_json_CFLAGS = $(TEST_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_core_test_config_json_LDADD = $(VESCD_PURE_LIBS) $(TEST_LIBS) $(JANSSON_LIBS) -lm

tests_unit_core_test_errors_SOURCES = tests/unit/core/test-errors.c
tests_unit_core_test_errors_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_unit_core_test_errors_CFLAGS = $(TEST_CFLAGS)
tests_unit_core_test_errors_LDADD = $(VESCD_PURE_LIBS) $(TEST_LIBS)

tests_unit_core_test_hold_SOURCES = tests/unit/core/test-hold.c
tests_unit_core_test_hold_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_unit_core_test_hold_CFLAGS = $(TEST_CFLAGS)
tests_unit_core_test_hold_LDADD = $(VESCD_PURE_LIBS) $(TEST_LIBS)

# ----------------------------------------------------- integration tests
# A private dbus-daemon, vesc-sim and vescd (tests/integration/dbus/vescd_harness.py);
# the SocketCAN one runs inside canvm when the host has no vcan0.
TESTS += tests/unit/test-layering.py
dist_noinst_SCRIPTS += tests/unit/test-layering.py

TESTS += tests/integration/dbus/test-dbus.py tests/integration/dbus/test-introspect.py \
	tests/integration/dbus/test-config-copy.py tests/integration/dbus/test-config-byname.py \
	tests/integration/dbus/test-ride-modes.py tests/integration/dbus/test-board-verdict.py \
	tests/integration/dbus/test-socketcan.sh
dist_noinst_SCRIPTS += tests/integration/dbus/test-dbus.py tests/integration/dbus/test-introspect.py \
	tests/integration/dbus/test-config-copy.py tests/integration/dbus/test-config-byname.py \
	tests/integration/dbus/test-ride-modes.py tests/integration/dbus/test-board-verdict.py \
	tests/integration/dbus/test-socketcan.sh tests/integration/dbus/socketcan-check.py tests/demo.sh tests/canvm-run.sh
dist_noinst_DATA += tests/integration/dbus/vescd_harness.py
# sourced by test-socketcan.sh and test-canlink.sh before canvm-run.sh
dist_noinst_DATA += tests/canvm-env.sh
# process helpers shared with tests/integration/interop/interop.py
dist_noinst_DATA += tests/integration/privbus.py

# ------------------------------------------------------------------ docs
EXTRA_DIST += docs/dbus-api.md docs/errors.md docs/vescd.conf.md
dist_man_MANS += docs/vescd.8 docs/vescctl.1

# security tests
# Hostile input at vescd's edges: state files at start-up, file descriptors
# and paths handed to the image-set installer.
TESTS += tests/integration/security/test-state-files.py tests/integration/security/test-hostile-fds.py
dist_noinst_SCRIPTS += tests/integration/security/test-state-files.py tests/integration/security/test-hostile-fds.py

# canlink tests: vescd configuring can0 itself (manage-link) and restarting
# it after bus-off, inside canvm --can qemu (emulated SJA1000 controllers)
TESTS += tests/integration/canlink/test-canlink.sh
dist_noinst_SCRIPTS += tests/integration/canlink/test-canlink.sh tests/integration/canlink/canlink-check.py
