#!/bin/sh
# Kernel SocketCAN transport test: socketcan-check.py on vcan0, on this
# machine or inside the test VM (tools/vm/vm-run) (tests/canvm-run.sh decides; SKIP when neither).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}
. "$top_srcdir/tests/canvm-env.sh"
exec /bin/sh "$top_srcdir/tests/canvm-run.sh" -- "$PYTHON3" "$top_srcdir/tests/integration/dbus/socketcan-check.py"
