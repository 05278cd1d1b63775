#!/usr/bin/python3
"""UpdateBoard over four member MCUs (vesc-sim --board board-4wd: four hw 60
controllers on 6.05 at ids 12, 74, 21, 62):

- D-Bus UpdateBoard to 5.03 is one job over all four sides; it ends done,
  vesc-sim says all four run 5.03, each controller is online at the id it
  had before (the configuration reset moved it to its default id, the job
  gave it back), and the board is consistent;
- JSON firmware.board back to 6.05: the same.
The engine stages all sides before it commits any (its unit tests check
the barrier and the waves for colliding default ids).
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from update_harness import (JOB_TIMEOUT, MANAGER_IFACE, MANAGER_PATH,  # noqa: E402
                            UpdateHarness, fail, finish, log)

IDS = {"3c0029000d51393236353934": 12, "2f002b001451363336333531": 74,
       "410033000f51393236353934": 21, "1e0027001151363336333500": 62}


def main():
    with UpdateHarness(board="board-4wd") as h:
        h.wait_found(list(IDS))
        h.wait_until(lambda: str(h.prop(MANAGER_PATH, MANAGER_IFACE, "BoardState")) == "consistent",
                     "board consistent")

        for how, name, version in (("D-Bus", "vesc-5.03-test", "5.03"), ("JSON", "vesc-6.05-test", "6.05")):
            set_id = h.install_tar(name)
            job = h.start_job(how, "board", set_id)
            state, err, report = h.wait_job_end(job)
            if state != "done":
                fail("%s board update to %s ended %s %s %s\n%s" % (how, version, state, err, report, h.vescd_log()))
            sides = report.get("sides", [])
            if sorted(s.get("uuid") for s in sides) != sorted(IDS):
                fail("%s: one job over all four expected, its sides: %s" % (how, sides))
            for s in sides:
                if s.get("can_id_not_restored"):
                    fail("%s: %s's id not restored: %s" % (how, s.get("uuid"), s))
            for u, i in IDS.items():
                sim = h.sim_controller(u)
                if sim["version"] != version or sim["id"] != i:
                    fail("%s: vesc-sim says %s runs %s at id %s" % (how, u, sim["version"], sim["id"]))
            h.wait_until(lambda: h.settled(IDS, version),
                         "all four online at their ids on %s, board consistent" % version, timeout=JOB_TIMEOUT)
            log("%s: one transaction, all four on %s at their ids" % (how, version))
    finish()


if __name__ == "__main__":
    main()
