#!/usr/bin/python3
"""vescd end to end on a private bus: vesc-sim --board dual-mismatch on a
vbus, vescd with --bus-address and NOTIFY_SOCKET.  Checks, in one run:
READY=1 and STATUS=; busctl tree; both controllers, both versions and the
mismatch through busctl and python3-dbus (properties and ObjectManager);
GetValues and GetBoard; configuration backup/restore/compare, a copy
refused across firmware versions (both adapters) and the error names; Reboot; a controller going offline and coming back (with
PropertiesChanged observed); SetLimits allowed for root and refused with
org.vescd1.Error.PermissionDenied for uid 65534; WATCHDOG=1; SIGHUP reload;
SIGTERM exits 0."""
import os
import signal
import subprocess
import sys

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbus  # noqa: E402
from vescd_harness import (BUS_NAME, CONTROLLER_IFACE, MANAGER_IFACE, MANAGER_PATH, PATH_A, PATH_B,  # noqa: E402
                           PROPS_IFACE, TIMEOUT, UUID_A, UUID_B, Harness, fail, log)

MISMATCH = "firmware 5.03 \u2260 3.58"

UNPRIVILEGED_CALL = r"""
import sys, dbus
bus = dbus.bus.BusConnection(sys.argv[1])
obj = bus.get_object("org.vescd1", sys.argv[2])
try:
    obj.SetLimits({"current_max_scale": dbus.Double(0.5)}, dbus_interface="org.vescd1.Controller")
    print("allowed")
except dbus.exceptions.DBusException as e:
    print(e.get_dbus_name())
"""


def expect_error(name, method, *args, **kwargs):
    try:
        method(*args, **kwargs)
    except dbus.exceptions.DBusException as e:
        if e.get_dbus_name() != name:
            fail("expected %s, got %s: %s" % (name, e.get_dbus_name(), e))
        return
    fail("expected %s, the call succeeded" % name)


def main():
    # WATCHDOG_USEC as systemd sets it for WatchdogSec=: WATCHDOG=1 every 0.1 s
    with Harness(board="dual-mismatch", vescd_env={"WATCHDOG_USEC": "200000"}) as h:
        h.wait_notify("WATCHDOG=1")
        # --- discovery: both controllers exported (A is found by the scan,
        # B also by its status broadcasts)
        h.wait_until(lambda: sorted(h.controllers()) == sorted([PATH_A, PATH_B]), "both controllers")
        h.wait_until(lambda: bool(h.prop(MANAGER_PATH, MANAGER_IFACE, "Mismatch")), "Mismatch true")

        # --- busctl
        tree = h.busctl("tree", BUS_NAME).stdout
        for p in (MANAGER_PATH, PATH_A, PATH_B):
            if p not in tree:
                fail("busctl tree lacks %s:\n%s" % (p, tree))
        for path, version, cid in ((PATH_A, "5.03", 12), (PATH_B, "3.58", 74)):
            out = h.busctl("get-property", BUS_NAME, path, CONTROLLER_IFACE, "FirmwareVersion").stdout.strip()
            if out != 's "%s"' % version:
                fail("busctl FirmwareVersion of %s: %s" % (path, out))
            out = h.busctl("get-property", BUS_NAME, path, CONTROLLER_IFACE, "Id").stdout.strip()
            if out != "y %d" % cid:
                fail("busctl Id of %s: %s" % (path, out))
        out = h.busctl("get-property", BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "Mismatch").stdout.strip()
        if out != "b true":
            fail("busctl Mismatch: %s" % out)
        out = h.busctl("--json=short", "get-property", BUS_NAME, MANAGER_PATH, MANAGER_IFACE,
                       "MismatchReasons").stdout
        if MISMATCH not in out:
            fail("busctl MismatchReasons: %s" % out)
        log("busctl sees both controllers and the mismatch")

        # --- python3-dbus: properties and the ObjectManager
        if str(h.prop(MANAGER_PATH, MANAGER_IFACE, "MismatchReason")) != MISMATCH:
            fail("MismatchReason is %r" % h.prop(MANAGER_PATH, MANAGER_IFACE, "MismatchReason"))
        reasons = [str(r) for r in h.prop(MANAGER_PATH, MANAGER_IFACE, "MismatchReasons")]
        if reasons[0] != MISMATCH:
            fail("MismatchReasons: %r" % reasons)
        om = h.bus.get_object(BUS_NAME, MANAGER_PATH)
        objs = om.GetManagedObjects(dbus_interface="org.freedesktop.DBus.ObjectManager")
        got = {str(p): (str(i[CONTROLLER_IFACE]["Uuid"]), str(i[CONTROLLER_IFACE]["FirmwareVersion"]))
               for p, i in objs.items() if CONTROLLER_IFACE in i}
        if got != {PATH_A: (UUID_A, "5.03"), PATH_B: (UUID_B, "3.58")}:
            fail("GetManagedObjects: %r" % got)
        board = h.manager().GetBoard(dbus_interface=MANAGER_IFACE)
        if not board["Mismatch"] or MISMATCH not in [str(x) for x in board["MismatchReasons"]]:
            fail("GetBoard: %r" % board)
        if not any("update " + UUID_B + " (id 74) from 3.58 to 5.03" in str(a) for a in board["Actions"]):
            fail("GetBoard actions: %r" % list(board["Actions"]))
        values = h.bus.get_object(BUS_NAME, PATH_A).GetValues(dbus_interface=CONTROLLER_IFACE)
        if "VoltageIn" not in values or "Fault" not in values:
            fail("GetValues: %r" % values)
        log("python3-dbus sees both controllers, versions and the mismatch")

        # STATUS= carried the board summary
        h.wait_until(lambda: any(MISMATCH in s for s in h.status_lines) or bool(h.poll_notify()),
                     "STATUS= with the mismatch")

        # --- offline and back, observed as PropertiesChanged
        seen = []

        def on_changed(iface, changed, invalidated, path=None):
            if iface == CONTROLLER_IFACE and "Online" in changed:
                seen.append((str(path), bool(changed["Online"])))
        h.bus.add_signal_receiver(on_changed, signal_name="PropertiesChanged", dbus_interface=PROPS_IFACE,
                                  bus_name=BUS_NAME, path_keyword="path")
        h.sim_control("mute B on")
        h.wait_until(lambda: (PATH_B, False) in seen, "B offline (PropertiesChanged)")
        if bool(h.prop(PATH_B, CONTROLLER_IFACE, "Online")):
            fail("B still Online after PropertiesChanged said offline")
        if not bool(h.prop(PATH_A, CONTROLLER_IFACE, "Online")):
            fail("A went offline with B")
        h.sim_control("mute B off")
        h.wait_until(lambda: (PATH_B, True) in seen, "B online again (PropertiesChanged)")
        log("B went offline and came back")

        # --- permissions: root may, uid 65534 may not
        h.bus.get_object(BUS_NAME, PATH_A).SetLimits({"current_max_scale": dbus.Double(0.8)},
                                                     dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT)
        p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            sys.executable, "-c", UNPRIVILEGED_CALL, h.address, PATH_A],
                           capture_output=True, text=True, timeout=TIMEOUT)
        if p.stdout.strip() != "org.vescd1.Error.PermissionDenied":
            fail("unprivileged SetLimits: %r %r" % (p.stdout, p.stderr))
        log("SetLimits: root allowed, uid 65534 refused with PermissionDenied")

        # --- configuration: backup, restore, refused restore, compare
        a = h.bus.get_object(BUS_NAME, PATH_A)
        b = h.bus.get_object(BUS_NAME, PATH_B)
        mc, app = a.BackupConfig(dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT)
        if len(mc) < 4 or len(app) < 4:
            fail("BackupConfig returned %d + %d bytes" % (len(mc), len(app)))
        a.RestoreConfig(mc, app, {}, dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT)
        b_mc, _ = b.BackupConfig(dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT)
        expect_error("org.vescd1.Error.SignatureMismatch", a.RestoreConfig, b_mc, dbus.Array([], signature="y"), {},
                     dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT)
        diffs = [str(d) for d in a.CompareConfig(PATH_B, dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT)]
        if not diffs or not diffs[0].startswith("motor configuration"):
            fail("CompareConfig: %r" % diffs)
        # the 3.58 side cannot report its limits: a partial SetLimits is refused
        expect_error("org.vescd1.Error.NotSupported", b.SetLimits, {"current_max_scale": dbus.Double(0.5)},
                     dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT)
        expect_error("org.freedesktop.DBus.Error.InvalidArgs", a.SetLimits, {"current_max_scale": dbus.Double(7)},
                     dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT)
        # copying across firmware versions is refused before anything is
        # written, with a precise message (5.03's layout is not 3.58's)
        e = h.call_error(lambda: a.CopyConfigFrom(PATH_B, {}, dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT))
        if not e or e[0] != "org.vescd1.Error.SignatureMismatch" or "3.58" not in e[1] or "5.03" not in e[1] or \
                UUID_B not in e[1]:
            fail("CopyConfigFrom across 3.58/5.03: %s" % (e,))
        if [bytes(x) for x in a.BackupConfig(dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT)] != \
                [bytes(mc), bytes(app)]:
            fail("a refused CopyConfigFrom changed A's configuration")
        res, err = h.json_call("config.copy", {"from": UUID_A, "to": UUID_B})
        if not err or err["code"] != 1007 or err["data"]["name"] != "SignatureMismatch" or \
                "3.58" not in err["data"].get("detail", ""):
            fail("JSON config.copy across 3.58/5.03: %s %s" % (res, err))
        expect_error("org.freedesktop.DBus.Error.InvalidArgs", a.CopyConfigFrom, PATH_A, {},
                     dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT)
        expect_error("org.vescd1.Error.NoSuchController", a.CompareConfig,
                     dbus.ObjectPath("/org/vescd1/controller/000000000000000000000000"),
                     dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT)
        # an unknown controller: NoSuchController for every method and property, as on JSON
        ghost = h.bus.get_object(BUS_NAME, "/org/vescd1/controller/000000000000000000000000")
        for member, args in (("GetValues", ()), ("Reboot", ()), ("BackupConfig", ()), ("SetLimits", ({"store": False},)),
                             ("RestoreConfig", (b"\0" * 8, b"", {})), ("CompareConfig", (PATH_A,)),
                             ("CopyConfigFrom", (PATH_A, {}))):
            expect_error("org.vescd1.Error.NoSuchController", ghost.get_dbus_method(member, CONTROLLER_IFACE), *args,
                         timeout=TIMEOUT)
        expect_error("org.vescd1.Error.NoSuchController", ghost.Get, CONTROLLER_IFACE, "Online",
                     dbus_interface="org.freedesktop.DBus.Properties", timeout=TIMEOUT)
        res, err = h.json_call("controller.get_values", {"uuid": "000000000000000000000000"})
        if not err or err["data"]["name"] != "NoSuchController":
            fail("JSON controller.get_values of an unknown controller: %s %s" % (res, err))
        log("configuration backup/restore/compare and error names")

        # --- a reboot keeps the object (found again by UUID)
        b.Reboot(dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT)
        h.wait_until(lambda: PATH_B in h.controllers() and bool(h.prop(PATH_B, CONTROLLER_IFACE, "Online")),
                     "B online after Reboot")

        # --- vescctl status shows the board first
        p = subprocess.run([h.vescctl_path(), "--address", h.address, "status"], capture_output=True, text=True,
                           timeout=TIMEOUT)
        if p.returncode != 0 or not p.stdout.startswith("Board: 2 controllers, MISMATCH") or MISMATCH not in p.stdout:
            fail("vescctl status:\n%s%s" % (p.stdout, p.stderr))

        # --- SIGHUP: reload, keep running
        h.vescd.send_signal(signal.SIGHUP)
        h.wait_notify("RELOADING=1")
        h.wait_notify("READY=1")
        if h.vescd.poll() is not None:
            fail("vescd exited on SIGHUP")
        if len(h.controllers()) != 2:
            fail("controllers lost on reload")
        log("SIGHUP reloaded, watchdog pinged")

        # --- clean exit
        rc = h.stop_vescd()
        if rc != 0:
            fail("vescd exited %d on SIGTERM:\n%s" % (rc, h.vescd_log()))
        log("SIGTERM: exit 0")
    print("PASS")


if __name__ == "__main__":
    main()
