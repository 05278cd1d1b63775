# --- simbus begin ---
# The userspace CAN bus (vbus): sim/libsimbus.a holds the bus layer of
# vesc-sim (hub, join, socketcan; sim/simbus.h) and the candump frame syntax
# the vbus tools share.  vesc-sim links it with $(LIBEVENT_LIBS).
common_libvesc_a_SOURCES += common/canbits.h common/canbits.c

noinst_LIBRARIES += sim/libsimbus.a
sim_libsimbus_a_SOURCES = \
	sim/simbus.h sim/simbus.c \
	sim/vbus-frame.h sim/vbus-frame.c
sim_libsimbus_a_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS)

noinst_PROGRAMS += sim/vbus-dump sim/vbus-send
sim_vbus_dump_SOURCES = sim/vbus-dump.c
sim_vbus_dump_LDADD = sim/libsimbus.a common/libvesc.a
sim_vbus_send_SOURCES = sim/vbus-send.c
sim_vbus_send_LDADD = sim/libsimbus.a common/libvesc.a

check_PROGRAMS += \
	tests/component/vbus/test-canbits \
	tests/component/vbus/test-vbus-frame \
	tests/component/vbus/test-simbus \
	tests/component/vbus/test-hub \
	tests/component/vbus/test-socketcan
tests_component_vbus_test_canbits_SOURCES = tests/component/vbus/test-canbits.c common/canbits.h common/canbits.c
tests_component_vbus_test_canbits_CFLAGS = $(TEST_CFLAGS)
tests_component_vbus_test_canbits_LDADD = $(TEST_LIBS)
tests_component_vbus_test_vbus_frame_SOURCES = tests/component/vbus/test-vbus-frame.c sim/vbus-frame.h sim/vbus-frame.c
tests_component_vbus_test_vbus_frame_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/sim
tests_component_vbus_test_vbus_frame_CFLAGS = $(TEST_CFLAGS)
tests_component_vbus_test_vbus_frame_LDADD = common/libvesc.a $(TEST_LIBS)
tests_component_vbus_test_simbus_SOURCES = tests/component/vbus/test-simbus.c
tests_component_vbus_test_simbus_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/sim
tests_component_vbus_test_simbus_CFLAGS = $(TEST_CFLAGS) $(LIBEVENT_CFLAGS)
tests_component_vbus_test_simbus_LDADD = sim/libsimbus.a common/libvesc.a $(LIBEVENT_LIBS) $(TEST_LIBS)
tests_component_vbus_test_hub_SOURCES = tests/component/vbus/test-hub.c
tests_component_vbus_test_hub_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/sim
tests_component_vbus_test_hub_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS)
tests_component_vbus_test_hub_LDADD = sim/libsimbus.a common/libvesc.a $(LIBEVENT_LIBS)
tests_component_vbus_test_socketcan_SOURCES = tests/component/vbus/test-socketcan.c
tests_component_vbus_test_socketcan_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/sim
tests_component_vbus_test_socketcan_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS)
tests_component_vbus_test_socketcan_LDADD = sim/libsimbus.a common/libvesc.a $(LIBEVENT_LIBS)

TESTS += \
	tests/component/vbus/test-canbits \
	tests/component/vbus/test-vbus-frame \
	tests/component/vbus/test-simbus \
	tests/component/vbus/test-vbus-tools.py \
	tests/component/vbus/test-socketcan.sh
EXTRA_DIST += \
	docs/examples/vbus_join.py \
	tests/component/vbus/test-vbus-tools.py \
	tests/component/vbus/test-socketcan.sh
# --- simbus end ---
# sim: build rules (included from the top-level Makefile.am)
# --- simctl begin ---
# vesc-sim: virtual VESC controllers (firmware + bootloader models) on the bus.
# Pure models in sim/libvctl.a so unit tests link only them.
noinst_LIBRARIES += sim/libvctl.a
sim_libvctl_a_SOURCES = \
	sim/simfw.h sim/simfw.c \
	sim/vctl-rx.h sim/vctl-rx.c \
	sim/vctl-flash.h sim/vctl-flash.c \
	sim/physics.h sim/physics.c \
	sim/presets.h sim/presets.c
sim_libvctl_a_CFLAGS = $(AM_CFLAGS)

bin_PROGRAMS += sim/vesc-sim
sim_vesc_sim_SOURCES = \
	sim/vesc-sim.c \
	sim/vctl.h sim/vctl.c \
	sim/control.h sim/control.c \
	sim/imagemap.h sim/imagemap.c
sim_vesc_sim_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(JANSSON_CFLAGS) $(SODIUM_CFLAGS)
sim_vesc_sim_LDADD = sim/libvctl.a daemon/libvescd.a sim/libsimbus.a common/libvesc.a \
	$(LIBEVENT_LIBS) $(JANSSON_LIBS) $(SODIUM_LIBS) -lm

# Tests: the protocol test and the update conformance test talk to a running
# vesc-sim through a raw vbus connection and the codec only (libvesc).
sim_harness_sources = tests/component/sim/sim-harness.h tests/component/sim/sim-harness.c
check_PROGRAMS += tests/component/sim/test-sim-protocol
tests_component_sim_test_sim_protocol_SOURCES = tests/component/sim/test-sim-protocol.c $(sim_harness_sources)
tests_component_sim_test_sim_protocol_CFLAGS = $(TEST_CFLAGS)
tests_component_sim_test_sim_protocol_LDADD = common/libvesc.a $(TEST_LIBS) -lm
TESTS += tests/component/sim/test-sim-protocol

check_PROGRAMS += tests/component/sim/test-sim-presets
tests_component_sim_test_sim_presets_SOURCES = tests/component/sim/test-sim-presets.c $(sim_harness_sources)
tests_component_sim_test_sim_presets_CFLAGS = $(TEST_CFLAGS)
tests_component_sim_test_sim_presets_LDADD = common/libvesc.a $(TEST_LIBS) -lm
TESTS += tests/component/sim/test-sim-presets

check_PROGRAMS += tests/component/sim/test-sim-update
tests_component_sim_test_sim_update_SOURCES = tests/component/sim/test-sim-update.c $(sim_harness_sources)
tests_component_sim_test_sim_update_CFLAGS = $(TEST_CFLAGS) $(JANSSON_CFLAGS)
tests_component_sim_test_sim_update_LDADD = common/libvesc.a $(JANSSON_LIBS) $(TEST_LIBS) -lm
TESTS += tests/component/sim/test-sim-update

# Unit tests of the pure models: each links only sim/libvctl.a + libvesc.
check_PROGRAMS += tests/component/sim/test-vctl-rx tests/component/sim/test-vctl-flash
tests_component_sim_test_vctl_rx_SOURCES = tests/component/sim/test-vctl-rx.c
tests_component_sim_test_vctl_rx_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/sim
tests_component_sim_test_vctl_rx_CFLAGS = $(TEST_CFLAGS)
tests_component_sim_test_vctl_rx_LDADD = sim/libvctl.a daemon/libvescd.a common/libvesc.a $(TEST_LIBS) -lm
tests_component_sim_test_vctl_flash_SOURCES = tests/component/sim/test-vctl-flash.c
tests_component_sim_test_vctl_flash_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/sim
tests_component_sim_test_vctl_flash_CFLAGS = $(TEST_CFLAGS)
tests_component_sim_test_vctl_flash_LDADD = sim/libvctl.a daemon/libvescd.a common/libvesc.a $(TEST_LIBS) -lm
TESTS += tests/component/sim/test-vctl-rx tests/component/sim/test-vctl-flash

# docs/examples/vbus_join.py (simbus) against the seed board; the control socket.
TESTS += tests/component/sim/test-vbus-join.py tests/component/sim/test-sim-control.py
dist_noinst_SCRIPTS += tests/component/sim/test-vbus-join.py tests/component/sim/test-sim-control.py
# their vesc-sim start/stop helpers
EXTRA_DIST += tests/component/sim/simproc.py

dist_man_MANS += docs/vesc-sim.1
EXTRA_DIST += docs/vesc-sim.md
# --- simctl end ---
