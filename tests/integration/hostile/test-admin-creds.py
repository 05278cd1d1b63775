#!/usr/bin/python3
"""The D-Bus admin check under ProtectProc=invisible: vescd runs as an
unprivileged user (65534) in a private mount namespace whose /proc is
mounted hidepid=invisible, so it cannot see its callers' processes.  It
asks the bus (GetConnectionCredentials: UnixUserID, UnixGroupIDs) instead:
a caller whose *primary* group is the admin group is allowed, one in it as
a supplementary group too, one without it refused with PermissionDenied,
root allowed.  The call used is ForgetController of a UUID nobody has:
allowed means "no such controller", refused means PermissionDenied.
Needs root, unshare and setpriv (else skipped)."""
import grp
import os
import shutil
import stat
import subprocess

from hostile import UUID_A, UUID_B, Harness, TIMEOUT, fail, log, skip, wait_controllers

NOBODY = 65534
NO_SUCH_UUID = "000000000000000000000001"
CALL = r"""
import sys, dbus
bus = dbus.bus.BusConnection(sys.argv[1])
m = dbus.Interface(bus.get_object("org.vescd1", "/org/vescd1"), "org.vescd1.Manager")
for i in range(2):   # the second call is answered from vescd's cache
    try:
        m.ForgetController(sys.argv[2])
        print("ok")
    except dbus.exceptions.DBusException as e:
        print(e.get_dbus_name())
"""


def admin_gid():
    try:
        return grp.getgrnam("users").gr_gid
    except KeyError:
        skip("no group 'users' to use as the admin group")


class HiddenProcHarness(Harness):
    """vescd as uid/gid 65534 behind a private /proc with hidepid=invisible."""
    vescd_uid = NOBODY   # the private bus lets this uid own org.vescd1

    def vescd_path(self):
        return os.path.join(self.tmp, "vescd-hidden-proc")

    def start(self):
        real = super().vescd_path()
        if not os.access(real, os.X_OK):
            skip("%s is not built" % real)
        with open(self.vescd_path(), "w") as f:
            f.write("#!/bin/sh\n"
                    "exec unshare -m --propagation private sh -c '"
                    "mount -t proc -o hidepid=invisible proc /proc && "
                    "exec setpriv --reuid=%d --regid=%d --clear-groups \"$0\" \"$@\"' %s \"$@\"\n"
                    % (NOBODY, NOBODY, real))
        os.chmod(self.vescd_path(), 0o755)
        return super().start()

    def start_vescd(self):
        # the state dir, the JSON socket and the hub are vescd's to use
        os.chown(self.tmp, NOBODY, NOBODY)
        for name in os.listdir(self.tmp):
            p = os.path.join(self.tmp, name)
            if stat.S_ISSOCK(os.lstat(p).st_mode):
                os.chmod(p, 0o666)
        old = os.umask(0)   # the notify socket the harness binds
        try:
            super().start_vescd()
        finally:
            os.umask(old)


def run_as(h, regid, groups):
    setpriv = shutil.which("setpriv")
    grp_args = ["--groups=" + ",".join(str(g) for g in groups)] if groups else ["--clear-groups"]
    p = subprocess.run([setpriv, "--reuid=%d" % NOBODY, "--regid=%d" % regid] + grp_args +
                       ["/usr/bin/python3", "-c", CALL, h.address, NO_SUCH_UUID],
                       capture_output=True, text=True, timeout=TIMEOUT)
    if p.returncode != 0:
        fail("client failed: %s%s" % (p.stdout, p.stderr))
    return p.stdout.split()


def expect(what, got, allowed):
    for name in got:
        refused = name == "org.vescd1.Error.PermissionDenied"
        if refused == allowed:
            fail("%s: %s, expected %s" % (what, got, "allowed" if allowed else "PermissionDenied"))
    if len(got) != 2:
        fail("%s: %d answers: %s" % (what, len(got), got))
    log("%s: %s" % (what, got))


def main():
    if os.geteuid() != 0:
        skip("needs root (unshare -m, mount, setpriv)")
    for tool in ("unshare", "setpriv", "mount"):
        if not shutil.which(tool):
            skip("%s not found" % tool)
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                            "mount -t proc -o hidepid=invisible proc /proc"], capture_output=True)
    if probe.returncode != 0:
        skip("cannot mount a private /proc with hidepid=invisible: %s" % probe.stderr.decode().strip())
    gid = admin_gid()

    with HiddenProcHarness(board="dual-mismatch", vescd_args=["--admin-group", "users"]) as h:
        wait_controllers(h, [UUID_A, UUID_B])
        with open("/proc/%d/status" % h.vescd.pid) as f:
            uid_line = [ln for ln in f if ln.startswith("Uid:")][0]
        if int(uid_line.split()[1]) != NOBODY:
            fail("vescd does not run as %d: %s" % (NOBODY, uid_line))

        expect("primary group 'users'", run_as(h, gid, []), allowed=True)
        expect("supplementary group 'users'", run_as(h, NOBODY, [gid]), allowed=True)
        expect("neither", run_as(h, NOBODY, []), allowed=False)
        err = h.call_error(lambda: h.manager().ForgetController(NO_SUCH_UUID, dbus_interface="org.vescd1.Manager"))
        if err is None or err[0] == "org.vescd1.Error.PermissionDenied":
            fail("root: %s" % (err,))
        log("root: %s" % err[0])
        # callers that left are forgotten; vescd keeps answering
        expect("neither, again", run_as(h, NOBODY, []), allowed=False)
        if h.stop_vescd() != 0:
            fail("vescd did not exit cleanly:\n" + h.vescd_log()[-2000:])
    print("PASS")


if __name__ == "__main__":
    main()
