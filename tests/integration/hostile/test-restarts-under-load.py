#!/usr/bin/python3
"""Discovery on a loaded machine (issue 12 item 6, DESIGN 2026-12 item 7):
vescd is restarted 20 times on each of the presets dual-mismatch (A sends
no status broadcasts: only the PING scan finds it) and board-4wd, while
busy loops in child processes keep every CPU busy, and must find every
controller every time (each start bounded by the harness timeout; no
manual Scan).  A heavy test: it runs once, and skips in the sanitizer build
(configure --enable-sanitizers) so CI does not run it twice."""
import multiprocessing
import os
import signal
import time

from hostile import Harness, TIMEOUT, fail, log, sanitizer_build, skip
from vescd_harness import builddir

RESTARTS = 20
PRESETS = {
    "dual-mismatch": ["3c0029000d51393236353934", "2f002b001451363336333531"],
    "board-4wd": ["3c0029000d51393236353934", "2f002b001451363336333531",
                  "410033000f51393236353934", "1e0027001151363336333500"],
}
# a busy loop never outlives the test by more than this
LOAD_MAX_S = 900


def busy(until):
    while time.monotonic() < until:
        pass


class Load:
    """One busy loop per CPU, each ending by itself after LOAD_MAX_S."""

    def __enter__(self):
        until = time.monotonic() + LOAD_MAX_S
        self.procs = [multiprocessing.Process(target=busy, args=(until,), daemon=True)
                      for _ in range(os.cpu_count() or 2)]
        for p in self.procs:
            p.start()
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            if p.is_alive():
                os.kill(p.pid, signal.SIGKILL)
            p.join(5)


class RestartHarness(Harness):
    def restart_vescd(self):
        if self.notify:
            self.notify_stop = True
            self.notify_thread.join(timeout=5)
            self.notify.close()
            self.notify_stop = False
        for f in ("notify", "vescd.sock"):
            try:
                os.unlink(os.path.join(self.tmp, f))
            except FileNotFoundError:
                pass
        self.notify_msgs = []
        self.notify_pos = 0
        self.start_vescd()


def found(h):
    result, error = h.json_call("controllers.list")
    if error is not None:
        return []
    return sorted(c["uuid"] for c in result["controllers"] if c.get("online"))


def run_preset(board, uuids):
    want = sorted(uuids)
    times = []
    with RestartHarness(board=board) as h:
        for i in range(RESTARTS):
            if i > 0:
                if h.stop_vescd() != 0:
                    fail("%s: vescd did not exit cleanly on restart %d" % (board, i))
                h.restart_vescd()
            t0 = time.monotonic()
            got = []
            while time.monotonic() - t0 < TIMEOUT:
                got = found(h)
                if got == want:
                    break
                time.sleep(0.1)
            if got != want:
                fail("%s, start %d of %d: found %s, expected %s\n%s" %
                     (board, i + 1, RESTARTS, got, want, h.vescd_log()[-3000:]))
            times.append(time.monotonic() - t0)
        h.stop_vescd()
    times.sort()
    log("%s: %d of %d starts found all %d controllers (median %.1f s, slowest %.1f s)" %
        (board, RESTARTS, RESTARTS, len(want), times[len(times) // 2], times[-1]))


def main():
    if sanitizer_build():
        skip("heavy test: runs in the normal build only (this build has --enable-sanitizers)")
    with Load():
        for board, uuids in PRESETS.items():
            run_preset(board, uuids)
    print("PASS")


if __name__ == "__main__":
    main()
