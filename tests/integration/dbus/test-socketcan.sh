#!/bin/sh
# Kernel SocketCAN transport test: socketcan-check.py on vcan0, on this
# machine or inside the test VM (tools/vm/vm-run) (tests/canvm-run.sh decides; SKIP when neither).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
PYTHON3=${PYTHON3:-/usr/bin/python3}
export top_srcdir top_builddir PYTHON3

if [ ! -x "$top_builddir/sim/vesc-sim" ] || [ ! -x "$top_builddir/daemon/vescd" ]; then
        echo "SKIP: vesc-sim or vescd not built"
        exit 77
fi
exec /bin/sh "$top_srcdir/tests/canvm-run.sh" -- "$PYTHON3" "$top_srcdir/tests/integration/dbus/socketcan-check.py"
