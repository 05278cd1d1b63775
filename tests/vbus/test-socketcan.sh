#!/bin/sh
# simbus on a kernel CAN interface: runs tests/vbus/test-socketcan against
# vcan0 — on the host if it has one, else inside canvm (one VM boot).
# SKIP (77) when neither is possible.
set -u

prog="$top_builddir/tests/vbus/test-socketcan"
canvm="$top_srcdir/../shared/tools/canvm"

if [ "${CANVM:-}" = 1 ] || ip link show vcan0 >/dev/null 2>&1; then
        exec "$prog"
fi
for tool in cansend candump; do
        if ! command -v "$tool" >/dev/null 2>&1; then
                echo "SKIP: $tool (can-utils) not installed"
                exit 77
        fi
done
if [ ! -x "$canvm" ]; then
        echo "SKIP: no vcan0 on this host and no canvm at $canvm"
        exit 77
fi

# The guest sees / read-only and the working directory read-write; its /tmp
# is its own, so run from the build directory.
cd "$top_builddir" || exit 1
"$canvm" --can vcan --timeout 300 -- "$prog"
rc=$?
if [ "$rc" = 125 ]; then
        echo "SKIP: canvm could not boot a VM here"
        exit 77
fi
exit "$rc"
