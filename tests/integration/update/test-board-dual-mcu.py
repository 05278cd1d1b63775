#!/usr/bin/python3
"""A single-MCU dual-motor controller (vesc-sim --board dual-mcu: one
STORMCORE_100D MCU, motor 1 at id 20 with UUID ...40, motor 2 at id 21
with UUID ...41) is one MCU:

- both motors are listed (motor 2's replies carry the MCU's id 20 as
  sender, spec §16.3); motor 2's PrimaryMotor (D-Bus) / primary_motor
  (JSON controller.get) is motor 1's object, motor 1 has none ("/" on
  D-Bus, "" on JSON);
- motor 2 is no board member of its own: the board is consistent with one
  member, its reasons never name motor 2;
- updating motor 2 directly is refused with InvalidArgument naming its
  primary, on D-Bus and JSON (the MCU is updated through motor 1);
- the MCU is flashed once through motor 1 (the STORMCORE_100D entry of the
  6.05 test set), on D-Bus and again on JSON: the job is done, vesc-sim
  counts one erase series and one boot of the one MCU, both motors come
  back online with motor 2 still linked, and the board is consistent.
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from update_harness import (CONTROLLER_IFACE, ERROR_PREFIX, JOB_TIMEOUT, MANAGER_IFACE, MANAGER_PATH,  # noqa: E402
                            UpdateHarness, fail, finish, log)

UUID_1 = "5a0030000951393236353940"
UUID_2 = "5a0030000951393236353941"
PATH_1 = "/org/vescd1/controller/" + UUID_1
PATH_2 = "/org/vescd1/controller/" + UUID_2


def main():
    with UpdateHarness(board="dual-mcu") as h:
        found = lambda: PATH_1 in h.controllers() and PATH_2 in h.controllers()  # noqa: E731
        for attempt in range(5):
            if h.poll_until(found, 10):
                break
            h.mgr("Scan")
        h.wait_until(found, "both motors listed")
        h.wait_until(lambda: str(h.prop(PATH_2, CONTROLLER_IFACE, "PrimaryMotor")) == PATH_1,
                     "motor 2's PrimaryMotor")
        if str(h.prop(PATH_1, CONTROLLER_IFACE, "PrimaryMotor")) != "/":
            fail("motor 1 PrimaryMotor %s" % h.prop(PATH_1, CONTROLLER_IFACE, "PrimaryMotor"))
        r2, err = h.json_call("controller.get", {"uuid": UUID_2})
        r1, err1 = h.json_call("controller.get", {"uuid": UUID_1})
        if err or err1 or r2.get("primary_motor") != PATH_1 or r1.get("primary_motor") != "":
            fail("JSON primary_motor: %s %s / %s %s" % (r2, err, r1, err1))
        log("motor 2's primary motor is motor 1 (D-Bus, JSON)")

        h.wait_until(lambda: str(h.prop(MANAGER_PATH, MANAGER_IFACE, "BoardState")) == "consistent",
                     "board consistent")
        why = [str(x) for x in h.prop(MANAGER_PATH, MANAGER_IFACE, "BoardStateReasons")]
        res, err = h.json_call("board.get")
        if err or res["board_state"] != "consistent" or any(UUID_2 in r for r in why):
            fail("board: %s %s %s" % (why, res, err))
        log("one member: board consistent")

        set_id = h.install_tar("vesc-6.05-test")
        e = h.call_error(lambda: h.mgr("UpdateController", UUID_2, set_id, {}))
        if not e or e[0] != ERROR_PREFIX + "InvalidArgument" or UUID_1 not in e[1]:
            fail("UpdateController of motor 2: %s" % (e,))
        res, err = h.json_call("firmware.update", {"set": set_id, "controllers": [UUID_2]})
        if not err or err["data"]["name"] != "InvalidArgument" or UUID_1 not in err["data"].get("detail", ""):
            fail("JSON firmware.update of motor 2: %s %s" % (res, err))
        log("motor 2 is updated through motor 1 only: direct update refused (D-Bus, JSON)")

        def both_back():
            return all(bool(h.prop(p, CONTROLLER_IFACE, "Online")) for p in (PATH_1, PATH_2)) and \
                str(h.prop(PATH_2, CONTROLLER_IFACE, "PrimaryMotor")) == PATH_1 and \
                str(h.prop(MANAGER_PATH, MANAGER_IFACE, "BoardState")) == "consistent"

        for how in ("D-Bus", "JSON"):
            before = h.sim_controller(UUID_1)["counters"]
            if how == "D-Bus":
                job = str(h.mgr("UpdateController", UUID_1, set_id, {}))
            else:
                res, err = h.json_call("firmware.update", {"set": set_id, "controllers": [UUID_1]})
                if err:
                    fail("JSON firmware.update of motor 1: %s" % err)
                job = res["job"] if isinstance(res.get("job"), str) and res["job"].startswith("/") else \
                    "/org/vescd1/job/%s" % res.get("id", res.get("job"))
            state, err, report = h.wait_job_end(job)
            if state != "done":
                fail("%s update through motor 1 ended %s %s %s\n%s" % (how, state, err, report, h.vescd_log()))
            sides = report.get("sides", [])
            if [s.get("uuid") for s in sides] != [UUID_1]:
                fail("%s: the job's sides are %s, not the MCU's primary only" % (how, sides))
            after = h.sim_controller(UUID_1)["counters"]
            if after["erases"] <= before["erases"] or after["writes"] <= before["writes"] or \
                    after["boots"] - before["boots"] < 1:
                fail("%s: vesc-sim counters %s -> %s: the MCU was not flashed" % (how, before, after))
            if h.sim_controller(UUID_1)["version"] != "6.05":
                fail("%s: the MCU runs %s" % (how, h.sim_controller(UUID_1)["version"]))
            h.wait_until(both_back, "both motors online again, linked, board consistent", timeout=JOB_TIMEOUT)
            log("%s: the MCU flashed once through motor 1; both motors back" % how)
    finish()


if __name__ == "__main__":
    main()
