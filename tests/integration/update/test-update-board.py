#!/usr/bin/python3
"""The board stays consistent (vesc-sim --board dual-ok, both on 6.05), over
D-Bus, the JSON socket and vescctl:

- BoardState / board_state is `consistent`; a side leaving the bus makes it
  `degraded` (with the reason), coming back `consistent` again;
- a single-side update to 5.03 is refused with Mismatch (1012) naming
  UpdateBoard/Repair, on both adapters, and vescctl says what to run;
- ForgetController / board.forget of an online member is refused (Busy);
- with AllowMismatch (root) the update runs: `updating` while it does,
  `mismatch` after it;
- a member that is not on the bus when vescd starts is remembered
  (board.json): `degraded` until ForgetController removes it.
"""
import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from update_harness import (ERROR_PREFIX, MANAGER_IFACE, MANAGER_PATH, UUID_A, UUID_B,  # noqa: E402
                            UpdateHarness, dbus, fail, imageset, log)


def board_state(h):
    return str(h.prop(MANAGER_PATH, MANAGER_IFACE, "BoardState"))


def reasons(h):
    return [str(x) for x in h.prop(MANAGER_PATH, MANAGER_IFACE, "BoardStateReasons")]


def json_state(h, method="board.get"):
    res, err = h.json_call(method)
    if err:
        fail("JSON %s: %s" % (method, err))
    return res["board_state"], res["board_state_reasons"]


def main():
    tar503 = imageset("vesc-5.03-test") + ".tar"
    with UpdateHarness(board="dual-ok") as h:
        h.wait_both()
        h.wait_until(lambda: board_state(h) == "consistent", "board consistent")
        for method in ("board.get", "manager.get"):
            st, why = json_state(h, method)
            if st != "consistent" or why:
                fail("JSON %s: board_state %s %s" % (method, st, why))
        board = h.mgr("GetBoard")
        if str(board["BoardState"]) != "consistent":
            fail("GetBoard: %s" % board)

        # a side leaves the bus: degraded, with the reason
        h.sim_control("leave %s" % UUID_B)
        h.wait_until(lambda: board_state(h) == "degraded", "board degraded", timeout=60)
        if not any(UUID_B in r and "offline" in r for r in reasons(h)):
            fail("degraded without B offline: %s" % reasons(h))
        st, why = json_state(h)
        if st != "degraded" or not any(UUID_B in r for r in why):
            fail("JSON board.get while B is away: %s %s" % (st, why))
        log("B away: degraded:", reasons(h))
        h.sim_control("join %s" % UUID_B)
        h.mgr("Scan")
        h.wait_until(lambda: board_state(h) == "consistent", "board consistent again", timeout=60)

        # a single-side update that would mismatch the board is refused
        s503 = h.install(tar503)
        e = h.call_error(lambda: h.mgr("UpdateController", UUID_B, s503, {}))
        if not e or e[0] != ERROR_PREFIX + "Mismatch" or "UpdateBoard" not in e[1] or "Repair" not in e[1]:
            fail("UpdateController 6.05 -> 5.03 on a consistent board: %s" % (e,))
        log("UpdateController refused:", e[1])
        res, err = h.json_call("firmware.update", {"set": s503, "controllers": [UUID_B]})
        if not err or err["code"] != 1012 or err["data"]["name"] != "Mismatch" or \
                "UpdateBoard" not in err["data"].get("detail", ""):
            fail("JSON firmware.update on a consistent board: %s %s" % (res, err))
        p = subprocess.run([h.vescctl_path(), "--address", h.address, "firmware", "update", UUID_B, s503],
                           capture_output=True, text=True, timeout=30)
        if p.returncode == 0 or "firmware board" not in p.stderr:
            fail("vescctl firmware update on a consistent board: rc %d %r %r" % (p.returncode, p.stdout, p.stderr))
        if h.prop(MANAGER_PATH, MANAGER_IFACE, "Jobs"):
            fail("a refused update left a job")

        # an online member cannot be forgotten
        e = h.call_error(lambda: h.mgr("ForgetController", UUID_B))
        if not e or e[0] != ERROR_PREFIX + "Busy":
            fail("ForgetController of an online member: %s" % (e,))
        res, err = h.json_call("board.forget", {"uuid": UUID_B})
        if not err or err["data"]["name"] != "Busy":
            fail("JSON board.forget of an online member: %s %s" % (res, err))

        # root may force it: updating while it runs, mismatch after it
        seen = set()
        job = str(h.mgr("UpdateController", UUID_B, s503, {"AllowMismatch": dbus.Boolean(True)}))
        h.wait_until(lambda: seen.add(board_state(h)) or "updating" in seen or
                     str(h.job_prop(job, "State")) != "running", "board updating")
        if "updating" not in seen:
            fail("the board never said updating during %s (saw %s)" % (job, seen))
        if not any(UUID_B in r and "updated" in r for r in reasons(h)):
            fail("updating without the reason: %s" % reasons(h))
        state, err, report = h.wait_job_end(job)
        if state != "done":
            fail("AllowMismatch update ended %s %s\n%s" % (state, err, h.vescd_log()))
        h.wait_until(lambda: board_state(h) == "mismatch", "board mismatch after the forced update", timeout=60)
        log("forced update done, board:", board_state(h), reasons(h))

        # a remembered member that is not there at start: degraded until forgotten
        h.stop_vescd()
        h.sim_control("leave %s" % UUID_B)
        h.restart_vescd()
        h.wait_until(lambda: "/org/vescd1/controller/" + UUID_A in h.controllers(), "A found")
        h.wait_until(lambda: board_state(h) == "degraded", "board degraded with B remembered", timeout=60)
        if not any(UUID_B in r and "not on the bus" in r for r in reasons(h)):
            fail("degraded without B remembered: %s" % reasons(h))
        res, err = h.json_call("board.forget", {"uuid": UUID_B})
        if err:
            fail("JSON board.forget of the absent member: %s" % err)
        h.wait_until(lambda: board_state(h) == "consistent", "board consistent after forget")
        e = h.call_error(lambda: h.mgr("ForgetController", UUID_B))
        if not e or e[0] != ERROR_PREFIX + "NotFound":
            fail("ForgetController of a forgotten member: %s" % (e,))
        log("B forgotten: board", board_state(h))
        h.stop_vescd()
    print("PASS")


if __name__ == "__main__":
    main()
