#!/bin/sh
# simbus on a kernel CAN interface: tests/component/vbus/test-socketcan against vcan0,
# on this machine or inside the test VM (tools/vm/vm-run) (tests/canvm-run.sh decides; SKIP when
# neither is possible).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
export top_srcdir top_builddir

exec /bin/sh "$top_srcdir/tests/canvm-run.sh" --need cansend --need candump -- \
        "$top_builddir/tests/component/vbus/test-socketcan"
