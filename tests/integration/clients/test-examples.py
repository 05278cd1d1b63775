#!/usr/bin/python3
"""The client examples against vescd on vesc-sim (--board dual-mismatch):
- clients/examples/dashboard.py: a clear message (no traceback) when the
  socket is missing; samples with the local wall-clock time and units; a
  line when a controller goes offline (vesc-sim mutes B) and comes back;
- clients/examples/board-status.sh (busctl only): the board and both
  controllers; exit 3 with a message when vescd is not running."""
import os
import re
import select
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "dbus"))
from vescd_harness import TIMEOUT, UUID_A, UUID_B, Harness, fail, log, skip, srcdir  # noqa: E402

STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.\d{3} ")


def read_until(proc, pred, lines, what):
    deadline = time.monotonic() + TIMEOUT
    buf = ""
    while time.monotonic() < deadline:
        r, _, _ = select.select([proc.stdout], [], [], 0.2)
        if not r:
            continue
        chunk = os.read(proc.stdout.fileno(), 65536).decode()
        if not chunk:
            break
        buf += chunk
        while "\n" in buf:
            line, buf = buf.split("\n", 1)
            lines.append(line)
            if pred(line):
                return line
    fail("dashboard.py: no %s in:\n%s" % (what, "\n".join(lines[-30:])))


def main():
    py = os.environ.get("PYTHON3") or "/usr/bin/python3"
    dash = os.path.join(srcdir(), "clients", "examples", "dashboard.py")
    shell = os.path.join(srcdir(), "clients", "examples", "board-status.sh")
    with Harness(board="dual-mismatch") as h:
        h.wait_until(lambda: len(h.controllers()) == 2, "both controllers")

        # --- a missing socket: one clear line
        p = subprocess.run([py, dash, "--socket", os.path.join(h.tmp, "nothing.sock")], capture_output=True,
                           text=True, timeout=TIMEOUT)
        if p.returncode == 0 or "Traceback" in p.stderr or "is vescd running?" not in p.stderr:
            fail("dashboard.py without a socket: rc %d %r" % (p.returncode, p.stderr))
        log("dashboard.py: missing socket -> %s" % p.stderr.strip())

        # --- samples with wall-clock time and units; offline and back
        h.sim_control("ride B current 15 4; brake 40 2")
        proc = subprocess.Popen([py, dash, "--socket", os.path.join(h.tmp, "vescd.sock"), "--rate", "10"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        lines = []
        try:
            read_until(proc, lambda l: l == "controller %s id 74: hw 60 firmware 3.58, online" % UUID_B, lines,
                       "B's line naming its hardware")
            line = read_until(proc, lambda l: UUID_B in l and "voltage=" in l, lines, "sample of B")
            m = STAMP.match(line)
            if not m or abs(time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")) - time.time()) > 30:
                fail("dashboard.py: %r has no wall-clock time" % line)
            if not re.search(r"voltage=\d+\.\d\d V\b", line) or not re.search(r"duty=-?\d+\.\d%", line) or \
                    not re.search(r"motor=-?\d+\.\d\d A\b", line):
                fail("dashboard.py: %r has no units" % line)
            h.sim_control("mute B on")
            read_until(proc, lambda l: STAMP.match(l) and UUID_B in l and l.endswith("OFFLINE"), lines, "B OFFLINE")
            h.sim_control("mute B off")
            read_until(proc, lambda l: STAMP.match(l) and UUID_B in l and l.endswith(" online"), lines, "B online")
        finally:
            proc.terminate()
            proc.wait(timeout=TIMEOUT)
        log("dashboard.py: %d lines, wall-clock and units, B offline and back" % len(lines))

        # --- the busctl example
        if not (os.environ.get("BUSCTL") or shutil.which("busctl")):
            skip("busctl is not installed")
        p = subprocess.run(["sh", shell, "--address", h.address], capture_output=True, text=True, timeout=TIMEOUT)
        if p.returncode != 0 or not p.stdout.startswith("vescd ") or "board: " not in p.stdout or \
                not re.search(UUID_A + r" id 12 firmware 5.03 online true: ", p.stdout) or \
                not re.search(UUID_B + r" id 74 firmware 3.58 online true: .* V, FET .* °C", p.stdout):
            fail("board-status.sh: rc %d %r %r" % (p.returncode, p.stdout, p.stderr))
        h.stop_vescd()
        p = subprocess.run(["sh", shell, "--address", h.address], capture_output=True, text=True, timeout=TIMEOUT)
        if p.returncode != 3 or "vescd is not running" not in p.stderr:
            fail("board-status.sh without vescd: rc %d %r" % (p.returncode, p.stderr))
        log("board-status.sh: the board; exit 3 without vescd")
    print("PASS")


if __name__ == "__main__":
    main()
