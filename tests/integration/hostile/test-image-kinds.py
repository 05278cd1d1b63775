#!/usr/bin/python3
"""A directory image set whose manifest or image is a FIFO, a socket or a
device: vescd (D-Bus InstallImageSetFromPath and JSON firmware.install) and
`vescfw verify` refuse it at once as BadImage -- nothing opens a FIFO
waiting for a writer or reads a device on vescd's one event loop -- while a
telemetry watch keeps streaming and a normal client is served throughout."""
import os
import shutil
import socket
import stat
import subprocess
import time

from hostile import (TIMEOUT, UUID_A, Harness, Served, Watcher, fail, json_path, log, skip)  # noqa: E402
from vescd_harness import MANAGER_IFACE, builddir  # noqa: E402

PROMPT = 5.0   # "at once": far below the harness's call timeout


def make_set(base, tmp, name, rel, kind):
    """Copy base to tmp/name and replace rel with a special file of kind;
    None if this machine cannot make it (devices need CAP_MKNOD)."""
    d = os.path.join(tmp, name)
    shutil.copytree(base, d)
    p = os.path.join(d, rel)
    os.unlink(p)
    if kind == "fifo":
        os.mkfifo(p)
    elif kind == "socket":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(p)
        s.listen(1)
        make_set.keep.append(s)
    elif kind == "chardev":
        try:
            os.mknod(p, 0o644 | stat.S_IFCHR, os.makedev(1, 5))   # like /dev/zero: never ends
        except PermissionError:
            return None
    elif kind == "blockdev":
        try:
            os.mknod(p, 0o644 | stat.S_IFBLK, os.makedev(7, 0))   # loop0
        except PermissionError:
            return None
    return d


make_set.keep = []


def vescfw_verify(path):
    vescfw = os.path.join(builddir(), "firmware", "vescfw")
    t0 = time.monotonic()
    try:
        p = subprocess.run([vescfw, "verify", path], capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        fail("vescfw verify %s hangs" % path)
    dt = time.monotonic() - t0
    if p.returncode == 0:
        fail("vescfw verify accepted %s" % path)
    if "not a regular file" not in p.stderr + p.stdout:
        fail("vescfw verify %s: unexpected message: %s%s" % (path, p.stdout, p.stderr))
    if dt > PROMPT:
        fail("vescfw verify %s took %.1f s" % (path, dt))
    return (p.stdout + p.stderr).strip()


def main():
    base = os.path.join(builddir(), "firmware", "imagesets", "vesc-6.05-test")
    if not os.path.isdir(base):
        skip("%s is not built (make imagesets needs gcc-arm-none-eabi)" % base)
    with Harness(board="dual-mismatch") as h:
        h.wait_until(lambda: len(h.controllers()) == 2, "both controllers")
        watcher = Watcher(json_path(h), rate_hz=10)
        watcher.start()
        served = Served(json_path(h), UUID_A)
        served.start()
        time.sleep(1.0)
        made = 0
        for kind in ("fifo", "socket", "chardev", "blockdev"):
            for rel in ("manifest.json", "60/firmware.bin"):
                path = make_set(base, h.tmp, "set-%s-%s" % (kind, rel.replace("/", "-")), rel, kind)
                if path is None:
                    log("%s: cannot create a device here (no CAP_MKNOD): not tried" % kind)
                    continue
                made += 1
                log("vescfw: " + vescfw_verify(path))
                t0 = time.monotonic()
                got = h.call_error(lambda: h.manager().InstallImageSetFromPath(
                    path, dbus_interface=MANAGER_IFACE, timeout=TIMEOUT))
                dt = time.monotonic() - t0
                if got is None or got[0] != "org.vescd1.Error.BadImage":
                    fail("D-Bus install of a set with %s as %s: %s" % (kind, rel, got))
                if dt > PROMPT:
                    fail("D-Bus install of a set with %s as %s took %.1f s" % (kind, rel, dt))
                log("D-Bus: %s as %s: %s" % (kind, rel, got[1]))
                t0 = time.monotonic()
                result, error = h.json_call("firmware.install", {"path": path})
                dt = time.monotonic() - t0
                if result is not None or not error or error.get("code") != 1009 or dt > PROMPT:
                    fail("JSON install of a set with %s as %s: %s %s (%.1f s)" % (kind, rel, result, error, dt))
        if made < 4:
            fail("only %d hostile sets could be made (FIFO and socket need nothing special)" % made)
        t_end = time.monotonic()
        time.sleep(1.0)
        served.stop()
        served.check("image kinds")
        watcher.stop()
        if watcher.failure:
            fail("the watch broke: %s" % watcher.failure)
        # the watch streamed all along: samples in every second of the attack
        t_start = t_end - 1.0
        if watcher.count_between(t_start, t_end + 1.0) < 5:
            fail("the watch stalled: %d samples in the last 2 s" % watcher.count_between(t_start, t_end + 1.0))
        gaps = [b - a for a, b in zip(watcher.times, watcher.times[1:])]
        if gaps and max(gaps) > PROMPT:
            fail("the watch paused for %.1f s" % max(gaps))
        log("watch: %d samples, longest gap %.2f s" % (len(watcher.times), max(gaps) if gaps else 0))
        h.stop_vescd()
    for s in make_set.keep:
        s.close()
    print("PASS")


if __name__ == "__main__":
    main()
