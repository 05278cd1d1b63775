#!/usr/bin/python3
"""Image-set rollback over both adapters and vescctl (vesc-sim --board
single; no controller is touched): with the 5.03 and then the 6.05 test
set installed, 6.05 is current and 5.03 previous;
- D-Bus Manager.RollbackImageSet() makes 5.03 current again and returns
  its id, ListImageSets shows the swapped roles;
- `vescctl firmware rollback` swaps back (prints the 6.05 id);
- JSON firmware.rollback swaps once more ({"set": id});
- as uid 65534 the rollback is refused with PermissionDenied;
- with a single installed set there is nothing to roll back to: NotFound."""
import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from update_harness import (ERROR_PREFIX, TIMEOUT, UpdateHarness, cannot_check, fail, finish, imageset,  # noqa: E402
                            log)

UNPRIVILEGED = r"""
calls = (("rollback", manager.RollbackImageSet),)
"""


def roles(h):
    sets = json.loads(str(h.mgr("ListImageSets")))
    cur = [s["id"] for s in sets if s["current"]]
    prev = [s["id"] for s in sets if s["previous"]]
    return (cur[0] if cur else None, prev[0] if prev else None)


def main():
    tar503 = imageset("vesc-5.03-test") + ".tar"
    tar605 = imageset("vesc-6.05-test") + ".tar"
    with UpdateHarness(board="single") as h:
        s503 = h.install(tar503)
        e = h.call_error(lambda: h.mgr("RollbackImageSet"))
        if not e or e[0] != ERROR_PREFIX + "NotFound":
            fail("RollbackImageSet without a previous set: %s" % (e,))
        s605 = h.install(tar605)
        if roles(h) != (s605, s503):
            fail("after two installs (current, previous) = %s, expected %s" % (roles(h), (s605, s503)))

        # --- D-Bus
        got = str(h.mgr("RollbackImageSet"))
        if got != s503 or roles(h) != (s503, s605):
            fail("RollbackImageSet returned %s, roles %s" % (got, roles(h)))
        log("D-Bus RollbackImageSet: %s current again" % s503)

        # --- vescctl
        p = subprocess.run([h.vescctl_path(), "--address", h.address, "firmware", "rollback"], capture_output=True,
                           text=True, timeout=TIMEOUT)
        if p.returncode != 0 or p.stdout.strip() != s605 or roles(h) != (s605, s503):
            fail("vescctl firmware rollback: rc %d %r %r, roles %s" % (p.returncode, p.stdout, p.stderr, roles(h)))
        log("vescctl firmware rollback: %s current again" % s605)

        # --- JSON
        res, err = h.json_call("firmware.rollback")
        if err or res != {"set": s503} or roles(h) != (s503, s605):
            fail("JSON firmware.rollback: %s %s, roles %s" % (res, err, roles(h)))
        log("JSON firmware.rollback: %s current again" % s503)

        # --- not for everyone
        out = h.run_calls_as(UNPRIVILEGED)
        if out is not None:
            if out != "rollback=" + ERROR_PREFIX + "PermissionDenied":
                fail("unprivileged RollbackImageSet: %r" % out)
            if roles(h) != (s503, s605):
                fail("a refused rollback changed the sets")
            log("unprivileged RollbackImageSet refused")
        else:
            cannot_check("not root or no setpriv: unprivileged RollbackImageSet")

        if h.stop_vescd() != 0:
            fail("vescd did not exit 0")
    finish()


if __name__ == "__main__":
    main()
