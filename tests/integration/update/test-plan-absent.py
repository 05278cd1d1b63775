#!/usr/bin/python3
"""A remembered member that is not on the bus still counts (DESIGN 2026-12
items 2, 3 and 5), on vesc-sim's dual-ok board (A and B on 6.05) with a
5.03 set installed:

- both sides become members (board.json), then vescd restarts while B has
  left the bus: B is absent (no controller object), not only offline;
- UpdateBoard, UpdatePair, Repair and UpdateController on A without
  AllowMismatch are refused with Offline naming B and saying to bring it
  back or forget it, on D-Bus and JSON (firmware.board/pair/repair/update),
  and leave no job: none of them may update A alone and leave the board
  mismatched when B comes back;
- the offered actions (D-Bus Actions, board.get, vescctl status) and every
  refused plan's steps say that, and offer no job;
- after ForgetController the board is A alone: the plans are possible and
  UpdateBoard runs (A to 5.03).
"""
import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from update_harness import (ERROR_PREFIX, MANAGER_IFACE, MANAGER_PATH, TIMEOUT, UUID_A, UUID_B,  # noqa: E402
                            UpdateHarness, fail, finish, imageset, log)

JOB_WORDS = (" with image set ", " with that set ", "install an image set", "vescctl firmware board",
             "vescctl firmware repair", "vescctl firmware pair", "Commands:")
ABSENT = "%s is a member of the board but not on the bus: bring it back online" % UUID_B
FORGET = "vescctl forget %s" % UUID_B


def board_state(h):
    return str(h.prop(MANAGER_PATH, MANAGER_IFACE, "BoardState"))


def says_absent(text):
    return text.startswith(ABSENT) and FORGET in text and "ForgetController" in text


def main():
    s503 = imageset("vesc-5.03-test") + ".tar"
    with UpdateHarness(board="dual-ok") as h:
        h.wait_both()
        h.wait_until(lambda: board_state(h) == "consistent", "board consistent")
        id503 = h.install(s503)

        # --- B is remembered, then absent when vescd starts
        h.stop_vescd()
        h.sim_control("leave %s" % UUID_B)
        h.restart_vescd()
        h.wait_online((UUID_A,))
        h.wait_until(lambda: board_state(h) == "degraded", "board degraded with B remembered", timeout=60)
        if "/org/vescd1/controller/" + UUID_B in h.controllers():
            fail("B has an object although it never was on the bus since the start")

        for method, args in (("UpdateBoard", (id503, {})), ("UpdatePair", (id503, {})), ("Repair", (id503, {})),
                             ("UpdateController", (UUID_A, id503, {}))):
            e = h.call_error(lambda: h.mgr(method, *args))
            if not e or e[0] != ERROR_PREFIX + "Offline" or not says_absent(e[1]):
                fail("%s with B absent should be refused with Offline naming B: %s" % (method, e))
        for kind, params in (("board", {}), ("pair", {}), ("repair", {}), ("update", {"controllers": [UUID_A]})):
            params["set"] = id503
            res, err = h.json_call("firmware." + kind, params)
            if not err or err["code"] != 1005 or err["data"]["name"] != "Offline" or \
                    not says_absent(err["data"].get("detail", "")):
                fail("JSON firmware.%s with B absent: %s %s" % (kind, res, err))
        if h.prop(MANAGER_PATH, MANAGER_IFACE, "Jobs"):
            fail("a refused job left a job")
        log("B absent: every job refused with Offline")

        acts = h.actions()
        res, err = h.json_call("board.get")
        if err or res.get("actions") != acts:
            fail("board.get actions %s differ from Actions %r" % (res if not err else err, acts))
        if not acts or not all(says_absent(a) for a in acts):
            fail("Actions with B absent: %r" % acts)
        for kind, ctls in (("board", ()), ("pair", ()), ("repair", ()), ("update", (UUID_A,))):
            p = h.plan_both(kind, id503, ctls)
            if not p["refused"] or p["error"] != "Offline" or not says_absent(p["message"]) or \
                    not p["steps"] or not all(says_absent(s) for s in p["steps"]):
                fail("plan %s with B absent: %s" % (kind, p))
        out = subprocess.run([h.vescctl_path(), "--address", h.address, "status"], capture_output=True, text=True,
                             timeout=TIMEOUT)
        if out.returncode != 0 or ABSENT not in out.stdout or any(w in out.stdout for w in JOB_WORDS):
            fail("vescctl status with B absent: rc %d %r" % (out.returncode, out.stdout))
        log("B absent: actions %r" % acts)

        # --- B forgotten: the board is A alone, a job is allowed
        h.mgr("ForgetController", UUID_B)
        h.wait_until(lambda: board_state(h) == "consistent", "board consistent after forget")
        if any(UUID_B in a for a in h.actions()):
            fail("Actions after forget: %r" % h.actions())
        for kind, ctls in (("board", ()), ("update", (UUID_A,))):
            p = h.plan_both(kind, id503, ctls)
            if p["refused"]:
                fail("plan %s after forget refused: %s" % (kind, p))
        job = str(h.mgr("UpdateBoard", id503, {}))
        state, err, report = h.wait_job_end(job)
        if state != "done":
            fail("UpdateBoard of A alone ended %s %s\n%s" % (state, err, h.vescd_log()))
        h.wait_until(lambda: h.settled({UUID_A: int(h.sim_controller(UUID_A)["id"])}, "5.03"), "A on 5.03")
        log("B forgotten: UpdateBoard ran on A alone")
        h.stop_vescd()
    finish()


if __name__ == "__main__":
    main()
