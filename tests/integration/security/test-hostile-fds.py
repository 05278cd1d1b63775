#!/usr/bin/python3
"""File descriptors and paths handed to the image-set installer that are
not image sets: vescd runs one thread, so reading a pipe or a socket that
never ends, or opening a FIFO that has no writer, would stop the whole
daemon.  Each is refused with the documented error, promptly, and vescd
keeps answering."""
import os
import socket
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "dbus"))
import dbus  # noqa: E402
from vescd_harness import (MANAGER_IFACE, MANAGER_PATH, TIMEOUT, Harness, fail, log)  # noqa: E402

ERR = "org.vescd1.Error."


def install_fd(h, fd):
    return h.manager().InstallImageSet(dbus.types.UnixFd(fd), dbus_interface=MANAGER_IFACE, timeout=TIMEOUT)


def expect(h, what, fn, want):
    got = h.call_error(fn)
    if got is None:
        fail("%s was accepted" % what)
    if got[0] != want:
        fail("%s: %s (%s), expected %s\n%s" % (what, got[0], got[1], want, h.vescd_log()))
    log("%s: %s (%s)" % (what, got[0], got[1]))


def main():
    with Harness(board="single") as h:
        # a pipe whose writer stays open: reading it would never end
        r, w = os.pipe()
        try:
            expect(h, "a pipe", lambda: install_fd(h, r), ERR + "InvalidArgument")
        finally:
            os.close(r)
            os.close(w)
        # a connected socket, equally endless
        a, b = socket.socketpair()
        with a, b:
            expect(h, "a socket", lambda: install_fd(h, a.fileno()), ERR + "InvalidArgument")
        # a directory opened as an fd
        dfd = os.open(h.tmp, os.O_RDONLY | os.O_DIRECTORY)
        try:
            expect(h, "a directory fd", lambda: install_fd(h, dfd), ERR + "InvalidArgument")
        finally:
            os.close(dfd)
        # a FIFO without a writer: a plain open() for reading would block
        fifo = os.path.join(h.tmp, "not-a-set")
        os.mkfifo(fifo)
        expect(h, "a FIFO path over D-Bus",
               lambda: h.manager().InstallImageSetFromPath(fifo, dbus_interface=MANAGER_IFACE, timeout=TIMEOUT),
               ERR + "BadImage")
        result, error = h.json_call("firmware.install", {"path": fifo})
        if result is not None or not error or error.get("code") != 1009:
            fail("firmware.install of a FIFO: %s %s" % (result, error))
        log("a FIFO path over JSON: %s" % error)
        # still alive and answering
        if not str(h.prop(MANAGER_PATH, MANAGER_IFACE, "Version")):
            fail("vescd does not answer after the hostile installs")
        h.stop_vescd()
    print("PASS")


if __name__ == "__main__":
    main()
