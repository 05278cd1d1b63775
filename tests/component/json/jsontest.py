"""Helpers for the JSON socket tests: a line client with bounded waits, and a
starter for tests/component/json/json-test-server.  Standard library only."""

import json
import os
import select
import socket
import subprocess
import sys
import time

TIMEOUT = 20.0  # bound on any single wait; generous for sanitizer builds

UUID_A = "3c0029000d51393236353934"
UUID_B = "2f002b001451363336333531"


class Client:
    """A newline-delimited JSON-RPC client over a Unix or TCP stream socket."""

    def __init__(self, path=None, tcp=None, sock=None):
        if sock is not None:
            self.sock = sock
        elif tcp is not None:
            self.sock = socket.create_connection(tcp, timeout=TIMEOUT)
        else:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(TIMEOUT)
            self.sock.connect(path)
        self.buf = b""
        self.next_id = 1
        self.backlog = []

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, method, params=None, id=None, notification=False):
        msg = {"jsonrpc": "2.0", "method": method}
        if not notification:
            if id is None:
                id = self.next_id
                self.next_id += 1
            msg["id"] = id
        if params is not None:
            msg["params"] = params
        self.send_raw(json.dumps(msg).encode() + b"\n")
        return id

    def read_line(self, timeout=TIMEOUT):
        """Next line as bytes, b"" at EOF; raises TimeoutError."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no line within %.1f s" % timeout)
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                continue
            chunk = self.sock.recv(65536)
            if not chunk:
                if self.buf:
                    raise AssertionError("EOF inside a line: %r" % self.buf[:200])
                return b""
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def receive(self, timeout=TIMEOUT):
        """Next message (dict), or None at EOF."""
        if self.backlog:
            return self.backlog.pop(0)
        line = self.read_line(timeout)
        if not line:
            return None
        return json.loads(line)

    def response(self, id, timeout=TIMEOUT):
        """The response to request id; notifications meanwhile go to the backlog."""
        deadline = time.monotonic() + timeout
        for i, m in enumerate(self.backlog):
            if "id" in m and m["id"] == id:
                return self.backlog.pop(i)
        while True:
            line = self.read_line(max(0.0, deadline - time.monotonic()))
            if not line:
                raise AssertionError("EOF while waiting for response %r" % (id,))
            m = json.loads(line)
            if "id" in m and m["id"] == id:
                return m
            self.backlog.append(m)

    def call(self, method, params=None, timeout=TIMEOUT):
        return self.response(self.send(method, params), timeout)

    def result(self, method, params=None):
        m = self.call(method, params)
        assert "result" in m, "%s: %r" % (method, m)
        return m["result"]

    def error(self, method, params=None, code=None):
        m = self.call(method, params)
        assert "error" in m, "%s: expected an error, got %r" % (method, m)
        if code is not None:
            assert m["error"]["code"] == code, "%s: code %r != %r (%r)" % (method, m["error"]["code"], code, m)
        return m["error"]

    def hello(self):
        m = self.receive()
        assert m is not None and m.get("method") == "hello", "first line is not hello: %r" % (m,)
        assert "id" not in m
        return m["params"]

    def wait_eof(self, timeout=TIMEOUT):
        """Read and drop everything until the server closes."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("connection still open")
            r, _, _ = select.select([self.sock], [], [], left)
            if r:
                try:
                    if not self.sock.recv(65536):
                        return
                except ConnectionResetError:
                    return


def start_server(tmpdir, *args):
    """Start json-test-server on tmpdir/json.sock; returns (process, path)."""
    path = os.path.join(tmpdir, "json.sock")
    exe = os.path.join(os.environ.get("top_builddir", "."), "tests", "component", "json", "json-test-server")
    proc = subprocess.Popen([exe, "--socket", path] + list(args), stdout=subprocess.PIPE)
    r, _, _ = select.select([proc.stdout], [], [], TIMEOUT)
    line = proc.stdout.readline() if r else b""
    if line.strip() != b"READY":
        proc.kill()
        raise AssertionError("json-test-server did not start: %r" % line)
    return proc, path


def stop_server(proc):
    proc.terminate()
    rc = proc.wait(TIMEOUT)
    assert rc == 0, "json-test-server exited with %d" % rc


def vm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def log(*a):
    print(*a, file=sys.stderr, flush=True)
