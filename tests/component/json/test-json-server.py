#!/usr/bin/python3
"""JSON socket adapter tests over a fake board (tests/component/json/json-test-server):
protocol conformance for every method and every error, telemetry watches, many
clients, a client that never reads, hostile input, the read-only TCP listener and
refusal of privileged methods to an unprivileged uid.  Rates are checked as bounds
(no more than the watch rate allows, at least one sample), never as exact counts."""

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
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jsontest import (TIMEOUT, UUID_A, UUID_B, Client, log, start_server,  # noqa: E402
                      stop_server, vm_rss_kib)

PERMISSION_DENIED = 1001
NO_SUCH_CONTROLLER = 1002
TOO_MANY_CLIENTS = 1026
NOT_SUPPORTED = 1006
QUEUE_FULL = 1014
# Checks that could not run here (the privileged methods need a root
# caller, the unprivileged client root and setpriv): the test then exits
# 77 (SKIP), never passes.
SKIP = 77
NOT_CHECKED = []


def cannot_check(msg):
    if msg not in NOT_CHECKED:
        log("cannot check: " + msg)
        NOT_CHECKED.append(msg)


def test_conformance(path):
    c = Client(path)
    hello = c.hello()
    assert hello["protocol"] == "2.0" and hello["protocol_major"] == 2 and hello["protocol_minor"] == 0
    assert hello["version"] == "test" and hello["daemon"] == "vescd"
    assert hello["read_only"] is False
    assert hello["admin"] is (os.geteuid() == 0)

    ctls = c.result("controllers.list")["controllers"]
    assert sorted(x["uuid"] for x in ctls) == sorted([UUID_A, UUID_B])
    assert c.result("controller.get", {"uuid": UUID_A})["id"] == 12
    assert c.result("controller.get", {"uuid": UUID_B.upper()})["id"] == 74
    err = c.error("controller.get", {"uuid": "0" * 24}, NO_SUCH_CONTROLLER)
    assert err["data"]["name"] == "NoSuchController"
    board = c.result("board.get")
    assert board["mismatch"] is True and board["mismatch_reasons"]

    samples = c.result("telemetry.poll", {"fields": ["erpm", "voltage_in"]})["samples"]
    assert len(samples) == 2
    for s in samples:
        assert set(s["values"]) == {"erpm", "voltage_in"}, s
        assert s["uuid"] in (UUID_A, UUID_B) and isinstance(s["time_usec"], int)
    assert len(c.result("telemetry.poll", {"controllers": [UUID_B]})["samples"]) == 1
    c.error("telemetry.poll", {"controllers": ["1" * 24]}, NO_SUCH_CONTROLLER)

    # methods the fake daemon does not implement answer a stable error
    for method, params in [("manager.get", None), ("firmware.sets", None),
                           ("firmware.update", {"set": "0123456789abcdef"}),
                           ("job.get", {"job": 1}), ("job.cancel", {"job": 1}),
                           ("config.backup", {"uuid": UUID_A}),
                           ("config.restore", {"uuid": UUID_A, "mcconf": "AAEC"}),
                           ("controllers.scan", None), ("controller.get_values", {"uuid": UUID_A}),
                           ("config.copy", {"from": UUID_A, "to": UUID_B})]:
        if os.geteuid() != 0 and method in ("firmware.update", "job.cancel", "config.restore", "config.copy"):
            cannot_check("not root: privileged methods as an admin")
            continue
        err = c.error(method, params, NOT_SUPPORTED)
        assert "not supported" in err["data"]["detail"], err
    assert c.result("config.compare", {"uuid": UUID_A, "other": UUID_B})["equal"] is False

    if os.geteuid() != 0:
        cannot_check("not root: privileged methods as an admin")
    else:
        assert c.result("controller.reboot", {"uuid": UUID_A}) == {}
        c.error("controller.reboot", {"uuid": "2" * 24}, NO_SUCH_CONTROLLER)
        assert c.result("limits.set", {"uuid": UUID_A, "current_max_scale": 0.5, "store": False}) == {"applied": True}

    # JSON-RPC errors
    c.send_raw(b'{"jsonrpc":"2.0","id":1,"method":\n')
    m = c.receive()
    assert m["error"]["code"] == -32700 and m["id"] is None, m
    c.send_raw(b'[{"jsonrpc":"2.0","id":5,"method":"board.get"}]\n')
    m = c.receive()
    assert m["error"]["code"] == -32600 and m["id"] is None, m
    c.send_raw(b'{"jsonrpc":"1.0","id":"v1","method":"board.get"}\n')
    m = c.receive()
    assert m["error"]["code"] == -32600 and m["id"] == "v1", m
    m = c.error("no.such.method", None, -32601)
    assert m["message"] == "Method not found"
    c.error("telemetry.watch", {"rate_hz": 0}, -32602)
    c.error("telemetry.watch", {"rate": 5}, -32602)
    c.error("controller.get", {}, -32602)
    c.error("controller.get", [UUID_A], -32602)
    c.error("limits.set", {"uuid": UUID_A, "current_max_scale": 2}, -32602)
    # a notification gets no answer, not even an error; blank lines are ignored
    c.send("board.get", notification=True)
    c.send("no.such.method", notification=True)
    c.send_raw(b"\n   \r\n")
    m = c.call("controller.get", {"uuid": UUID_A})
    assert "result" in m
    assert not [x for x in c.backlog if "id" in x], c.backlog
    c.close()


def test_watch(path):
    c = Client(path)
    c.hello()
    rate = 20.0
    r = c.result("telemetry.watch", {"controllers": [UUID_A, UUID_B], "fields": ["erpm", "tachometer"],
                                     "rate_hz": rate})
    assert r["rate_hz"] == rate and r["fields"] == ["erpm", "tachometer"], r
    last = {}
    count = {UUID_A: 0, UUID_B: 0}
    deadline = time.monotonic() + TIMEOUT
    while min(count.values()) < 4:
        assert time.monotonic() < deadline, "too few samples: %r" % count
        m = c.receive()
        assert m is not None
        if m.get("method") != "telemetry":
            continue
        p = m["params"]
        assert set(p["values"]) == {"erpm", "tachometer"}, p
        u = p["uuid"]
        # the reading's receive time (here: when the fake daemon pushed it)
        assert 0 < p["time_usec"] <= time.monotonic_ns() // 1000 and p["wall_time_usec"] > 0, p
        if u in last:
            assert p["time_usec"] > last[u], "sample time did not advance: %d after %d" % (p["time_usec"], last[u])
        last[u] = p["time_usec"]
        count[u] += 1

    # after unwatch's answer no sample follows
    id = c.send("telemetry.unwatch")
    c.backlog = []
    while True:
        m = c.receive()
        if m.get("id") == id:
            break
    id = c.send("board.get")
    while True:
        m = c.receive()
        assert m.get("method") != "telemetry", m
        if m.get("id") == id:
            break

    # a watch slower than the source (the fake ticks at 100 Hz) gets no more than
    # the rate allows: W x rate + 2 samples of each controller in W seconds
    # (counted from before the watch until the client's end of the window, so
    # the bound holds however late the samples are read); and the sample's
    # time_usec never goes back
    rate, window = 20.0, 1.0
    start = time.monotonic()
    c.result("telemetry.watch", {"controllers": [UUID_A, UUID_B], "rate_hz": rate})
    count = {UUID_A: 0, UUID_B: 0}
    while time.monotonic() < start + window:
        try:
            m = c.receive(timeout=max(0.01, start + window - time.monotonic()))
        except TimeoutError:
            break
        if m and m.get("method") == "telemetry":
            count[m["params"]["uuid"]] += 1
    log("watch at %g Hz for %g s: %r" % (rate, window, count))
    for u, n in count.items():
        assert 1 <= n <= window * rate + 2, "%s: %d samples in %g s at %g Hz" % (u, n, window, rate)
    c.result("telemetry.unwatch")

    # watching all controllers, all fields
    c.result("telemetry.watch", {"rate_hz": 50})
    seen = set()
    deadline = time.monotonic() + TIMEOUT
    while seen != {UUID_A, UUID_B}:
        assert time.monotonic() < deadline
        m = c.receive()
        if m.get("method") == "telemetry":
            seen.add(m["params"]["uuid"])
            assert "voltage_in" in m["params"]["values"]
    # state notifications reach every client (the fake board changes every second)
    got = set()
    deadline = time.monotonic() + TIMEOUT
    while not {"board.changed", "controller.changed"} <= got:
        assert time.monotonic() < deadline, got
        got.add(c.receive().get("method"))
    c.close()


def test_hostile(path):
    c = Client(path)
    c.hello()
    # a huge line: one error, then the connection still serves requests
    c.send_raw(b"{" + b"x" * (1024 * 1024) + b"\n")
    m = c.receive()
    assert m["error"]["code"] == -32600 and "longer" in m["error"]["data"]["detail"], m
    assert "result" in c.call("board.get")
    # deep nesting
    c.send_raw(b'{"jsonrpc":"2.0","id":1,"method":"board.get","params":' + b"[" * 5000 + b"]" * 5000 + b"}\n")
    m = c.receive()
    assert m["error"]["code"] == -32600, m
    # invalid UTF-8, NUL bytes, binary garbage
    c.send_raw(b'{"jsonrpc":"2.0","id":2,"method":"board.\xff\xfe"}\n')
    assert c.receive()["error"]["code"] == -32700
    c.send_raw(b'{"jsonrpc":"2.0","id":3,"method":"board\x00get"}\n')
    assert c.receive()["error"]["code"] == -32700
    garbage = bytes(range(256)) * 64
    c.send_raw(garbage.replace(b"\n", b"") + b"\n")
    assert c.receive()["error"]["code"] == -32700
    assert "result" in c.call("controllers.list")

    # many requests in flight: limits.set completes late; the excess is refused
    if os.geteuid() == 0:
        ids = []
        batch = b""
        for i in range(20):
            ids.append(1000 + i)
            batch += json.dumps({"jsonrpc": "2.0", "id": 1000 + i, "method": "limits.set",
                                 "params": {"uuid": UUID_A, "max_duty": 0.9}}).encode() + b"\n"
        c.send_raw(batch)
        codes = [("ok" if "result" in m else m["error"]["code"]) for m in (c.response(i) for i in ids)]
        assert "ok" in codes and QUEUE_FULL in codes, codes
        assert set(codes) <= {"ok", QUEUE_FULL}, codes
    else:
        cannot_check("not root: many limits.set in flight")
    # many small requests in one write, all answered in order
    c.send_raw(b"".join(json.dumps({"jsonrpc": "2.0", "id": i, "method": "board.get"}).encode() + b"\n"
                        for i in range(500)))
    for i in range(500):
        m = c.receive()
        while "id" not in m:
            m = c.receive()
        assert m["id"] == i and "result" in m, m
    c.close()

    # a client that hangs up with requests and output pending does not hurt anyone
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"telemetry.watch","params":{"rate_hz":1000}}\n' * 50)
    s.close()
    c = Client(path)
    c.hello()
    assert "result" in c.call("board.get")
    c.close()


def test_slow_reader(path, proc):
    rss_before = vm_rss_kib(proc.pid)
    slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    slow.connect(path)
    slow.sendall(b'{"jsonrpc":"2.0","id":1,"method":"telemetry.watch","params":{"rate_hz":1000}}\n')
    # then flood requests without ever reading, until the kernel pushes back
    slow.setblocking(False)
    flood = b'{"jsonrpc":"2.0","id":2,"method":"controllers.list"}\n' * 200
    sent = 0
    t_end = time.monotonic() + 2.0
    while time.monotonic() < t_end:
        try:
            sent += slow.send(flood)
        except BlockingIOError:
            break

    other = Client(path)
    other.hello()
    poller = select.poll()
    poller.register(slow, select.POLLHUP | select.POLLRDHUP)
    deadline = time.monotonic() + TIMEOUT * 2
    peak = 0
    calls = 0
    while True:
        # the other client is served all along
        assert "result" in other.call("controllers.list", timeout=TIMEOUT)
        calls += 1
        peak = max(peak, vm_rss_kib(proc.pid))
        ev = poller.poll(50)
        if ev and ev[0][1] & (select.POLLHUP | select.POLLRDHUP):
            break
        assert time.monotonic() < deadline, "the slow client was never disconnected"
    log("slow reader: %d bytes sent, disconnected; other client made %d calls; RSS %d -> %d KiB"
        % (sent, calls, rss_before, peak))
    assert peak - rss_before < 16 * 1024, "RSS grew by %d KiB" % (peak - rss_before)
    slow.close()
    assert "result" in other.call("board.get")
    other.close()


def test_many_clients(path, max_clients):
    clients = []
    for i in range(max_clients):
        c = Client(path)
        c.hello()
        clients.append(c)
    for c in clients:
        c.send("controllers.list", id="many")
    for c in clients:
        assert len(c.response("many")["result"]["controllers"]) == 2
    extra = Client(path)
    m = extra.receive()
    assert m["error"]["code"] == TOO_MANY_CLIENTS and m["error"]["data"]["name"] == "TooManyClients" \
        and "too many" in m["error"]["data"]["detail"], m
    assert extra.receive() is None
    extra.close()
    clients.pop().close()
    # a slot is free again once the server noticed the close
    deadline = time.monotonic() + TIMEOUT
    while True:
        c = Client(path)
        m = c.receive()
        if m.get("method") == "hello":
            break
        c.close()
        assert time.monotonic() < deadline
    clients.append(c)
    for c in clients:
        c.close()


def test_tcp(port):
    c = Client(tcp=("127.0.0.1", port))
    hello = c.hello()
    assert hello["read_only"] is True and hello["admin"] is False
    assert len(c.result("controllers.list")["controllers"]) == 2
    for method, params in [("limits.set", {"uuid": UUID_A, "max_duty": 0.5}),
                           ("controller.reboot", {"uuid": UUID_A}),
                           ("firmware.update", {"set": "0123456789abcdef"})]:
        err = c.error(method, params, PERMISSION_DENIED)
        assert "read-only" in err["data"]["detail"] and err["data"]["name"] == "PermissionDenied"
    c.close()


UNPRIVILEGED_CLIENT = r"""
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(20)
s.connect(sys.argv[1])
f = s.makefile("r")
hello = json.loads(f.readline())
out = {"hello": hello["params"], "answers": {}}
for i, (m, p) in enumerate([("controllers.list", {}), ("limits.set", {"uuid": sys.argv[2], "max_duty": 0.5}),
                            ("controller.reboot", {"uuid": sys.argv[2]}), ("config.restore", {"uuid": sys.argv[2], "mcconf": "AAEC"}),
                            ("job.cancel", {"job": 1})]):
    s.sendall(json.dumps({"jsonrpc": "2.0", "id": i, "method": m, "params": p}).encode() + b"\n")
    while True:
        r = json.loads(f.readline())
        if r.get("id") == i:
            break
    out["answers"][m] = r
print(json.dumps(out))
"""


def test_unprivileged(path):
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or not setpriv:
        cannot_check("unprivileged client: needs root and setpriv")
        return
    out = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                          "/usr/bin/python3", "-c", UNPRIVILEGED_CLIENT, path, UUID_A],
                         stdout=subprocess.PIPE, timeout=TIMEOUT * 2, check=True).stdout
    res = json.loads(out)
    assert res["hello"]["admin"] is False
    assert "result" in res["answers"]["controllers.list"]
    for m in ("limits.set", "controller.reboot", "config.restore", "job.cancel"):
        err = res["answers"][m]["error"]
        assert err["code"] == PERMISSION_DENIED and err["data"]["name"] == "PermissionDenied", (m, err)


def test_socket_activation(tmp):
    """A listening socket passed as fd 3 (LISTEN_FDS) is used instead of binding."""
    act_path = os.path.join(tmp, "activated.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(act_path)
    listener.listen(16)
    exe = os.path.join(os.environ.get("top_builddir", "."), "tests", "component", "json", "json-test-server")
    unused = os.path.join(tmp, "not-bound.sock")
    fd = listener.fileno()

    def child_setup():
        os.dup2(fd, 3)
        os.set_inheritable(3, True)

    env = dict(os.environ, LISTEN_FDS="1")
    proc = subprocess.Popen(["/bin/sh", "-c", 'export LISTEN_PID=$$; exec "$0" "$@"', exe, "--socket", unused,
                             "--socket-activation"], stdout=subprocess.PIPE, env=env, preexec_fn=child_setup,
                            pass_fds=(fd, 3))
    try:
        r, _, _ = select.select([proc.stdout], [], [], TIMEOUT)
        assert r and proc.stdout.readline().strip() == b"READY"
        listener.close()
        c = Client(act_path)
        assert c.hello()["protocol"] == "2.0"
        assert len(c.result("controllers.list")["controllers"]) == 2
        c.close()
        assert not os.path.exists(unused), "bound its own socket despite activation"
        stop_server(proc)
        assert os.path.exists(act_path), "removed a socket file it did not create"
    finally:
        if proc.poll() is None:
            proc.kill()


def free_tcp_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    tmp = tempfile.mkdtemp(prefix="vescd-json-")
    os.chmod(tmp, 0o755)  # the unprivileged client must reach the socket
    port = free_tcp_port()
    max_clients = 32
    proc, path = start_server(tmp, "--rate", "200", "--tcp", "127.0.0.1:%d" % port,
                              "--max-clients", str(max_clients), "--soft-limit", "16384",
                              "--stall-ms", "1000", "--call-delay-ms", "500")
    try:
        for name, fn in [("conformance", lambda: test_conformance(path)),
                         ("watch", lambda: test_watch(path)),
                         ("hostile", lambda: test_hostile(path)),
                         ("tcp", lambda: test_tcp(port)),
                         ("unprivileged", lambda: test_unprivileged(path)),
                         ("slow reader", lambda: test_slow_reader(path, proc)),
                         ("many clients", lambda: test_many_clients(path, max_clients)),
                         ("socket activation", lambda: test_socket_activation(tmp))]:
            log("== " + name)
            fn()
        stop_server(proc)
        assert not os.path.exists(path), "socket file left behind"
    finally:
        if proc.poll() is None:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    if NOT_CHECKED:
        log("SKIP: checks that could not run: " + "; ".join(NOT_CHECKED))
        sys.exit(SKIP)
    log("all JSON server tests passed")


if __name__ == "__main__":
    main()
