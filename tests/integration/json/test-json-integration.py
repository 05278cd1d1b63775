#!/usr/bin/python3
"""JSON socket against the real daemon: a private dbus-daemon, vesc-sim with the
dual-mismatch board, and vescd with --json-socket.  Stock clients (Python's
socket/json, socat, the example dashboard) connect, read the greeting, watch both
controllers at a requested rate and get no more samples than the rate allows and at
least one per controller in bounded time; privileged methods are refused to uid 65534.
Every wait is on an event with a bound; nothing sleeps and hopes."""

import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "component", "json"))
from jsontest import TIMEOUT, UUID_A, UUID_B, Client, log  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from privbus import unix_request  # noqa: E402

SKIP = 77
# checks that could not run here: the test then exits 77, never passes
NOT_CHECKED = []
PERMISSION_DENIED = 1001



def wait_line(proc_stdout, want, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no %r" % want)
        r, _, _ = select.select([proc_stdout], [], [], left)
        if r:
            line = proc_stdout.readline()
            if not line:
                raise AssertionError("process exited before printing %r" % want)
            if want in line:
                return line


def wait_notify(sock, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("vescd sent no READY=1")
        r, _, _ = select.select([sock], [], [], left)
        if r and b"READY=1" in sock.recv(4096).split(b"\n"):
            return


def wait_both_controllers(c):
    """Until both controllers of the pair are identified (controller.added)."""
    have = {x["uuid"] for x in c.result("controllers.list")["controllers"]}
    deadline = time.monotonic() + TIMEOUT * 3
    while not {UUID_A, UUID_B} <= have:
        assert time.monotonic() < deadline, "controllers never appeared: %r" % have
        m = c.receive(timeout=max(0.1, deadline - time.monotonic()))
        if m.get("method") in ("controller.added", "controller.changed"):
            have.add(m["params"]["uuid"])


def check_watch(c, rate, window=2.0):
    """Watch both controllers for `window` seconds at `rate`: never more samples
    than the rate allows (window × rate + 2, docs/json-protocol.md); B, which
    broadcasts STATUS at 50 Hz, gives a fresh reading every period, so it must
    deliver a good share of what the rate implies (a loose lower bound that holds
    on a slow machine); A (polled, motor at rest) at least one."""
    c.result("telemetry.watch", {"controllers": [UUID_A, UUID_B], "rate_hz": rate})
    last, count = {}, {UUID_A: 0, UUID_B: 0}
    end = time.monotonic() + window
    while time.monotonic() < end:
        try:
            m = c.receive(timeout=max(0.05, end - time.monotonic()))
        except TimeoutError:
            continue
        assert m is not None, "vescd closed the connection"
        if m.get("method") != "telemetry":
            continue
        p = m["params"]
        u = p["uuid"]
        assert u in count and p["id"] in (12, 74), p
        # time_usec: the reading's receive time (CLOCK_MONOTONIC, the clock of
        # time.monotonic()), so never after this arrival and never going back;
        # wall_time_usec: the same moment on the wall clock
        arrival = time.monotonic_ns() // 1000
        assert 0 < p["time_usec"] <= arrival, (p["time_usec"], arrival)
        assert abs(p["wall_time_usec"] - p["time_usec"] - (time.time_ns() // 1000 - arrival)) < 1000000, p
        if u in last:
            assert p["time_usec"] >= last[u], "sample time went back: %d after %d" % (p["time_usec"], last[u])
        last[u] = p["time_usec"]
        count[u] += 1
    c.result("telemetry.unwatch")
    log("watch at %g Hz for %g s: %r" % (rate, window, count))
    implied = window * min(rate, 50.0)
    for u, n in count.items():
        assert n <= window * rate + 2, "%s: %d samples in %g s at %g Hz" % (u, n, window, rate)
    assert count[UUID_B] >= max(1, implied / 4), "B: %d samples, the rate implies %d" % (count[UUID_B], implied)
    assert count[UUID_A] >= 1, "A: no sample in %g s" % window


def sim_control(path, command):
    reply = unix_request(path, command, TIMEOUT)
    assert reply.startswith("ok"), (command, reply)


def wait_for(c, what, pred, timeout=TIMEOUT):
    """Read messages until pred(message) holds; returns the telemetry uuids seen."""
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "%s: not within %g s" % (what, timeout)
        try:
            m = c.receive(timeout=left)
        except TimeoutError:
            continue
        assert m is not None, "vescd closed the connection"
        if m.get("method") == "telemetry":
            seen.append(m["params"]["uuid"])
        if pred(m):
            return seen


def check_removed_and_back(c, control):
    """A watched controller that goes away and comes back: the watcher gets
    controller.removed (the adapter's state of it goes with the core's record),
    no telemetry of it while it is gone, and, on the same watch, its telemetry
    again once it is back (a new record in the core, found by UUID)."""
    c.result("telemetry.watch", {"controllers": [UUID_A, UUID_B], "rate_hz": 20})
    wait_for(c, "a sample of B", lambda m: m.get("method") == "telemetry" and m["params"]["uuid"] == UUID_B)
    sim_control(control, "leave " + UUID_B)
    wait_for(c, "B offline", lambda m: m.get("method") == "controller.changed"
             and m["params"]["uuid"] == UUID_B and m["params"]["online"] is False)
    # an offline member that is forgotten is removed from the core
    c.result("board.forget", {"uuid": UUID_B})
    wait_for(c, "controller.removed of B", lambda m: m.get("method") == "controller.removed"
             and m["params"]["uuid"] == UUID_B)
    listed = [x["uuid"] for x in c.result("controllers.list")["controllers"]]
    assert UUID_B not in listed, listed
    err = c.error("telemetry.poll", {"controllers": [UUID_B]})
    assert err["code"] == 1002, err  # NoSuchController
    # gone: A goes on, B sends nothing
    seen = wait_for(c, "samples of A", lambda m: m.get("method") == "telemetry" and m["params"]["uuid"] == UUID_A)
    assert UUID_B not in seen, seen
    sim_control(control, "join " + UUID_B)
    seen = wait_for(c, "controller.added of B", lambda m: m.get("method") == "controller.added"
                    and m["params"]["uuid"] == UUID_B, timeout=3 * TIMEOUT)
    assert UUID_B not in seen, seen
    wait_for(c, "B's telemetry on the same watch",
             lambda m: m.get("method") == "telemetry" and m["params"]["uuid"] == UUID_B)
    c.result("telemetry.unwatch")
    log("B removed while watched, back on the same watch")


UNPRIVILEGED = r"""
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(20)
s.connect(sys.argv[1])
f = s.makefile("r")
out = {"hello": json.loads(f.readline())["params"]}
for i, (m, p) in enumerate([("limits.set", {"uuid": sys.argv[2], "current_max_scale": 0.5}),
                            ("controller.reboot", {"uuid": sys.argv[2]}),
                            ("config.restore", {"uuid": sys.argv[2], "mcconf": "AAEC"}),
                            ("firmware.update", {"set": "0123456789abcdef"})]):
    s.sendall(json.dumps({"jsonrpc": "2.0", "id": i, "method": m, "params": p}).encode() + b"\n")
    while True:
        r = json.loads(f.readline())
        if r.get("id") == i:
            out[m] = r
            break
print(json.dumps(out))
"""


def main():
    builddir = os.environ.get("top_builddir", ".")
    srcdir = os.environ.get("top_srcdir", ".")
    vescd = os.path.join(builddir, "daemon", "vescd")
    sim = os.path.join(builddir, "sim", "vesc-sim")
    dbus_daemon = os.environ.get("DBUS_DAEMON") or shutil.which("dbus-daemon")
    for exe in (vescd, sim):
        if not os.access(exe, os.X_OK):
            log("SKIP: %s not built" % exe)
            return SKIP
    if not dbus_daemon:
        log("SKIP: dbus-daemon not found")
        return SKIP

    tmp = tempfile.mkdtemp(prefix="vescd-json-it-")
    os.chmod(tmp, 0o755)
    procs = []
    try:
        bus_path = os.path.join(tmp, "bus")
        with open(os.path.join(tmp, "bus.conf"), "w") as f:
            # Debian's system-bus defaults + the shipped policy + <allow own> for us
            f.write(subprocess.run(["/bin/sh", os.path.join(srcdir, "tests", "dbus-test-config.sh"), bus_path],
                                   check=True, stdout=subprocess.PIPE, text=True).stdout)
        bus = subprocess.Popen([dbus_daemon, "--config-file=" + os.path.join(tmp, "bus.conf"), "--nofork",
                                "--print-address=1"], stdout=subprocess.PIPE, text=True)
        procs.append(bus)
        address = wait_line(bus.stdout, "unix:").strip()

        vbus = os.path.join(tmp, "vbus")
        control = os.path.join(tmp, "sim.ctl")
        simp = subprocess.Popen([sim, "--vbus", vbus, "--board", "dual-mismatch", "--control", control],
                                stdout=subprocess.PIPE, text=True)
        procs.append(simp)
        wait_line(simp.stdout, "ready")

        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify_path = os.path.join(tmp, "notify")
        notify.bind(notify_path)
        json_path = os.path.join(tmp, "vescd.sock")
        env = dict(os.environ, NOTIFY_SOCKET=notify_path)
        env.pop("LISTEN_FDS", None)
        vd = subprocess.Popen([vescd, "--transport", "vbus:" + vbus, "--bus-address", address,
                               "--state-dir", os.path.join(tmp, "state"), "--json-socket", json_path,
                               "--config", os.path.join(tmp, "none.conf"), "--member-after-s", "0"], env=env)
        procs.append(vd)
        wait_notify(notify)
        assert os.path.exists(json_path), "vescd is ready but has no JSON socket (json_server_new not wired?)"

        # Python stdlib client
        c = Client(json_path)
        hello = c.hello()
        assert hello["protocol_major"] == 2 and hello["version"], hello
        wait_both_controllers(c)
        board = c.result("board.get")
        assert board["mismatch"] is True and any("5.03" in r and "3.58" in r for r in board["mismatch_reasons"]), board
        ctl = c.result("controller.get", {"uuid": UUID_B})
        assert ctl["id"] == 74 and ctl["firmware_version"] == "3.58", ctl
        check_watch(c, 5.0)
        check_watch(c, 40.0)
        check_removed_and_back(c, control)

        # socat, as in docs/json-protocol.md
        socat = shutil.which("socat")
        if socat:
            out = subprocess.run([socat, "-t", "5", "-", "UNIX-CONNECT:" + json_path],
                                 input=b'{"jsonrpc":"2.0","id":7,"method":"controllers.list"}\n',
                                 stdout=subprocess.PIPE, timeout=TIMEOUT, check=True).stdout
            lines = [json.loads(x) for x in out.splitlines()]
            assert lines[0]["method"] == "hello", lines
            resp = [x for x in lines if x.get("id") == 7]
            assert resp and len(resp[0]["result"]["controllers"]) == 2, lines
        else:
            NOT_CHECKED.append("socat not installed: the socat client")

        # the example dashboard
        out = subprocess.run(["/usr/bin/python3", os.path.join(srcdir, "clients", "examples", "dashboard.py"),
                              "--socket", json_path, "--rate", "5", "--count", "2"],
                             stdout=subprocess.PIPE, text=True, timeout=TIMEOUT * 2, check=True).stdout
        assert out.startswith("vescd ") and UUID_A in out and UUID_B in out, out

        # privileged methods refused to uid 65534
        setpriv = shutil.which("setpriv")
        if os.geteuid() == 0 and setpriv:
            out = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                                  "/usr/bin/python3", "-c", UNPRIVILEGED, json_path, UUID_A],
                                 stdout=subprocess.PIPE, timeout=TIMEOUT * 2, check=True).stdout
            res = json.loads(out)
            assert res["hello"]["admin"] is False
            for m in ("limits.set", "controller.reboot", "config.restore", "firmware.update"):
                assert res[m]["error"]["code"] == PERMISSION_DENIED, (m, res[m])
        else:
            NOT_CHECKED.append("not root or no setpriv: privileged methods refused to uid 65534")
        c.close()

        vd.terminate()
        assert vd.wait(TIMEOUT) == 0, "vescd exit status %r" % vd.returncode
        assert not os.path.exists(json_path), "vescd left its JSON socket behind"
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(TIMEOUT)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    if NOT_CHECKED:
        log("SKIP: checks that could not run: " + "; ".join(NOT_CHECKED))
        return SKIP
    log("JSON integration test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
