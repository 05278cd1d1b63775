#!/usr/bin/python3
"""bench-hostile: the p99 of controller.get_values (JSON socket, on the
dual-mismatch controller A, which sends no status broadcasts) while vescd
is under each attack of the hostile suite, next to the quiet p99:

  quiet       nothing else happens
  ghost-ids   one STATUS frame from each of the 251 unused CAN ids, once
  phantoms    a peer answering every FW_VERSION probe with a fresh UUID
  slowloris   31 more JSON connections each holding a partial line
  log-flood   connect/close loops on the JSON socket, back to back
  http-flood  connect/close loops on the HTTP listener (--http-listen on
              loopback), back to back

Each scenario runs on a fresh vesc-sim + vescd (tests/integration/hostile/
hostile.py's harness) for --seconds.  Prints figures only: never passes or
fails on time (exit 77 when vescd or the Debian python modules are missing).

Usage: bench-hostile [--seconds S] [--only NAME[,NAME...]]"""
import argparse
import os
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True
top_srcdir = os.environ.get("top_srcdir") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(top_srcdir, "tests", "integration", "hostile"))
try:
    import hostile as H  # noqa: E402
except ImportError as e:
    print("SKIP: %s (run with Debian's python3: python3-dbus, python3-gi)" % e)
    sys.exit(77)


def p99(lat):
    s = sorted(lat)
    return s[min(len(s) - 1, int(0.99 * len(s)))] if s else float("nan")


class Flood(threading.Thread):
    """connect/close loops on a Unix socket path or a TCP (host, port)"""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.family = socket.AF_INET if isinstance(path, tuple) else socket.AF_UNIX
        self.loops = 0
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            try:
                s = socket.socket(self.family, socket.SOCK_STREAM)
                try:
                    s.connect(self.path)
                    self.loops += 1
                finally:
                    s.close()
            except OSError:
                time.sleep(0.001)

    def stop(self):
        self.stopping.set()
        self.join(5)


class Slowloris(threading.Thread):
    def __init__(self, path, n):
        super().__init__(daemon=True)
        self.conns = []
        for _ in range(n):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            s.sendall(b'{"jsonrpc"')
            self.conns.append(s)
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.wait(1.0):
            for s in self.conns:
                try:
                    s.sendall(b" ")
                except OSError:
                    pass

    def stop(self):
        self.stopping.set()
        self.join(5)
        for s in self.conns:
            s.close()


def scenario(name, seconds):
    """p99 (s) and the number of calls of get_values during `seconds` of name."""
    args = []
    if name == "http-flood":
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            http_addr = probe.getsockname()
        args = ["--http-listen", "%s:%d" % http_addr]
    with H.Harness(board="dual-mismatch", vescd_args=args) as h:
        H.wait_controllers(h, [H.UUID_A, H.UUID_B])
        path = H.json_path(h)
        served = H.Served(path, H.UUID_A, pause=0.01)
        served.start()
        while not served.latencies and served.failure is None:
            time.sleep(0.01)
        attack, extra = None, ""
        if name == "ghost-ids":
            bus = H.attacker(h)
            for i in H.unused_ids():
                bus.send(*H.status_frame(i))
        elif name == "phantoms":
            attack = H.PhantomPeer(h, 10 ** 6)
        elif name == "slowloris":
            attack = Slowloris(path, 31)
        elif name == "log-flood":
            attack = Flood(path)
        elif name == "http-flood":
            attack = Flood(http_addr)
        if attack:
            attack.start()
        n0 = len(served.latencies)
        time.sleep(seconds)
        lat = served.latencies[n0:]
        if attack:
            attack.stop()
            if name == "phantoms":
                extra = ", %d phantom replies" % attack.sent
            elif name in ("log-flood", "http-flood"):
                extra = ", %d connect/close loops" % attack.loops
        served.stop()
        if served.failure:
            extra += ", the client FAILED: %s" % served.failure
        h.stop_vescd()
    return p99(lat), len(lat), extra


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    names = ["quiet", "ghost-ids", "phantoms", "slowloris", "log-flood", "http-flood"]
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    vescd = os.path.join(os.environ.get("top_builddir", "."), "daemon", "vescd")
    if not os.access(vescd, os.X_OK):
        print("SKIP: %s is not built" % vescd)
        sys.exit(77)
    try:
        with open("/proc/loadavg") as f:
            print("load average %s (a shared machine: compare runs under the same load)" % " ".join(f.read().split()[:3]))
    except OSError:
        pass
    quiet = None
    for name in names:
        try:
            q, n, extra = scenario(name, args.seconds)
        except SystemExit as e:
            if e.code == 77:
                print("SKIP: %s cannot run here" % name)
                sys.exit(77)
            raise
        if name == "quiet":
            quiet = q
        ratio = " (%.1fx quiet)" % (q / quiet) if quiet and name != "quiet" else ""
        print("get_values p99 %-10s %8.1f ms over %d calls%s%s" % (name + ":", 1000 * q, n, ratio, extra),
              flush=True)


if __name__ == "__main__":
    main()
