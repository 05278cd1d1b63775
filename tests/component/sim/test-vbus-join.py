#!/usr/bin/python3
"""docs/examples/vbus_join.py against `vesc-sim --board dual-mismatch`: the
example joins the bus, sees B's STATUS frames (id 74, 50 Hz) and gets a
2-byte PONG from controller 12 (A, 5.03).  Exits 77 when vesc-sim is not
built."""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simproc  # noqa: E402

top_builddir = os.environ.get("top_builddir", ".")
top_srcdir = os.environ.get("top_srcdir", ".")
sim = os.path.join(top_builddir, "sim", "vesc-sim")
example = os.path.join(top_srcdir, "docs", "examples", "vbus_join.py")

if not os.access(sim, os.X_OK):
    print("SKIP: sim/vesc-sim not built")
    sys.exit(77)
if not os.path.exists(example):
    print("SKIP: docs/examples/vbus_join.py missing")
    sys.exit(77)


def main():
    tmp = tempfile.mkdtemp(prefix="vesc-sim-join.")
    bus = os.path.join(tmp, "bus")
    proc = subprocess.Popen([sim, "--vbus", bus, "--board", "dual-mismatch"], stdout=subprocess.PIPE)
    try:
        if not simproc.wait_ready(proc, 15):
            print("FAIL: vesc-sim did not become ready")
            return 1
        out = subprocess.run([sys.executable, example, bus, "--count", "40", "--timeout", "5"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        text = out.stdout.decode()
        status_b = [l for l in text.splitlines() if "0000094A#" in l]
        pong = [l for l in text.splitlines() if "000012FD#0C00" in l]
        print("# %d STATUS frames from 74, PONG lines: %s" % (len(status_b), pong))
        if not status_b:
            print("FAIL: no STATUS frame from B (id 74)\n" + text + out.stderr.decode())
            return 1
        if not pong:
            print("FAIL: no PONG 0C 00 from A (id 12) to 253\n" + text + out.stderr.decode())
            return 1
        return 0
    finally:
        rc = simproc.stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
        if rc != 0:
            print("FAIL: vesc-sim exited with %d" % rc)
            sys.exit(1)


if __name__ == "__main__":
    sys.exit(main())
