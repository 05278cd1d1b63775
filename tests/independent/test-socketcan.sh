#!/bin/sh
# Kernel SocketCAN interop with stock tools (candump, cansend), python-can
# and busctl: runs test-socketcan-vm.py directly when this machine has a
# vcan0 interface, otherwise inside canvm (a small VM with real SocketCAN,
# ../shared/tools/canvm relative to the source tree), in ONE boot.  Exits 77
# (SKIP) with the reason when neither is possible.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
PYTHON3=${PYTHON3:-/usr/bin/python3}
export top_srcdir top_builddir PYTHON3
test_py="$top_srcdir/tests/independent/test-socketcan-vm.py"

for prog in sim/vesc-sim daemon/vescd; do
        if [ ! -x "$top_builddir/$prog" ]; then
                echo "SKIP: $prog is not built"
                exit 77
        fi
done

if ip link show vcan0 >/dev/null 2>&1; then
        exec "$PYTHON3" "$test_py"
fi

canvm="$top_srcdir/../shared/tools/canvm"
if [ ! -x "$canvm" ]; then
        echo "SKIP: no vcan0 on this machine and no canvm at $canvm"
        exit 77
fi

# The guest sees the host's file system; its /tmp is a fresh tmpfs, so the
# test's temporary files go there.  Emulation is slow: give every wait more
# room (never an assertion on speed).
TMPDIR=/tmp VESCD_TEST_SLOWDOWN=${VESCD_TEST_SLOWDOWN:-3} \
        "$canvm" --can vcan --timeout 300 -- "$PYTHON3" "$test_py"
rc=$?
case $rc in
        125)
                echo "SKIP: canvm could not start a VM (exit 125); run '$canvm --setup' as root"
                exit 77 ;;
        124)
                echo "FAIL: canvm timed out"
                exit 1 ;;
esac
exit $rc
