"""Integration-test harness: a private dbus-daemon, vesc-sim and vescd.

Everything lives in a fresh temporary directory (mode 0755 so that an
unprivileged uid can reach the bus socket).  The harness waits on events,
never on sleeps: the dbus-daemon's --print-address, the simulator's
"vesc-sim: ready" line, vescd's READY=1 on a NOTIFY_SOCKET owned by the
harness, and D-Bus signals/properties through a GLib main loop with a
bounded timeout.  Run with Debian's /usr/bin/python3 (python3-dbus, gi).
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import dbus
import dbus.mainloop.glib
from gi.repository import GLib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from privbus import (find_dbus_daemon, read_line_until, sanitizer_report, start_private_bus,  # noqa: E402
                     terminate, unix_request)

SKIP = 77
BUS_NAME = "org.vescd1"
MANAGER_PATH = "/org/vescd1"
MANAGER_IFACE = "org.vescd1.Manager"
CONTROLLER_IFACE = "org.vescd1.Controller"
PROPS_IFACE = "org.freedesktop.DBus.Properties"

UUID_A = "3c0029000d51393236353934"   # dual-mismatch A: 5.03, id 12, broadcasts off
UUID_B = "2f002b001451363336333531"   # dual-mismatch B: 3.58, id 74, STATUS_1 at 50 Hz
PATH_A = "/org/vescd1/controller/" + UUID_A
PATH_B = "/org/vescd1/controller/" + UUID_B


# Every wait is bounded by this many seconds times the slowdown factor
# (VESCD_TEST_SLOWDOWN, e.g. under emulation); nothing asserts speed.
TIMEOUT = 20.0 * float(os.environ.get("VESCD_TEST_SLOWDOWN", "1"))


def bus_config(socket_path, owner_uid=None):
    """The private bus's configuration: Debian's system-bus defaults, the
    shipped policy dbus/org.vescd1.conf and <allow own> for the uid vescd
    runs as (this one by default; tests/dbus-test-config.sh)."""
    script = os.path.join(srcdir(), "tests", "dbus-test-config.sh")
    args = [str(owner_uid)] if owner_uid is not None else []
    return subprocess.run(["/bin/sh", script, socket_path] + args, check=True,
                          stdout=subprocess.PIPE, text=True).stdout


def log(*args):
    print("#", *args, flush=True)


def fail(msg):
    print("FAIL:", msg, flush=True)
    raise AssertionError(msg)


def skip(msg):
    print("SKIP:", msg, flush=True)
    sys.exit(SKIP)


# Checks that could not run here (not root, no setpriv, a window not
# observed): the test then ends with SKIP (77), never PASS.
NOT_CHECKED = []


def cannot_check(msg):
    """Record a check that cannot run here; finish() then exits 77."""
    log("cannot check: " + msg)
    NOT_CHECKED.append(msg)


def finish():
    """The end of a test that got this far: PASS, or SKIP (77) when a
    check could not run."""
    if NOT_CHECKED:
        skip("checks that could not run: " + "; ".join(NOT_CHECKED))
    print("PASS", flush=True)


def builddir():
    return os.environ.get("top_builddir") or os.path.abspath(
        os.path.join(os.path.dirname(__file__), "..", ".."))


def srcdir():
    return os.environ.get("top_srcdir") or os.path.abspath(
        os.path.join(os.path.dirname(__file__), "..", ".."))


def free_port():
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# run_calls_as(): the code around the caller's `calls`
CALLS_PRELUDE = """
import json, sys, dbus
bus = dbus.bus.BusConnection(sys.argv[1])
manager = dbus.Interface(bus.get_object("org.vescd1", "/org/vescd1"), "org.vescd1.Manager")
args = sys.argv[2:]
"""
CALLS_EPILOGUE = """
out = []
for name, call in calls:
    try:
        call()
        out.append(name + "=allowed")
    except dbus.exceptions.DBusException as e:
        out.append(name + "=" + e.get_dbus_name())
print(" ".join(out))
"""


class Harness:
    def __init__(self, board="dual-mismatch", time_scale="1", transport="vbus",
                 can_iface="vcan0", vescd_args=(), vescd_env=None, member_after_s="0", sim_args=()):
        self.board = board
        self.sim_args = list(sim_args)   # extra vesc-sim options, e.g. --bitrate
        self.time_scale = time_scale
        self.transport_kind = transport
        self.can_iface = can_iface
        self.vescd_args = list(vescd_args)
        # controllers become board members at once unless a test is about
        # membership (vescd's default waits member-after-s = 30 s)
        self.member_after_s = member_after_s
        self.vescd_env = dict(vescd_env or {})
        self.tmp = tempfile.mkdtemp(prefix="vescd-it.")
        os.chmod(self.tmp, 0o755)
        self.procs = []
        self.vescd = None
        self.sim = None
        self.dbus_proc = None
        self.address = None
        self.notify = None
        self.status_lines = []
        # sd_notify messages, drained by a thread: a full datagram queue
        # would block vescd inside sd_notify()
        self.notify_msgs = []
        self.notify_pos = 0
        self.notify_cond = threading.Condition()
        self.notify_stop = False
        self.sim_output = []
        self.bus = None
        self.loop = GLib.MainLoop()

    # ------------------------------------------------------------ setup
    def start(self):
        for prog in (self.vescd_path(), self.sim_path()):
            if not os.access(prog, os.X_OK):
                skip("%s is not built" % prog)
        self.start_dbus()
        self.start_sim()
        self.start_vescd()
        dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
        self.bus = dbus.bus.BusConnection(self.address)
        return self

    def vescd_path(self):
        return os.path.join(builddir(), "daemon", "vescd")

    def sim_path(self):
        return os.path.join(builddir(), "sim", "vesc-sim")

    def vescctl_path(self):
        return os.path.join(builddir(), "clients", "vescctl")

    def start_dbus(self):
        daemon = find_dbus_daemon()
        if not daemon:
            skip("dbus-daemon not found")
        conf = os.path.join(self.tmp, "bus.conf")
        with open(conf, "w") as f:
            f.write(bus_config(os.path.join(self.tmp, "dbus.sock"), getattr(self, "vescd_uid", None)))
        self.dbus_proc, address = start_private_bus(
            daemon, conf, TIMEOUT, self.procs,
            stderr=open(os.path.join(self.tmp, "dbus-daemon.log"), "w"))
        if not address:
            fail("dbus-daemon did not print its address")
        self.address = address
        log("private bus at", self.address)

    def start_sim(self):
        args = [self.sim_path(), "--board", self.board, "--time-scale", self.time_scale,
                "--control", os.path.join(self.tmp, "sim.ctl")]
        if self.transport_kind == "vbus":
            args += ["--vbus", os.path.join(self.tmp, "vbus")]
        else:
            args += ["--socketcan", self.can_iface]
        args += self.sim_args
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.procs.append(p)
        self.sim = p
        if not read_line_until(p.stdout, "vesc-sim: ready", time.monotonic() + TIMEOUT, self.sim_output):
            fail("vesc-sim did not become ready: %s" % "\n".join(self.sim_output))
        log("vesc-sim ready, board", self.board)

    def start_vescd(self):
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        npath = os.path.join(self.tmp, "notify")
        self.notify.bind(npath)
        self.notify_thread = threading.Thread(target=self._notify_reader, daemon=True)
        self.notify_thread.start()
        if self.transport_kind == "vbus":
            transport = "vbus:" + os.path.join(self.tmp, "vbus")
        else:
            transport = "socketcan:" + self.can_iface
        env = dict(os.environ)
        env["NOTIFY_SOCKET"] = npath
        env.pop("JOURNAL_STREAM", None)
        env.pop("INVOCATION_ID", None)
        env.update(self.vescd_env)
        args = [self.vescd_path(), "--config", os.path.join(self.tmp, "none.conf"),
                "--transport", transport, "--bus-address", self.address,
                "--time-scale", self.time_scale, "--state-dir", self.tmp,
                "--json-socket", os.path.join(self.tmp, "vescd.sock")]
        if self.member_after_s is not None:
            args += ["--member-after-s", str(self.member_after_s)]
        args += self.vescd_args
        self.vescd_err = open(os.path.join(self.tmp, "vescd.log"), "w+")
        self.vescd = subprocess.Popen(args, env=env, stdout=self.vescd_err, stderr=subprocess.STDOUT)
        self.procs.append(self.vescd)
        self.wait_notify("READY=1")
        log("vescd ready")

    def _notify_reader(self):
        self.notify.settimeout(0.2)
        while not self.notify_stop:
            try:
                msg = self.notify.recv(4096).decode()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.notify_cond:
                for line in msg.split("\n"):
                    if line.startswith("STATUS="):
                        self.status_lines.append(line[7:])
                    if line:
                        self.notify_msgs.append(line)
                self.notify_cond.notify_all()

    def wait_notify(self, want, timeout=TIMEOUT):
        """Wait for the next sd_notify line equal to want (e.g. READY=1)."""
        deadline = time.monotonic() + timeout
        with self.notify_cond:
            while True:
                for i in range(self.notify_pos, len(self.notify_msgs)):
                    if self.notify_msgs[i] == want:
                        self.notify_pos = i + 1
                        return want
                self.notify_pos = len(self.notify_msgs)
                if self.vescd.poll() is not None:
                    fail("vescd exited with %d before %s:\n%s" % (self.vescd.returncode, want, self.vescd_log()))
                left = deadline - time.monotonic()
                if left <= 0:
                    fail("no %s from vescd within %.0f s:\n%s" % (want, timeout, self.vescd_log()))
                self.notify_cond.wait(min(left, 0.5))

    def poll_notify(self):
        """Kept for callers that poll; the reader thread does the work."""
        return False

    def vescd_log(self):
        self.vescd_err.flush()
        with open(self.vescd_err.name) as f:
            return f.read()

    # --------------------------------------------------------- helpers
    def wait_until(self, predicate, what, timeout=TIMEOUT):
        """Run the GLib loop until predicate() is true (checked after every
        event and every 20 ms), at most timeout seconds."""
        deadline = time.monotonic() + timeout
        ctx = self.loop.get_context()
        while not predicate():
            if time.monotonic() >= deadline:
                fail("timed out waiting for %s\n--- vescd log:\n%s" % (what, self.vescd_log()))
            fired = []
            tid = GLib.timeout_add(20, lambda: fired.append(1) and False)
            ctx.iteration(True)
            if not fired:
                GLib.source_remove(tid)

    def manager(self):
        return self.bus.get_object(BUS_NAME, MANAGER_PATH)

    def prop(self, path, iface, name):
        return self.bus.get_object(BUS_NAME, path).Get(iface, name, dbus_interface=PROPS_IFACE)

    def controllers(self):
        return [str(p) for p in self.prop(MANAGER_PATH, MANAGER_IFACE, "Controllers")]

    def sim_control(self, command):
        text = unix_request(os.path.join(self.tmp, "sim.ctl"), command, TIMEOUT)
        if not text.startswith("ok"):
            fail("vesc-sim control '%s' answered '%s'" % (command, text))
        return text

    def sim_status(self):
        """vesc-sim's `status`: {"controllers": [...], "bus": {...}}."""
        return json.loads(unix_request(os.path.join(self.tmp, "sim.ctl"), "status", TIMEOUT))

    def sim_controller(self, uuid):
        for c in self.sim_status()["controllers"]:
            if c["uuid"] == uuid:
                return c
        fail("vesc-sim has no controller %s" % uuid)

    def json_call(self, method, params=None):
        """One JSON-RPC call on vescd's JSON socket: (result, error)."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(TIMEOUT)
        s.connect(os.path.join(self.tmp, "vescd.sock"))
        req = {"jsonrpc": "2.0", "id": 7, "method": method}
        if params is not None:
            req["params"] = params
        s.sendall((json.dumps(req) + "\n").encode())
        buf = b""
        try:
            while True:
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    msg = json.loads(line)
                    if msg.get("id") == 7:
                        return msg.get("result"), msg.get("error")
                chunk = s.recv(65536)
                if not chunk:
                    fail("JSON socket closed before the answer to %s" % method)
                buf += chunk
        finally:
            s.close()

    def call_error(self, fn):
        """Run fn(); return (D-Bus error name, message) it raised, None if none."""
        try:
            fn()
        except dbus.exceptions.DBusException as e:
            return e.get_dbus_name(), e.get_dbus_message()
        return None

    def run_as(self, code, *args, groups=None):
        """Run python code (argv[1] = the bus address, then args) as uid/gid
        65534 with the supplementary groups given (none by default), through
        setpriv; its stdout, or None where that is impossible (not root, no
        setpriv)."""
        if os.geteuid() != 0:
            return None
        setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
        if not os.access(setpriv, os.X_OK):
            return None
        py = os.environ.get("PYTHON3") or "/usr/bin/python3"
        grp = ["--groups=" + ",".join(str(g) for g in groups)] if groups else ["--clear-groups"]
        p = subprocess.run([setpriv, "--reuid=65534", "--regid=65534"] + grp + [py, "-c", code, self.address] +
                           [str(a) for a in args], capture_output=True, text=True, timeout=TIMEOUT)
        if p.returncode != 0:
            fail("unprivileged client failed: %s%s" % (p.stdout, p.stderr))
        return p.stdout.strip()

    def run_calls_as(self, calls, *args, groups=None):
        """run_as() for the usual permission check: calls is python code
        that sets `calls`, a sequence of (name, function) pairs, using `bus`
        (a connection to the test's bus), `manager` (org.vescd1.Manager),
        `args` (the further arguments, strings) and the modules json, sys
        and dbus.  Returns "name=allowed" or "name=<D-Bus error name>" for
        each, space separated; None where run_as() cannot run."""
        return self.run_as(CALLS_PRELUDE + calls + CALLS_EPILOGUE, *args, groups=groups)

    def busctl(self, *args, check=True):
        busctl = os.environ.get("BUSCTL") or shutil.which("busctl")
        p = subprocess.run([busctl, "--address=" + self.address] + list(args),
                           capture_output=True, text=True, timeout=TIMEOUT)
        if check and p.returncode != 0:
            fail("busctl %s failed: %s" % (" ".join(args), p.stderr))
        return p

    def check_sanitizer_output(self):
        text = self.vescd_log()
        if sanitizer_report(text):
            fail("sanitizer report from vescd:\n" + text)

    # --------------------------------------------------------- teardown
    def stop_vescd(self):
        """SIGTERM vescd; it must exit 0 (and cleanly under ASan)."""
        if not self.vescd or self.vescd.poll() is not None:
            return self.vescd.returncode if self.vescd else 0
        rc = terminate(self.vescd, TIMEOUT)
        if rc is None:
            fail("vescd did not exit on SIGTERM")
        self.check_sanitizer_output()
        return rc

    def close(self):
        if self.bus is not None:
            try:
                self.bus.close()
            except Exception:
                pass
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if self.notify:
            self.notify_stop = True
            self.notify_thread.join(timeout=5)
            self.notify.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
        return False
