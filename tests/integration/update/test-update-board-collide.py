#!/usr/bin/python3
"""UpdateBoard in waves (vesc-sim --board board-4wd-collide: four hw 60
controllers on 6.05 at user-set ids 20, 21, 30, 31 whose UUID default ids
collide in two pairs, F1/R1 at 40 and F2/R2 at 45, under 5.03 and 6.05).

After its commit a controller comes back with its configuration reset, at
its UUID's default id, until the job restores its old id.  Two controllers
with the same default id must therefore never be between their commit and
their restored id at the same time:

- D-Bus UpdateBoard to 5.03, then JSON firmware.board back to 6.05: one job
  over all four sides each time, ending done;
- Progress never decreases over the waves;
- in every Phases snapshot the job signalled, the members of a colliding
  pair are never both in committing/rebooting/confirming/restoring, and
  every side was seen there (so the check saw real waves); the members of
  different pairs share a wave;
- vesc-sim counted no id clash (no controller ever came up on an id
  another running controller answered at);
- every member ends at its old id, online, at the target version (the
  report's side done, confirmed, no can_id_not_restored), the board
  consistent; the JSON job's own snapshot (job.get) agrees.
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from update_harness import (JOB_TIMEOUT, MANAGER_IFACE, MANAGER_PATH,  # noqa: E402
                            UpdateHarness, fail, finish, log)

F1, F2 = "100023000d51393236353934", "110029000d51393236353934"
R1, R2 = "170028000d51393236353934", "160022000d51393236353934"
IDS = {F1: 20, F2: 21, R1: 30, R2: 31}
PAIRS = ((F1, R1), (F2, R2))           # default ids 40 and 45
WINDOW = ("committing", "rebooting", "confirming", "restoring")


def check_waves(how, snapshots):
    """The colliding members never in their commit-to-restore window
    together; every side seen in it; F1/F2 (and R1/R2) share a wave."""
    seen = {u: [] for u in IDS}
    for i, snap in enumerate(snapshots):
        for u in IDS:
            if snap.get(u) in WINDOW:
                seen[u].append(i)
        for a, b in PAIRS:
            if snap.get(a) in WINDOW and snap.get(b) in WINDOW:
                fail("%s: %s and %s (same default id) rebooting in one wave: %s" % (how, a, b, snap))
    for u, idx in seen.items():
        if not idx:
            fail("%s: side %s never seen between commit and restore; snapshots %s" % (how, u, snapshots))
    # one member of each pair per wave: the earlier of each pair commits
    # together with the earlier of the other pair
    first = min(PAIRS[0], key=lambda u: seen[u][0])
    other = min(PAIRS[1], key=lambda u: seen[u][0])
    if not any(snapshots[i].get(other) in WINDOW for i in seen[first]):
        fail("%s: %s and %s do not collide but never shared a wave: %s" % (how, first, other, snapshots))
    log("%s: %d phase snapshots, colliding pairs in separate waves" % (how, len(snapshots)))


def main():
    with UpdateHarness(board="board-4wd-collide") as h:
        h.wait_found(list(IDS))
        h.wait_until(lambda: str(h.prop(MANAGER_PATH, MANAGER_IFACE, "BoardState")) == "consistent",
                     "board consistent")

        for how, name, version in (("D-Bus", "vesc-5.03-test", "5.03"), ("JSON", "vesc-6.05-test", "6.05")):
            set_id = h.install_tar(name)
            boots = {u: h.sim_controller(u)["counters"]["boots"] for u in IDS}
            job = h.start_job(how, "board", set_id)
            state, err, report = h.wait_job_end(job)
            if state != "done":
                fail("%s board update to %s ended %s %s %s\n%s" % (how, version, state, err, report, h.vescd_log()))
            by_uuid = h.check_truthful(job, state, err, report, list(IDS))
            if sorted(by_uuid) != sorted(IDS):
                fail("%s: one job over all four expected, its sides: %s" % (how, report))
            for u, i in IDS.items():
                s = by_uuid[u]
                if s.get("phase") != "done" or s.get("can_id_not_restored") or s.get("can_id") != i:
                    fail("%s: side %s should be done at id %d: %s" % (how, u, i, s))
            check_waves(how, h.phases_seen.get(job, []))
            h.check_progress_monotonic(job)
            for u, i in IDS.items():
                sim = h.sim_controller(u)
                if sim["version"] != version or sim["id"] != i:
                    fail("%s: vesc-sim says %s runs %s at id %s" % (how, u, sim["version"], sim["id"]))
                if sim["counters"]["boots"] <= boots[u]:
                    fail("%s: vesc-sim says %s did not boot: %s" % (how, u, sim["counters"]))
                if sim["counters"]["id_clashes"] != 0:
                    fail("%s: vesc-sim saw %s on an id another controller used: %s" % (how, u, sim["counters"]))
            if how == "JSON":
                res, err = h.json_call("job.get", {"job": int(job.rsplit("/", 1)[1])})
                if err or res.get("state") != "done" or \
                        any(res.get("phases", {}).get(u) != "done" for u in IDS):
                    fail("JSON job.get after the end: %s %s" % (res, err))
            h.wait_until(lambda: h.settled(IDS, version),
                         "all four online at their ids on %s, board consistent" % version, timeout=JOB_TIMEOUT)
            log("%s: one transaction in two waves, all four on %s at their ids" % (how, version))
    finish()


if __name__ == "__main__":
    main()
