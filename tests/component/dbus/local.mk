# tests/component/dbus: the D-Bus adapter over a socketpair (no dbus-daemon),
# over the core fed by the replay transport of tests/component/core.

check_PROGRAMS += tests/component/dbus/test-dbus-peer
TESTS += tests/component/dbus/test-dbus-peer
tests_component_dbus_test_dbus_peer_SOURCES = tests/component/dbus/test-dbus-peer.c \
	tests/component/core/replay.h tests/component/core/replay.c sim/vbus-frame.h sim/vbus-frame.c \
	$(vescd_core_sources) $(vescd_update_sources) $(vescd_dbus_sources)
tests_component_dbus_test_dbus_peer_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon -I$(top_srcdir)/sim
tests_component_dbus_test_dbus_peer_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS) $(LIBEVENT_CFLAGS) $(JANSSON_CFLAGS) \
	$(SOCKETCAN_CFLAGS) $(SODIUM_CFLAGS)
tests_component_dbus_test_dbus_peer_LDADD = daemon/libvescd.a firmware/libvescfw.a $(SODIUM_LIBS) common/libvesc.a \
	$(SYSTEMD_LIBS) $(LIBEVENT_LIBS) $(JANSSON_LIBS) $(SOCKETCAN_LIBS) -lm
