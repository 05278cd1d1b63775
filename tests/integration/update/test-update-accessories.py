#!/usr/bin/python3
"""A board with accessories (vesc-sim --board dual-mismatch-accessories:
A 5.03 id 12, B 3.58 id 74, a VESC Express at id 2 and a VESC BMS at id 10,
neither broadcasting, both answering PING and FW_VERSION only):

- all four are listed with their hw_type (A, B 0; BMS 1; Express 2) on
  D-Bus (HwType) and JSON (controllers.list);
- the BMS and the Express stay online (liveness by PING once a second; they
  answer no GET_VALUES);
- the board is `mismatch` because of A and B only (the reasons name neither
  accessory); updating an accessory is refused with NotSupported on D-Bus
  and JSON;
- Repair with the 5.03 set writes only B: the job's controllers are B, it
  ends done, vesc-sim says B runs 5.03 and that neither A, the BMS nor the
  Express was erased, written or rebooted; afterwards the board is
  consistent and both accessories are still listed and online.
"""
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from update_harness import (CONTROLLER_IFACE, ERROR_PREFIX, MANAGER_IFACE, MANAGER_PATH, UUID_A,  # noqa: E402
                            UUID_B, UpdateHarness, fail, finish, log)

UUID_X = "f412fa4a1b2c000000000000"  # VESC Express, HW_TYPE 2, id 2
UUID_M = "5b0030000851393236353934"  # VESC BMS, HW_TYPE 1, id 10
PATH = {u: "/org/vescd1/controller/" + u for u in (UUID_A, UUID_B, UUID_X, UUID_M)}
HW_TYPE = {UUID_A: 0, UUID_B: 0, UUID_M: 1, UUID_X: 2}


def board_state(h):
    return str(h.prop(MANAGER_PATH, MANAGER_IFACE, "BoardState"))


def main():
    with UpdateHarness(board="dual-mismatch-accessories") as h:
        h.wait_both()
        found = lambda: all(PATH[u] in h.controllers() for u in HW_TYPE)  # noqa: E731
        for attempt in range(5):
            if h.poll_until(found, 10):
                break
            log("accessories not found yet: scanning again")
            h.mgr("Scan")
        h.wait_until(found, "all four devices listed")

        # --- listed with their hw_type, on both adapters
        for u, t in HW_TYPE.items():
            h.wait_until(lambda: int(h.prop(PATH[u], CONTROLLER_IFACE, "HwType")) == t, "%s HwType %d" % (u, t))
        res, err = h.json_call("controllers.list")
        if err:
            fail("controllers.list: %s" % err)
        listed = {c["uuid"]: c.get("hw_type") for c in res["controllers"]}
        for u, t in HW_TYPE.items():
            if listed.get(u) != t:
                fail("JSON controllers.list: %s hw_type %s, expected %d (%s)" % (u, listed.get(u), t, listed))
        log("A, B hw_type 0; BMS 1; Express 2 (D-Bus and JSON)")

        # --- liveness by PING: online throughout 5 s although they never
        # answer GET_VALUES
        t0 = time.monotonic()
        polls0 = {u: int(h.prop(PATH[u], CONTROLLER_IFACE, "Polls")) for u in (UUID_M, UUID_X)}
        while time.monotonic() - t0 < 5:
            for u in (UUID_M, UUID_X):
                if not bool(h.prop(PATH[u], CONTROLLER_IFACE, "Online")):
                    fail("%s went offline (liveness)\n%s" % (u, h.vescd_log()))
            h.poll_until(lambda: False, 0.25)
        for u in (UUID_M, UUID_X):
            n = int(h.prop(PATH[u], CONTROLLER_IFACE, "Polls")) - polls0[u]
            if n < 2:
                fail("%s: %d liveness PINGs in 5 s" % (u, n))
        log("BMS and Express online for 5 s (liveness PINGs)")

        # --- the board: mismatch of A and B only
        h.wait_until(lambda: board_state(h) == "mismatch", "board mismatch")
        why = [str(r) for r in h.prop(MANAGER_PATH, MANAGER_IFACE, "BoardStateReasons")]
        if any(UUID_M in r or UUID_X in r for r in why):
            fail("board reasons name an accessory: %s" % why)
        set_id = h.install_tar("vesc-5.03-test")
        for u in (UUID_M, UUID_X):
            e = h.call_error(lambda: h.mgr("UpdateController", u, set_id, {}))
            if not e or e[0] != ERROR_PREFIX + "NotSupported":
                fail("UpdateController of %s: %s" % (u, e))
            res, err = h.json_call("firmware.update", {"set": set_id, "controllers": [u]})
            if not err or err["data"]["name"] != "NotSupported":
                fail("JSON firmware.update of %s: %s %s" % (u, res, err))
        log("accessory updates refused with NotSupported (D-Bus and JSON)")

        # --- the repair writes B only
        before = {u: h.sim_controller(u)["counters"] for u in HW_TYPE}
        job = str(h.mgr("Repair", set_id, {}))
        ctls = [str(p) for p in h.job_prop(job, "Controllers")]
        if ctls != [PATH[UUID_B]]:
            fail("Repair should update B only, job controllers %s" % ctls)
        state, err, report = h.wait_job_end(job)
        if state != "done":
            fail("repair ended %s %s: %s\n%s" % (state, err, report, h.vescd_log()))
        h.check_truthful(job, state, err, report, [UUID_B])
        if h.sim_controller(UUID_B)["version"] != "5.03":
            fail("B runs %s" % h.sim_controller(UUID_B)["version"])
        for u in (UUID_A, UUID_M, UUID_X):
            sim = h.sim_controller(u)
            for k in ("erases", "writes", "boots"):
                if sim["counters"].get(k, 0) != before[u].get(k, 0):
                    fail("%s: %s %s -> %s during the repair" % (u, k, before[u].get(k), sim["counters"].get(k)))
        if h.sim_controller(UUID_M)["version"] != "6.05" or h.sim_controller(UUID_X)["version"] != "6.05":
            fail("an accessory's firmware changed")
        h.wait_until(lambda: board_state(h) == "consistent", "board consistent after the repair")
        for u in (UUID_M, UUID_X):
            if PATH[u] not in h.controllers() or not bool(h.prop(PATH[u], CONTROLLER_IFACE, "Online")):
                fail("%s not listed/online after the repair" % u)
        log("repair: only B written; A, BMS and Express untouched; board consistent")
    finish()


if __name__ == "__main__":
    main()
