"""Process harness of the interop tests: vesc-sim, a private dbus-daemon,
vescd, all in one fresh temporary directory, all waited on by events
(vesc-sim's "ready" line, dbus-daemon's --print-address, vescd's READY=1 on
a NOTIFY_SOCKET we own), every wait bounded.  Standard library only, so it
also runs where python3-dbus is missing."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from privbus import (find_dbus_daemon, read_line_until, sanitizer_report, start_private_bus,  # noqa: E402
                     terminate, unix_request)

SKIP = 77
# Every wait is bounded by TIMEOUT seconds times VESCD_TEST_SLOWDOWN (e.g.
# under emulation); nothing asserts speed.
SLOWDOWN = float(os.environ.get("VESCD_TEST_SLOWDOWN", "1"))
TIMEOUT = 20.0 * SLOWDOWN

UUID_A = "3c0029000d51393236353934"
UUID_B = "2f002b001451363336333531"
CONTROLLER_PATH = "/org/vescd1/controller/"



def bus_config(socket_path):
    """The private bus's configuration: Debian's system-bus defaults, the
    shipped policy dbus/org.vescd1.conf and <allow own> for this uid
    (tests/dbus-test-config.sh)."""
    script = os.path.join(srcdir(), "tests", "dbus-test-config.sh")
    return subprocess.run(["/bin/sh", script, socket_path], check=True,
                          stdout=subprocess.PIPE, text=True).stdout


def log(*args):
    print("#", *args, flush=True)


class TestFailure(AssertionError):
    pass


def fail(msg):
    print("FAIL:", msg, flush=True)
    raise TestFailure(msg)


def check(cond, what):
    if not cond:
        fail(what)
    print("ok -", what, flush=True)


def skip(msg):
    print("SKIP:", msg, flush=True)
    sys.exit(SKIP)


def builddir():
    return os.environ.get("top_builddir") or os.path.abspath(
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def srcdir():
    return os.environ.get("top_srcdir") or os.path.abspath(
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def program(rel):
    return os.path.join(builddir(), rel)


def require_programs(*rels):
    for rel in rels:
        if not os.access(program(rel), os.X_OK):
            skip("%s is not built" % rel)


def wait_until(predicate, what, timeout=TIMEOUT, step=None):
    """Call step() (which should block briefly on an event, e.g. reading a
    frame) or sleep 10 ms until predicate() holds; fail after timeout."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            fail("timed out waiting for " + what)
        if step:
            step(min(0.05, max(0.0, deadline - time.monotonic())))
        else:
            time.sleep(0.01)  # polling a condition with a deadline, not a wait-and-hope


class Env:
    """One test's processes and temporary directory."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="vescd-indep.")
        os.chmod(self.tmp, 0o755)
        self.procs = []
        self.sim = None
        self.sim_output = []
        self.sim_err = None
        self.dbus_address = None
        self.vescd = None
        self.vescd_log_file = None
        self.notify = None

    def path(self, name):
        return os.path.join(self.tmp, name)

    # ------------------------------------------------------------ vesc-sim
    def start_sim(self, board="dual-mismatch", vbus=True, iface="vcan0",
                  time_scale=None, extra=()):
        args = [program("sim/vesc-sim"), "--board", board, "--control", self.path("sim.ctl")]
        if vbus:
            args += ["--vbus", self.path("vbus")]
        else:
            args += ["--socketcan", iface]
        if time_scale is not None:
            args += ["--time-scale", str(time_scale)]
        args += list(extra)
        # stderr to a file: a pipe nobody reads could block the simulator
        self.sim_err = open(self.path("sim.log"), "w+")
        self.sim = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.sim_err)
        self.procs.append(self.sim)
        if not read_line_until(self.sim.stdout.fileno(), "vesc-sim: ready",
                               time.monotonic() + TIMEOUT, self.sim_output):
            fail("vesc-sim did not become ready: %s\n%s" % ("\n".join(self.sim_output), self.sim_log()))
        log("vesc-sim ready:", " ".join(args[1:]))
        return self.path("vbus")

    def sim_log(self):
        if not self.sim_err:
            return ""
        self.sim_err.flush()
        with open(self.sim_err.name) as f:
            return f.read()

    def sim_control(self, command):
        return unix_request(self.path("sim.ctl"), command, TIMEOUT)

    # ------------------------------------------------------------ D-Bus
    def start_dbus(self):
        daemon = find_dbus_daemon()
        if not daemon:
            skip("dbus-daemon not found")
        conf = self.path("bus.conf")
        with open(conf, "w") as f:
            f.write(bus_config(self.path("dbus.sock")))
        _, address = start_private_bus(daemon, conf, TIMEOUT, self.procs)
        if not address:
            fail("dbus-daemon did not print its address")
        self.dbus_address = address
        log("private bus at", self.dbus_address)
        return self.dbus_address

    def busctl(self, *args):
        busctl = os.environ.get("BUSCTL") or shutil.which("busctl")
        if not busctl:
            skip("busctl not found")
        p = subprocess.run([busctl, "--address=" + self.dbus_address] + list(args),
                           capture_output=True, text=True, timeout=TIMEOUT)
        if p.returncode != 0:
            fail("busctl %s failed (%d): %s" % (" ".join(args), p.returncode, p.stderr))
        return p.stdout

    # ------------------------------------------------------------ vescd
    def start_vescd(self, transport, extra=()):
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        npath = self.path("notify")
        self.notify.bind(npath)
        env = dict(os.environ)
        env["NOTIFY_SOCKET"] = npath
        for k in ("JOURNAL_STREAM", "INVOCATION_ID", "WATCHDOG_USEC", "WATCHDOG_PID"):
            env.pop(k, None)
        args = [program("daemon/vescd"), "--config", self.path("none.conf"),
                "--transport", transport, "--state-dir", self.tmp,
                "--json-socket", self.path("vescd.sock"), "--member-after-s", "0"]
        if self.dbus_address:
            args += ["--bus-address", self.dbus_address]
        args += list(extra)
        self.vescd_log_file = open(self.path("vescd.log"), "w+")
        self.vescd = subprocess.Popen(args, env=env, stdout=self.vescd_log_file,
                                      stderr=subprocess.STDOUT)
        self.procs.append(self.vescd)
        self.wait_notify("READY=1")
        log("vescd ready:", " ".join(args[1:]))

    def wait_notify(self, want):
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.vescd.poll() is not None:
                fail("vescd exited with %d before %s:\n%s" % (self.vescd.returncode, want, self.vescd_log()))
            self.notify.settimeout(min(0.5, max(0.01, deadline - time.monotonic())))
            try:
                msg = self.notify.recv(4096).decode()
            except socket.timeout:
                continue
            if want in msg.split("\n"):
                return
        fail("no %s from vescd:\n%s" % (want, self.vescd_log()))

    def vescd_log(self):
        if not self.vescd_log_file:
            return ""
        self.vescd_log_file.flush()
        with open(self.vescd_log_file.name) as f:
            return f.read()

    def stop_vescd(self):
        """SIGTERM vescd; returns its exit status; fails on sanitizer reports."""
        if not self.vescd or self.vescd.poll() is not None:
            return self.vescd.returncode if self.vescd else 0
        rc = terminate(self.vescd, TIMEOUT)
        if rc is None:
            fail("vescd did not exit on SIGTERM")
        text = self.vescd_log()
        if sanitizer_report(text):
            fail("sanitizer report from vescd:\n" + text)
        return rc

    # ------------------------------------------------------------ teardown
    def close(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            if p.stdout:
                p.stdout.close()
        if self.notify:
            self.notify.close()
        for f in (self.vescd_log_file, self.sim_err):
            if f:
                f.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and self.vescd_log_file:
            print("--- vescd log:\n" + self.vescd_log(), flush=True)
        if exc_type is not None and self.sim_err:
            print("--- vesc-sim log:\n" + self.sim_log(), flush=True)
        self.close()
        return False


def run(main):
    """Run a test's main(): exit 0 on PASS, 1 on a failed check."""
    try:
        main()
    except TestFailure:
        sys.exit(1)
    print("PASS", flush=True)
    sys.exit(0)
