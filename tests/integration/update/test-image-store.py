#!/usr/bin/python3
"""The image store's limit and the state directory, over D-Bus and JSON
(vesc-sim dual-mismatch, vescd with --image-set-keep 3):
- five sets installed one after the other: with the fourth, the oldest set
  that is neither current, previous nor used by a job is removed, announced
  by Manager.ImageSetRemoved(s id, s reason) on D-Bus and by the
  firmware.set_removed {id, reason} notification on a JSON connection, and
  no longer listed;
- the set of a running job (a Repair of B from the oldest set)
  is never removed: the next oldest goes instead;
- vescd with a missing and with an unwritable state directory says so in
  its log at start, and every firmware call is refused (NotSupported) with
  a text naming the directory, on D-Bus and on JSON."""
import json
import os
import socket
import shutil
import subprocess
import sys
import tempfile
import threading

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from update_harness import (ERROR_PREFIX, MANAGER_IFACE, TIMEOUT, UpdateHarness,  # noqa: E402
                            builddir, fail, finish, imageset, log)
from privbus import json_messages  # noqa: E402


def extra_set(tmp, name):
    """A set of its own id (its own name) from the 5.03 test firmware."""
    app = os.path.join(builddir(), "firmware", "testfw", "app-5.03-60.bin")
    out = os.path.join(tmp, name + ".tar")
    subprocess.run([os.path.join(builddir(), "firmware", "vescfw"), "build", "--name", name, "--version", "5.03",
                    "--output", out, "--app", "60=" + app], check=True, capture_output=True)
    return out


class JsonListener:
    """A JSON connection kept open: collects firmware.set_removed."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(path)
        self.removed = []
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        self.sock.settimeout(None)
        for msg in json_messages(self.sock):
            if msg.get("method") == "firmware.set_removed":
                with self.cond:
                    self.removed.append(msg.get("params"))
                    self.cond.notify_all()

    def wait(self, n):
        with self.cond:
            self.cond.wait_for(lambda: len(self.removed) >= n, timeout=TIMEOUT)
            return list(self.removed)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def listed(h):
    return [s["id"] for s in json.loads(str(h.mgr("ListImageSets")))]


def keep_and_signal():
    tar503 = imageset("vesc-5.03-test") + ".tar"
    with UpdateHarness(board="dual-mismatch", vescd_args=["--image-set-keep", "3"]) as h:
        h.wait_both()
        signals = []
        h.bus.add_signal_receiver(lambda i, r: signals.append((str(i), str(r))), signal_name="ImageSetRemoved",
                                  dbus_interface=MANAGER_IFACE)
        js = JsonListener(os.path.join(h.tmp, "vescd.sock"))

        s1 = h.install(tar503)
        s2 = h.install(extra_set(h.tmp, "keep-two"))
        s3 = h.install(extra_set(h.tmp, "keep-three"))
        if sorted(listed(h)) != sorted([s1, s2, s3]) or signals:
            fail("three sets with image-set-keep 3: listed %s, signals %s" % (listed(h), signals))

        # the fourth goes past the limit: s1 is the oldest, neither current nor previous
        s4 = h.install(extra_set(h.tmp, "keep-four"))
        h.wait_until(lambda: len(signals) >= 1, "ImageSetRemoved after the fourth install")
        if signals[0][0] != s1 or "image-set-keep" not in signals[0][1]:
            fail("ImageSetRemoved %s, expected %s with a reason naming image-set-keep" % (signals, s1))
        got = js.wait(1)
        if len(got) != 1 or got[0].get("id") != s1 or got[0].get("reason") != signals[0][1]:
            fail("firmware.set_removed %s, expected {id: %s, reason: %r}" % (got, s1, signals[0][1]))
        if s1 in listed(h) or sorted(listed(h)) != sorted([s2, s3, s4]):
            fail("after the fourth install: listed %s" % listed(h))
        if "Removed image set " + s1 not in h.vescd_log():
            fail("the removal of %s is not logged" % s1)
        log("fourth install removed %s: %s (D-Bus and JSON)" % (s1, signals[0][1]))

        # a running job's set stays: repair B from s2 (the oldest now),
        # install a fifth set while the job runs: s3 goes, not s2
        del signals[:]
        job = str(h.mgr("Repair", s2, {}))
        state = str(h.job_prop(job, "State"))
        s5 = h.install(extra_set(h.tmp, "keep-five"))
        still = str(h.job_prop(job, "State"))
        if still in ("done", "failed", "cancelled"):
            fail("the job ended (%s) before the fifth install: cannot check that its set stays" % still)
        h.wait_until(lambda: len(signals) >= 1, "ImageSetRemoved after the fifth install")
        if [s[0] for s in signals] != [s3]:
            fail("fifth install during a job from %s removed %s, expected %s" % (s2, signals, s3))
        got = js.wait(2)[1:]
        if [g.get("id") for g in got] != [s3]:
            fail("firmware.set_removed during the job: %s, expected %s" % (got, s3))
        if sorted(listed(h)) != sorted([s2, s4, s5]):
            fail("after the fifth install: listed %s, expected the job's %s, %s and %s" % (listed(h), s2, s4, s5))
        log("the job's set %s stayed (job %s was %s); %s removed instead" % (s2, job, state, s3))
        h.wait_job_end(job)
        js.close()
        if h.stop_vescd() != 0:
            fail("vescd did not exit 0")


def refused(state_dir, why):
    with UpdateHarness(board="single", vescd_args=["--state-dir", state_dir]) as h:
        want = "firmware management is unavailable: state directory %s %s" % (state_dir, why)
        if want not in h.vescd_log():
            fail("vescd's log does not say %r:\n%s" % (want, h.vescd_log()))
        for call in (lambda: h.mgr("ListImageSets"), lambda: h.mgr("RollbackImageSet"),
                     lambda: h.mgr("Repair", "x", {})):
            e = h.call_error(call)
            if not e or e[0] != ERROR_PREFIX + "NotSupported" or want not in e[1]:
                fail("D-Bus firmware call with state dir %s: %s, expected NotSupported %r" % (state_dir, e, want))
        for method in ("firmware.sets", "firmware.rollback"):
            res, err = h.json_call(method)
            detail = ((err or {}).get("data") or {}).get("detail", "")
            if res is not None or want not in detail:
                fail("JSON %s with state dir %s: %s %s, expected %r" % (method, state_dir, res, err, want))
        log("state dir %s: %s" % (state_dir, want))
        if h.stop_vescd() != 0:
            fail("vescd did not exit 0")


def main():
    keep_and_signal()
    base = tempfile.mkdtemp(prefix="vescd-it-state.")
    try:
        refused(os.path.join(base, "missing"), "does not exist")
        if os.getuid() == 0:
            # root writes through any mode bits: /proc takes no new files
            refused("/proc", "is not writable")
        else:
            ro = os.path.join(base, "ro")
            os.mkdir(ro, 0o555)
            refused(ro, "is not writable")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
