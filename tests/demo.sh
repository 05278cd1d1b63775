#!/bin/sh
# tests/demo.sh BUILDDIR — the README demo (called by scripts/demo).
#
# A virtual dual ESC whose firmware update took on one side only
# (vesc-sim --board dual-mismatch), vescd on its userspace CAN bus and a
# private D-Bus: vescctl status explains the mismatched board, then a few
# seconds of live telemetry.  Everything runs in a temporary directory and
# is stopped on exit.
set -eu
build=${1:?usage: tests/demo.sh BUILDDIR}
build=$(cd "$build" && pwd)
seconds=${DEMO_SECONDS:-3}

for p in "$build/sim/vesc-sim" "$build/daemon/vescd" "$build/clients/vescctl"; do
        [ -x "$p" ] || { echo "demo: $p is not built (run scripts/setup)" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vescd-demo.XXXXXX")
pids=""
cleanup() {
        for pid in $pids; do kill "$pid" 2>/dev/null || true; done
        for pid in $pids; do wait "$pid" 2>/dev/null || true; done
        rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

cat >"$tmp/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>custom</type>
  <listen>unix:path=$tmp/dbus.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/>
    <allow send_type="method_call"/><allow send_type="signal"/>
    <allow send_type="method_return"/><allow send_type="error"/>
    <allow receive_type="method_call"/><allow receive_type="signal"/>
    <allow receive_type="method_return"/><allow receive_type="error"/>
  </policy>
</busconfig>
CONF

# wait_for FILE TEXT: until FILE contains TEXT (10 s at most)
wait_for() {
        i=0
        while ! grep -q "$2" "$1" 2>/dev/null; do
                i=$((i + 1))
                [ $i -le 100 ] || { echo "demo: timed out waiting for '$2' in $1" >&2; cat "$1" >&2; exit 1; }
                sleep 0.1
        done
}

dbus-daemon --config-file="$tmp/bus.conf" --nofork --print-address >"$tmp/address" 2>"$tmp/dbus.log" &
pids="$pids $!"
wait_for "$tmp/address" "unix:"
address=$(head -n1 "$tmp/address")

echo "== vesc-sim --board dual-mismatch: A 5.03 (id 12, broadcasts off), B 3.58 (id 74)"
"$build/sim/vesc-sim" --vbus "$tmp/vbus" --board dual-mismatch --control "$tmp/sim.ctl" >"$tmp/sim.log" 2>&1 &
pids="$pids $!"
wait_for "$tmp/sim.log" "vesc-sim: ready"

echo "== vescd --transport vbus:... (private D-Bus)"
"$build/daemon/vescd" --config "$tmp/none.conf" --transport "vbus:$tmp/vbus" --bus-address "$address" \
        --state-dir "$tmp" --json-socket "$tmp/vescd.sock" >"$tmp/vescd.log" 2>&1 &
pids="$pids $!"
# both controllers found: the board's mismatch is logged once it is known
wait_for "$tmp/vescd.log" "Board mismatch"
sed 's/^/   /' "$tmp/vescd.log"

echo
echo "== vescctl status"
"$build/clients/vescctl" --address "$address" status

echo
echo "== vescctl watch (live telemetry, ${seconds} s)"
"$build/clients/vescctl" --address "$address" watch --duration "$seconds"

echo
echo "== the same over busctl"
busctl --address="$address" get-property org.vescd1 /org/vescd1 org.vescd1.Manager Mismatch MismatchReason
