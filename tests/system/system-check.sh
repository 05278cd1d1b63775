#!/bin/bash
# tests/system/system-check.sh DEBDIR IMAGESET: the system tier's checks,
# run as root inside a VM whose PID 1 is systemd (scripts/test-system boots
# it with tools/vm/vm-run --systemd).  Installs the vescd and vescd-tools
# .debs from DEBDIR with dpkg, then checks vescd as an installed service:
# units and hardening, the system bus with Debian's configuration and the
# shipped policy, socketcan on vcan0 against vesc-sim, the rights of an
# unprivileged user and of a member of group vescd (installing IMAGESET and
# repairing the board), restart after kill -9, journal fields, clean stop.
# Prints "ok N - what" / "not ok N - what" lines and a closing count; exits
# 1 on the first failure (with the journal), 0 when every check passed.
set -u
debdir=${1:?usage: system-check.sh DEBDIR IMAGESET}
imageset=${2:?usage: system-check.sh DEBDIR IMAGESET}
SLOW=${VESCD_TEST_SLOWDOWN:-4}
n=0
passed=0

ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $*"; }
bad() {
        n=$((n + 1))
        echo "not ok $n - $*"
        echo "# --- journal of vescd and vesc-sim"
        journalctl --no-pager -u vescd.service -u vescd.socket -u vesc-sim.service -n 80 | sed 's/^/# /'
        echo "$passed passed, 1 failed"
        exit 1
}
check() {  # check "what" COMMAND...
        local what=$1; shift
        local out
        if out=$("$@" 2>&1); then ok "$what"; else echo "$out" | sed 's/^/# /'; bad "$what"; fi
}
# until SECONDS "what" COMMAND...: poll COMMAND (every 0.5 s) until it succeeds
until_ok() {
        local limit=$(($1 * SLOW)) what=$2; shift 2
        local end=$((SECONDS + limit))
        while ! "$@" >/dev/null 2>&1; do
                [ $SECONDS -lt $end ] || { "$@" 2>&1 | sed 's/^/# /'; bad "$what (not within ${limit}s)"; }
                sleep 0.5
        done
        ok "$what"
}
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups --reset-env -- "$@"; }
as_member() { runuser -u vtester -- "$@"; }

[ "$(cat /proc/1/comm)" = systemd ] || { echo "not ok 1 - PID 1 is not systemd"; exit 1; }
ok "PID 1 is systemd"
until_ok 60 "the system bus is up" busctl --system status org.freedesktop.DBus

# ------------------------------------------------------------------ install
# man-db's trigger rebuilds the whole manual index: minutes under emulation
rm -f /var/lib/man-db/auto-update
check "dpkg -i vescd vescd-tools" dpkg -i "$debdir"/vescd_*.deb "$debdir"/vescd-tools_*.deb
check "group and user vescd exist" sh -c 'getent group vescd && getent passwd vescd'
check "/etc/vescd/vescd.conf is a conffile" sh -c 'dpkg-query -W -f="\${Conffiles}" vescd | grep -q " /etc/vescd/vescd.conf "'
check "the policy is in /usr/share/dbus-1/system.d" test -f /usr/share/dbus-1/system.d/org.vescd1.conf
check "the installation started no vescd" sh -c '! pgrep -x vescd'
check "vescd.service is enabled" systemctl is-enabled vescd.service

# vescd on vcan0 with the configuration in /etc/vescd/vescd.conf; the
# simulator and vescd scale their protocol timeouts alike (emulation is slow)
sed -i -e 's|^transport = .*|transport = socketcan:vcan0|' /etc/vescd/vescd.conf
cat >>/etc/vescd/vescd.conf <<'EOF'

[daemon]
time-scale = 4
# a seen controller becomes a board member after this (x time-scale);
# shorter than the default 30 s, still the real rule
member-after-s = 5
EOF
check "vesc-sim (vescd-tools) on vcan0, board dual-mismatch" \
        systemd-run --unit=vesc-sim --property=Type=exec /usr/bin/vesc-sim --socketcan vcan0 \
        --board dual-mismatch --time-scale 4
until_ok 30 "vesc-sim answers on vcan0" sh -c 'journalctl -u vesc-sim.service | grep -q "vesc-sim: ready"'

# ------------------------------------------------------------------ start
check "systemctl start vescd.socket vescd.service" systemctl start vescd.socket vescd.service
check "vescd.service is active" systemctl is-active vescd.service
check "vescd runs as user vescd" sh -c '[ "$(ps -o user= -p "$(systemctl show -P MainPID vescd.service)")" = vescd ]'
check "the unit's hardening is in force (NoNewPrivileges, capabilities)" sh -c '
        pid=$(systemctl show -P MainPID vescd.service)
        grep -q "^NoNewPrivs:[[:space:]]*1" /proc/$pid/status &&
        grep -q "^CapBnd:[[:space:]]*0000000000001000" /proc/$pid/status'
exposure=$(systemd-analyze security vescd.service 2>/dev/null | sed -n 's/.*Overall exposure level for vescd.service: \([0-9.]*\).*/\1/p')
echo "# systemd-analyze security: exposure $exposure"
check "systemd-analyze security vescd.service <= 2.0 ($exposure)" awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 2.0) }'
until_ok 60 "both controllers on the system bus" sh -c \
        'busctl --system get-property org.vescd1 /org/vescd1 org.vescd1.Manager Controllers | grep -q "^ao 2 "'

# ------------------------------------------------------------------ anyone
check "nobody: vescctl status shows the mismatch" sh -c 'as() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; }
        as vescctl status | tee /dev/stderr | grep -q "5.03" && as vescctl status | grep -q "3.58"'
check "nobody: vescctl firmware sets" as_nobody vescctl firmware sets
check "nobody: busctl tree org.vescd1" sh -c \
        'setpriv --reuid=nobody --regid=nogroup --clear-groups -- busctl --system tree org.vescd1 | grep -q /org/vescd1/controller/'
json() {  # json REQUEST...: send JSON-RPC lines to the socket as nobody, print the answers
        as_nobody /usr/bin/python3 -c '
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(20); s.connect("/run/vescd/vescd.sock")
f = s.makefile("r")
f.readline()                                   # the greeting
for i, line in enumerate(sys.argv[1:]):
    req = json.loads(line); req.update({"jsonrpc": "2.0", "id": i})
    s.sendall(json.dumps(req).encode() + b"\n")
    while True:
        r = json.loads(f.readline())
        if r.get("id") == i:
            print(json.dumps(r)); break
' "$@"
}
check "nobody: JSON board.get is answered" sh -c "$(declare -f json as_nobody); json '{\"method\": \"board.get\"}' | grep -q '\"result\"'"
check "nobody: JSON limits.set is PermissionDenied (1001)" sh -c "$(declare -f json as_nobody); json '{\"method\": \"limits.set\", \"params\": {\"uuid\": \"2f002b001451363336333531\", \"current_max_scale\": 0.5}}' | grep -q '\"code\": *1001'"
out=$(as_nobody busctl --system call org.vescd1 /org/vescd1/controller/2f002b001451363336333531 org.vescd1.Controller Reboot 2>&1)
echo "# $out"
# busctl prints the error's text; vescd's PermissionDenied text, not the bus's AccessDenied
case $out in *"needs root or membership in group"*) ok "nobody: D-Bus Reboot reaches vescd and is PermissionDenied" ;;
        *) bad "nobody: D-Bus Reboot: $out" ;; esac

# ------------------------------------------------------------------ group vescd
check "a member of group vescd" useradd --no-create-home --groups vescd vtester
check "member: vescctl firmware install the 5.03 test set" as_member vescctl firmware install "$imageset"
until_ok 120 "both controllers are board members (member-after-s), the board shows the mismatch" \
        sh -c 'vescctl status | grep -q MISMATCH'
check "member: vescctl firmware repair --wait" as_member vescctl firmware repair vesc-5.03-test --wait
check "the board is consistent" sh -c \
        '[ "$(busctl --system get-property org.vescd1 /org/vescd1 org.vescd1.Manager Mismatch)" = "b false" ]'

# ------------------------------------------------------------------ restart
old=$(systemctl show -P MainPID vescd.service)
check "kill -9 vescd" kill -9 "$old"
until_ok 60 "systemd restarted vescd" sh -c \
        'p=$(systemctl show -P MainPID vescd.service); [ "$p" != 0 ] && [ "$p" != '"$old"' ] && systemctl is-active vescd.service'
until_ok 60 "the board reappears after the restart" sh -c \
        'busctl --system get-property org.vescd1 /org/vescd1 org.vescd1.Manager Controllers | grep -q "^ao 2 "'
check "journal entries carry VESC_UUID" sh -c 'journalctl --no-pager -u vescd.service VESC_UUID=2f002b001451363336333531 | grep -q .'

# ------------------------------------------------------------------ stop
check "systemctl stop vescd.service vescd.socket" systemctl stop vescd.service vescd.socket
check "no vescd process is left" sh -c '! pgrep -u vescd'
systemctl stop vesc-sim.service
echo "$passed passed, 0 failed"
