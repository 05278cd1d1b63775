#!/usr/bin/python3
"""The old CAN id cannot be restored after an update (vesc-sim --board
dual-358: A 3.58 at id 10, B 3.58 at 74; after 5.03 A comes back at its
default id 12).  vesc-sim's `lose A appconf on` makes A lose every
SET_APPCONF, as a controller does when a frame of the long buffer is lost
each time: the request that would put id 10 back never runs.

On D-Bus (UpdatePair) and on the JSON socket (firmware.board, a fresh
board), with default options:
- the job ends done with no error; A's side has can_id 12,
  can_id_not_restored true and, first in its redo, "old CAN id 10 not
  restored: SET_APPCONF got no reply (last seen at 12)"; not "restore it
  from the backup" (the backup is in the 3.58 layout); B's id is back;
- vesc-sim: A runs 5.03 at 12 and lost the SET_APPCONFs; no id clash;
- vescd shows A once, at id 12, online, on 5.03 (no ghost at 10), the
  board consistent; JSON controller.get agrees;
- vescctl: `firmware job N` prints the redo line, `status` lists A at 12
  online, `show 12` is A and `show 10` is "no such controller" (exit 6).

Across the job's end, on D-Bus (PropertiesChanged, in the order vescd
sent them) and on the JSON socket (notifications of a connection opened
before the job): once the job is done, the board is never `degraded` and
A never goes Online false.  A, without status broadcasts and unpolled
while the job holds it, may go offline while the job resends the lost
SET_APPCONF; it is alive at 12, and vescd checks it at once when the job
lets go, without showing the board degraded meanwhile (daemon/core/daemon.c,
"held silence").
"""
import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from update_harness import (AdapterWatch, CONTROLLER_IFACE, JOB_IFACE, MANAGER_IFACE, MANAGER_PATH, UUID_A,  # noqa: E402
                            UUID_B, UpdateHarness, fail, finish, log)

PATH_A = "/org/vescd1/controller/" + UUID_A
NOTE = "old CAN id 10 not restored: SET_APPCONF got no reply (last seen at 12)"


def check_report(how, report):
    sides = {s.get("uuid"): s for s in (report or {}).get("sides", [])}
    a, b = sides.get(UUID_A), sides.get(UUID_B)
    if not a or not b:
        fail("%s: report without both sides: %s" % (how, report))
    redo = str(a.get("redo", ""))
    if a.get("can_id") != 12 or a.get("can_id_not_restored") is not True or not redo.startswith(NOTE):
        fail("%s: A's side should say its id 10 was not restored: %s" % (how, a))
    if "restore it from the backup" in redo:
        fail("%s: A's redo advises the 3.58 backup on 5.03: %r" % (how, redo))
    if b.get("can_id") != 74 or b.get("can_id_not_restored"):
        fail("%s: B's side: %s" % (how, b))
    log("%s: A's report: %s" % (how, redo[:len(NOTE)]))


def check_sim(how, h):
    a = h.sim_controller(UUID_A)
    if a["id"] != 12 or a["version"] != "5.03" or a["counters"]["lost_conf"] < 1:
        fail("%s: vesc-sim says A: id %s, %s, counters %s" % (how, a["id"], a["version"], a["counters"]))
    for u in (UUID_A, UUID_B):
        if h.sim_controller(u)["counters"]["id_clashes"]:
            fail("%s: vesc-sim saw an id clash: %s" % (how, h.sim_status()))


def check_vescd(how, h):
    """A once, at 12, online on 5.03; nothing at 10; the board consistent."""
    h.wait_until(lambda: int(h.prop(PATH_A, CONTROLLER_IFACE, "Id")) == 12 and
                 bool(h.prop(PATH_A, CONTROLLER_IFACE, "Online")) and
                 str(h.prop(PATH_A, CONTROLLER_IFACE, "FirmwareVersion")) == "5.03",
                 "%s: A online at 12 on 5.03" % how)
    h.wait_until(lambda: str(h.prop(MANAGER_PATH, MANAGER_IFACE, "BoardState")) == "consistent",
                 "%s: board consistent" % how)
    paths = h.controllers()
    if sorted(str(p) for p in paths) != sorted("/org/vescd1/controller/" + u for u in (UUID_A, UUID_B)):
        fail("%s: controllers %s" % (how, paths))
    ids = [int(h.prop(p, CONTROLLER_IFACE, "Id")) for p in paths]
    if 10 in ids:
        fail("%s: a controller is still shown at id 10: %s" % (how, ids))


class EndWatch(AdapterWatch):
    """Board state, A's Online and job states as vescd announced them, in
    order: ("board", state), ("a_online", bool), ("job", state), one list
    per adapter.  D-Bus: PropertiesChanged; JSON: the notifications of a
    connection opened before the job."""

    def __init__(self, h):
        super().__init__(h)
        # A's readings: the first one after the job's end was a poll vescd
        # sent after the job let A go (the job's own replies never reach
        # the model); A's liveness is settled from then on
        self.sock.sendall((json.dumps({"jsonrpc": "2.0", "id": 1, "method": "telemetry.watch",
                                       "params": {"controllers": [UUID_A], "rate_hz": 5,
                                                  "fields": ["voltage_in"]}}) + "\n").encode())

    def _on_props(self, iface, changed, invalidated, path=None):
        path = str(path)
        if iface == MANAGER_IFACE and "BoardState" in changed:
            self.dbus.append(("board", str(changed["BoardState"])))
        if iface == CONTROLLER_IFACE and path == "/org/vescd1/controller/" + UUID_A and "Online" in changed:
            self.dbus.append(("a_online", bool(changed["Online"])))
        if iface == JOB_IFACE and "State" in changed:
            self.dbus.append(("job", str(changed["State"])))

    def _json_event(self, method, params, msg):
        if method == "board.changed" and "board_state" in params:
            return ("board", params["board_state"])
        if method in ("controller.changed", "controller.added") and params.get("uuid") == UUID_A:
            return ("a_online", params.get("online"))
        if method == "job.changed" and "state" in params:
            return ("job", params["state"])
        if method == "telemetry" and params.get("uuid") == UUID_A:
            return ("a_sample", True)
        if msg.get("id") == 1 and "error" in msg:
            return ("watch_error", str(msg["error"]))
        return None

    def check(self, how, h):
        """After the job's done: never degraded, A never offline, up to a
        reading of A from a poll after the job (its liveness is settled
        then) and the board consistent with A online."""
        h.wait_until(lambda: self._ended(self._json(), sample=True),
                     "%s: JSON notifications after done up to a reading of A, A online, the board consistent "
                     "(%s)" % (how, self.json))
        # the D-Bus signals vescd sent before those notifications: queued
        # behind a round trip, then dispatched
        h.prop(MANAGER_PATH, MANAGER_IFACE, "BoardState")
        h.wait_until(lambda: self._ended(list(self.dbus)),
                     "%s: D-Bus signals after done up to the board consistent (%s)" % (how, self.dbus))
        ctx = h.loop.get_context()
        while ctx.pending():
            ctx.iteration(False)
        for adapter, events in (("D-Bus", list(self.dbus)), ("JSON", self._json())):
            if ("job", "done") not in events:
                fail("%s: %s never announced the job done: %s" % (how, adapter, events))
            after = events[events.index(("job", "done")) + 1:]
            bad = [e for e in after if e == ("board", "degraded") or e == ("a_online", False)]
            if bad:
                fail("%s: after the job's done %s announced %s (all: %s)\n%s" % (how, adapter, bad, events,
                                                                              h.vescd_log()))
            log("%s: %s after done: %s (all: %s)" % (how, adapter, after, events))

    @staticmethod
    def _ended(events, sample=False):
        if ("job", "done") not in events:
            return False
        if sample and ("a_sample", True) not in events[events.index(("job", "done")):]:
            return False
        last = lambda kind: [e for e in events if e[0] == kind][-1:]  # noqa: E731
        return last("board") == [("board", "consistent")] and last("a_online") in ([], [("a_online", True)])


def vescctl(h, *args):
    p = subprocess.run([h.vescctl_path(), "--address", h.address] + list(args), capture_output=True, text=True,
                       timeout=60)
    return p.returncode, p.stdout + p.stderr


def run_case(h, how, kind):
    """On a fresh dual-358 A loses its SET_APPCONFs; a job to 5.03 with
    default options through how ends done and says so; returns its path."""
    h.wait_both()
    s503 = h.install_tar("vesc-5.03-test")
    h.sim_control("lose A appconf on")
    watch = EndWatch(h)
    job = h.start_job(how, kind, s503)
    state, err, report = h.wait_job_end(job)
    if state != "done" or err != ("", ""):
        fail("%s: ended %s %s\n%s" % (how, state, err, h.vescd_log()))
    h.check_truthful(job, state, err, report, [UUID_A, UUID_B])
    check_report(how, report)
    check_sim(how, h)
    check_vescd(how, h)
    watch.check(how, h)
    watch.close()
    return job


def dbus_case():
    with UpdateHarness(board="dual-358") as h:
        job = run_case(h, "D-Bus", "pair")
        rc, out = vescctl(h, "firmware", "job", job.rsplit("/", 1)[1])
        if rc != 0 or NOTE not in out or "%s (id 12)" % UUID_A not in out:
            fail("vescctl firmware job: rc %d\n%s" % (rc, out))
        rc, out = vescctl(h, "status")
        line = [x for x in out.splitlines() if UUID_A in x]
        if rc != 0 or len(line) != 1 or "id  12" not in line[0] or "online" not in line[0]:
            fail("vescctl status: rc %d\n%s\n%s" % (rc, out, h.vescd_log()))
        rc, out = vescctl(h, "show", "12")
        if rc != 0 or UUID_A not in out:
            fail("vescctl show 12: rc %d\n%s" % (rc, out))
        rc, out = vescctl(h, "show", "10")
        if rc != 6:
            fail("vescctl show 10 (nobody there): rc %d\n%s" % (rc, out))
        log("D-Bus and vescctl: done, A at 12 online, the lost id reported")


def json_case():
    with UpdateHarness(board="dual-358") as h:
        job = run_case(h, "JSON", "board")
        res, err = h.json_call("job.get", {"job": int(job.rsplit("/", 1)[1])})
        if err or res.get("state") != "done" or res.get("error", {}).get("code"):
            fail("JSON job.get: %s %s" % (res, err))
        check_report("JSON job.get", res.get("report"))
        res, err = h.json_call("controller.get", {"uuid": UUID_A})
        if err or res.get("id") != 12 or res.get("online") is not True or res.get("firmware_version") != "5.03":
            fail("JSON controller.get A: %s %s" % (res, err))
        log("JSON: done, A at 12 online, the lost id reported")


def main():
    dbus_case()
    json_case()
    finish()


if __name__ == "__main__":
    main()
