"""Process helpers shared by the integration harnesses and
tests/component/sim/test-sim-control.py (standard library only, so that
the interop harness stays free of python3-dbus): reading a
child's output up to an expected line, starting a private dbus-daemon
that reports its address through --print-address, one request line on
a Unix stream socket (vesc-sim's control socket), stopping a child with
SIGTERM and spotting a sanitizer report in its log."""
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import time

SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")


def sanitizer_report(text):
    """True when text (a child's log) holds an ASan/LSan/UBSan report."""
    return any(m in text for m in SANITIZER_MARKS)


def terminate(proc, timeout):
    """SIGTERM proc and wait for it: its exit status, or None when it did
    not exit within timeout (it is then killed)."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


def unix_request(path, line, timeout):
    """Send one line to the Unix stream socket at path; return the reply
    line, without its newline (what arrived when the peer closed first)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall((line + "\n").encode())
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    finally:
        s.close()
    return reply.decode().strip()


def json_messages(sock, stopped=lambda: False):
    """Yield each JSON message (one per line) read from sock, until EOF, an
    error, or stopped() is true when a receive times out."""
    buf = b""
    while not stopped():
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            return
        if not chunk:
            return
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            yield json.loads(line)


def read_line_until(src, want, deadline, sink):
    """Read lines from src (a file object or a descriptor) until one contains
    want; keep every line read in sink.  Returns that line, or None when the
    deadline passes or src ends first."""
    fd = src if isinstance(src, int) else src.fileno()
    buf = b""
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            text = line.decode(errors="replace")
            sink.append(text)
            if want in text:
                return text
    return None


def find_dbus_daemon():
    """$DBUS_DAEMON, else dbus-daemon on PATH, else None."""
    return os.environ.get("DBUS_DAEMON") or shutil.which("dbus-daemon")


def start_private_bus(daemon, conf_path, timeout, procs, stderr=None):
    """Start daemon --config-file=conf_path and wait (up to timeout seconds)
    for the address it prints.  The process is appended to procs at once
    (so that the caller's cleanup stops it even when this fails).  Returns
    (process, address); address is None when none was printed in time."""
    r, w = os.pipe()
    p = subprocess.Popen([daemon, "--config-file=" + conf_path, "--nofork",
                          "--print-address=%d" % w],
                         pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=stderr)
    os.close(w)
    procs.append(p)
    lines = []
    try:
        line = read_line_until(r, "unix:", time.monotonic() + timeout, lines)
    finally:
        os.close(r)
    return p, (line.strip() if line else None)
