"""Helpers for the firmware update integration tests, on top of the shared
harness (tests/integration/dbus/vescd_harness.py): installing image sets,
starting jobs, following a job's progress by its PropertiesChanged
signals, killing and restarting vescd with the same
state directory, and the end-state checks every scenario makes.

All waits are bounded and event driven (GLib loop); nothing asserts speed.
"""
import json
import os
import signal
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "dbus"))
import dbus  # noqa: E402
from gi.repository import GLib  # noqa: E402
from vescd_harness import (BUS_NAME, CONTROLLER_IFACE, MANAGER_IFACE, MANAGER_PATH, PROPS_IFACE,  # noqa: E402,F401
                           SKIP, TIMEOUT, UUID_A, UUID_B, Harness, builddir, cannot_check, fail, finish, log,
                           skip, srcdir)
from privbus import json_messages  # noqa: E402

JOB_IFACE = "org.vescd1.Job"
ERROR_PREFIX = "org.vescd1.Error."
# vesc-sim and vescd run with this time scale: erase, programming, reboot
# and watchdog timings shrink together, so a scenario takes seconds.
TIME_SCALE = os.environ.get("VESCD_UPDATE_TIME_SCALE", "0.1")
# A whole job may take this long at most (bounded wait, not a speed check).
JOB_TIMEOUT = 6 * TIMEOUT


def imageset(name):
    """Path of a test set built by `make imagesets`, or SKIP."""
    if os.environ.get("HAVE_ARM_TOOLCHAIN", "yes") in ("no", "0", ""):
        skip("no arm-none-eabi toolchain: the test image sets are not built")
    p = os.path.join(builddir(), "firmware", "imagesets", name)
    if not os.path.exists(p):
        skip("%s is not built (make imagesets)" % p)
    return p


class UpdateHarness(Harness):
    def __init__(self, board, time_scale=TIME_SCALE, vescd_args=(), sim_args=()):
        # vescd scales the offline timeout with --time-scale but polls a
        # silent controller at the unscaled poll rate: keep the scaled
        # timeout (20 s x 0.05 = 1 s) above the poll period
        args = ["--offline-timeout-ms", str(int(1000 / float(time_scale)))] + list(vescd_args)
        super().__init__(board=board, time_scale=time_scale, vescd_args=args, sim_args=sim_args)
        self.progress_seen = {}   # job path -> list of Progress values
        self.phases_seen = {}     # job path -> list of Phases ({uuid: phase}) as signalled
        self.signal_match = None

    def start(self):
        super().start()
        self.signal_match = self.bus.add_signal_receiver(
            self._on_props, signal_name="PropertiesChanged", dbus_interface=PROPS_IFACE,
            path_keyword="path", bus_name=BUS_NAME)
        return self

    def _on_props(self, iface, changed, invalidated, path=None):
        if iface == JOB_IFACE and "Progress" in changed:
            self.progress_seen.setdefault(str(path), []).append(int(changed["Progress"]))
        if iface == JOB_IFACE and "Phases" in changed:
            self.phases_seen.setdefault(str(path), []).append(
                {str(k): str(v) for k, v in changed["Phases"].items()})

    # ------------------------------------------------------------ vescd
    def kill_vescd(self):
        """SIGKILL: no clean-up in vescd at all."""
        self.vescd.send_signal(signal.SIGKILL)
        self.vescd.wait(timeout=TIMEOUT)
        log("vescd killed")

    def restart_vescd(self):
        if self.notify:
            self.notify.close()
        try:
            os.unlink(os.path.join(self.tmp, "notify"))
        except FileNotFoundError:
            pass
        for f in ("vescd.sock",):
            try:
                os.unlink(os.path.join(self.tmp, f))
            except FileNotFoundError:
                pass
        self.start_vescd()

    # ------------------------------------------------------------ D-Bus
    JOB_METHODS = ("UpdateController", "UpdatePair", "UpdateBoard", "Repair")

    def mgr(self, method, *args):
        if method in self.JOB_METHODS:
            self.settle_online()
        return getattr(self.manager(), method)(*args, dbus_interface=MANAGER_IFACE)

    JOB_KINDS = {"board": "UpdateBoard", "pair": "UpdatePair", "repair": "Repair"}

    def start_job(self, how, kind, set_id):
        """Start a board, pair or repair job with default options through
        "D-Bus" or "JSON" (firmware.KIND); returns the job's path."""
        if how == "D-Bus":
            return str(self.mgr(self.JOB_KINDS[kind], set_id, {}))
        self.settle_online()
        res, err = self.json_call("firmware." + kind, {"set": set_id})
        if err:
            fail("JSON firmware.%s: %s" % (kind, err))
        return "/org/vescd1/job/%s" % res["id"]

    def settle_online(self):
        """Before a job starts: give every exported controller a bounded
        moment to be Online.  On a loaded machine (a sanitizer build, the
        VM tier beside it) a polled controller can miss its scaled offline
        timeout for a moment, and a job refuses an offline side.  Never
        fails: a test that wants the refusal still gets it."""
        def all_online():
            try:
                return all(bool(self.prop(p, CONTROLLER_IFACE, "Online")) for p in self.controllers())
            except dbus.exceptions.DBusException:
                return False
        self.poll_until(all_online, TIMEOUT / 2)

    def install(self, path):
        with open(path, "rb") as f:
            return str(self.mgr("InstallImageSet", dbus.types.UnixFd(f)))

    def install_tar(self, name):
        return self.install(imageset(name) + ".tar")

    def actions(self):
        """The Manager's Actions."""
        return [str(a) for a in self.prop(MANAGER_PATH, MANAGER_IFACE, "Actions")]

    def plan_both(self, kind, set_id, controllers=(), same=("refused", "error", "message", "steps")):
        """PlanUpdate on D-Bus and firmware.plan on JSON: the plan (as
        D-Bus gave it); fails unless both give the same in the keys @same."""
        p = json.loads(str(self.mgr("PlanUpdate", kind, set_id, list(controllers))))
        params = {"kind": kind, "set": set_id}
        if controllers:
            params["controllers"] = list(controllers)
        res, err = self.json_call("firmware.plan", params)
        if err:
            fail("firmware.plan %s: %s" % (kind, err))
        for k in same:
            if p.get(k) != res.get(k):
                fail("PlanUpdate and firmware.plan differ in %s: %r vs %r" % (k, p.get(k), res.get(k)))
        return p

    def job_prop(self, job, name):
        return self.prop(job, JOB_IFACE, name)

    def wait_both(self):
        self.wait_found((UUID_A, UUID_B))

    def wait_found(self, uuids):
        """The controllers are exported.  A controller without status
        broadcasts is found by vescd's PING scan only; at a small time
        scale a PING's timeout is short enough for a busy machine to miss
        it, so ask for another scan now and then (bounded)."""
        paths = ["/org/vescd1/controller/" + u for u in uuids]
        found = lambda: all(p in self.controllers() for p in paths)  # noqa: E731
        for attempt in range(5):
            if self.poll_until(found, TIMEOUT / 4):
                return
            log("%s not all found yet: scanning again" % ", ".join(uuids))
            self.mgr("Scan")
        self.wait_until(found, ", ".join(uuids))

    def settled(self, ids, version):
        """ids: {uuid: CAN id}.  Each controller online at its id on
        version, and the board consistent."""
        return all(bool(self.prop("/org/vescd1/controller/" + u, CONTROLLER_IFACE, "Online")) and
                   int(self.prop("/org/vescd1/controller/" + u, CONTROLLER_IFACE, "Id")) == i and
                   str(self.prop("/org/vescd1/controller/" + u, CONTROLLER_IFACE, "FirmwareVersion")) == version
                   for u, i in ids.items()) and \
            str(self.prop(MANAGER_PATH, MANAGER_IFACE, "BoardState")) == "consistent"

    def wait_online(self, uuids=(UUID_A, UUID_B)):
        """The controllers are exported and Online: a job refuses an
        offline side (Offline), and on a loaded machine a polled controller
        can miss its offline timeout for a moment before a job starts."""
        paths = ["/org/vescd1/controller/" + u for u in uuids]
        self.wait_until(lambda: all(p in self.controllers() and bool(self.prop(p, CONTROLLER_IFACE, "Online"))
                                    for p in paths), "%s online" % ", ".join(uuids))

    def poll_until(self, predicate, timeout):
        """Like wait_until(), but returns False at the timeout."""
        deadline = time.monotonic() + timeout
        ctx = self.loop.get_context()
        while not predicate():
            if time.monotonic() >= deadline:
                return False
            fired = []
            tid = GLib.timeout_add(20, lambda: fired.append(1) and False)
            ctx.iteration(True)
            if not fired:
                GLib.source_remove(tid)
        return True

    def wait_job_phase(self, job, phases, timeout=JOB_TIMEOUT):
        self.wait_until(lambda: str(self.job_prop(job, "Phase")) in phases or
                        str(self.job_prop(job, "State")) != "running",
                        "job %s in %s" % (job, phases), timeout)

    def wait_job_end(self, job, timeout=JOB_TIMEOUT):
        self.wait_until(lambda: str(self.job_prop(job, "State")) != "running", "end of %s" % job, timeout)
        state = str(self.job_prop(job, "State"))
        err = tuple(str(x) for x in self.job_prop(job, "Error"))
        report = str(self.job_prop(job, "Report"))
        log("%s ended: %s %s" % (job, state, err))
        return state, err, (json.loads(report) if report else None)

    def check_progress_monotonic(self, job):
        seen = self.progress_seen.get(job, [])
        for a, b in zip(seen, seen[1:]):
            if b < a:
                fail("Progress of %s went down: %s" % (job, seen))
        final = int(self.job_prop(job, "Progress"))
        if seen and final < seen[-1]:
            fail("final Progress %d below a published %d" % (final, seen[-1]))
        return seen

    # ------------------------------------------------------- end state
    def check_truthful(self, job, state, err, report, updated):
        """The job's word against what vesc-sim says each side runs.

        updated: UUIDs the job updated.  Done: each runs the target.  Failed:
        the report names what each side runs, matching the simulator; a
        bricked side is reported as Bricked."""
        if state not in ("done", "failed", "cancelled"):
            fail("job %s ended in state %s" % (job, state))
        if report is None:
            fail("job %s has no report" % job)
        sides = report.get("sides") if isinstance(report, dict) else None
        if not sides:
            fail("report of %s lacks sides: %s" % (job, report))
        by_uuid = {s.get("uuid"): s for s in sides}
        for uuid in updated:
            sim = self.sim_controller(uuid)
            side = by_uuid.get(uuid)
            if side is None:
                fail("report lacks side %s: %s" % (uuid, report))
            runs = str(side.get("runs", ""))
            if sim["phase"] == "bricked" or sim.get("bootloader_generation", 1) == 0 and not sim["on_bus"]:
                if err[0] != "Bricked" and side.get("error") != "Bricked":
                    fail("%s is bricked in vesc-sim but the job says %s / %s" % (uuid, err, side))
                continue
            if state == "done":
                if err != ("", ""):
                    fail("done with an error %s" % (err,))
                if not runs.startswith(sim["version"]):
                    fail("job says %s runs %r, vesc-sim says %s" % (uuid, runs, sim["version"]))
            else:
                if err[0] == "":
                    fail("job %s %s without an error code" % (job, state))
                if sim["phase"] == "running" and not runs.startswith(sim["version"]) and \
                        not runs.startswith("unknown"):
                    fail("failed job says %s runs %r, vesc-sim says %s" % (uuid, runs, sim["version"]))
        return by_uuid


class AdapterWatch:
    """What vescd announces on both adapters from now on, each as a list of
    events in order: self.dbus (PropertiesChanged signals, handed to the
    subclass's _on_props(iface, changed, invalidated, path), which appends
    to it) and self.json (the notifications of a JSON connection opened
    here: the subclass's _json_event(method, params, msg) turns a message
    into an event, or None).  The connection's hello is awaited."""

    def __init__(self, h):
        self.dbus = []
        self.json = []
        self.lock = threading.Lock()
        self.match = h.bus.add_signal_receiver(
            self._on_props, signal_name="PropertiesChanged", dbus_interface=PROPS_IFACE,
            path_keyword="path", bus_name=BUS_NAME)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(os.path.join(h.tmp, "vescd.sock"))
        self.stop = False
        self.hello = threading.Event()
        self.thread = threading.Thread(target=self._reader, daemon=True)
        self.thread.start()
        if not self.hello.wait(TIMEOUT):
            fail("no hello on the JSON socket")

    def _reader(self):
        for msg in json_messages(self.sock, lambda: self.stop):
            method, params = msg.get("method"), msg.get("params") or {}
            if method == "hello":
                self.hello.set()
                continue
            ev = self._json_event(method, params, msg)
            if ev:
                with self.lock:
                    self.json.append(ev)

    def _json(self):
        with self.lock:
            return list(self.json)

    def close(self):
        self.stop = True
        self.sock.close()
        self.thread.join(TIMEOUT)
        self.match.remove()
