#!/usr/bin/python3
"""Kernel SocketCAN interop (runs where vcan0 exists: inside the test VM (tools/vm/vm-run), started
by test-socketcan.sh).  vesc-sim --socketcan vcan0 --board dual-mismatch,
then stock tools and independent code on the same interface:
 (a) candump -L vcan0 shows B's STATUS frames 0000094A#<8 bytes>;
 (b) cansend vcan0 0000114A#FD gets the PONG 000012FD#4A (3.58: one byte),
     and cansend vcan0 0000110C#FD the PONG 000012FD#0C00 (5.03);
 (c) python-can + vescproto.py read FW_VERSION of both controllers;
 (d) vescd on socketcan:vcan0 with a private dbus-daemon sees both
     controllers (busctl), with the versions (c) read."""
import os
import re
import select
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vescproto as vp  # noqa: E402
from interop import (CONTROLLER_PATH, TIMEOUT, UUID_A, UUID_B, Env, check, fail, log,  # noqa: E402
                     require_programs, run, skip)

IFACE = os.environ.get("VESCD_TEST_CAN_IFACE", "vcan0")
OWN_ID = 250
CANDUMP_LINE = re.compile(r"^\((\d+\.\d+)\) (\S+) ([0-9A-F]{3}|[0-9A-F]{8})#([0-9A-F]*)$")


class Candump:
    """candump -L IFACE as a subprocess, read line by line with deadlines."""

    def __init__(self):
        self.p = subprocess.Popen([shutil.which("candump"), "-L", IFACE],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.buf = b""
        self.lines = []

    def _line(self, deadline):
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if not r:
                return None
            chunk = os.read(self.p.stdout.fileno(), 65536)
            if not chunk:
                fail("candump ended: %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode(errors="replace").strip()

    def wait_line(self, predicate, what):
        """Read lines until predicate(id text, data hex text) holds."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            got = self._line(deadline)
            if got is None:
                fail("candump: no %s within %.0f s (saw %s)" % (what, TIMEOUT, self.lines[-5:]))
            self.lines.append(got)
            m = CANDUMP_LINE.match(got)
            if not m:
                fail("candump -L line not in log format: %r" % got)
            if m.group(2) != IFACE:
                fail("candump line for another interface: %r" % got)
            if predicate(m.group(3), m.group(4)):
                return got

    def close(self):
        self.p.terminate()
        self.p.wait(timeout=TIMEOUT)
        self.p.stdout.close()


def cansend(frame):
    subprocess.run([shutil.which("cansend"), IFACE, frame], check=True, timeout=TIMEOUT)


def main():
    require_programs("sim/vesc-sim", "daemon/vescd")
    for tool in ("candump", "cansend"):
        if not shutil.which(tool):
            skip("%s (can-utils) not installed" % tool)
    if not os.path.exists("/sys/class/net/%s" % IFACE):
        skip("no %s here (run through test-socketcan.sh / tools/vm/vm-run)" % IFACE)
    try:
        import can  # noqa: F401  (only to know python-can is there)
    except ImportError:
        skip("python3-can is not installed for %s" % sys.executable)

    with Env() as env:
        env.start_sim("dual-mismatch", vbus=False, iface=IFACE)

        # (a) candump shows B's STATUS; readiness of candump is proven by it
        dump = Candump()
        try:
            n = [0]

            def status_b(cid, data):
                if cid == "0000094A":
                    if len(data) != 16:
                        fail("STATUS frame with %d bytes: %s#%s" % (len(data) // 2, cid, data))
                    n[0] += 1
                return n[0] >= 3
            dump.wait_line(status_b, "STATUS frames 0000094A#...")
            check(True, "(a) candump -L %s shows B's STATUS frames 0000094A#<8 bytes>" % IFACE)

            # (b) cansend a PING, candump shows the PONG
            cansend("0000114A#FD")
            dump.wait_line(lambda cid, data: cid == "000012FD", "PONG 000012FD#...")
            check(dump.lines[-1].endswith(" %s 000012FD#4A" % IFACE),
                  "(b) cansend 0000114A#FD -> 000012FD#4A (3.58 PONG: one byte): %s" % dump.lines[-1])
            cansend("0000110C#FD")
            dump.wait_line(lambda cid, data: cid == "000012FD", "PONG 000012FD#...")
            check(dump.lines[-1].endswith(" %s 000012FD#0C00" % IFACE),
                  "(b) cansend 0000110C#FD -> 000012FD#0C00 (5.03 PONG): %s" % dump.lines[-1])
        finally:
            dump.close()

        # (c) python-can + the independent implementation
        c = vp.Client(vp.PythonCanTransport(IFACE), OWN_ID)
        try:
            mine = {12: c.fw_version(12, timeout=TIMEOUT / 4), 74: c.fw_version(74, timeout=TIMEOUT / 4)}
            pong = c.ping(74, TIMEOUT / 4)
        finally:
            c.t.close()
        log("A:", mine[12])
        log("B:", mine[74])
        check((mine[12]["length"], mine[12]["version"], mine[12]["uuid"]) == (25, "5.03", UUID_A),
              "(c) python-can: A is 5.03 (25-byte layout), UUID A")
        check((mine[74]["length"], mine[74]["version"], mine[74]["uuid"]) == (19, "3.58", UUID_B),
              "(c) python-can: B is 3.58 (19-byte layout), UUID B")
        check(pong == bytes([74]), "(c) python-can: PONG from B to our id 250")

        # (d) vescd on the kernel interface, seen through busctl
        env.start_dbus()
        env.start_vescd("socketcan:" + IFACE)
        deadline = time.monotonic() + TIMEOUT
        while True:
            out = env.busctl("get-property", "org.vescd1", "/org/vescd1", "org.vescd1.Manager", "Controllers")
            if CONTROLLER_PATH + UUID_A in out and CONTROLLER_PATH + UUID_B in out:
                break
            if time.monotonic() > deadline:
                fail("vescd did not export both controllers: %s\n%s" % (out, env.vescd_log()))
            time.sleep(0.1)  # re-poll a property with a deadline
        for cid, uuid in ((12, UUID_A), (74, UUID_B)):
            path = CONTROLLER_PATH + uuid
            ver = env.busctl("get-property", "org.vescd1", path, "org.vescd1.Controller", "FirmwareVersion").strip()
            cidp = env.busctl("get-property", "org.vescd1", path, "org.vescd1.Controller", "Id").strip()
            check((ver, cidp) == ('s "%s"' % mine[cid]["version"], "y %d" % cid),
                  "(d) busctl: vescd on socketcan:%s sees %s as id %d, %s" % (IFACE, uuid, cid, ver))
        transport = env.busctl("get-property", "org.vescd1", "/org/vescd1", "org.vescd1.Manager", "Transport").strip()
        check(transport == 's "socketcan:%s"' % IFACE, "(d) Manager.Transport is socketcan:%s" % IFACE)
        check(env.stop_vescd() == 0, "vescd exits 0 on SIGTERM")


if __name__ == "__main__":
    run(main)
