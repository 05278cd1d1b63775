#!/usr/bin/python3
"""The fault matrix of issue #7 on the seed repair (dual-mismatch, 5.03
set, Repair = B only), one fresh vesc-sim + vescd per scenario at a small
time scale: frame loss 0.1 %, 1 % and 5 %, corrupted frames, B power-cycled
during its erase, during the write and just before the jump, B power-
cycled while its bootloader copies the image (bricked: must be reported
as such), bus-off during the write, and a missed jump (committed again,
not staged again).

In every case the end state must be reported truthfully: the job ends
(bounded wait), never with a silent success (done means vesc-sim says B
runs 5.03), a failure carries a stable error code, the report says what
each side runs and that matches vesc-sim's `status`, Progress never went
down, and the pair is mismatched at the end only where B still runs its
old firmware (the mismatch the repair was for) or is physically dead.

The pair transaction gets the same treatment (dual-old-bootloader, the
6.05 set, UpdatePair: bootloader step, then both sides staged and
committed together): loss on one side, a power cycle of one side during
its write, a missed jump.  A failed pair job must leave both sides on the
same firmware: vescd never creates a mismatch.

Usage: test-update-faults.py [SCENARIO...]   (default: all)"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from update_harness import (CONTROLLER_IFACE, JOB_TIMEOUT, MANAGER_IFACE, MANAGER_PATH, UUID_A, UUID_B,  # noqa: E402
                            TIMEOUT, UpdateHarness, fail, imageset, log)

PATH_B = "/org/vescd1/controller/" + UUID_B


def job_bound(name):
    """How long a scenario's job may take before the test calls it stuck.
    A bound on ending, not a speed check: at 5 % frame loss a 3.58 side
    waits the full write timeout for every lost chunk (no offset echo before
    5.00), ≈70 s for the seed repair, and twice that if it must be staged
    again (two JUMPs lost in a row)."""
    return 3 * JOB_TIMEOUT if "drop" in name or "corrupt" in name else JOB_TIMEOUT

# name: (commands before Repair, (phase to wait for, fraction of bytes), commands then, allowed end states,
#        expected error codes when failed (None: any stable code))
SCENARIOS = {
    "drop-0.1%": (["drop 0.001 B"], None, [], ("done",), None),
    "drop-1%": (["drop 0.01 B"], None, [], ("done", "failed"), ("Timeout", "NotCommitted")),
    "drop-5%": (["drop 0.05 B"], None, [], ("done", "failed"), ("Timeout", "NotCommitted")),
    "corrupt-1%": (["corrupt 0.01 B"], None, [], ("done", "failed"), ("Timeout", "NotCommitted", "Refused")),
    "powercycle-erase": (["powercycle B erase"], None, [], ("done", "failed"), None),
    "powercycle-write": (["powercycle B write"], None, [], ("done", "failed"), None),
    "powercycle-before-jump": ([], ("writing", 0.97), ["powercycle B now"], ("done", "failed"), None),
    "powercycle-bootloader": (["powercycle B bootloader"], None, [], ("failed",), ("Bricked",)),
    "busoff-write": ([], ("writing", 0.3), ["busoff 300"], ("done", "failed"), None),
    "missjump": (["missjump B"], None, [], ("done",), None),
}
PAIR_SCENARIOS = {
    "pair-drop-1%-A": (["drop 0.01 A"], None, [], ("done", "failed"), ("Timeout", "NotCommitted")),
    "pair-powercycle-write-A": (["powercycle A write"], None, [], ("done", "failed"), None),
    "pair-missjump-B": (["missjump B"], None, [], ("done",), None),
}


def bytes_fraction(h, job):
    total = int(h.job_prop(job, "BytesTotal"))
    return int(h.job_prop(job, "BytesDone")) / total if total else 0.0


def run_pair(name, set_tar):
    before, trigger, then, allowed, codes = PAIR_SCENARIOS[name]
    log("=== pair scenario", name)
    with UpdateHarness(board="dual-old-bootloader") as h:
        h.wait_both()
        set_id = h.install(set_tar)
        for c in before:
            h.sim_control(c)
        h.wait_online()
        job = str(h.mgr("UpdatePair", set_id, {}))
        state, err, report = h.wait_job_end(job, job_bound(name))
        h.sim_control("drop 0")
        h.check_progress_monotonic(job)
        if state not in allowed:
            fail("%s: ended %s %s, allowed %s\n%s" % (name, state, err, allowed, h.vescd_log()))
        if state == "failed" and codes and err[0] not in codes:
            fail("%s: failed with %s, expected one of %s" % (name, err, codes))
        h.wait_until(lambda: all(h.sim_controller(u)["phase"] in ("running", "bricked") for u in (UUID_A, UUID_B)),
                     "both sides settle", timeout=3 * TIMEOUT)
        h.check_truthful(job, state, err, report, [UUID_A, UUID_B])
        sa, sb = h.sim_controller(UUID_A), h.sim_controller(UUID_B)
        if "bricked" not in (sa["phase"], sb["phase"]):
            if sa["version"] != sb["version"]:
                fail("%s: vescd left the pair mismatched: A %s, B %s (%s %s)" %
                     (name, sa["version"], sb["version"], state, err))
            if state == "done" and sa["version"] != "6.05":
                fail("%s: done but the pair runs %s" % (name, sa["version"]))
        log("%s: %s %s; vesc-sim: A %s %s, B %s %s" % (name, state, err[0] or "-", sa["phase"], sa["version"],
                                                       sb["phase"], sb["version"]))
        h.stop_vescd()


def run(name, set_tar):
    before, trigger, then, allowed, codes = SCENARIOS[name]
    log("=== scenario", name)
    with UpdateHarness(board="dual-mismatch") as h:
        h.wait_both()
        set_id = h.install(set_tar)
        for c in before:
            h.sim_control(c)
        job = str(h.mgr("Repair", set_id, {}))
        if trigger:
            phase, frac = trigger
            h.wait_until(lambda: str(h.job_prop(job, "State")) != "running" or
                         (str(h.job_prop(job, "Phase")) == phase and bytes_fraction(h, job) >= frac),
                         "%s at %.0f%%" % (phase, 100 * frac))
            for c in then:
                h.sim_control(c)
        state, err, report = h.wait_job_end(job, job_bound(name))
        counters = h.sim_controller(UUID_B)["counters"]
        if name.startswith("drop") and counters["injected_drops"] == 0 or \
                name.startswith("corrupt") and counters["injected_corruptions"] == 0:
            fail("%s: vesc-sim injected nothing: %s" % (name, counters))
        if name == "missjump" and (state != "done" or counters["erases"] != 1):
            # the image stayed staged: a second JUMP installs it (spec §14.10 item 4)
            fail("%s: a lost JUMP must be sent again, not the image staged again: %s %s, %s"
                 % (name, state, err, counters))
        # faults off: what follows only observes
        h.sim_control("drop 0")
        h.sim_control("corrupt 0")
        h.check_progress_monotonic(job)
        if state not in allowed:
            fail("%s: ended %s %s, allowed %s\n%s" % (name, state, err, allowed, h.vescd_log()))
        if state == "failed" and codes and err[0] not in codes:
            fail("%s: failed with %s, expected one of %s" % (name, err, codes))
        if state == "done" and int(h.job_prop(job, "Progress")) != 100:
            fail("%s: done at Progress %s" % (name, h.job_prop(job, "Progress")))

        sim = h.sim_controller(UUID_B)
        if sim["phase"] not in ("running", "bricked"):
            # a controller still in its watchdog window or booting: wait for it
            h.wait_until(lambda: h.sim_controller(UUID_B)["phase"] in ("running", "bricked"),
                         "B settles", timeout=3 * TIMEOUT)
            sim = h.sim_controller(UUID_B)
        h.check_truthful(job, state, err, report, [UUID_B])
        if state == "done":
            if sim["version"] != "5.03":
                fail("%s: silent success: done but vesc-sim says B runs %s" % (name, sim["version"]))
            h.wait_until(lambda: str(h.prop(PATH_B, CONTROLLER_IFACE, "FirmwareVersion")) == "5.03" and
                         not bool(h.prop(MANAGER_PATH, MANAGER_IFACE, "Mismatch")), "pair on 5.03, no mismatch")
        elif sim["phase"] == "bricked":
            if err[0] != "Bricked":
                fail("%s: B is bricked but the job says %s" % (name, err))
        elif sim["version"] != "3.58" and sim["version"] != "5.03":
            fail("%s: B runs %s after a failed job" % (name, sim["version"]))
        log("%s: %s %s; vesc-sim: B %s %s" % (name, state, err[0] or "-", sim["phase"], sim["version"]))
        h.stop_vescd()


def main():
    names = sys.argv[1:] or list(SCENARIOS) + list(PAIR_SCENARIOS)
    for n in names:
        if n not in SCENARIOS and n not in PAIR_SCENARIOS:
            fail("unknown scenario %s (known: %s)" % (n, " ".join(list(SCENARIOS) + list(PAIR_SCENARIOS))))
    set_tar = imageset("vesc-5.03-test") + ".tar"
    pair_tar = imageset("vesc-6.05-test") + ".tar"
    for n in names:
        if n in SCENARIOS:
            run(n, set_tar)
        else:
            run_pair(n, pair_tar)
    print("PASS")


if __name__ == "__main__":
    main()
