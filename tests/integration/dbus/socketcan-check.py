#!/usr/bin/python3
"""vescd on a kernel SocketCAN interface (vcan0) against
vesc-sim --socketcan vcan0 --board dual-mismatch: both controllers found
through the CAN_RAW transport (kernel filters, error-frame mask), versions
and the mismatch on the private bus, bus state reported, SIGTERM exits 0.
Run by test-socketcan.sh on the host when it has vcan0, else inside the test VM (tools/vm/vm-run)."""
import os
import sys

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vescd_harness import (CONTROLLER_IFACE, MANAGER_IFACE, MANAGER_PATH, PATH_A, PATH_B,  # noqa: E402
                           Harness, fail, log)


def main():
    iface = os.environ.get("VESCD_TEST_CAN_IFACE", "vcan0")
    with Harness(board="dual-mismatch", transport="socketcan", can_iface=iface) as h:
        h.wait_until(lambda: sorted(h.controllers()) == sorted([PATH_A, PATH_B]), "both controllers on " + iface)
        versions = {p: str(h.prop(p, CONTROLLER_IFACE, "FirmwareVersion")) for p in (PATH_A, PATH_B)}
        if versions != {PATH_A: "5.03", PATH_B: "3.58"}:
            fail("versions: %r" % versions)
        h.wait_until(lambda: bool(h.prop(MANAGER_PATH, MANAGER_IFACE, "Mismatch")), "Mismatch")
        reason = str(h.prop(MANAGER_PATH, MANAGER_IFACE, "MismatchReason"))
        if reason != "firmware 5.03 \u2260 3.58":
            fail("MismatchReason %r" % reason)
        transport = str(h.prop(MANAGER_PATH, MANAGER_IFACE, "Transport"))
        if transport != "socketcan:" + iface:
            fail("Transport %r" % transport)
        state = str(h.prop(MANAGER_PATH, MANAGER_IFACE, "BusState"))
        if state != "error-active":
            fail("BusState %r" % state)
        log("both controllers found on", iface)
        if h.stop_vescd() != 0:
            fail("vescd did not exit 0 on SIGTERM")
    print("PASS")


if __name__ == "__main__":
    main()
