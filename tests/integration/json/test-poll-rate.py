#!/usr/bin/python3
"""Polling follows the watchers (DESIGN "Decisions of 2026-12" item 8): A of
dual-mismatch sends no status broadcasts, so vescd polls it with GET_VALUES at
poll-rate-hz (5).  A JSON watch at 10 Hz raises that: over a window, the
watch must get at least 0.9 x the GET_VALUES replies vesc-sim itself counts
for A (its control socket's `values_replies`), and A must have been polled
clearly faster than poll-rate-hz alone would (more replies than 5 Hz gives).
Rates are asserted against the simulator's counts, never against the clock
alone: a loaded machine lowers both sides alike."""
import os
import sys
import time

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "dbus"))
sys.path.insert(0, os.path.join(here, "..", "..", "component", "json"))
from vescd_harness import Harness, PATH_A, fail, log  # noqa: E402
from jsontest import Client  # noqa: E402

UUID_A = PATH_A.rsplit("/", 1)[1]
WINDOW = 3.0
RATE = 10.0


def sim_values_replies(h, uuid):
    return h.sim_controller(uuid)["counters"]["values_replies"]


def count_samples(c, seconds, stop_at_first=False):
    """Telemetry samples of A that arrive within `seconds`."""
    n = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            m = c.receive(timeout=max(0.01, end - time.monotonic()))
        except TimeoutError:
            break
        if m and m.get("method") == "telemetry" and m["params"]["uuid"] == UUID_A:
            n += 1
            if stop_at_first:
                break
    return n


def main():
    with Harness(board="dual-mismatch") as h:
        h.wait_until(lambda: PATH_A in h.controllers(), "controller A")
        c = Client(os.path.join(h.tmp, "vescd.sock"))
        c.hello()
        snap = c.result("controller.get", {"uuid": UUID_A})
        if snap["broadcasting"]:
            fail("A of dual-mismatch broadcasts: the test needs a polled controller")
        c.result("telemetry.watch", {"controllers": [UUID_A], "rate_hz": RATE, "fields": ["voltage_in"]})
        # the first sample, then a second for the raised poll rate to settle
        if count_samples(c, 10.0, stop_at_first=True) == 0:
            fail("no telemetry sample of A")
        count_samples(c, 1.0)
        before = sim_values_replies(h, UUID_A)
        samples = count_samples(c, WINDOW)
        answered = sim_values_replies(h, UUID_A) - before
        c.result("telemetry.unwatch")
        log("%d samples; vesc-sim answered %d GET_VALUES of A in %.1f s (poll-rate-hz 5, watch %g Hz)" %
            (samples, answered, WINDOW, RATE))
        if answered <= 0:
            fail("vesc-sim answered no GET_VALUES of A")
        if samples < 0.9 * answered:
            fail("%d samples for %d answered polls: fewer than 0.9 x" % (samples, answered))
        # faster than poll-rate-hz: 5 Hz gives 15 in 3 s; the watch asks for 30
        if answered <= 1.3 * 5 * WINDOW:
            fail("A polled %d times in %.1f s: the 10 Hz watch did not raise the 5 Hz poll rate" % (answered, WINDOW))
        c.close()
        if h.stop_vescd() != 0:
            fail("vescd did not exit 0")
    print("PASS")


if __name__ == "__main__":
    main()
