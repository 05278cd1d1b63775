"""Shared pieces of the hostile suite: a normal client that keeps calling
controller.get_values on its own JSON connection while an attack runs
(every call must be answered), a JSON watcher that counts telemetry, and a
raw member of the vbus hub for frames no controller would send."""
import json
import os
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "dbus"))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
from vescd_harness import TIMEOUT, Harness, builddir, fail, log, skip  # noqa: E402,F401
import vescproto as vp  # noqa: E402,F401

UUID_A = "3c0029000d51393236353934"   # dual-mismatch, id 12
UUID_B = "2f002b001451363336333531"   # dual-mismatch, id 74
CALL_TIMEOUT = 10.0                   # one call not answered in this long = not served


class JsonConn:
    """One JSON-RPC connection; call() returns (result, error, seconds)."""

    def __init__(self, path, timeout=CALL_TIMEOUT):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""
        self.next_id = 1
        self.notes = []

    def read_msg(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("vescd closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, method, params=None):
        rid = self.next_id
        self.next_id += 1
        req = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            req["params"] = params
        t0 = time.monotonic()
        self.s.sendall((json.dumps(req) + "\n").encode())
        while True:
            msg = self.read_msg()
            if msg.get("id") == rid:
                return msg.get("result"), msg.get("error"), time.monotonic() - t0
            self.notes.append(msg)

    def close(self):
        self.s.close()


class Served(threading.Thread):
    """A normal client: controller.get_values on uuid, back to back (with a
    short pause), on one connection, until stop().  Every call must be
    answered (a result or an error reply) within CALL_TIMEOUT."""

    def __init__(self, sock_path, uuid, pause=0.02):
        super().__init__(daemon=True)
        self.path = sock_path
        self.uuid = uuid
        self.pause = pause
        self.latencies = []
        self.errors = []
        self.failure = None
        self.stopping = threading.Event()

    def run(self):
        try:
            c = JsonConn(self.path)
            while not self.stopping.is_set():
                result, error, dt = c.call("controller.get_values", {"uuid": self.uuid})
                self.latencies.append(dt)
                if error is not None:
                    self.errors.append(error)
                time.sleep(self.pause)
            c.close()
        except Exception as e:  # noqa: BLE001 - reported by check()
            self.failure = "%s: %s" % (type(e).__name__, e)

    def stop(self):
        self.stopping.set()
        self.join(CALL_TIMEOUT + 5)

    def check(self, what, min_calls=5, timeouts_allowed=0.0):
        """Every call answered, with values (not an error), and enough calls.
        timeouts_allowed: the fraction of calls that may be answered with
        Timeout (the bus did not answer in time: only for runs at a small
        --time-scale, whose request timeouts a loaded machine can miss)."""
        if self.failure:
            fail("%s: the normal client was not served: %s" % (what, self.failure))
        timeouts = [e for e in self.errors if e.get("data", {}).get("name") == "Timeout"]
        if timeouts and len(timeouts) == len(self.errors) and len(timeouts) <= timeouts_allowed * len(self.latencies):
            log("%s: %d of %d calls answered Timeout (allowed at this time scale)" %
                (what, len(timeouts), len(self.latencies)))
            self.errors = []
        if self.errors:
            fail("%s: %d of %d get_values calls failed, first: %s" %
                 (what, len(self.errors), len(self.latencies), self.errors[0]))
        if len(self.latencies) < min_calls:
            fail("%s: only %d get_values calls answered" % (what, len(self.latencies)))
        lat = sorted(self.latencies)
        log("%s: %d calls answered, median %.1f ms, max %.1f ms" %
            (what, len(lat), 1000 * lat[len(lat) // 2], 1000 * lat[-1]))


class Watcher(threading.Thread):
    """A telemetry.watch at rate_hz; counts telemetry notifications."""

    def __init__(self, sock_path, rate_hz=10):
        super().__init__(daemon=True)
        self.c = JsonConn(sock_path)
        self.c.call("telemetry.watch", {"rate_hz": rate_hz})
        self.times = []
        self.failure = None
        self.stopping = threading.Event()

    def run(self):
        self.c.s.settimeout(0.5)
        while not self.stopping.is_set():
            try:
                msg = self.c.read_msg()
            except socket.timeout:
                continue
            except Exception as e:  # noqa: BLE001
                self.failure = str(e)
                return
            if msg.get("method") == "telemetry":
                self.times.append(time.monotonic())

    def count_between(self, t0, t1):
        return sum(1 for t in self.times if t0 <= t <= t1)

    def stop(self):
        self.stopping.set()
        self.join(5)
        self.c.close()


def sanitizer_build():
    """True in a build configured with --enable-sanitizers: heavy tests run
    once, in the plain build (DESIGN "Decisions of 2026-12" item 14)."""
    try:
        with open(os.path.join(builddir(), "config.status")) as f:
            text = f.read()
    except OSError:
        return False
    return "--enable-sanitizers" in text and "--enable-sanitizers=no" not in text


def attacker(h, own_id=251):
    """A raw member of the harness's vbus hub."""
    return vp.Client(vp.VbusTransport(os.path.join(h.tmp, "vbus")), own_id)


def json_path(h):
    return os.path.join(h.tmp, "vescd.sock")


def wait_controllers(h, uuids, timeout=TIMEOUT):
    """Until the JSON controller list holds exactly these uuids."""
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        result, error = h.json_call("controllers.list")
        if error is None:
            got = sorted(c["uuid"] for c in result["controllers"])
            if got == sorted(uuids):
                return got
        time.sleep(0.2)
    fail("controllers are %s, expected %s\n%s" % (got, sorted(uuids), h.vescd_log()[-4000:]))


REAL_IDS = (12, 74)       # dual-mismatch
VESCD_ID = 253
ATTACKER_ID = 251


def unused_ids():
    return [i for i in range(255) if i not in REAL_IDS + (VESCD_ID, ATTACKER_ID)]


def status_frame(sender):
    """CAN_PACKET_STATUS from sender: erpm 0, current 0, duty 0."""
    return vp.eid(vp.CAN_PACKET_STATUS, sender), bytes(8)


def fw_version_reply(uuid):
    """A 6.05-style COMM_FW_VERSION reply for hw "60" with this uuid (HW_TYPE 0)."""
    return (bytes([vp.COMM_FW_VERSION, 6, 5]) + b"60\0" + uuid +
            bytes([0, 0, 0, 0, 0, 0, 0, 0]) + b"\0" + bytes(4))


def fw_version_request_to(f):
    """The target id if frame f is vescd asking an id for COMM_FW_VERSION."""
    et = vp.frame_eid(f)
    if not et or et[0] != vp.CAN_PACKET_PROCESS_SHORT_BUFFER:
        return None
    if len(f.data) >= 3 and f.data[0] == VESCD_ID and f.data[2] == vp.COMM_FW_VERSION:
        return et[1]
    return None


class PhantomPeer(threading.Thread):
    """Rounds over the unused ids: one NOTIFY_BOOT from each id, then a
    fresh UUID for every FW_VERSION request to it, until `count` replies
    (or stop())."""

    def __init__(self, h, count):
        super().__init__(daemon=True)
        self.count = count
        self.stopping = threading.Event()
        self.bus = attacker(h, ATTACKER_ID)
        self.bus.keep_frames = False
        self.sent = 0
        self.uuids = set()
        self.failure = None

    def fresh_uuid(self):
        u = os.urandom(12)
        self.uuids.add(u.hex())
        return u

    def run(self):
        try:
            ids = unused_ids()
            deadline = time.monotonic() + 120
            while self.sent < self.count and time.monotonic() < deadline and not self.stopping.is_set():
                for i in ids:
                    self.bus.send(vp.eid(vp.CAN_PACKET_NOTIFY_BOOT, i), b"60")
                round_end = time.monotonic() + 8
                while (self.sent < self.count and time.monotonic() < round_end and
                       not self.stopping.is_set()):
                    f = self.bus.poll(0.2)
                    if f is None:
                        continue
                    target = fw_version_request_to(f)
                    if target is None or target not in ids:
                        continue
                    payload = fw_version_reply(self.fresh_uuid())
                    for e, data in vp.segment(payload, VESCD_ID, target, vp.MODE_REPLY):
                        self.bus.send(e, data)
                    self.sent += 1
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.failure = "%s: %s" % (type(e).__name__, e)

    def stop(self):
        self.stopping.set()
        self.join(10)
