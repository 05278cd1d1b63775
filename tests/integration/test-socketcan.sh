#!/bin/sh
# Kernel SocketCAN transport test.  Runs socketcan-check.py directly when
# this machine has a vcan0 interface, otherwise inside canvm (a small VM
# with real SocketCAN, ../shared/tools/canvm relative to the source tree;
# one boot for this script).  Exits 77 (SKIP) when neither is possible.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
PYTHON3=${PYTHON3:-/usr/bin/python3}
export top_srcdir top_builddir PYTHON3
test_py="$top_srcdir/tests/integration/socketcan-check.py"

if [ ! -x "$top_builddir/sim/vesc-sim" ] || [ ! -x "$top_builddir/daemon/vescd" ]; then
        echo "SKIP: vesc-sim or vescd not built"
        exit 77
fi

if ip link show vcan0 >/dev/null 2>&1; then
        exec "$PYTHON3" "$test_py"
fi

canvm="$top_srcdir/../shared/tools/canvm"
if [ ! -x "$canvm" ]; then
        echo "SKIP: no vcan0 on this machine and no canvm at $canvm"
        exit 77
fi

# canvm shows the guest the host's file system read-only, except $PWD,
# with a fresh /tmp: share the build and source trees explicitly (they may
# live under /tmp); the test's own files are created in the guest's /tmp
share=""
for d in "$top_builddir" "$top_srcdir"; do
        case "$d/" in
        "$PWD"/*) ;;
        *) share="$share --rw $d" ;;
        esac
done
# shellcheck disable=SC2086
TMPDIR=/tmp "$canvm" --can vcan --timeout 300 $share -- "$PYTHON3" "$test_py"
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
