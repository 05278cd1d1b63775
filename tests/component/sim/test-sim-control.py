#!/usr/bin/python3
"""vesc-sim's control socket: every command answers one line, and the fault
injection it promises is visible on the bus (mute, leave/join, drop, set,
ride, missjump, busoff, powercycle).  Standard library only; exits 77 when
vesc-sim is not built."""

import json
import os
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simproc  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "integration"))
from privbus import unix_request  # noqa: E402

top_builddir = os.environ.get("top_builddir", ".")
sim = os.path.join(top_builddir, "sim", "vesc-sim")
if not os.access(sim, os.X_OK):
    print("SKIP: sim/vesc-sim not built")
    sys.exit(77)

FRAME = struct.Struct("=IB3x8s")
EFF = 0x80000000
ERR = 0x20000000
OWN = 253


class Bus:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.s.connect(path)

    def send(self, can_id, data=b""):
        self.s.send(FRAME.pack(can_id, len(data), bytes(data).ljust(8, b"\0")))

    def frames(self, seconds):
        """Every frame within `seconds` (bounded)."""
        out = []
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return out
            r, _, _ = select.select([self.s], [], [], left)
            if r:
                can_id, dlc, data = FRAME.unpack(self.s.recv(16))
                out.append((can_id, data[:min(dlc, 8)]))

    def ping(self, dest, timeout=0.5):
        self.send(EFF | (17 << 8) | dest, bytes([OWN]))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for can_id, data in self.frames(0.05):
                if can_id == EFF | (18 << 8) | OWN:
                    return data
        return None


def control(path, line):
    """One command on vesc-sim's control socket: its reply line."""
    return unix_request(path, line, 5)


def status(path, name):
    for c in json.loads(control(path, "status"))["controllers"]:
        if c["name"] == name:
            return c
    raise AssertionError("no controller " + name)


def wait_for(pred, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        select.select([], [], [], 0.02)
    return False


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok -", what)


def run(bus_path, ctl):
    bus = Bus(bus_path)
    check(control(ctl, "help").startswith("ok "), "help")
    check(control(ctl, "bogus").startswith("error: "), "unknown command is an error line")
    check(control(ctl, "mute Z on").startswith("error: "), "unknown controller is an error line")
    st = status(ctl, "A")
    check(st["version"] == "5.03" and st["id"] == 12 and st["phase"] == "running", "status JSON")

    check(control(ctl, "mute A on").startswith("ok"), "mute A on")
    check(bus.ping(12) is None, "muted A does not answer")
    check(status(ctl, "A")["phase"] == "muted", "phase muted")
    control(ctl, "mute A off")
    check(bus.ping(12) == b"\x0c\x00", "unmuted A answers")

    control(ctl, "leave B")
    bus.frames(0.1)
    check(not [f for f in bus.frames(0.3) if f[0] == EFF | (9 << 8) | 74], "B off the bus: no STATUS")
    control(ctl, "join B")
    check([f for f in bus.frames(0.5) if f[0] == EFF | (9 << 8) | 74], "B back: STATUS again")

    control(ctl, "drop 1 A")
    check(bus.ping(12, 0.3) is None, "drop 1: A hears nothing")
    control(ctl, "drop 0")
    check(bus.ping(12) is not None, "drop 0: A answers")

    check(control(ctl, "set A erpm 3000").startswith("ok"), "set erpm")
    check(abs(status(ctl, "A")["erpm"] - 3000) < 1, "erpm held")
    # 5.03 waits (3 s x 0.05) for the motor to stop before erasing: it does not -> ok = 0
    bus.send(EFF | (8 << 8) | 12, bytes([OWN, 0, 2, 0, 0, 0, 1]))
    acks = [f for f in bus.frames(1.0) if f[0] == EFF | (8 << 8) | OWN and f[1][2:3] == b"\x02"]
    check(acks and acks[0][1] == bytes([12, 1, 2, 0]), "ERASE_NEW_APP refused while the motor turns")
    # ERASE_BOOTLOADER goes through the same wait (flash_helper.c erase_sector, 5.03+):
    # refused, and sector 11 is left alone
    bus.send(EFF | (8 << 8) | 12, bytes([OWN, 0, 73]))
    acks = [f for f in bus.frames(1.0) if f[0] == EFF | (8 << 8) | OWN and f[1][2:3] == b"\x49"]
    check(acks and acks[0][1] == bytes([12, 1, 73, 0]), "ERASE_BOOTLOADER refused while the motor turns")
    check(status(ctl, "A")["bootloader_generation"] == 1, "bootloader kept after the refused erase")
    control(ctl, "set A erpm free")
    check(control(ctl, "ride A current 20 0.3; release 0 0.1").startswith("ok"), "ride")
    check(wait_for(lambda: status(ctl, "A")["current"] > 1), "ride drives a current")
    check(wait_for(lambda: not status(ctl, "A")["riding"]), "ride ends")
    check(control(ctl, "ride A fly 1 1").startswith("error"), "bad ride script refused")

    # missjump: the JUMP (short buffer, mode 2) is ignored, A keeps running
    control(ctl, "missjump A")
    bus.send(EFF | (8 << 8) | 12, bytes([OWN, 2, 1]))
    check(bus.ping(12) is not None and status(ctl, "A")["counters"]["boots"] == 1, "missed JUMP")

    check(control(ctl, "powercycle A").startswith("ok"), "powercycle now")
    check(wait_for(lambda: status(ctl, "A")["counters"]["boots"] == 2 and status(ctl, "A")["phase"] == "running"),
          "A restarted")

    check(control(ctl, "busoff 100").startswith("ok"), "busoff")
    errs = [f for f in bus.frames(0.5) if f[0] & ERR]
    check(len(errs) >= 1, "bus-off error frames reach members")


def main():
    tmp = tempfile.mkdtemp(prefix="vesc-sim-ctl.")
    bus_path = os.path.join(tmp, "bus")
    ctl = os.path.join(tmp, "ctl")
    proc = subprocess.Popen([sim, "--vbus", bus_path, "--control", ctl, "--board", "dual-mismatch",
                             "--time-scale", "0.05"], stdout=subprocess.PIPE)
    rc = 1
    try:
        if not simproc.wait_ready(proc, 15):
            print("FAIL: vesc-sim did not become ready")
            return 1
        run(bus_path, ctl)
        rc = 0
    except AssertionError as e:
        print("FAIL:", e)
    finally:
        code = simproc.stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
        if code != 0:
            print("FAIL: vesc-sim exited with", code)
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
