#!/usr/bin/python3
"""The planner (DESIGN 2026-12 item 5), on vesc-sim:

- the board's Actions come from the planner: on dual-mismatch (A 5.03,
  B 3.58) without sets they say to install a 5.03 set, then repair; with
  only the 6.05 set installed they never advise 3.58 -> 6.05 (which Repair
  refuses with NeedsIntermediate) but the numbered path through 5.03; with
  both sets (6.05 current) Repair with 5.03, then UpdateBoard with 6.05 —
  and following those steps, each job is accepted and ends done;
- PlanUpdate / firmware.plan: a refused job is a plan with the same error
  the method gives (NeedsIntermediate, Mismatch) and the steps that work; a
  possible one lists per side what is erased and written, the bootloader
  steps, the gates and an estimate; nothing is sent to a controller
  (vesc-sim's erase/write/boot counters and the job list do not move);
- SetInhibit / firmware.inhibit: admin only, shown as Inhibited /
  InhibitReason (manager.get inhibited / inhibit_reason), persisted across
  a restart, a gate in the plan, and a new job ends GateFailed naming the
  reason;
- dual-358 (both 3.58): with only 6.05 installed the Actions are the three
  steps install 5.03 / UpdateBoard 5.03 / UpdateBoard 6.05; with both sets
  the two UpdateBoard steps.
"""
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from update_harness import (ERROR_PREFIX, MANAGER_IFACE, MANAGER_PATH, TIMEOUT, UUID_A, UUID_B,  # noqa: E402
                            UpdateHarness, fail, finish, log)


def wait_actions(h, pred, what):
    h.wait_until(lambda: pred(h.actions()), "%s (Actions now %s)" % (what, h.actions()))
    return h.actions()


def counters(h):
    return {u: {k: h.sim_controller(u)["counters"].get(k, 0) for k in ("erases", "writes", "boots")}
            for u in (UUID_A, UUID_B)}


def plan_both(h, kind, set_id, ctls=()):
    """PlanUpdate on D-Bus and firmware.plan on JSON: the same plan."""
    return h.plan_both(kind, set_id, ctls, same=("kind", "set_id", "refused", "error", "steps"))


def run_job(h, method, set_id):
    job = str(h.mgr(method, set_id, {}))
    state, err, report = h.wait_job_end(job)
    if state != "done":
        fail("%s %s ended %s %s: %s\n%s" % (method, set_id, state, err, report, h.vescd_log()))
    return job


def no_direct_358_to_6(acts):
    return not any("from 3.58 to 6.05" in a for a in acts)


def mismatch_board(s503, s605):
    with UpdateHarness(board="dual-mismatch") as h:
        h.wait_both()
        acts = wait_actions(h, lambda a: len(a) == 2, "two steps without sets")
        if not (acts[0].startswith("1. install an image set with firmware 5.03 for hardware") and
                acts[1].startswith("2. repair with that set (5.03): update %s (id 74) from 3.58 to 5.03" % UUID_B)):
            fail("Actions without sets: %s" % acts)
        log("no sets: %s" % acts)

        # only the 6.05 set
        id605 = h.install(s605)
        acts = wait_actions(h, lambda a: any(id605 in x for x in a), "Actions naming the 6.05 set")
        if not no_direct_358_to_6(acts) or len(acts) != 3 or "install an image set with firmware 5.03" not in acts[0] \
                or not acts[2].startswith("3. update the board with image set %s (6.05)" % id605):
            fail("Actions with only 6.05: %s" % acts)
        log("only 6.05: %s" % acts)

        before = counters(h)
        jobs_before = list(h.prop(MANAGER_PATH, MANAGER_IFACE, "Jobs"))
        p = plan_both(h, "repair", id605)
        if not p["refused"] or p["error"] != "NeedsIntermediate" or "5.03 first" not in p["message"]:
            fail("plan repair 6.05: %s" % p)
        if not p["steps"] or not no_direct_358_to_6(p["steps"]) or not p["steps"][0].startswith("1. install"):
            fail("plan repair 6.05 steps: %s" % p["steps"])
        e = h.call_error(lambda: h.mgr("Repair", id605, {}))
        if not e or e[0] != ERROR_PREFIX + "NeedsIntermediate":
            fail("Repair 6.05 should be NeedsIntermediate like its plan: %s" % (e,))
        # vescctl: the error's name once, and where to see what would work
        q = subprocess.run([h.vescctl_path(), "--address", h.address, "firmware", "repair", id605],
                           capture_output=True, text=True, timeout=TIMEOUT)
        if q.returncode != 1 or q.stderr.count("NeedsIntermediate") != 1 or "5.03 first" not in q.stderr or \
                "'vescctl firmware plan repair %s' shows what would work" % id605 not in q.stderr:
            fail("vescctl firmware repair 6.05: rc %d %r" % (q.returncode, q.stderr))
        q = subprocess.run([h.vescctl_path(), "--address", h.address, "firmware", "plan", "repair", id605],
                           capture_output=True, text=True, timeout=TIMEOUT)
        if q.returncode != 1 or not q.stdout.startswith("Plan: repair with image set %s: REFUSED (NeedsIntermediate)\n"
                                                        % id605) or q.stdout.count("NeedsIntermediate") != 1 or \
                "What would work instead:\n  1. install an image set with firmware 5.03" not in q.stdout:
            fail("vescctl firmware plan repair 6.05: rc %d %r" % (q.returncode, q.stdout))
        p = plan_both(h, "update", id605, [UUID_A])
        if not p["refused"] or p["error"] != "Mismatch":
            fail("plan update A 6.05: %s" % p)
        e = h.call_error(lambda: h.mgr("PlanUpdate", "sideways", id605, []))
        if not e or e[0] != ERROR_PREFIX + "InvalidArgument":
            fail("PlanUpdate of an unknown kind: %s" % (e,))

        # both sets: 5.03 installed becomes current
        id503 = h.install(s503)
        acts = wait_actions(h, lambda a: len(a) == 1 and id503 in a[0], "one step with 5.03 current")
        if acts[0] != "repair with image set %s (5.03): update %s (id 74) from 3.58 to 5.03" % (id503, UUID_B):
            fail("Actions with 5.03 current: %s" % acts)
        p = plan_both(h, "repair", id503)
        if p["refused"]:
            fail("plan repair 5.03 refused: %s" % p)
        sides = {s["uuid"]: s for s in p["sides"]}
        if sides[UUID_A]["action"] != "keep" or sides[UUID_B]["action"] != "update":
            fail("plan repair 5.03 sides: %s" % p["sides"])
        b = sides[UUID_B]
        if b["target"] != "5.03" or b["current"] != "3.58" or b["write_bytes"] <= 0 or b["erase_bytes"] < b["write_bytes"] \
                or b["bootloader"]["install"] or b["estimate_seconds"]["total"] <= 0 or p["estimated_seconds"] <= 0:
            fail("plan repair 5.03, side B: %s" % b)
        names = {g["name"] for g in p["gates"]}
        if not {"inhibit", "motor_stopped", "voltage", "fault", "busy", "current"} <= names:
            fail("plan gates: %s" % p["gates"])
        if any("value" not in g for g in p["gates"] if g["name"] in ("voltage", "motor_stopped")):
            fail("plan gates without values: %s" % p["gates"])
        p = plan_both(h, "board", id605)
        if not p["refused"] or p["error"] != "NeedsIntermediate":
            fail("plan board 6.05: %s" % p)
        if counters(h) != before or list(h.prop(MANAGER_PATH, MANAGER_IFACE, "Jobs")) != jobs_before:
            fail("planning sent something: %s -> %s" % (before, counters(h)))
        log("plans refused/possible as the methods; nothing sent")

        # 6.05 current again (rollback swaps): the path through 5.03
        h.mgr("RollbackImageSet")
        acts = wait_actions(h, lambda a: len(a) == 2, "two steps with both sets")
        if not acts[0].startswith("1. repair with image set %s (5.03): update %s (id 74) from 3.58 to 5.03"
                                  % (id503, UUID_B)) or \
                not acts[1].startswith("2. update the board with image set %s (6.05): update %s (id 12) from 5.03 "
                                       "to 6.05, %s (id 74) from 5.03 to 6.05" % (id605, UUID_A, UUID_B)):
            fail("Actions with both sets: %s" % acts)
        log("both sets: %s" % acts)

        # --- inhibit
        r = h.run_calls_as("calls = ((\"inhibit\", lambda: manager.SetInhibit(True, \"x\")),)\n")
        if r is not None and r != "inhibit=%sPermissionDenied" % ERROR_PREFIX:
            fail("SetInhibit as nobody: %r" % r)
        e = h.call_error(lambda: h.mgr("SetInhibit", True, ""))
        if not e or e[0] != ERROR_PREFIX + "InvalidArgument":
            fail("SetInhibit without a reason: %s" % (e,))
        h.mgr("SetInhibit", True, "battery swap in progress")
        h.wait_until(lambda: bool(h.prop(MANAGER_PATH, MANAGER_IFACE, "Inhibited")), "Inhibited")
        if str(h.prop(MANAGER_PATH, MANAGER_IFACE, "InhibitReason")) != "battery swap in progress":
            fail("InhibitReason: %r" % h.prop(MANAGER_PATH, MANAGER_IFACE, "InhibitReason"))
        res, err = h.json_call("manager.get")
        if err or res.get("inhibited") is not True or res.get("inhibit_reason") != "battery swap in progress":
            fail("manager.get inhibit: %s %s" % (res, err))
        h.stop_vescd()
        h.restart_vescd()
        h.wait_both()
        if not bool(h.prop(MANAGER_PATH, MANAGER_IFACE, "Inhibited")):
            fail("the inhibit did not survive a restart")
        p = plan_both(h, "repair", id503)
        gate = [g for g in p["gates"] if g["name"] == "inhibit"][0]
        if gate["ok"] or gate["reason"] != "battery swap in progress":
            fail("plan's inhibit gate: %s" % gate)
        job = str(h.mgr("Repair", id503, {}))
        state, err, report = h.wait_job_end(job)
        if state != "failed" or err[0] != "GateFailed" or "battery swap in progress" not in err[1]:
            fail("a job while inhibited: %s %s %s" % (state, err, report))
        res, err = h.json_call("firmware.inhibit", {"inhibit": False})
        if err:
            fail("firmware.inhibit off: %s" % err)
        h.wait_until(lambda: not bool(h.prop(MANAGER_PATH, MANAGER_IFACE, "Inhibited")), "not inhibited")
        log("inhibit: admin only, shown, persisted, a gate; off again over JSON")

        # --- follow the Actions: every step is accepted and ends done
        h.wait_until(lambda: len(h.actions()) == 2, "the two steps again")
        run_job(h, "Repair", id503)
        acts = wait_actions(h, lambda a: len(a) == 1 and id605 in a[0], "the last step")
        if not acts[0].startswith("update the board with image set %s (6.05)" % id605):
            fail("Actions after the repair: %s" % acts)
        # vescctl status of a consistent board with a newer current set: the update and its commands
        q = subprocess.run([h.vescctl_path(), "--address", h.address, "status"], capture_output=True, text=True,
                           timeout=TIMEOUT)
        if q.returncode != 0 or "CONSISTENT" not in q.stdout or \
                "\nUpdate available:\n  update the board with image set %s (6.05)" % id605 not in q.stdout or \
                "\n  vescctl firmware board %s --wait\n" % id605 not in q.stdout:
            fail("vescctl status with an update available: %r" % q.stdout)
        run_job(h, "UpdateBoard", id605)
        wait_actions(h, lambda a: a == [], "no Actions once the board runs the current set")
        for u in (UUID_A, UUID_B):
            if h.sim_controller(u)["version"] != "6.05":
                fail("%s runs %s" % (u, h.sim_controller(u)["version"]))
        log("following the Actions: repair 5.03, board 6.05, both done; no Actions left")


def board_358(s503, s605):
    with UpdateHarness(board="dual-358") as h:
        h.wait_both()
        h.wait_until(lambda: str(h.prop(MANAGER_PATH, MANAGER_IFACE, "BoardState")) == "consistent", "consistent")
        if h.actions():
            fail("dual-358 without sets has Actions: %s" % h.actions())
        id605 = h.install(s605)
        acts = wait_actions(h, lambda a: len(a) == 3, "three steps with only 6.05")
        if not (acts[0].startswith("1. install an image set with firmware 5.03") and
                acts[1].startswith("2. update the board with that set (5.03): update %s (id 10) from 3.58 to 5.03"
                                   % UUID_A) and
                acts[2].startswith("3. update the board with image set %s (6.05)" % id605)) or \
                not no_direct_358_to_6(acts):
            fail("dual-358 Actions with only 6.05: %s" % acts)
        id503 = h.install(s503)
        h.mgr("RollbackImageSet")   # 6.05 current, 5.03 previous
        acts = wait_actions(h, lambda a: len(a) == 2, "two steps with both sets")
        if not (re.match(r"1\. update the board with image set %s \(5\.03\)" % id503, acts[0]) and
                re.match(r"2\. update the board with image set %s \(6\.05\)" % id605, acts[1])):
            fail("dual-358 Actions with both sets: %s" % acts)
        p = plan_both(h, "board", id605)
        if not p["refused"] or p["error"] != "NeedsIntermediate" or len(p["steps"]) != 2:
            fail("dual-358 plan board 6.05: %s" % p)
        log("dual-358: %s" % acts)


def main():
    from update_harness import imageset
    s503 = imageset("vesc-5.03-test") + ".tar"
    s605 = imageset("vesc-6.05-test") + ".tar"
    board_358(s503, s605)
    mismatch_board(s503, s605)
    finish()


if __name__ == "__main__":
    main()
