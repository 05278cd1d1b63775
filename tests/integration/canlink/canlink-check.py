#!/usr/bin/python3
"""vescd managing a real CAN link (manage-link = yes) inside the test VM (tools/vm/vm-run) --can qemu.

can0 and can1 are two emulated SJA1000 controllers (Kvaser PCICAN) on one
qemu CAN bus; vm-run leaves both down and unconfigured (--bitrate 0).  The
simulator sits on can1, which this script brings up at 500 kbit/s; vescd
sits on can0 and must configure it itself through libsocketcan.

What is exercised for real (kernel netlink, sja1000 driver):
  1. vescd brings a down, unconfigured can0 up: bitrate 500000, restart-ms
     100, the VESC's sample point (0.78 asked; the driver rounds to what its
     8 MHz clock allows, never its 0.875 default); both controllers found
     over it; BusState error-active.
  2. Controller-state error frames (error-passive, back to error-active)
     pass vescd's kernel error filter and show in BusState.  A bus-off
     reaching vescd with restart-ms 100: BusOffCount counts it,
     vescd leaves the restart to the kernel (the kernel's restart counter
     stays 0) and BusState recovers with the next frame.
  3. vescd started on a wrongly pre-configured can0 (up at 250000, restart-ms
     100) with restart-ms 0: it stops the link, reconfigures 500000 and
     restart-ms 0.  On a bus-off frame it reads the link state over netlink
     and, the link not being in bus-off, does not restart it (libsocketcan
     would refuse and print to stderr).  Where the kernel allows a manual
     restart outside bus-off (ip ... restart, the request can_do_restart
     sends; Debian's 6.1 answers EBUSY), its CAN_ERR_RESTARTED frame must
     reach vescd; BusState error-active, frames flow.

What the emulation cannot do, and is therefore not tested here: qemu's
SJA1000 models neither bit timing nor ACK nor error counters.  A frame sent
at 500 kbit/s is received by a controller set to 250 kbit/s, a frame with no
other node on the bus is "acknowledged" all the same, and the error counters
stay 0 (checked by hand: can1 at 250000 or down, 5 frames from can0: no
bus error, state error-active, berr-counter 0/0).  So error-warning,
error-passive and a real bus-off cannot be provoked; the bus-off of 2. and
3. is an error frame injected into can0's receive path (a raw socket on
can0 sends a frame with CAN_ERR_FLAG | CAN_ERR_BUSOFF; the kernel's local
echo delivers it to vescd's socket exactly like a driver's bus-off frame).
What follows it (vescd's decision from the real link state, the kernel's
restart frame and counters) is real; a successful can_do_restart by vescd
needs a link really in bus-off, which the emulation never reaches.

Run by test-canlink.sh through tests/canvm-run.sh --can qemu --bitrate 0."""
import os
import re
import socket
import struct
import subprocess
import sys

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "dbus"))
from vescd_harness import (MANAGER_IFACE, MANAGER_PATH, PATH_A, PATH_B,  # noqa: E402
                           Harness, fail, log, skip)

VESCD_IF = "can0"
SIM_IF = "can1"
BITRATE = 500000

CAN_ERR_FLAG = 0x20000000
CAN_ERR_CRTL = 0x00000004
CAN_ERR_BUSOFF = 0x00000040
CAN_ERR_CRTL_TX_PASSIVE = 0x20
CAN_ERR_CRTL_ACTIVE = 0x40


class LinkHarness(Harness):
    """vescd on can0, vesc-sim on can1 (the stock harness puts both on one)."""

    def start_sim(self):
        own = self.can_iface
        self.can_iface = SIM_IF
        try:
            super().start_sim()
        finally:
            self.can_iface = own


def ip(*args):
    p = subprocess.run(["ip"] + list(args), capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        fail("ip %s: %s" % (" ".join(args), p.stderr.strip()))
    return p.stdout


def link_details(iface):
    """The CAN details of iface from `ip -details -statistics link show`."""
    text = ip("-details", "-statistics", "link", "show", iface)
    d = {"text": text}
    m = re.search(r"<([^>]*)>", text)
    d["flags"] = m.group(1).split(",") if m else []
    m = re.search(r"can state (\S+)", text)
    d["state"] = m.group(1) if m else None
    m = re.search(r"restart-ms (\d+)", text)
    d["restart_ms"] = int(m.group(1)) if m else None
    m = re.search(r"bitrate (\d+) sample-point ([0-9.]+)", text)
    d["bitrate"] = int(m.group(1)) if m else None
    d["sample_point"] = float(m.group(2)) if m else None
    m = re.search(r"berr-counter tx (\d+) rx (\d+)", text)
    d["berr"] = (int(m.group(1)), int(m.group(2))) if m else None
    m = re.search(r"re-started\s+bus-errors\s+arbit-lost\s+error-warn\s+error-pass\s+bus-off\s*\n\s*"
                  r"(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", text)
    d["restarts"] = int(m.group(1)) if m else None
    d["kernel_bus_off"] = int(m.group(6)) if m else None
    return d


def set_link(iface, bitrate, restart_ms=0):
    ip("link", "set", iface, "down")
    ip("link", "set", iface, "type", "can", "bitrate", str(bitrate), "restart-ms", str(restart_ms))
    ip("link", "set", iface, "up")


def inject_error(iface, can_id, data=bytes(8)):
    """An error frame as a driver sends it, into iface's receive path: the
    local echo of a raw socket's frame reaches every other socket on the
    interface, error-frame filters included."""
    s = socket.socket(socket.AF_CAN, socket.SOCK_RAW, socket.CAN_RAW)
    try:
        s.bind((iface,))
        s.send(struct.pack("=IB3x8s", CAN_ERR_FLAG | can_id, 8, data))
    finally:
        s.close()


def inject_bus_off(iface):
    inject_error(iface, CAN_ERR_BUSOFF)


def inject_crtl(iface, status):
    inject_error(iface, CAN_ERR_CRTL, bytes([0, status, 0, 0, 0, 0, 0, 0]))


def check_configured(restart_ms):
    d = link_details(VESCD_IF)
    if "UP" not in d["flags"] or "LOWER_UP" not in d["flags"]:
        fail("%s is not up after vescd started:\n%s" % (VESCD_IF, d["text"]))
    if d["bitrate"] != BITRATE:
        fail("%s bitrate %r, want %d:\n%s" % (VESCD_IF, d["bitrate"], BITRATE, d["text"]))
    if d["restart_ms"] != restart_ms:
        fail("%s restart-ms %r, want %d" % (VESCD_IF, d["restart_ms"], restart_ms))
    # 0.78 asked (spec §2.2); the sja1000's 16 time quanta per bit at 500k
    # give 0.75 or 0.8125, never the kernel's 0.875 default
    if d["sample_point"] is None or not 0.70 <= d["sample_point"] <= 0.82:
        fail("%s sample point %r, want about 0.78" % (VESCD_IF, d["sample_point"]))
    if d["state"] != "ERROR-ACTIVE":
        fail("%s state %r" % (VESCD_IF, d["state"]))
    log("%s configured by vescd: %d bit/s, sample point %.3f, restart-ms %d" %
        (VESCD_IF, d["bitrate"], d["sample_point"], d["restart_ms"]))
    return d


def counter(h, name):
    return int(h.prop(MANAGER_PATH, MANAGER_IFACE, name))


def bus_state(h):
    return str(h.prop(MANAGER_PATH, MANAGER_IFACE, "BusState"))


def check_found(h):
    h.wait_until(lambda: sorted(h.controllers()) == sorted([PATH_A, PATH_B]), "both controllers on " + VESCD_IF)
    h.wait_until(lambda: bus_state(h) == "error-active", "BusState error-active")
    transport = str(h.prop(MANAGER_PATH, MANAGER_IFACE, "Transport"))
    if transport != "socketcan:" + VESCD_IF:
        fail("Transport %r" % transport)
    log("both controllers found through", VESCD_IF)


def scenario_configure_and_kernel_restart():
    """1 and 2: a down, unconfigured can0; restart-ms 100."""
    d = link_details(VESCD_IF)
    if "UP" in d["flags"]:
        ip("link", "set", VESCD_IF, "down")
    set_link(SIM_IF, BITRATE)
    args = ["--manage-link", "yes", "--bitrate", str(BITRATE), "--restart-ms", "100"]
    with LinkHarness(board="dual-mismatch", transport="socketcan", can_iface=VESCD_IF, vescd_args=args) as h:
        before = check_configured(100)
        check_found(h)
        if counter(h, "BusOffCount") != 0:
            fail("BusOffCount %d before any bus-off" % counter(h, "BusOffCount"))
        errors = counter(h, "ErrorFrames")

        # controller-state frames pass vescd's error filter (CAN_ERR_CRTL)
        inject_crtl(VESCD_IF, CAN_ERR_CRTL_TX_PASSIVE)
        h.wait_until(lambda: bus_state(h) == "error-passive", "BusState error-passive")
        inject_crtl(VESCD_IF, CAN_ERR_CRTL_ACTIVE)
        h.wait_until(lambda: bus_state(h) == "error-active", "BusState error-active again")
        errors += 2
        log("error-passive and back to error-active reported")

        inject_bus_off(VESCD_IF)
        h.wait_until(lambda: counter(h, "BusOffCount") == 1, "BusOffCount 1")
        if counter(h, "ErrorFrames") < errors + 1:
            fail("ErrorFrames did not count the bus-off frame")
        # B's 50 Hz status frames show the bus works again
        h.wait_until(lambda: bus_state(h) == "error-active", "BusState error-active after the bus-off")
        after = link_details(VESCD_IF)
        if after["restarts"] != before["restarts"]:
            fail("vescd restarted %s although the kernel does that with restart-ms 100" % VESCD_IF)
        log("bus-off with restart-ms 100: counted, restart left to the kernel")
        if h.stop_vescd() != 0:
            fail("vescd did not exit 0 on SIGTERM")


def scenario_reconfigure_and_restart():
    """3: can0 left up at the wrong bitrate; restart-ms 0."""
    set_link(VESCD_IF, 250000, 100)
    if link_details(VESCD_IF)["bitrate"] != 250000:
        fail("could not pre-configure %s at 250000" % VESCD_IF)
    args = ["--manage-link", "yes", "--bitrate", str(BITRATE), "--restart-ms", "0"]
    with LinkHarness(board="dual-mismatch", transport="socketcan", can_iface=VESCD_IF, vescd_args=args) as h:
        before = check_configured(0)
        check_found(h)
        if before["restarts"] is None:
            fail("no restart counter in ip's output:\n" + before["text"])

        # vescd asks the kernel for the link state (netlink), finds it
        # error-active (the bus-off was injected) and must not restart it
        inject_bus_off(VESCD_IF)
        h.wait_until(lambda: counter(h, "BusOffCount") == 1, "BusOffCount 1")
        h.wait_until(lambda: "not in bus-off: not restarting it" in h.vescd_log(),
                     "vescd's look at the link state")
        text = h.vescd_log()
        if "no use to restart" in text or "Failed to restart" in text:
            fail("vescd called can_do_restart on a link not in bus-off:\n" + text)
        if link_details(VESCD_IF)["restarts"] != before["restarts"]:
            fail("vescd restarted %s although it was not in bus-off" % VESCD_IF)

        # the kernel's manual restart (IFLA_CAN_RESTART, what can_do_restart
        # sends; the kernel allows it with restart-ms 0 even when not in
        # bus-off): its CAN_ERR_RESTARTED frame must reach vescd
        errors = counter(h, "ErrorFrames")
        p = subprocess.run(["ip", "link", "set", VESCD_IF, "type", "can", "restart"],
                           capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            # Debian's 6.1 kernel: EBUSY, a restart needs a real bus-off
            log("this kernel refuses a restart outside bus-off (%s); restart frame not checked" %
                p.stderr.strip())
        else:
            h.wait_until(lambda: counter(h, "ErrorFrames") > errors, "the CAN_ERR_RESTARTED frame")
            if link_details(VESCD_IF)["restarts"] != before["restarts"] + 1:
                fail("the kernel did not count the restart")
            log("kernel restart of %s seen by vescd" % VESCD_IF)
        h.wait_until(lambda: bus_state(h) == "error-active", "BusState error-active after the restart")
        d = link_details(VESCD_IF)
        if d["state"] != "ERROR-ACTIVE" or "LOWER_UP" not in d["flags"]:
            fail("%s after the restart:\n%s" % (VESCD_IF, d["text"]))
        # frames flow again after the controller's reset
        rx = counter(h, "RxFrames")
        h.wait_until(lambda: counter(h, "RxFrames") > rx + 10, "frames after the restart")
        if h.stop_vescd() != 0:
            fail("vescd did not exit 0 on SIGTERM")


def main():
    if os.geteuid() != 0:
        skip("needs root (CAP_NET_ADMIN) to configure CAN links; runs as root inside the test VM (tools/vm/vm-run)")
    for iface in (VESCD_IF, SIM_IF):
        if subprocess.run(["ip", "link", "show", iface], capture_output=True).returncode != 0:
            skip("no %s (needs vm-run --can qemu)" % iface)
    scenario_configure_and_kernel_restart()
    scenario_reconfigure_and_restart()
    print("PASS")


if __name__ == "__main__":
    main()
