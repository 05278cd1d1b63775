#!/usr/bin/python3
"""vbus tools against a real hub process: vbus-dump, vbus-send and
docs/examples/vbus_join.py exchange frames through tests/component/vbus/test-hub;
invalid messages are counted; a bus-off reaches members as error frames.
Every wait is on an event (a line of output) with a bounded timeout."""

import os
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time

TIMEOUT = 20.0
top_srcdir = os.environ.get("top_srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
top_builddir = os.environ.get("top_builddir", ".")
HUB = os.path.join(top_builddir, "tests/component/vbus/test-hub")
DUMP = os.path.join(top_builddir, "sim/vbus-dump")
SEND = os.path.join(top_builddir, "sim/vbus-send")
JOIN = os.path.join(top_srcdir, "docs/examples/vbus_join.py")


class Proc:
    """A child whose stdout we read line by line with a deadline."""

    def __init__(self, argv, stdin=False):
        self.argv = argv
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                  stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                  text=True, bufsize=1)
        # Raw reads: a buffered readline() could hide lines from select().
        self.fd = self.p.stdout.fileno()
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.fd, selectors.EVENT_READ)
        self.lines = []
        self.partial = b""
        self.eof = False

    def _read(self):
        data = os.read(self.fd, 4096)
        if not data:
            self.eof = True
            return
        self.partial += data
        *done, self.partial = self.partial.split(b"\n")
        self.lines += [l.decode() for l in done]

    def expect(self, pred, what):
        deadline = time.monotonic() + TIMEOUT
        while True:
            for i, line in enumerate(self.lines):
                if pred(line):
                    del self.lines[:i + 1]
                    return line
            if self.eof:
                sys.exit("FAIL: %s ended before %s (got %r)" % (self.argv[0], what, self.lines))
            left = deadline - time.monotonic()
            if left <= 0 or not self.sel.select(left):
                sys.exit("FAIL: %s: no %s (got %r)" % (self.argv[0], what, self.lines))
            self._read()

    def send(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def finish(self):
        deadline = time.monotonic() + TIMEOUT
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0 or not self.sel.select(left):
                self.p.kill()
                sys.exit("FAIL: %s did not exit" % self.argv[0])
            self._read()
        if self.p.stdin:
            self.p.stdin.close()
        self.p.stdout.close()
        return self.p.wait(timeout=TIMEOUT)


def frame_of(line):
    return line.split()[-1]


def main():
    for prog in (HUB, DUMP, SEND):
        if not os.access(prog, os.X_OK):
            sys.exit("FAIL: %s not built" % prog)
    tmp = tempfile.mkdtemp(prefix="test-vbus-tools.")
    path = os.path.join(tmp, "hub")
    try:
        hub = Proc([HUB, path], stdin=True)
        hub.expect(lambda l: l == "ready", "ready")

        dump = Proc([DUMP, "-n", "3", "--timeout", str(TIMEOUT), path])
        hub.expect(lambda l: l == "members 1", "first member")

        join = Proc([sys.executable, JOIN, "--count", "2", "--timeout", str(TIMEOUT), path])
        hub.expect(lambda l: l == "members 2", "second member")
        # The example's PING: EID (17 << 8) | 12, data = 253.
        line = dump.expect(lambda l: True, "PING")
        assert frame_of(line) == "0000110C#FD", line
        assert line.startswith("(") and " vbus " in line, line

        r = subprocess.run([SEND, path, "123#DEADBEEF", "0000090A#0102"], timeout=TIMEOUT)
        assert r.returncode == 0
        assert dump.finish() == 0
        assert [frame_of(l) for l in dump.lines] == ["123#DEADBEEF", "0000090A#0102"], dump.lines
        # The example sees the others' frames, never its own PING.
        assert join.finish() == 0
        assert [frame_of(l) for l in join.lines] == ["123#DEADBEEF", "0000090A#0102"], join.lines

        # Messages that are not one 16-byte frame are skipped and counted.
        hub.expect(lambda l: l == "members 0", "members gone")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(path)
        s.send(b"12345")
        s.close()
        # Its EOF follows its message: once it has left, the hub read it.
        hub.expect(lambda l: l == "members 1", "raw member joined")
        hub.expect(lambda l: l == "members 0", "raw member left")
        dump = Proc([DUMP, "-n", "2", "--timeout", str(TIMEOUT), path])
        hub.expect(lambda l: l == "members 1", "dump joined")
        hub.send("stats")
        line = hub.expect(lambda l: l.startswith("stats "), "stats")
        stats = dict(kv.split("=") for kv in line.split()[1:])
        assert stats["invalid"] == "1", line
        assert stats["frames"] == "3", line

        # Bus-off: error frames, 16 bytes like any frame, in candump syntax.
        hub.send("busoff 200000")
        hub.expect(lambda l: l == "ok", "busoff ok")
        assert dump.finish() == 0
        assert [frame_of(l) for l in dump.lines] == [
            "20000040#0000000000000000", "20000100#0000000000000000"], dump.lines

        # A send while nobody else listens still works; bad syntax is refused.
        r = subprocess.run([SEND, path, "123#XYZ"], timeout=TIMEOUT, stderr=subprocess.DEVNULL)
        assert r.returncode == 2

        hub.send("quit")
        assert hub.finish() == 0
        assert not os.path.exists(path), "hub socket left behind"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
