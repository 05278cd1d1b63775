# tests/integration/interop/: interop tests against stock tools (can-utils, socat,
# busctl, python3-dbus, python-can) and an independent implementation of the
# VESC protocol (vescproto.py, written from the spec only).  Included from
# the top-level Makefile.am.  The .py tests run with Debian's python3
# (PY_LOG_COMPILER); test-socketcan.sh boots the test VM once when the host has
# no vcan0, and skips (77) when it cannot.

independent_tests = \
	tests/integration/interop/test-vescproto.py \
	tests/integration/interop/test-vbus-sim.py \
	tests/integration/interop/test-vbus-update.py \
	tests/integration/interop/test-vbus-vescd.py \
	tests/integration/interop/test-json-socat.py \
	tests/integration/interop/test-socketcan.sh

TESTS += $(independent_tests)

EXTRA_DIST += \
	$(independent_tests) \
	tests/integration/interop/vescproto.py \
	tests/integration/interop/interop.py \
	tests/integration/interop/test-socketcan-vm.py \
	docs/interop.md
