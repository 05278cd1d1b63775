#!/usr/bin/python3
"""vescd's own stall (a hostile machine: the daemon descheduled) does not
take a live controller offline.  vescd is stopped (SIGSTOP) for one and a
half offline timeouts, three times, while a normal client calls
controller.get_values on A (silent, polled) and another on B (status
broadcasts at 50 Hz): neither went offline (went_offline unchanged) and
every call was answered with values.  Then A falls silent for real (the
simulator mutes it) across such a stall: A goes offline (checked after the
stall, no answer) and B does not.  Nothing asserts a duration."""
import os
import signal
import time

from hostile import (UUID_A, UUID_B, Harness, JsonConn, Served, fail, json_path, log, wait_controllers)
from vescd_harness import TIMEOUT

OFFLINE_TIMEOUT_S = 1.0          # vescd's default offline-timeout-ms
STALL_S = 1.5 * OFFLINE_TIMEOUT_S


def get(conn, uuid):
    result, error, _ = conn.call("controller.get", {"uuid": uuid})
    if error is not None:
        fail("controller.get %s: %s" % (uuid, error))
    return result


def stall(h):
    os.kill(h.vescd.pid, signal.SIGSTOP)
    try:
        time.sleep(STALL_S)
    finally:
        os.kill(h.vescd.pid, signal.SIGCONT)


def wait_for(what, pred):
    deadline = time.monotonic() + TIMEOUT
    while not pred():
        if time.monotonic() > deadline:
            fail("timed out waiting for %s" % what)
        time.sleep(0.05)


def main():
    with Harness(board="dual-mismatch") as h:
        wait_controllers(h, [UUID_A, UUID_B])
        path = json_path(h)
        c = JsonConn(path)
        # A confirmed (it answered a poll): a stall's check is for such a one
        wait_for("A answering polls", lambda: get(c, UUID_A)["replies"] > 0)
        before = {u: get(c, u)["went_offline"] for u in (UUID_A, UUID_B)}

        served_a, served_b = Served(path, UUID_A), Served(path, UUID_B)
        served_a.start()
        served_b.start()
        for i in range(3):
            time.sleep(0.5)
            stall(h)
        time.sleep(0.5)
        served_a.stop()
        served_b.stop()
        after = {u: get(c, u)["went_offline"] for u in (UUID_A, UUID_B)}
        log("went_offline before %s, after three stalls %s" % (before, after))
        if after != before:
            fail("a stall of vescd took a live controller offline: went_offline %s -> %s\n%s" %
                 (before, after, h.vescd_log()[-3000:]))
        served_a.check("A across vescd's stalls", min_calls=20)
        served_b.check("B across vescd's stalls", min_calls=20)

        # A really silent across a stall: offline; B is not
        h.sim_control("mute A on")
        stall(h)
        wait_for("A offline", lambda: not get(c, UUID_A)["online"])
        gone = {u: get(c, u)["went_offline"] for u in (UUID_A, UUID_B)}
        if gone[UUID_A] != before[UUID_A] + 1 or gone[UUID_B] != before[UUID_B] or not get(c, UUID_B)["online"]:
            fail("A muted across a stall: went_offline %s -> %s, B online %s" %
                 (before, gone, get(c, UUID_B)["online"]))
        log("A muted across a stall went offline, B did not")
        h.sim_control("mute A off")
        wait_for("A back online", lambda: get(c, UUID_A)["online"])
        c.close()
        h.stop_vescd()
    print("PASS")


if __name__ == "__main__":
    main()
