#!/bin/sh
# tests/demo.sh BUILDDIR — the README demo (called by scripts/demo).
#
# A virtual dual ESC whose firmware update took on one side only
# (vesc-sim --board dual-mismatch), vescd on its userspace CAN bus and a
# private D-Bus: vescctl status explains the mismatched board, then a few
# seconds of live telemetry; then the 5.03 test image set is installed and
# vescd repairs the pair (only side B is updated), following the progress,
# and the board ends consistent with both sides confirmed on 5.03.
# Everything runs in a temporary directory and is stopped on exit.
# DEMO_TIME_SCALE (default 0.25) speeds up the simulated flash and the
# protocol timeouts alike (vesc-sim and vescd get the same --time-scale).
set -eu
build=${1:?usage: tests/demo.sh BUILDDIR}
build=$(cd "$build" && pwd)
seconds=${DEMO_SECONDS:-3}
scale=${DEMO_TIME_SCALE:-0.25}
# the offline timeout is scaled too, but the polling of a silent controller
# is not: keep the scaled timeout at one second
offline_ms=$(awk -v s="$scale" 'BEGIN { printf "%d", 1000 / s }')

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

# the bus behaves like Debian's system bus with vescd's shipped policy
/bin/sh "$(dirname "$0")/dbus-test-config.sh" "$tmp/dbus.sock" >"$tmp/bus.conf"

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
"$build/sim/vesc-sim" --vbus "$tmp/vbus" --board dual-mismatch --control "$tmp/sim.ctl" --time-scale "$scale" \
        >"$tmp/sim.log" 2>&1 &
pids="$pids $!"
wait_for "$tmp/sim.log" "vesc-sim: ready"

echo "== vescd --transport vbus:... (private D-Bus)"
"$build/daemon/vescd" --config "$tmp/none.conf" --transport "vbus:$tmp/vbus" --bus-address "$address" \
        --state-dir "$tmp" --json-socket "$tmp/vescd.sock" --time-scale "$scale" --offline-timeout-ms "$offline_ms" \
        --member-after-s 0 >"$tmp/vescd.log" 2>&1 &
pids="$pids $!"
# both controllers found: the board's mismatch is logged once it is known
wait_for "$tmp/vescd.log" "Board mismatch"
sed 's/^/   /' "$tmp/vescd.log"

echo
echo "== vescctl status"
"$build/clients/vescctl" --address "$address" status

# a short scripted ride so the telemetry moves (the simulator's control
# socket; commands refresh at 20 Hz, the motors are released at the end)
ride() {
        printf '%s\n' "$1" | socat -t 1 - "UNIX-CONNECT:$tmp/sim.ctl" >/dev/null 2>&1 || true
}
if command -v socat >/dev/null 2>&1; then
        ride "ride A current 15 $seconds; brake 40 2"
        ride "ride B current 15 $seconds; brake 40 2"
fi

echo
echo "== vescctl watch (live telemetry during a short ride, ${seconds} s)"
"$build/clients/vescctl" --address "$address" watch --duration "$seconds"

echo
echo "== the same over busctl"
busctl --address="$address" get-property org.vescd1 /org/vescd1 org.vescd1.Manager Mismatch MismatchReason

set503="$build/firmware/imagesets/vesc-5.03-test.tar"
if [ ! -f "$set503" ]; then
        echo
        echo "demo: $set503 is not built (make imagesets needs arm-none-eabi-gcc): no repair"
        exit 0
fi

# an update is gated on a stopped motor: wait for the ride to end
stopped() {
        for obj in $(busctl --address="$address" get-property org.vescd1 /org/vescd1 org.vescd1.Manager Controllers |
                     tr ' ' '\n' | grep '^"/' | tr -d '"'); do
                erpm=$(busctl --address="$address" get-property org.vescd1 "$obj" org.vescd1.Controller Erpm | cut -d' ' -f2)
                [ "${erpm%.*}" = 0 ] || [ "${erpm%.*}" = -0 ] || return 1
        done
}
i=0
until stopped; do
        i=$((i + 1))
        [ $i -le 100 ] || { echo "demo: the motors did not stop" >&2; exit 1; }
        sleep 0.1
done

echo
echo "== vescctl firmware install vesc-5.03-test.tar (verified, then kept under the state directory)"
"$build/clients/vescctl" --address "$address" firmware install "$set503"
"$build/clients/vescctl" --address "$address" firmware sets

echo
echo "== vescctl firmware repair vesc-5.03-test --wait (only the side that differs is updated)"
"$build/clients/vescctl" --address "$address" firmware repair vesc-5.03-test --wait

echo
echo "== vescctl status"
"$build/clients/vescctl" --address "$address" status
mismatch=$(busctl --address="$address" get-property org.vescd1 /org/vescd1 org.vescd1.Manager Mismatch)
if [ "$mismatch" != "b false" ]; then
        echo "demo: the board is still mismatched after the repair ($mismatch)" >&2
        exit 1
fi
echo
echo "== vescctl firmware history"
"$build/clients/vescctl" --address "$address" firmware history
