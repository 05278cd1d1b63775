#!/bin/sh
# Kernel SocketCAN interop with stock tools (candump, cansend), python-can
# and busctl: test-socketcan-vm.py on vcan0, on this machine or inside the test VM (tools/vm/vm-run)
# in ONE boot (tests/canvm-run.sh decides; SKIP with the reason when neither
# is possible).  Only the choice of machine is shared with the project's
# tests: the test itself is independent.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
PYTHON3=${PYTHON3:-/usr/bin/python3}
export top_srcdir top_builddir PYTHON3

for prog in sim/vesc-sim daemon/vescd; do
        if [ ! -x "$top_builddir/$prog" ]; then
                echo "SKIP: $prog is not built"
                exit 77
        fi
done
exec /bin/sh "$top_srcdir/tests/canvm-run.sh" --slowdown 3 -- \
        "$PYTHON3" "$top_srcdir/tests/integration/interop/test-socketcan-vm.py"
