#!/usr/bin/python3
"""The read-only HTTP listener against the real daemon: a private dbus-daemon,
vesc-sim with the dual-mismatch board and vescd with --http-listen on
loopback.  curl asks every endpoint: the dashboard, the JSON socket's objects
(same fields as board.get / controllers.list on the socket), 404 for bad paths,
405 for every method but GET/HEAD on every path (and nothing changed), 421 for
a Host that does not name the listener, 503 beyond max-clients; the event
stream delivers the state and telemetry, and follows a controller that is
removed (offline, board.forget) and comes back.  Then a vescd started with a
socket-activated fd named "http" (as vescd-http.socket passes it) serves the
API on it while its JSON socket stays a Unix socket.  Every wait is bounded."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "dbus"))
from vescd_harness import (TIMEOUT, UUID_A, UUID_B, Harness, builddir, fail, finish, free_port,  # noqa: E402
                           log, skip, srcdir)

CURL = shutil.which("curl")
ENDPOINTS = ["/", "/index.html", "/api/board", "/api/controllers", "/api/controllers/" + UUID_A,
             "/api/jobs", "/api/history", "/api/image-sets", "/api/events"]


def curl(port, path, *args, host=None, method=None):
    """(status, headers dict lower-case, body bytes) of one request."""
    cmd = [CURL, "-s", "-S", "--path-as-is", "--max-time", str(TIMEOUT), "-D", "-", "-o", "-"]
    if method:
        cmd += ["-X", method]
    if host is not None:
        cmd += ["-H", "Host: " + host]
    cmd += list(args) + ["http://127.0.0.1:%d%s" % (port, path)]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT + 5).stdout
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    if not lines[0].startswith("HTTP/"):
        fail("no HTTP answer for %s: %r" % (path, out[:200]))
    status = int(lines[0].split()[1])
    headers = {}
    for h in lines[1:]:
        k, _, v = h.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def get_json(port, path):
    status, headers, body = curl(port, path)
    if status != 200:
        fail("GET %s: %d %r" % (path, status, body[:200]))
    if not headers.get("content-type", "").startswith("application/json"):
        fail("GET %s: content type %r" % (path, headers.get("content-type")))
    return json.loads(body)


def wait_controllers(port):
    deadline = time.monotonic() + TIMEOUT * 3
    while True:
        have = {c["uuid"] for c in get_json(port, "/api/controllers")["controllers"]}
        if {UUID_A, UUID_B} <= have:
            return
        if time.monotonic() > deadline:
            fail("the controllers never appeared on /api/controllers: %r" % have)
        time.sleep(0.1)


def raw(port, request):
    """Send raw bytes, read to the end: the whole answer."""
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    s.sendall(request)
    out = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    s.close()
    return out


class EventStream:
    """An /api/events client on a plain socket: parses "event:"/"data:" blocks."""

    def __init__(self, port, query=""):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.sock.sendall(("GET /api/events%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (query, port)).encode())
        self.buf = b""
        head = self._until(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            fail("event stream answered %r" % head[:100])
        if b"text/event-stream" not in head:
            fail("event stream content type: %r" % head)

    def _until(self, sep):
        deadline = time.monotonic() + TIMEOUT
        while sep not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no %r in the stream" % sep)
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError("the event stream closed")
            self.buf += chunk
        item, self.buf = self.buf.split(sep, 1)
        return item

    def next(self):
        """(event name, data object); comments and retry lines are skipped."""
        while True:
            block = self._until(b"\n\n").decode()
            name, data = None, None
            for line in block.split("\n"):
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    data = json.loads(line[6:])
            if name:
                return name, data

    def close(self):
        self.sock.close()


def check_endpoints(h, port):
    status, headers, body = curl(port, "/")
    if status != 200 or not headers.get("content-type", "").startswith("text/html") or b"<title>" not in body:
        fail("GET /: %d %r %r" % (status, headers.get("content-type"), body[:100]))
    if "content-security-policy" not in headers:
        fail("the dashboard has no Content-Security-Policy")
    for name in ("dashboard.js", "dashboard.css"):
        status, headers, body = curl(port, "/" + name)
        if status != 200 or not body:
            fail("GET /%s: %d" % (name, status))

    board = get_json(port, "/api/board")
    socket_board, err = h.json_call("board.get")
    if err or set(board) != set(socket_board):
        fail("/api/board %r differs from board.get %r (%r)" % (sorted(board), sorted(socket_board or {}), err))
    if board["mismatch"] is not True or not board["actions"]:
        fail("dual-mismatch: /api/board shows no mismatch with actions: %r" % board)

    ctls = get_json(port, "/api/controllers")["controllers"]
    socket_ctls, err = h.json_call("controllers.list")
    if err or {c["uuid"] for c in ctls} != {c["uuid"] for c in socket_ctls["controllers"]}:
        fail("/api/controllers differs from controllers.list")
    one = get_json(port, "/api/controllers/" + UUID_A)
    same, err = h.json_call("controller.get", {"uuid": UUID_A})
    if one["uuid"] != UUID_A or set(one) != set(same):
        fail("/api/controllers/A: %r vs controller.get %r" % (sorted(one), sorted(same)))
    if get_json(port, "/api/controllers/" + UUID_B.upper())["uuid"] != UUID_B:
        fail("an upper-case UUID is not found")
    if get_json(port, "/api/jobs") != {"jobs": []}:
        fail("/api/jobs on an idle daemon is not empty")
    if not isinstance(get_json(port, "/api/history").get("history"), list):
        fail("/api/history has no history list")
    sets, err = h.json_call("firmware.sets")
    if get_json(port, "/api/image-sets") != sets:
        fail("/api/image-sets differs from firmware.sets")
    log("GET: every endpoint answers the JSON socket's objects")

    for path in ("/nope", "/api", "/api/", "/api/nope", "/api/controllers/", "/api/controllers/" + "0" * 24,
                 "/api/controllers/zz", "/api/board/x", "/../etc/passwd", "/%2e%2e/etc/passwd", "/.hidden",
                 "/index.html/", "/dashboard.js/..", "//etc/passwd", "/www/index.html"):
        status, headers, body = curl(port, path)
        if status != 404:
            fail("GET %s: %d, not 404" % (path, status))
    log("bad paths: 404")

    status, headers, body = curl(port, "/api/events?rate_hz=0")
    if status != 400:
        fail("rate_hz=0: %d, not 400" % status)


def check_read_only(h, port):
    before_board = get_json(port, "/api/board")
    before_hist = get_json(port, "/api/history")
    for path in ENDPOINTS + ["/nope", "/api/nope"]:
        for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
            status, headers, body = curl(port, path, "--data", '{"set":"x","limits":{}}', method=method,
                                         host="127.0.0.1:%d" % port)
            if status != 405:
                fail("%s %s: %d, not 405" % (method, path, status))
            if headers.get("allow") != "GET, HEAD":
                fail("%s %s: Allow %r" % (method, path, headers.get("allow")))
    after = get_json(port, "/api/board")
    if (after["mismatch"], after["board_state"], after["actions"]) != \
            (before_board["mismatch"], before_board["board_state"], before_board["actions"]):
        fail("the board changed after the refused methods")
    if get_json(port, "/api/jobs") != {"jobs": []} or get_json(port, "/api/history") != before_hist:
        fail("a job appeared after the refused methods")
    log("POST/PUT/DELETE/PATCH/OPTIONS: 405 everywhere, nothing changed")

    status, headers, body = curl(port, "/", "-I")
    if status != 200 or not headers.get("content-type", "").startswith("text/html"):
        fail("HEAD /: %d" % status)
    out = raw(port, b"HEAD /api/board HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n" % port)
    if not out.startswith(b"HTTP/1.1 200") or not out.endswith(b"\r\n\r\n"):
        fail("HEAD /api/board sent a body or no 200: %r" % out[-80:])
    log("HEAD: headers only")


def check_host(port):
    for host in ("evil.example:%d" % port, "evil.example", "127.0.0.1", "127.0.0.1:%d" % (port + 1),
                 "127.0.0.2:%d" % port, "localhost.evil.example:%d" % port, "[::1]:%d" % port, ""):
        for path in ("/", "/api/board", "/api/events"):
            status, headers, body = curl(port, path, host=host)
            if status != 421:
                fail("Host %r, %s: %d, not 421" % (host, path, status))
    for host in ("localhost:%d" % port, "LOCALHOST:%d" % port, "127.0.0.1:%d" % port):
        status, headers, body = curl(port, "/api/board", host=host)
        if status != 200:
            fail("Host %r: %d" % (host, status))
    out = raw(port, b"GET /api/board HTTP/1.0\r\n\r\n")
    if not out.startswith(b"HTTP/1.0 421") and not out.startswith(b"HTTP/1.1 421"):
        fail("a request without Host: %r" % out[:40])
    log("Host: only the listener's own address or localhost")


def check_events(port):
    rate = 20.0
    es = EventStream(port, "?rate_hz=%g" % rate)
    seen, samples = set(), {UUID_A: [], UUID_B: []}
    deadline = time.monotonic() + TIMEOUT
    while len(samples[UUID_B]) < 10 or not {"hello", "board.changed", "controller.changed"} <= seen:
        if time.monotonic() > deadline:
            fail("event stream: seen %r, %d samples of B" % (seen, len(samples[UUID_B])))
        name, data = es.next()
        seen.add(name)
        if name == "hello" and data.get("protocol") != "2.0":
            fail("hello: %r" % data)
        if name == "board.changed" and "board_state" not in data:
            fail("board.changed without board_state: %r" % data)
        if name == "telemetry":
            for key in ("uuid", "id", "time_usec", "wall_time_usec", "values"):
                if key not in data:
                    fail("telemetry without %s: %r" % (key, data))
            if data["uuid"] in samples:
                samples[data["uuid"]].append(data)
    times = [s["time_usec"] for s in samples[UUID_B]]
    if times != sorted(times):
        fail("telemetry of B goes back in time: %r" % times)
    if "voltage_in" not in samples[UUID_B][-1]["values"]:
        fail("telemetry of B without voltage_in: %r" % samples[UUID_B][-1])
    es.close()
    log("event stream: hello, the state, %d samples of B" % len(samples[UUID_B]))

    # curl as a stock client of the stream
    p = subprocess.run([CURL, "-s", "-N", "--max-time", "3", "http://127.0.0.1:%d/api/events?rate_hz=10" % port],
                       stdout=subprocess.PIPE, timeout=TIMEOUT)
    if b"event: telemetry\ndata: {" not in p.stdout:
        fail("curl got no telemetry event: %r" % p.stdout[:300])
    log("curl -N reads the event stream")


def stream_until(es, what, pred, timeout=TIMEOUT):
    """Events until pred(name, data): the UUIDs of the telemetry seen before."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        if time.monotonic() > deadline:
            fail("event stream: no %s" % what)
        name, data = es.next()
        if pred(name, data):
            return seen
        if name == "telemetry":
            seen.append(data["uuid"])


def check_removed_and_back(h, port):
    """A controller that goes away and comes back while a stream is open: the
    stream gets controller.removed and no telemetry of it while it is gone (the
    listener's state of it went with the core's record), the API answers 404
    for it, and the same stream gets controller.added and its telemetry again
    once it is back (a new record in the core)."""
    es = EventStream(port, "?rate_hz=20")
    stream_until(es, "sample of B", lambda n, d: n == "telemetry" and d["uuid"] == UUID_B)
    h.sim_control("leave " + UUID_B)
    stream_until(es, "B offline", lambda n, d: n == "controller.changed" and d["uuid"] == UUID_B
                 and d["online"] is False)
    # an offline member that is forgotten is removed from the core
    result, err = h.json_call("board.forget", {"uuid": UUID_B})
    if err:
        fail("board.forget B: %r" % err)
    stream_until(es, "controller.removed of B", lambda n, d: n == "controller.removed" and d == {"uuid": UUID_B})
    if UUID_B in {c["uuid"] for c in get_json(port, "/api/controllers")["controllers"]}:
        fail("B still listed on /api/controllers after controller.removed")
    if curl(port, "/api/controllers/" + UUID_B)[0] != 404:
        fail("/api/controllers/B after controller.removed: not 404")
    # gone: A goes on, B sends nothing
    seen = stream_until(es, "samples of A", lambda n, d: n == "telemetry" and d["uuid"] == UUID_A)
    seen += stream_until(es, "more samples of A", lambda n, d: n == "telemetry" and d["uuid"] == UUID_A)
    if UUID_B in seen:
        fail("telemetry of B while it was removed")
    h.sim_control("join " + UUID_B)
    seen = stream_until(es, "controller.added of B", lambda n, d: n == "controller.added" and d["uuid"] == UUID_B,
                        timeout=3 * TIMEOUT)
    if UUID_B in seen:
        fail("telemetry of B before its controller.added")
    stream_until(es, "B's telemetry on the same stream", lambda n, d: n == "telemetry" and d["uuid"] == UUID_B)
    if curl(port, "/api/controllers/" + UUID_B)[0] != 200:
        fail("/api/controllers/B after it came back: not 200")
    es.close()
    log("B removed while streamed: controller.removed, no samples, 404; back on the same stream")


def check_cap(port, cap):
    """cap keep-alive connections are served; one more gets 503 and closes."""
    import http.client
    conns = []
    try:
        for i in range(cap):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
            c.request("GET", "/api/board")
            r = c.getresponse()
            r.read()
            if r.status != 200:
                fail("connection %d of %d: %d" % (i + 1, cap, r.status))
            conns.append(c)
        status, headers, body = curl(port, "/api/board")
        if status != 503:
            fail("connection %d beyond max-clients %d: %d, not 503" % (cap + 1, cap, status))
    finally:
        for c in conns:
            c.close()
    deadline = time.monotonic() + TIMEOUT
    while curl(port, "/api/board")[0] != 200:
        if time.monotonic() > deadline:
            fail("the cap never freed after the clients left")
        time.sleep(0.05)
    log("max-clients %d: one more is refused with 503, served again once they left" % cap)


ACTIVATE = r'''#!/usr/bin/python3
import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
with open(%(portfile)r, "w") as f:
    f.write(str(s.getsockname()[1]))
if s.fileno() != 3:
    os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES="http")
os.execv(%(vescd)r, [%(vescd)r] + sys.argv[1:])
'''


class ActivatedHarness(Harness):
    """vescd started through a wrapper that passes a listening TCP socket
    named "http" as fd 3, the way systemd passes vescd-http.socket's."""

    def vescd_path(self):
        path = os.path.join(self.tmp, "vescd-activated")
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write(ACTIVATE % {"portfile": os.path.join(self.tmp, "port"),
                                    "vescd": os.path.join(builddir(), "daemon", "vescd")})
            os.chmod(path, 0o755)
        return path


def main():
    if not CURL:
        skip("curl is not installed")
    www = os.path.join(srcdir(), "clients", "web")
    port = free_port()
    cap = 6
    with Harness(vescd_args=["--http-listen", "127.0.0.1:%d" % port, "--http-root", www,
                             "--max-clients", str(cap)]) as h:
        if "HTTP dashboard on http://127.0.0.1:%d/" % port not in h.vescd_log():
            fail("vescd did not log its HTTP listener:\n" + h.vescd_log())
        wait_controllers(port)
        check_endpoints(h, port)
        check_read_only(h, port)
        check_host(port)
        check_events(port)
        check_removed_and_back(h, port)
        check_cap(port, cap)
        if h.stop_vescd() != 0:
            fail("vescd did not exit 0")

    with ActivatedHarness(vescd_args=["--http-root", www]) as h:
        with open(os.path.join(h.tmp, "port")) as f:
            aport = int(f.read())
        wait_controllers(aport)
        get_json(aport, "/api/board")
        result, err = h.json_call("board.get")
        if err or "board_state" not in result:
            fail("the JSON socket beside an activated HTTP socket: %r" % err)
        if "activated socket" not in h.vescd_log():
            fail("vescd did not log the activated HTTP socket:\n" + h.vescd_log())
        log("socket activation: the fd named http serves HTTP, the JSON socket stays on its path")
        if h.stop_vescd() != 0:
            fail("vescd did not exit 0")
    finish()


if __name__ == "__main__":
    main()
