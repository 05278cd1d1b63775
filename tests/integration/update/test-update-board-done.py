#!/usr/bin/python3
"""A job's `done` comes after the board's final state, never before it.

A rider's script waits for the job's done and then reads the board state:
it must read the final state (`consistent` here), never `updating`.  Two
scenarios, each watched on both adapters at once:

1. the seed repair (vesc-sim --board dual-mismatch: A 5.03, B 3.58),
   Repair started on D-Bus;
2. vesc-sim --board dual-358 with `lose A appconf on`, firmware.board on
   the JSON socket: the controllers, unpolled while the job holds them and
   without status broadcasts, go offline while the job resends the lost
   SET_APPCONF (the offline timeout is made shorter than those resends,
   the polls faster to match), so the board view waits for vescd's check
   of them when the job lets go (daemon/core/daemon.c "held silence") and
   the job's end waits for the view (logged; the test says whether it saw
   that, it does not depend on it).

D-Bus: in the handler of the job's PropertiesChanged that says State
`done`, a Get of the Manager's BoardState reads `consistent`; the
Manager's BoardState signals before that one end in `consistent`, and
none after it says `updating` (the final state is never announced after
done as a transition out of `updating`; in the scenarios here nothing at
all follows).  JSON: on a connection opened before the job, the
board.changed notifications before the job.changed saying `done` end in
`consistent`, none after it says `updating`, and a board.get sent on
another connection as soon as `done` arrives reads `consistent`.
"""
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from update_harness import (AdapterWatch, JOB_IFACE, MANAGER_IFACE, MANAGER_PATH, TIME_SCALE, UUID_A, UUID_B,  # noqa: E402
                            UpdateHarness, fail, finish, log)


class DoneWatch(AdapterWatch):
    """What each adapter announced, in order: ("board", state) and
    ("job", state), plus the board state read at the moment of done."""

    def __init__(self, h):
        self.h = h
        self.job = None          # the job's path, once known
        self.dbus_read = None    # BoardState read in the done handler
        self.json_read = None    # board.get sent when done arrived
        super().__init__(h)

    def _on_props(self, iface, changed, invalidated, path=None):
        if iface == MANAGER_IFACE and "BoardState" in changed:
            self.dbus.append(("board", str(changed["BoardState"])))
        if iface == JOB_IFACE and "State" in changed:
            state = str(changed["State"])
            self.dbus.append(("job", state))
            if state == "done" and self.dbus_read is None:
                # what a client's done handler reads: a round trip now
                self.dbus_read = str(self.h.prop(MANAGER_PATH, MANAGER_IFACE, "BoardState"))

    def _json_event(self, method, params, msg):
        if method == "board.changed" and "board_state" in params:
            return ("board", params["board_state"])
        if method == "job.changed" and "state" in params:
            if params["state"] == "done" and self.json_read is None:
                res, err = self.h.json_call("board.get")
                self.json_read = err if err else res.get("board_state")
            return ("job", params["state"])
        return None

    def check(self, how):
        h = self.h
        h.wait_until(lambda: ("job", "done") in self._json() and self.json_read is not None,
                     "%s: the JSON job.changed done (%s)" % (how, self._json()))
        # D-Bus signals sent before a reply are dispatched before it
        h.prop(MANAGER_PATH, MANAGER_IFACE, "BoardState")
        h.wait_until(lambda: ("job", "done") in self.dbus and self.dbus_read is not None,
                     "%s: the D-Bus State done (%s)" % (how, self.dbus))
        # one more round trip each: whatever vescd announced right after
        # done has arrived
        h.json_call("board.get")
        h.prop(MANAGER_PATH, MANAGER_IFACE, "BoardState")
        ctx = h.loop.get_context()
        while ctx.pending():
            ctx.iteration(False)
        problems = []
        for adapter, events, read in (("D-Bus", list(self.dbus), self.dbus_read),
                                      ("JSON", self._json(), self.json_read)):
            i = events.index(("job", "done"))
            before = [s for k, s in events[:i] if k == "board"]
            after = [s for k, s in events[i + 1:] if k == "board"]
            log("%s: %s: board at done %s, announced before %s, after %s" % (how, adapter, read, before, after))
            if read != "consistent":
                problems.append("%s: the board read when the job said done is %r, not consistent (%s)" %
                                (adapter, read, events))
            if not before or before[-1] != "consistent":
                problems.append("%s: the board's last state announced before done is %s, not consistent (%s)" %
                                (adapter, before[-1:] or "none", events))
            if "updating" in after or (after and before[-1:] == ["updating"]):
                problems.append("%s: the board state was announced after done out of updating: %s (%s)" %
                                (adapter, after, events))
        if problems:
            fail("%s:\n  %s\n%s" % (how, "\n  ".join(problems), h.vescd_log()))

def run(board, how, kind, lose_a=False, vescd_args=()):
    with UpdateHarness(board=board, vescd_args=vescd_args) as h:
        h.wait_both()
        s503 = h.install_tar("vesc-5.03-test")
        if lose_a:
            h.sim_control("lose A appconf on")
        watch = DoneWatch(h)
        job = h.start_job(how, kind, s503)
        state, err, report = h.wait_job_end(job)
        if state != "done" or err != ("", ""):
            fail("%s: ended %s %s\n%s\n%s" % (board, state, err, json.dumps(report, indent=1), h.vescd_log()))
        watch.check("%s %s" % (board, kind))
        watch.close()
        waited = "its end is announced once the board view is final" in h.vescd_log()
        log("%s: the job's end waited for a check of a controller it let go: %s" % (board, "yes" if waited else "no"))
        for u in (UUID_A, UUID_B):
            if h.sim_controller(u)["version"] != "5.03":
                fail("%s: vesc-sim says %s runs %s" % (board, u, h.sim_controller(u)["version"]))


def main():
    run("dual-mismatch", "D-Bus", "repair")
    # offline after 200 ms of silence (the timeout is scaled by the time
    # scale, the poll rate is not), polled every 20 ms
    run("dual-358", "JSON", "board", lose_a=True,
        vescd_args=["--offline-timeout-ms", str(int(200 / float(TIME_SCALE))), "--poll-rate-hz", "50"])
    finish()


if __name__ == "__main__":
    main()
