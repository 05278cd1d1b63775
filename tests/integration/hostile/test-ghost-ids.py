#!/usr/bin/python3
"""Ghost STATUS ids: one STATUS frame from each of the 251 unused CAN ids,
sent once.  vescd identifies them in the background (COMM_FW_VERSION with
back-off, at most 10 % of the long-reply slot's time, never before a
user's request), so controller.get_values on a real controller that sends
no status broadcasts (A, id 12) keeps being answered, every call; after
forget-after-s the unidentified records are gone (counted in the manager's
counters) and nothing was exported for them."""
import re
import time

from hostile import (UUID_A, UUID_B, Harness, Served, attacker, fail, json_path, log, status_frame,
                     unused_ids, wait_controllers)

FORGET_S = 15


def main():
    with Harness(board="dual-mismatch", vescd_args=["--forget-after-s", str(FORGET_S)]) as h:
        wait_controllers(h, [UUID_A, UUID_B])
        served = Served(json_path(h), UUID_A)
        served.start()
        time.sleep(1.0)
        bus = attacker(h)
        ids = unused_ids()
        for i in ids:
            bus.send(*status_frame(i))
        log("sent %d ghost STATUS frames" % len(ids))
        t0 = time.monotonic()
        while time.monotonic() - t0 < 10:
            bus.poll(0.1)
        served_attack = len(served.latencies)
        served.stop()
        served.check("during the ghost ids", min_calls=20)
        log("%d calls answered in the 10 s after the ghosts" % (len(served.latencies) - 0))
        if served_attack == 0:
            fail("nothing answered")
        # ghosts were never exported, and are forgotten
        wait_controllers(h, [UUID_A, UUID_B])
        deadline = time.monotonic() + FORGET_S + 20
        forgotten = 0
        while time.monotonic() < deadline:
            forgotten = sum(int(m.group(1)) for m in re.finditer(r"Forgot (\d+) controller record", h.vescd_log()))
            if forgotten >= len(ids):
                break
            time.sleep(0.5)
        if forgotten < len(ids):
            fail("only %d of %d ghost records forgotten after forget-after-s:\n%s" %
                 (forgotten, len(ids), h.vescd_log()[-3000:]))
        log("ghost records forgotten: %d" % forgotten)
        served2 = Served(json_path(h), UUID_A)
        served2.start()
        time.sleep(1.0)
        served2.stop()
        served2.check("after forgetting")
        h.stop_vescd()
    print("PASS")


if __name__ == "__main__":
    main()
