#!/bin/sh
# Run a SocketCAN test where a vcan0 interface exists: on this machine when
# it has one (or when already inside the test VM), otherwise inside the
# project's VM runner tools/vm/vm-run (Debian's kernel under qemu, real
# SocketCAN; one boot per call).  Exits 77 (automake SKIP) with the reason
# when neither is possible, 1 when the VM times out, else the test's own
# exit status.
#
#   canvm-run.sh [--need TOOL]... [--slowdown N] [--can qemu [--bitrate N]]
#                -- COMMAND [ARG]...
#
# --need TOOL   a program the test needs when it runs in the VM (SKIP without)
# --slowdown N  in the VM, multiply every bounded wait of the harnesses by N
#               (VESCD_TEST_SLOWDOWN; an explicit setting wins): emulation is
#               slow, and no test asserts speed
# --can qemu    the test needs real CAN controllers (can0, can1: two emulated
#               SJA1000 on one qemu bus, with bitrate and state via netlink),
#               not vcan: it always runs inside vm-run --can qemu (directly
#               when already inside such a VM)
# --bitrate N   with --can qemu: vm-run's --bitrate (0 = leave can0/can1 down
#               and unconfigured; default 500000)
#
# Uses top_srcdir and top_builddir (set by the test environment; derived from
# this script's place otherwise).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
slowdown=""
need=""
can=vcan
bitrate=500000
while [ $# -gt 0 ]; do
        case $1 in
        --need) need="$need $2"; shift 2 ;;
        --slowdown) slowdown=$2; shift 2 ;;
        --can) can=$2; shift 2 ;;
        --bitrate) bitrate=$2; shift 2 ;;
        --) shift; break ;;
        *) echo "canvm-run.sh: unknown option $1" >&2; exit 99 ;;
        esac
done

case $can in
vcan)
        if [ "${VESCD_VM:-}" = 1 ] || ip link show vcan0 >/dev/null 2>&1; then
                exec "$@"
        fi
        why="no vcan0 on this machine" ;;
qemu)
        if [ "${VESCD_VM:-}" = 1 ]; then
                case " ${VESCD_VM_CAN_IFACES:-} " in
                *" can0 "*) exec "$@" ;;
                esac
                echo "SKIP: inside the VM without --can qemu (no can0)"
                exit 77
        fi
        why="this test needs emulated CAN controllers (vm-run --can qemu)" ;;
*)
        echo "canvm-run.sh: --can must be vcan or qemu" >&2
        exit 99 ;;
esac
for tool in $need; do
        if ! command -v "$tool" >/dev/null 2>&1; then
                echo "SKIP: $why, and $tool is not installed for the VM"
                exit 77
        fi
done
vm="$top_srcdir/tools/vm/vm-run"
if ! command -v qemu-system-x86_64 >/dev/null 2>&1 && [ "$(id -u)" != 0 ]; then
        echo "SKIP: $why, and qemu-system-x86_64 is not installed (run tools/vm/vm-run --setup as root)"
        exit 77
fi

# vm-run shows the guest the host's file system read-only, except $PWD, with a
# fresh /tmp: share the build and source trees explicitly (they may live
# under /tmp); the test's own temporary files are created in the guest's /tmp.
share=""
for d in "$top_builddir" "$top_srcdir"; do
        case "$d/" in
        "$PWD"/*) ;;
        *) share="$share --rw $d" ;;
        esac
done
if [ -n "$slowdown" ]; then
        VESCD_TEST_SLOWDOWN=${VESCD_TEST_SLOWDOWN:-$slowdown}
        export VESCD_TEST_SLOWDOWN
fi
# shellcheck disable=SC2086
TMPDIR=/tmp /bin/bash "$vm" --can "$can" --bitrate "$bitrate" --timeout 300 $share -- "$@"
rc=$?
case $rc in
        125)
                echo "SKIP: the VM could not be prepared or booted (exit 125; see above)"
                exit 77 ;;
        124)
                echo "FAIL: the VM timed out"
                exit 1 ;;
esac
exit $rc
