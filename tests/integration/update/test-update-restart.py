#!/usr/bin/python3
"""vescd killed (SIGKILL, no clean-up at all) in the middle of the seed
repair, once in each of checking, erasing, writing and rebooting, and in
the bootloader step of a pair update to 6.05 (dual-old-bootloader), and
started again on the same state directory: the job is reported again under the same
object path and resumed (staging restarts from checking before the
commit; after it the controller is found by UUID and confirmed), and it
ends truthfully: done only when vesc-sim says B runs 5.03, the history
has it, and the pair is no longer mismatched."""
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from update_harness import (MANAGER_IFACE, MANAGER_PATH, UpdateHarness, fail, imageset, log)  # noqa: E402

# phase -> (board, set, method, the sides' target)
PHASES = {
    "checking": ("dual-mismatch", "vesc-5.03-test", "Repair", "5.03"),
    "erasing": ("dual-mismatch", "vesc-5.03-test", "Repair", "5.03"),
    "writing": ("dual-mismatch", "vesc-5.03-test", "Repair", "5.03"),
    "rebooting": ("dual-mismatch", "vesc-5.03-test", "Repair", "5.03"),
    "bootloader": ("dual-old-bootloader", "vesc-6.05-test", "UpdatePair", "6.05"),
}
# a little slower than the other tests so every phase lasts long enough to
# be caught by a property poll
TIME_SCALE = "0.2"


def run(phase):
    board, set_name, method, target = PHASES[phase]
    log("=== SIGKILL in", phase)
    with UpdateHarness(board=board, time_scale=TIME_SCALE) as h:
        h.wait_both()
        set_id = h.install(imageset(set_name) + ".tar")
        job = str(h.mgr(method, set_id, {}))
        updated = [p.rsplit("/", 1)[1] for p in h.job_prop(job, "Controllers")]
        h.wait_job_phase(job, (phase,))
        if str(h.job_prop(job, "State")) != "running":
            fail("job ended before %s" % phase)
        h.kill_vescd()
        persisted = os.listdir(os.path.join(h.tmp, "firmware", "jobs"))
        if persisted != ["job-1.json"]:
            fail("state directory holds %s, expected the job file" % persisted)
        h.restart_vescd()
        h.wait_until(lambda: job in [str(p) for p in h.prop(MANAGER_PATH, MANAGER_IFACE, "Jobs")],
                     "%s reported again" % job)
        state, err, report = h.wait_job_end(job)
        h.check_truthful(job, state, err, report, updated)
        if state != "done":
            fail("killed in %s: the resumed job ended %s %s\n%s" % (phase, state, err, h.vescd_log()))
        for uuid in updated:
            sim = h.sim_controller(uuid)
            if sim["version"] != target:
                fail("silent success: %s runs %s" % (uuid, sim["version"]))
        h.wait_until(lambda: not bool(h.prop(MANAGER_PATH, MANAGER_IFACE, "Mismatch")), "Mismatch false")
        hist = json.loads(str(h.mgr("GetHistory")))
        if not any(e.get("path") == job and e.get("state") == "done" for e in hist):
            fail("history lacks the resumed job: %s" % hist)
        if os.listdir(os.path.join(h.tmp, "firmware", "jobs")):
            fail("job file left behind after the end")
        log("killed in %s: resumed and done, %s run %s" % (phase, " ".join(updated), target))
        h.stop_vescd()


def main():
    for phase in (sys.argv[1:] or PHASES):
        run(phase)
    print("PASS")


if __name__ == "__main__":
    main()
