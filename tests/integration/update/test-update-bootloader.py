#!/usr/bin/python3
"""Update journeys that need the bootloader step or an intermediate
version:
- dual-old-bootloader (both 5.03, bootloader generation 1) + the 6.05 set,
  UpdatePair: each side gets the generation-2 bootloader first, then the
  compressed 6.05 image; both end on 6.05 with an intact generation-2
  bootloader in vesc-sim, no mismatch.
- dual-358 (both 3.58) + the 6.05 set: UpdatePair and Repair are refused
  up front (NeedsIntermediate) with the "5.03 first" plan, on D-Bus and
  on the JSON socket (same code, same text in data.detail); then the 5.03 set
  and the 6.05 set with UpdatePair and default options: A comes back at its
  default id 12 and vescd restores its id 10, expecting the reply at the new
  id; after each step A is at 10 and B at 74, both online and confirmed, the
  board consistent, without a scan."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbus  # noqa: E402
from update_harness import (CONTROLLER_IFACE, ERROR_PREFIX, MANAGER_IFACE, MANAGER_PATH, UUID_A, UUID_B,  # noqa: E402
                            UpdateHarness, fail, imageset, log)

PATH_A = "/org/vescd1/controller/" + UUID_A
PATH_B = "/org/vescd1/controller/" + UUID_B


def old_bootloader(tar605):
    with UpdateHarness(board="dual-old-bootloader") as h:
        h.wait_both()
        set_id = h.install(tar605)
        job = str(h.mgr("UpdatePair", set_id, {}))
        h.wait_job_phase(job, ("bootloader",))
        phases = {str(k): str(v) for k, v in h.job_prop(job, "Phases").items()}
        log("phases during the bootloader step:", phases)
        state, err, report = h.wait_job_end(job)
        h.check_progress_monotonic(job)
        if state != "done":
            fail("dual-old-bootloader + 6.05 ended %s %s\n%s" % (state, err, h.vescd_log()))
        h.check_truthful(job, state, err, report, [UUID_A, UUID_B])
        for uuid, path in ((UUID_A, PATH_A), (UUID_B, PATH_B)):
            sim = h.sim_controller(uuid)
            if sim["version"] != "6.05" or sim["bootloader_generation"] != 2 or not sim["bootloader_intact"]:
                fail("vesc-sim: %s runs %s, bootloader %s intact %s" %
                     (uuid, sim["version"], sim["bootloader_generation"], sim["bootloader_intact"]))
            h.wait_until(lambda: str(h.prop(path, CONTROLLER_IFACE, "FirmwareVersion")) == "6.05", "%s on 6.05" % uuid)
        if bool(h.prop(MANAGER_PATH, MANAGER_IFACE, "Mismatch")):
            fail("mismatch after the pair update: %s" % h.prop(MANAGER_PATH, MANAGER_IFACE, "MismatchReasons"))
        log("dual-old-bootloader: bootloader step, then 6.05 on both")
        h.stop_vescd()


def journey_end(h, version):
    """A at 10, B at 74 in vesc-sim and in vescd, both online on version, the
    board consistent: no scan asked for."""
    for uuid, path, want in ((UUID_A, PATH_A, 10), (UUID_B, "/org/vescd1/controller/" + UUID_B, 74)):
        sim = h.sim_controller(uuid)
        if sim["id"] != want or sim["version"] != version:
            fail("vesc-sim: %s at id %d on %s, expected %d on %s" % (uuid, sim["id"], sim["version"], want, version))
        h.wait_until(lambda: int(h.prop(path, CONTROLLER_IFACE, "Id")) == want and
                     bool(h.prop(path, CONTROLLER_IFACE, "Online")) and
                     str(h.prop(path, CONTROLLER_IFACE, "FirmwareVersion")) == version,
                     "%s online at id %d on %s" % (uuid, want, version))
    h.wait_until(lambda: str(h.prop(MANAGER_PATH, MANAGER_IFACE, "BoardState")) == "consistent",
                 "board consistent on %s" % version)
    log("dual-358 on %s: A at 10, B at 74, online, board consistent" % version)


def dual_358(tar605, tar503):
    with UpdateHarness(board="dual-358") as h:
        h.wait_both()
        s605 = h.install(tar605)
        for method in ("UpdatePair", "Repair"):
            e = h.call_error(lambda: h.mgr(method, s605, {}))
            if not e or e[0] != ERROR_PREFIX + "NeedsIntermediate" or "5.03 first" not in e[1]:
                fail("%s 3.58 -> 6.05: %s" % (method, e))
            log("%s refused: %s" % (method, e[1]))
        # the JSON socket carries the same code and the same precise text
        for method in ("firmware.pair", "firmware.repair"):
            res, err = h.json_call(method, {"set": s605})
            if not err or err["code"] != 1018 or err["data"]["name"] != "NeedsIntermediate" or \
                    "5.03 first" not in err["data"].get("detail", ""):
                fail("JSON %s 3.58 -> 6.05: %s %s" % (method, res, err))
            log("JSON %s refused: %s" % (method, err["data"]["detail"]))
        if h.prop(MANAGER_PATH, MANAGER_IFACE, "Jobs"):
            fail("a refused update left a job")

        s503 = h.install(tar503)
        if int(h.prop(PATH_A, CONTROLLER_IFACE, "Id")) != 10:
            fail("dual-358: A not at id 10")
        # defaults: A comes back at its 5.03 default id 12 and vescd puts its
        # old id 10 back, following it by UUID (no scan, never offline)
        job = str(h.mgr("UpdatePair", s503, {}))
        state, err, report = h.wait_job_end(job)
        if state != "done":
            fail("dual-358 + 5.03 ended %s %s\n%s" % (state, err, h.vescd_log()))
        h.check_truthful(job, state, err, report, [UUID_A, UUID_B])
        for side in report["sides"]:
            if "CAN id" in str(side.get("redo", "")) or "no reply" in str(side.get("redo", "")):
                fail("dual-358 + 5.03: %s: %s" % (side.get("uuid"), side.get("redo")))
        journey_end(h, "5.03")
        # and on to 6.05 with defaults again
        s605b = h.install(tar605)
        job = str(h.mgr("UpdatePair", s605b, {}))
        state, err, report = h.wait_job_end(job)
        if state != "done":
            fail("dual-358 5.03 -> 6.05 ended %s %s\n%s" % (state, err, h.vescd_log()))
        h.check_truthful(job, state, err, report, [UUID_A, UUID_B])
        journey_end(h, "6.05")
        log("dual-358: 5.03 then 6.05 with defaults: A at 10, B at 74, both online and confirmed")
        h.stop_vescd()


def main():
    tar605 = imageset("vesc-6.05-test") + ".tar"
    tar503 = imageset("vesc-5.03-test") + ".tar"
    old_bootloader(tar605)
    dual_358(tar605, tar503)
    print("PASS")


if __name__ == "__main__":
    main()
