#!/usr/bin/python3
"""An active controller fault blocks a firmware update (a gate).

vesc-sim dual-mismatch; B's FET is driven to 120 °C through the simulator's
control socket, so B's firmware raises OVER_TEMP_FET (visible only in
GET_VALUES: no status frame carries a fault) and vescd shows it on the Fault
property, in JSON and in `vescctl status`.  A Repair then fails in
`checking` with GateFailed naming the fault and nothing is written (B still
runs 3.58 in vesc-sim).  With A's
input at 5 V (below l_min_vin) A's Fault property shows UNDER_VOLTAGE (A
has no status broadcasts and is polled).  Once B cools down and the fault
clears, the same Repair succeeds."""
import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from update_harness import (CONTROLLER_IFACE, UUID_A, UUID_B, UpdateHarness, fail, log)  # noqa: E402

PATH_A = "/org/vescd1/controller/" + UUID_A
PATH_B = "/org/vescd1/controller/" + UUID_B


def main():
    with UpdateHarness(board="dual-mismatch") as h:
        h.wait_both()
        set_id = h.install_tar("vesc-5.03-test")

        # A (polled with GET_VALUES) shows a fault the firmware raises
        h.sim_control("set A v_in 5")
        h.wait_until(lambda: str(h.prop(PATH_A, CONTROLLER_IFACE, "Fault")) == "UNDER_VOLTAGE",
                     "A's Fault = UNDER_VOLTAGE")
        if int(h.prop(PATH_A, CONTROLLER_IFACE, "FaultCode")) != 2:
            fail("A's FaultCode is not 2 (UNDER_VOLTAGE)")
        h.sim_control("set A v_in 40")
        h.wait_until(lambda: str(h.prop(PATH_A, CONTROLLER_IFACE, "Fault")) != "UNDER_VOLTAGE",
                     "A's fault cleared")

        h.sim_control("set B temp_fet 120")
        h.wait_until(lambda: h.sim_controller(UUID_B).get("fault_name") == "OVER_TEMP_FET",
                     "vesc-sim raises OVER_TEMP_FET on B")
        # B broadcasts status, which carries no fault: vescd's slow GET_VALUES
        # poll of broadcasting controllers shows it on both adapters and in
        # vescctl status
        h.wait_until(lambda: str(h.prop(PATH_B, CONTROLLER_IFACE, "Fault")) == "OVER_TEMP_FET",
                     "B's Fault = OVER_TEMP_FET")
        res, err = h.json_call("controller.get", {"uuid": UUID_B})
        if err or res.get("fault") != "OVER_TEMP_FET" or res.get("fault_code") != 5:
            fail("JSON controller.get of B does not show the fault: %s %s" % (res, err))
        out = subprocess.run([h.vescctl_path(), "--address", h.address, "status"],
                             capture_output=True, text=True, timeout=30).stdout
        line = [x for x in out.splitlines() if UUID_B in x]
        if not line or "fault OVER_TEMP_FET" not in line[0]:
            fail("vescctl status does not show B's fault: %r" % out)
        job = str(h.mgr("Repair", set_id, {}))
        state, err, report = h.wait_job_end(job)
        if state != "failed" or err[0] != "GateFailed":
            fail("repair with B over temperature ended %s %s, expected failed GateFailed" % (state, err))
        if "OVER_TEMP_FET" not in err[1]:
            fail("GateFailed text does not name the fault: %r" % err[1])
        h.check_truthful(job, state, err, report, [UUID_B])
        if h.sim_controller(UUID_B)["version"] != "3.58":
            fail("B was changed although the gate failed")
        log("fault gate held: %s" % err[1])

        h.sim_control("set B temp_fet 30")
        h.wait_until(lambda: h.sim_controller(UUID_B).get("fault", 0) == 0, "B's fault cleared in vesc-sim")
        job = str(h.mgr("Repair", set_id, {}))
        state, err, report = h.wait_job_end(job)
        h.check_truthful(job, state, err, report, [UUID_B])
        if state != "done":
            fail("repair after the fault cleared ended %s %s" % (state, err))
        log("repair after the fault cleared: done")


if __name__ == "__main__":
    main()
