#!/usr/bin/python3
"""vesc-sim --board dual-mismatch on a vbus hub, checked by the independent
implementation (vescproto.py): a PING scan of ids 0..254 (one at a time)
finds exactly 12 and 74 with each version's PONG layout (§6.2); the ids are
the UUID defaults (§8.4); FW_VERSION layouts 25 bytes (5.03) and 19 bytes
(3.58) with the preset UUIDs (§12.1); GET_VALUES 73 and 64 bytes (§12.2);
B broadcasts STATUS at ~50 Hz (bounds only), A broadcasts nothing (§5.2)."""
import os
import sys
import time

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vescproto as vp  # noqa: E402
from interop import TIMEOUT, UUID_A, UUID_B, Env, check, fail, log, require_programs, run  # noqa: E402

OWN_ID = 250


def join(path):
    """Join the hub and wait until the hub has accepted us: a PONG to our
    PING proves our frames are relayed and we receive (docs/vbus.md)."""
    c = vp.Client(vp.VbusTransport(path), OWN_ID)
    deadline = time.monotonic() + TIMEOUT
    while c.ping(74, 0.2) is None:
        if time.monotonic() > deadline:
            fail("no PONG from id 74 after joining the hub")
    return c


def drain(c):
    while c.poll(0) is not None:
        pass


def main():
    require_programs("sim/vesc-sim")
    with Env() as env:
        c = join(env.start_sim("dual-mismatch"))

        # --- discovery (§6): one id at a time, never 255
        found = c.scan(per_id_timeout=0.01)
        log("scan:", {k: v.hex() for k, v in found.items()})
        check(sorted(found) == [12, 74], "scan of 0..254 finds exactly ids 12 and 74")
        check(found[12] == bytes([12, 0]), "5.03 PONG = [addressed id 12, HW_TYPE 0]")
        check(found[74] == bytes([74]), "3.58 PONG = one byte, its own id 74")
        pong_frames = [f for f in c.frames if vp.frame_eid(f) == (vp.CAN_PACKET_PONG, OWN_ID)]
        check(pong_frames and all(f.can_id == vp.CAN_EFF_FLAG | 0x1200 | OWN_ID for f in pong_frames),
              "PONGs are extended frames 000012FA (addressed to our id)")

        # --- identity (§12.1)
        a = c.fw_version(12)
        b = c.fw_version(74)
        log("A:", a)
        log("B:", b)
        check((a["length"], a["version"], a["hw_name"], a["uuid"]) == (25, "5.03", "60", UUID_A),
              "A: FW_VERSION 5.03 layout, 25 bytes, hw 60, UUID A")
        check((a["test_build"], a["hw_type"], a["custom_configs"]) == (0, 0, 0),
              "A: release build, HW_TYPE VESC, no custom configs")
        check((b["length"], b["version"], b["hw_name"], b["uuid"]) == (19, "3.58", "60", UUID_B),
              "B: FW_VERSION 3.58 layout, 19 bytes, hw 60, UUID B")
        check("test_build" not in b, "B: no test-build byte on 3.58")
        check(vp.default_id_from_uuid(bytes.fromhex(UUID_A), 5, 3) == 12
              and vp.default_id_from_uuid(bytes.fromhex(UUID_B), 3, 58) == 74,
              "ids 12 and 74 are the UUID defaults of 5.03 and 3.58 (§8.4)")

        # --- telemetry on request (§12.2)
        va = c.get_values(12)
        vb = c.get_values(74)
        log("A values:", va)
        log("B values:", vb)
        check(va["length"] == 73 and "status" in va, "A: GET_VALUES is 73 bytes (5.03 layout)")
        check(vb["length"] == 64 and "vd" not in vb, "B: GET_VALUES is 64 bytes (3.58 layout)")
        check(va["controller_id"] == 12 and vb["controller_id"] == 74, "GET_VALUES controller ids 12, 74")
        for name, v in (("A", va), ("B", vb)):
            check(v["fault"] == 0 and 0 < v["v_in"] < 100 and -1 <= v["duty"] <= 1
                  and -40 < v["temp_fet"] < 150, "%s: plausible values (no fault, V in, duty, temp)" % name)
        check(not c.rx.errors, "no malformed buffer transfers seen (%s)" % c.rx.errors)

        # --- broadcasts (§5.2): B STATUS_1 at 50 Hz, A nothing.  Bounds
        # only: frames counted from a drained socket over a measured window
        # cannot exceed what 50 Hz allows, and some must arrive.
        drain(c)
        c.frames = []
        t0 = time.monotonic()
        window = 2.0
        while time.monotonic() - t0 < window:
            c.poll(window - (time.monotonic() - t0))
        t1 = time.monotonic()
        status = [(vp.frame_eid(f), f) for f in c.frames
                  if vp.frame_eid(f) and vp.frame_eid(f)[0] in vp.STATUS_TYPES]
        from_b = [f for (t, i), f in status if i == 74]
        from_a = [f for (t, i), f in status if i == 12]
        log("STATUS frames from B in %.2f s: %d" % (t1 - t0, len(from_b)))
        check(len(from_b) >= 1, "B broadcasts STATUS")
        check(len(from_b) <= 50 * (t1 - t0) * 1.2 + 3, "B's STATUS rate does not exceed ~50 Hz")
        check(all(vp.frame_eid(f) == (vp.CAN_PACKET_STATUS, 74) and len(f.data) == 8 for f in from_b),
              "B sends only STATUS (9) frames 0000094A with 8 bytes")
        for f in from_b:
            s = vp.decode_status(vp.CAN_PACKET_STATUS, f.data)
            if not -1.0 <= s["duty"] <= 1.0:
                fail("STATUS duty out of range: %s" % f.data.hex())
        check(not from_a, "A (5.03, configuration reset) broadcasts nothing")
        # wait for a few more so the count bound is not vacuous on a fast run
        more = [0]

        def is_b_status(f):
            if vp.frame_eid(f) == (vp.CAN_PACKET_STATUS, 74):
                more[0] += 1
            return more[0] >= 10
        check(c.wait_for(is_b_status, TIMEOUT) is not None, "10 more STATUS frames from B arrive")


if __name__ == "__main__":
    run(main)
