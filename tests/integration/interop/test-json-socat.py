#!/usr/bin/python3
"""vescd's JSON socket spoken through a stock client, socat
(`socat - UNIX-CONNECT:PATH`): the first line is the `hello` notification
(protocol 2.x); a `controllers.list` request answers both controllers of
vesc-sim's dual-mismatch board, with the ids, UUIDs, hardware names and
versions the independent implementation read itself over the bus."""
import json
import os
import select
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vescproto as vp  # noqa: E402
from interop import (TIMEOUT, UUID_A, UUID_B, Env, check, fail, log, require_programs,  # noqa: E402
                     run, skip)

OWN_ID = 250


class Socat:
    """socat as a line-oriented JSON client; every read has a deadline."""

    def __init__(self, path):
        socat = shutil.which("socat")
        if not socat:
            skip("socat not found")
        self.p = subprocess.Popen([socat, "-", "UNIX-CONNECT:" + path],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.buf = b""

    def line(self, deadline):
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if not r:
                return None
            chunk = os.read(self.p.stdout.fileno(), 65536)
            if not chunk:
                fail("socat ended: %s" % self.p.stderr.read().decode(errors="replace"))
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        try:
            return json.loads(line)
        except ValueError:
            fail("not a JSON line: %r" % line)

    def send(self, obj):
        self.p.stdin.write((json.dumps(obj) + "\n").encode())
        self.p.stdin.flush()

    def close(self):
        self.p.stdin.close()
        try:
            self.p.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.p.stdout.close()
        self.p.stderr.close()
        return self.p.returncode


def main():
    require_programs("sim/vesc-sim", "daemon/vescd")
    with Env() as env:
        env.start_dbus()
        c = vp.Client(vp.VbusTransport(env.start_sim("dual-mismatch")), OWN_ID)
        deadline = time.monotonic() + TIMEOUT
        while c.ping(74, 0.2) is None:
            if time.monotonic() > deadline:
                fail("no PONG from 74 after joining the hub")
        mine = {12: c.fw_version(12), 74: c.fw_version(74)}
        c.t.close()   # leave the bus: we are not reading it any more

        env.start_vescd("vbus:" + env.path("vbus"))
        if not os.path.exists(env.path("vescd.sock")):
            fail("vescd is READY but has no JSON socket at its --json-socket path")
        s = Socat(env.path("vescd.sock"))
        try:
            deadline = time.monotonic() + TIMEOUT
            hello = s.line(deadline)
            log("hello:", hello)
            check(hello is not None and hello.get("jsonrpc") == "2.0" and hello.get("method") == "hello"
                  and "id" not in hello, "first line is the hello notification")
            proto = str(hello["params"].get("protocol", ""))
            check(proto.split(".")[0] == "2", "hello announces protocol 2.x (%s)" % proto)

            # ask until both controllers are identified; in between, wait for
            # the next line (e.g. a controller.added notification)
            rid = 0
            listed = None
            while True:
                rid += 1
                s.send({"jsonrpc": "2.0", "id": rid, "method": "controllers.list"})
                while True:
                    msg = s.line(deadline)
                    if msg is None:
                        fail("no answer to controllers.list with both controllers (last: %r)" % listed)
                    if msg.get("id") == rid:
                        break
                if "error" in msg:
                    fail("controllers.list error: %r" % msg["error"])
                listed = msg["result"]["controllers"]
                if sorted(x.get("uuid") for x in listed) == sorted([UUID_A, UUID_B]):
                    break
                if s.line(min(deadline, time.monotonic() + 1.0)) is None and time.monotonic() > deadline:
                    fail("controllers.list never listed both: %r" % listed)
            log("controllers.list:", json.dumps(listed)[:400])
            by_uuid = {x["uuid"]: x for x in listed}
            for cid, uuid in ((12, UUID_A), (74, UUID_B)):
                x = by_uuid[uuid]
                got = (x.get("id"), x.get("hw_name"), x.get("firmware_version"), x.get("firmware_test_build"))
                want = (cid, mine[cid]["hw_name"], mine[cid]["version"], mine[cid].get("test_build", 0))
                check(got == want, "controllers.list %s: %r (ours %r)" % (uuid, got, want))

            rid += 1
            s.send({"jsonrpc": "2.0", "id": rid, "method": "no.such.method"})
            while True:
                msg = s.line(deadline)
                if msg is None:
                    fail("no answer to an unknown method")
                if msg.get("id") == rid:
                    break
            check(msg.get("error", {}).get("code") == -32601, "unknown method answers -32601")
        finally:
            rc = s.close()
        check(rc == 0, "socat exits 0 when we close its input")
        check(env.stop_vescd() == 0, "vescd exits 0 on SIGTERM")


if __name__ == "__main__":
    run(main)
