#!/usr/bin/python3
"""Record the CAN transcripts tests/component/core/test-core-replay replays
(run by hand, once; the output is committed next to this script):

  transcripts/discovery.log  vesc-sim dual-mismatch (A 5.03 id 12 silent,
                             B 3.58 id 74 STATUS_1 at 50 Hz) found by vescd:
                             the start-up PING scan, FW_VERSION of both
  transcripts/update.log     then a Repair with the 5.03 test set: B is
                             erased, written, reboots into 5.03 (at id 74,
                             its UUID's default id too)
  transcripts/discovery-358.log  vesc-sim dual-358 (A 3.58 at id 10, B 3.58
                             at id 74, both silent) found by vescd
  transcripts/new-id.log     then UpdateController of A to 5.03 with
                             AllowMismatch and SkipCanIdRestore: A reboots
                             at its UUID's default id 12 (a new id) and is
                             identified there

Frames are vbus-dump's candump log lines.  vescd runs without background
rescans; on dual-mismatch without polling (poll-rate-hz 0: B broadcasts,
A is only identified), on dual-358 with it (silent controllers would go
offline), so that transcript has GET_VALUES polls too.

usage: top_builddir=BUILD record-transcripts.py [OUTDIR]
"""
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration", "update"))
import dbus  # noqa: E402
from update_harness import UUID_A, UUID_B, UpdateHarness, builddir, fail, log  # noqa: E402


class Recorder(UpdateHarness):
    def start_vescd(self):
        self.dump_file = open(os.path.join(self.tmp, "dump.log"), "w+")
        self.dump = subprocess.Popen([os.path.join(builddir(), "sim", "vbus-dump"), os.path.join(self.tmp, "vbus")],
                                     stdout=self.dump_file)
        self.procs.append(self.dump)
        time.sleep(0.3)
        super().start_vescd()

    def lines(self):
        self.dump_file.flush()
        with open(self.dump_file.name) as f:
            return f.read().splitlines()


def session(board, out, first, second, start_job, uuid, poll):
    with Recorder(board=board, vescd_args=["--poll-rate-hz", poll, "--rescan-interval-s", "0"]) as h:
        h.wait_both()
        time.sleep(0.5)
        discovery = h.lines()
        set_id = h.install_tar("vesc-5.03-test")
        job = str(start_job(h, set_id))
        st, err, report = h.wait_job_end(job)
        if st != "done":
            fail("the job ended %s %s" % (st, err))
        path = "/org/vescd1/controller/" + uuid
        h.wait_until(lambda: bool(h.prop(path, "org.vescd1.Controller", "Online")), "the updated controller online")
        time.sleep(0.5)
        everything = h.lines()
        log("%s: the updated controller is at id %d" % (board, int(h.prop(path, "org.vescd1.Controller", "Id"))))
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, first), "w") as f:
        f.write("\n".join(discovery) + "\n")
    with open(os.path.join(out, second), "w") as f:
        f.write("\n".join(everything[len(discovery):]) + "\n")
    log("%d + %d frames" % (len(discovery), len(everything) - len(discovery)))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "transcripts")
    session("dual-mismatch", out, "discovery.log", "update.log",
            lambda h, set_id: h.mgr("Repair", set_id, {}), UUID_B, "0")
    session("dual-358", out, "discovery-358.log", "new-id.log",
            lambda h, set_id: h.mgr("UpdateController", UUID_A, set_id,
                                    {"AllowMismatch": dbus.Boolean(True), "SkipCanIdRestore": dbus.Boolean(True)}),
            UUID_A, "5")


if __name__ == "__main__":
    main()
