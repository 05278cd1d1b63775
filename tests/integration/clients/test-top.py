#!/usr/bin/python3
"""`vescctl top` under tmux against vescd on vesc-sim (--board dual-mismatch):
the full-screen view shows both controllers, the board state and live
values that change during a scripted ride, redrawn in place (the header
stays on the first line, shown once), and q quits.  Without a terminal it
prints blocks of lines (no escape sequences), or JSON lines with --json.
The last screen is kept as $top_builddir/tests/integration/clients/top-screen.txt."""
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "dbus"))
from vescd_harness import TIMEOUT, UUID_A, UUID_B, Harness, builddir, fail, log, skip  # noqa: E402


def row_of(screen, uuid):
    for line in screen.splitlines():
        if line.rstrip().endswith(uuid):
            return line.split()
    return None


def main():
    tmux = shutil.which("tmux")
    if not tmux:
        skip("tmux is not installed")
    with Harness(board="dual-mismatch") as h:
        h.wait_until(lambda: len(h.controllers()) == 2, "both controllers")
        sock = os.path.join(h.tmp, "tmux.sock")

        def tm(*args, check=True):
            return subprocess.run([tmux, "-S", sock] + list(args), capture_output=True, text=True,
                                  timeout=TIMEOUT, check=check)

        def capture():
            return tm("capture-pane", "-p", "-t", "top").stdout

        def wait_screen(pred, what):
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline:
                s = capture()
                if pred(s):
                    return s
                time.sleep(0.1)
            fail("top: no %s on the screen:\n%s" % (what, capture()))

        cmd = "%s --address '%s' top --interval 0.2" % (h.vescctl_path(), h.address)
        tm("new-session", "-d", "-s", "top", "-x", "140", "-y", "30", cmd)
        try:
            s = wait_screen(lambda s: UUID_A in s and UUID_B in s, "both controllers")
            lines = s.splitlines()
            if not lines[0].startswith("vescd ") or "(q quits)" not in lines[0] or s.count("(q quits)") != 1:
                fail("top: header not on the first line, or shown twice:\n%s" % s)
            if not re.search(r"^Board: mismatch", s, re.M) or "firmware 5.03" not in s:
                fail("top: no board state:\n%s" % s)
            for col in ("ERPM", "DUTY%", "MOTOR A", "BATT A", "VOLT V", "FET C", "MOT C", "FAULT", "FW", "ONLINE"):
                if col not in s:
                    fail("top: column %s missing:\n%s" % (col, s))
            a = row_of(s, UUID_A)
            if a[:3] != ["12", "5.03", "yes"] or row_of(s, UUID_B)[:3] != ["74", "3.58", "yes"]:
                fail("top: rows %s / %s" % (a, row_of(s, UUID_B)))
            # a ride: A's ERPM moves on screen
            h.sim_control("ride A current 15 3; brake 40 2")
            first = float(a[3])
            s = wait_screen(lambda s: row_of(s, UUID_A) and abs(float(row_of(s, UUID_A)[3]) - first) > 100,
                            "ERPM change of A during the ride")
            if s.count("(q quits)") != 1 or not s.splitlines()[0].startswith("vescd "):
                fail("top: not redrawn in place:\n%s" % s)
            log("top: live ERPM %s -> %s" % (first, row_of(s, UUID_A)[3]))
            out = os.path.join(builddir(), "tests", "integration", "clients")
            os.makedirs(out, exist_ok=True)
            with open(os.path.join(out, "top-screen.txt"), "w") as f:
                f.write(s)
            tm("send-keys", "-t", "top", "q")
            deadline = time.monotonic() + TIMEOUT
            while tm("has-session", "-t", "top", check=False).returncode == 0:
                if time.monotonic() > deadline:
                    fail("top: q did not quit:\n%s" % capture())
                time.sleep(0.1)
            log("top: q quits")
        finally:
            tm("kill-server", check=False)

        # not a terminal: blocks of lines, no escape sequences
        p = subprocess.run([h.vescctl_path(), "--address", h.address, "top", "--interval", "0.2", "--duration", "1"],
                           capture_output=True, text=True, timeout=TIMEOUT)
        if p.returncode != 0 or "\033" in p.stdout or p.stdout.count("\nBoard: ") < 2 or UUID_B not in p.stdout:
            fail("top without a terminal: rc %d %r %r" % (p.returncode, p.stdout[:400], p.stderr))
        p = subprocess.run([h.vescctl_path(), "--address", h.address, "--json", "top", "--interval", "0.2",
                            "--duration", "1"], capture_output=True, text=True, timeout=TIMEOUT)
        frames = [json.loads(l) for l in p.stdout.splitlines()]
        if p.returncode != 0 or len(frames) < 2 or \
                sorted(c["uuid"] for c in frames[0]["controller_objects"]) != sorted([UUID_A, UUID_B]) or \
                not all("wall_time_usec" in f for f in frames):
            fail("top --json: rc %d %r" % (p.returncode, p.stdout[:400]))
        log("top without a terminal: %d JSON frames" % len(frames))
    print("PASS")


if __name__ == "__main__":
    main()
