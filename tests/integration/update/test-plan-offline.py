#!/usr/bin/python3
"""The planner with a member offline (DESIGN 2026-12 items 4 and 5: an
action is never one vescd would refuse), on vesc-sim's dual-mismatch board
(A 5.03 id 12, B 3.58 id 74) with a 5.03 set installed:

- both online: the Actions are the repair with that set, and PlanUpdate of
  it is possible;
- B muted (offline): the board is degraded, Repair is refused with Offline,
  and no offered action (D-Bus Actions, JSON board.get and the HTTP
  /api/board `actions`, a refused plan's `steps` on both adapters, vescctl
  status) is a job: each says to bring B (id 74) back online and check its
  power and CAN wiring; vescctl prints no command that would be refused;
- B back: the repair is offered again, and its plan is not refused.
"""
import json
import os
import subprocess
import sys
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "dbus"))
from update_harness import (ERROR_PREFIX, MANAGER_IFACE, MANAGER_PATH, TIMEOUT, UUID_A, UUID_B,  # noqa: E402
                            UpdateHarness, fail, finish, imageset, log)
from vescd_harness import free_port  # noqa: E402

# a job step of the planner: "[n. ]repair with image set …", "update the board with …", "install an image set …"
JOB_WORDS = (" with image set ", " with that set ", "install an image set")


def http_board(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/api/board" % port, timeout=TIMEOUT) as r:
        return json.loads(r.read())


def offered_everywhere(h, port):
    """The Actions as D-Bus, JSON board.get and HTTP /api/board offer them (all equal)."""
    acts = h.actions()
    res, err = h.json_call("board.get")
    if err:
        fail("board.get: %s" % err)
    web = http_board(port)
    if res.get("actions") != acts or web.get("actions") != acts:
        fail("Actions differ: D-Bus %r, board.get %r, /api/board %r" % (acts, res.get("actions"), web.get("actions")))
    return acts


def vescctl_status(h):
    q = subprocess.run([h.vescctl_path(), "--address", h.address, "status"], capture_output=True, text=True,
                       timeout=TIMEOUT)
    if q.returncode != 0:
        fail("vescctl status: rc %d %r" % (q.returncode, q.stderr))
    return q.stdout


def main():
    s503 = imageset("vesc-5.03-test") + ".tar"
    port = free_port()
    with UpdateHarness(board="dual-mismatch", vescd_args=["--http-listen", "127.0.0.1:%d" % port]) as h:
        h.wait_both()
        id503 = h.install(s503)
        repair = "repair with image set %s (5.03): update %s (id 74) from 3.58 to 5.03" % (id503, UUID_B)
        h.wait_until(lambda: h.actions() == [repair], "the repair offered")
        offered_everywhere(h, port)
        p = h.plan_both("repair", id503)
        if p["refused"]:
            fail("plan repair with both online refused: %s" % p)
        log("both online: %s" % h.actions())

        # --- B offline: nothing offered that vescd would refuse
        h.sim_control("mute B on")
        h.wait_until(lambda: str(h.prop(MANAGER_PATH, MANAGER_IFACE, "BoardState")) == "degraded" and
                     not any(any(w in a for w in JOB_WORDS) for a in h.actions()),
                     "degraded without a job offered")
        e = h.call_error(lambda: h.mgr("Repair", id503, {}))
        if not e or e[0] != ERROR_PREFIX + "Offline":
            fail("Repair with B offline should be refused with Offline: %s" % (e,))
        acts = offered_everywhere(h, port)
        if not acts:
            fail("no Actions with B offline: the board should say what works")
        want = "bring %s (id 74) back online: check its power and CAN wiring" % UUID_B
        if not any(a.startswith(want) for a in acts) or any(UUID_A in a for a in acts):
            fail("Actions with B offline: %s" % acts)
        for a in acts:
            if any(w in a for w in JOB_WORDS):
                fail("a job offered while B is offline: %r" % a)
        p = h.plan_both("repair", id503)
        if not p["refused"] or p["error"] != "Offline":
            fail("plan repair with B offline: %s" % p)
        if not p["steps"] or not p["steps"][0].startswith(want) or \
                any(any(w in s for w in JOB_WORDS) for s in p["steps"]):
            fail("a refused (Offline) plan offers: %s" % p["steps"])
        for kind in ("board", "pair"):
            p = h.plan_both(kind, id503)
            if not p["refused"] or p["error"] != "Offline" or any(any(w in s for w in JOB_WORDS) for s in p["steps"]):
                fail("plan %s with B offline: %s" % (kind, p))
        out = vescctl_status(h)
        if want not in out or "vescctl firmware repair" in out or "vescctl firmware board" in out or \
                "Commands:" in out:
            fail("vescctl status with B offline offers a job: %r" % out)
        log("B offline: %s" % acts)

        # --- B back: the repair again
        h.sim_control("mute B off")
        h.wait_until(lambda: h.actions() == [repair], "the repair offered again")
        offered_everywhere(h, port)
        p = h.plan_both("repair", id503)
        if p["refused"]:
            fail("plan repair with B back refused: %s" % p)
        out = vescctl_status(h)
        if "vescctl firmware repair %s --wait" % id503 not in out:
            fail("vescctl status with B back: %r" % out)
        log("B back: the repair is offered again")
    finish()


if __name__ == "__main__":
    main()
