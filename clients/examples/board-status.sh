#!/bin/sh
# board-status.sh: vescd's board from a shell script, with busctl only.
#
#   board-status.sh [--address ADDR]
#
# Prints the board's state and every controller's identity and a few live
# values with units.  Exits 3 when vescd is not running.  The names are
# those of docs/dbus-api.md; busctl's "--json=short" would give JSON.
set -eu
bus="--system"
if [ "${1:-}" = "--address" ]; then
        bus="--address=$2"
fi
get() {
        # get OBJECT INTERFACE PROPERTY: the value only (busctl prints "TYPE VALUE")
        busctl "$bus" get-property org.vescd1 "$1" "$2" "$3" | cut -d' ' -f2-
}
if ! busctl "$bus" status org.vescd1 >/dev/null 2>&1; then
        echo "board-status: vescd is not running (nobody owns org.vescd1 on the bus)" >&2
        exit 3
fi
m=/org/vescd1
echo "vescd $(get $m org.vescd1.Manager Version | tr -d '"') on $(get $m org.vescd1.Manager Transport | tr -d '"')"
state=$(busctl "$bus" get-property org.vescd1 $m org.vescd1.Manager BoardState 2>/dev/null | cut -d' ' -f2- | tr -d '"' || true)
[ -n "$state" ] || state="mismatch: $(get $m org.vescd1.Manager Mismatch)"
echo "board: $state $(get $m org.vescd1.Manager MismatchReason)"
for obj in $(get $m org.vescd1.Manager Controllers | tr ' ' '\n' | grep '^"/' | tr -d '"'); do
        c=org.vescd1.Controller
        printf '%s id %s firmware %s online %s: %s ERPM, %s V, FET %s °C\n' \
                "$(get "$obj" $c Uuid | tr -d '"')" "$(get "$obj" $c Id)" "$(get "$obj" $c FirmwareVersion | tr -d '"')" \
                "$(get "$obj" $c Online)" "$(get "$obj" $c Erpm)" "$(get "$obj" $c VoltageIn)" "$(get "$obj" $c TempFet)"
done
