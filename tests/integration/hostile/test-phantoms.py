#!/usr/bin/python3
"""Phantom UUIDs: a peer on the bus (a python vbus member) makes vescd
identify the unused CAN ids (NOTIFY_BOOT from each) and answers every
COMM_FW_VERSION with a fresh UUID, 550 replies, then goes silent.  A
controller becomes a board member only after member-after-s identified and
online at an unflagged id, so none of the phantoms does: they are listed
while they answer, never compared, never written to board.json, and after
forget-after-s the board is back to its real controllers.  A normal client
calling controller.get_values is served throughout (every call answered),
and a Repair of the real pair works afterwards.

Runs at the update harness's time scale (0.1): member-after-s is the
default 30 (3 s), forget-after-s 100 (10 s)."""
import json
import os
import sys
import time

from hostile import HERE, UUID_A, UUID_B, PhantomPeer, Served, fail, json_path, log, wait_controllers

sys.path.insert(0, os.path.join(HERE, "..", "update"))
from update_harness import JOB_TIMEOUT, UpdateHarness, imageset  # noqa: E402

PHANTOMS = 550
FORGET_S = 100     # x 0.1


def board_members(h):
    with open(os.path.join(h.tmp, "board.json")) as f:
        return sorted(json.load(f)["members"])


def main():
    tar = imageset("vesc-5.03-test") + ".tar"
    h = UpdateHarness(board="dual-mismatch", vescd_args=["--forget-after-s", str(FORGET_S)])
    h.member_after_s = None          # vescd's default: 30 s (x time scale)
    with h:
        h.wait_both()
        # the real pair becomes the board after member-after-s
        h.poll_until(lambda: h.json_call("board.get")[0]["board_state"] == "mismatch", 60)
        board, _ = h.json_call("board.get")
        if board["board_state"] != "mismatch":
            fail("the real pair is not the board: %s" % board)
        if board_members(h) != sorted([UUID_A, UUID_B]):
            fail("board.json before the attack: %s" % board_members(h))

        served = Served(json_path(h), UUID_A)
        served.start()
        ph = PhantomPeer(h, PHANTOMS)
        ph.start()
        listed = 0
        while ph.is_alive():
            res, err = h.json_call("controllers.list")
            if err is None:
                listed = max(listed, len(res["controllers"]))
                # no phantom is compared or counted (a real side may look
                # offline for a moment on a loaded machine at this time scale)
                b, _ = h.json_call("board.get")
                why = " ".join(b["board_state_reasons"] + b["mismatch_reasons"])
                if (b["mismatch_reasons"] != ["firmware 5.03 ≠ 3.58"] or
                        any(u in why for u in list(ph.uuids))):
                    fail("phantoms changed the board: %s %s" % (b["board_state"], b["board_state_reasons"]))
            time.sleep(0.5)
        ph.join()
        if ph.failure:
            fail("the phantom peer failed: %s" % ph.failure)
        if ph.sent < PHANTOMS:
            fail("only %d phantom replies were asked for by vescd" % ph.sent)
        log("%d FW_VERSION replies with fresh UUIDs sent; up to %d controllers listed" % (ph.sent, listed))
        if listed <= 2:
            fail("no phantom was ever listed: the attack did not reach vescd")
        served.stop()
        # strict: every call answered with values.  (Timeouts seen here
        # before came from --time-scale 0.1 shortening GET_VALUES's 100 ms
        # timeout to 10 ms, which a loaded host missed with or without
        # phantoms; a reply sent at once now keeps its nominal timeout.)
        served.check("during the phantoms", min_calls=20)

        # silence: after forget-after-s only the real pair is left
        wait_controllers(h, [UUID_A, UUID_B], timeout=FORGET_S * 0.1 + 60)
        members = board_members(h)
        if members != sorted([UUID_A, UUID_B]):
            fail("board.json holds %d members after the phantoms: %s" % (len(members), members[:5]))
        if set(members) & ph.uuids:
            fail("a phantom became a member")
        board, _ = h.json_call("board.get")
        if board["board_state"] != "mismatch":
            fail("board after the phantoms: %s" % board)
        log("after forget-after-s: the real pair only, board.json %s" % members)

        # Repair works
        served2 = Served(json_path(h), UUID_A)
        served2.start()
        set_id = h.install(tar)
        job = str(h.mgr("Repair", set_id, {}))
        state, err, report = h.wait_job_end(job, timeout=JOB_TIMEOUT)
        if state != "done":
            fail("Repair after the phantoms ended %s %s" % (state, err))
        served2.stop()
        if served2.failure:
            fail("the normal client was not served during the repair: %s" % served2.failure)
        log("Repair done: B updated; %d get_values calls answered meanwhile" % len(served2.latencies))
        # the end state: the real pair, consistent, both on the set's firmware
        wait_controllers(h, [UUID_A, UUID_B])
        board, _ = h.json_call("board.get")
        if board["board_state"] != "consistent" or board["mismatch"]:
            fail("board after the Repair: %s %s" % (board["board_state"], board["board_state_reasons"]))
        res, _ = h.json_call("controllers.list")
        versions = sorted(c.get("firmware_version") for c in res["controllers"])
        if versions != ["5.03", "5.03"]:
            fail("firmware after the Repair: %s" % versions)
        if board_members(h) != sorted([UUID_A, UUID_B]):
            fail("board.json after the Repair: %s" % board_members(h))
        if h.stop_vescd() != 0:
            fail("vescd did not exit cleanly")
    print("PASS")


if __name__ == "__main__":
    main()
