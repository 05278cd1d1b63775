#!/bin/sh
# vescd managing a real CAN link (bitrate, restart-ms, bus-off restart)
# through libsocketcan: tests/integration/canlink/canlink-check.py inside one VM (tools/vm/vm-run)
# --can qemu boot with can0/can1 left unconfigured (vescd configures can0).
# SKIP when the VM cannot be prepared or booted.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}
. "$top_srcdir/tests/canvm-env.sh"
exec /bin/sh "$top_srcdir/tests/canvm-run.sh" --can qemu --bitrate 0 --need ip --slowdown 3 -- \
        "$PYTHON3" "$top_srcdir/tests/integration/canlink/canlink-check.py"
