# tests: build rules (included from the top-level Makefile.am)

# Protocol codec unit tests (CMocka), one binary per module.  Each links only
# the convenience library it tests (iwd style: the module must stand alone).
# Expected bytes are worked out by hand from the spec, never by the code
# under test; see the comment next to each vector.
proto_unit_tests = \
	tests/unit/test-crc \
	tests/unit/test-wire \
	tests/unit/test-can \
	tests/unit/test-buffer \
	tests/unit/test-comm \
	tests/unit/test-serial \
	tests/unit/test-strv \
	tests/unit/test-hex

check_PROGRAMS += $(proto_unit_tests)
TESTS += $(proto_unit_tests)
noinst_HEADERS += tests/unit/test-util.h

tests_unit_test_crc_SOURCES = tests/unit/test-crc.c
tests_unit_test_crc_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_crc_LDADD = common/libvesc.a $(TEST_LIBS) -lm

tests_unit_test_wire_SOURCES = tests/unit/test-wire.c
tests_unit_test_wire_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_wire_LDADD = common/libvesc.a $(TEST_LIBS) -lm

tests_unit_test_can_SOURCES = tests/unit/test-can.c
tests_unit_test_can_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_can_LDADD = common/libvesc.a $(TEST_LIBS) -lm

tests_unit_test_buffer_SOURCES = tests/unit/test-buffer.c
tests_unit_test_buffer_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_buffer_LDADD = common/libvesc.a $(TEST_LIBS) -lm

tests_unit_test_comm_SOURCES = tests/unit/test-comm.c
tests_unit_test_comm_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_comm_LDADD = common/libvesc.a $(TEST_LIBS) -lm

tests_unit_test_serial_SOURCES = tests/unit/test-serial.c
tests_unit_test_serial_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_serial_LDADD = common/libvesc.a $(TEST_LIBS) -lm

tests_unit_test_strv_SOURCES = tests/unit/test-strv.c
tests_unit_test_strv_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_strv_LDADD = common/libvesc.a $(TEST_LIBS) -lm

tests_unit_test_hex_SOURCES = tests/unit/test-hex.c
tests_unit_test_hex_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_hex_LDADD = common/libvesc.a $(TEST_LIBS) -lm

# The private test bus: Debian's system-bus defaults + the shipped policy
# (dbus/org.vescd1.conf) + <allow own> for the test's uid.
dist_noinst_SCRIPTS += tests/dbus-test-config.sh

# The wire-format check (tests/unit/wire/wire-dump.c): the vbus frames and
# job files vescd produces, byte for byte the same on every architecture.
# As a test it checks that they read back; scripts/cross-test runs it with a
# directory natively and under qemu-user and compares the files.
check_PROGRAMS += tests/unit/wire/wire-dump
TESTS += tests/unit/wire/wire-dump
tests_unit_wire_wire_dump_SOURCES = tests/unit/wire/wire-dump.c \
	$(UPDATE_STORE_SOURCES) sim/vbus-frame.h sim/vbus-frame.c
tests_unit_wire_wire_dump_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/sim
tests_unit_wire_wire_dump_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_wire_wire_dump_LDADD = $(VESCD_PURE_LIBS) $(JANSSON_LIBS) -lm
