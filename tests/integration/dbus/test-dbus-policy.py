#!/usr/bin/python3
"""The shipped D-Bus policy (dbus/org.vescd1.conf) as docs/dbus-api.md and
docs/firmware-update-api.md describe it, on a bus with Debian's system-bus
defaults (the harness's private bus: tests/dbus-test-config.sh):

- a user who is neither root nor in the admin group (uid/gid 65534) may
  call every method of every interface in dbus/*.xml: the bus never answers
  org.freedesktop.DBus.Error.AccessDenied, vescd answers;
- the reads documented for anyone (ListImageSets, GetHistory, GetBoard,
  Scan, GetValues, BackupConfig, CompareConfig, properties, introspection,
  GetManagedObjects) succeed for that user;
- every method the method table (daemon/core/methods.c) gives to admin or
  root is refused by vescd with org.vescd1.Error.PermissionDenied, whatever
  its arguments (the check comes before they are read);
- that user cannot own org.vescd1 (only vescd's user, root and, on the test
  bus, the test's uid can)."""
import json
import os
import sys

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vescd_harness import (BUS_NAME, CONTROLLER_IFACE, PATH_A, PATH_B, TIMEOUT, Harness,  # noqa: E402
                           builddir, fail, log, skip, srcdir)

sys.path.insert(0, os.path.join(srcdir(), "tests", "unit", "docs"))
import method_table  # noqa: E402

ANYONE = {"ListImageSets", "GetHistory", "GetBoard", "Scan", "GetValues", "BackupConfig",
          "CompareConfig"}
ADMIN = {r["member"] for r in method_table.read(srcdir()) if r["member"] and r["privilege"] != "anyone"}

# Runs as uid 65534: call every method of the interfaces in dbus/*.xml with
# arguments of the right types; print {interface.method: "ok" | error name}.
UNPRIVILEGED = r"""
import json, os, sys
import xml.etree.ElementTree as ET
import dbus
bus = dbus.bus.BusConnection(sys.argv[1])
srcdir, path_a, path_b, tar, mc, app = sys.argv[2:8]
paths = {"org.vescd1.Manager": "/org/vescd1", "org.vescd1.Controller": path_a,
         "org.vescd1.Job": "/org/vescd1/job/1"}
null = os.open("/dev/null", os.O_RDONLY)
def value(t):
    return {"s": "", "o": dbus.ObjectPath(path_b), "b": False, "a{sv}": dbus.Dictionary({}, signature="sv"),
            "ay": dbus.ByteArray(b""), "as": dbus.Array([], signature="s"), "h": dbus.types.UnixFd(null),
            "u": dbus.UInt32(0), "y": dbus.Byte(0)}[t]
# arguments vescd would accept from an admin, so that only the caller's
# credentials can make it refuse
GOOD = {"SetLimits": [dbus.Dictionary({"current_max_scale": dbus.Double(0.5)}, signature="sv")],
        "RestoreConfig": [dbus.ByteArray(bytes.fromhex(mc)), dbus.ByteArray(bytes.fromhex(app)),
                          dbus.Dictionary({}, signature="sv")],
        "InstallImageSetFromPath": [tar]}
out = {}
def call(key, path, iface, member, types, args):
    try:
        obj = bus.get_object("org.vescd1", path, introspect=False)
        obj.get_dbus_method(member, iface)(*args, signature="".join(types), timeout=20)
        out[key] = "ok"
    except dbus.exceptions.DBusException as e:
        out[key] = e.get_dbus_name()
for xml in ("org.vescd1.Manager.xml", "org.vescd1.Controller.xml", "org.vescd1.Job.xml"):
    root = ET.parse(os.path.join(srcdir, "dbus", xml)).getroot()
    for iface in root.iter("interface"):
        name = iface.get("name")
        for m in iface.iter("method"):
            types = [a.get("type") for a in m.iter("arg") if a.get("direction", "in") == "in"]
            call(name + "." + m.get("name"), paths[name], name, m.get("name"), types,
                 GOOD.get(m.get("name")) or [value(t) for t in types])
call("Properties.GetAll", "/org/vescd1", "org.freedesktop.DBus.Properties", "GetAll", ["s"],
     ["org.vescd1.Manager"])
call("Properties.GetAllController", path_a, "org.freedesktop.DBus.Properties", "GetAll", ["s"],
     ["org.vescd1.Controller"])
call("Introspectable.Introspect", path_a, "org.freedesktop.DBus.Introspectable", "Introspect", [], [])
call("ObjectManager.GetManagedObjects", "/org/vescd1", "org.freedesktop.DBus.ObjectManager",
     "GetManagedObjects", [], [])
try:
    bus.request_name("org.vescd1", dbus.bus.NAME_FLAG_DO_NOT_QUEUE)
    out["own"] = "ok"
except dbus.exceptions.DBusException as e:
    out["own"] = e.get_dbus_name()
print(json.dumps(out))
"""


def main():
    with Harness(board="dual-mismatch") as h:
        h.wait_until(lambda: sorted(h.controllers()) == sorted([PATH_A, PATH_B]), "both controllers")
        mc, app = h.bus.get_object(BUS_NAME, PATH_A).BackupConfig(dbus_interface=CONTROLLER_IFACE,
                                                                  timeout=TIMEOUT)
        tar = os.path.join(builddir(), "firmware", "imagesets", "vesc-5.03-test.tar")
        if not os.path.exists(tar):
            skip("%s is not built" % tar)
        out = h.run_as(UNPRIVILEGED, srcdir(), PATH_A, PATH_B, tar, bytes(mc).hex(), bytes(app).hex())
        if out is None:
            skip("not root or no setpriv: cannot call as uid 65534")
        res = json.loads(out)
        for key, got in sorted(res.items()):
            log("uid 65534: %-45s %s" % (key, got))
        methods = [k for k in res if k.startswith("org.vescd1.")]
        if len(ADMIN) < 10:
            fail("only %d admin methods in daemon/core/methods.c" % len(ADMIN))
        if len(methods) < len(ANYONE | ADMIN):
            fail("only %d methods found in dbus/*.xml" % len(methods))
        for key, got in res.items():
            if key != "own" and got == "org.freedesktop.DBus.Error.AccessDenied":
                fail("the bus refused %s to uid 65534: every method must reach vescd" % key)
        for key in methods:
            member, got = key.rsplit(".", 1)[1], res[key]
            if member in ANYONE and got != "ok":
                fail("%s is documented for anyone, uid 65534 got %s" % (key, got))
            if key.startswith("org.vescd1.Job.") and got == "org.freedesktop.DBus.Error.UnknownObject":
                continue  # no job object exists here: sd-bus answers before vescd
            if member in ADMIN and got != "org.vescd1.Error.PermissionDenied":
                fail("%s is admin only, uid 65534 got %s (want PermissionDenied)" % (key, got))
        for member in ANYONE | ADMIN:
            if not any(k.endswith("." + member) for k in res):
                fail("%s is documented but not in dbus/*.xml" % member)
        for key in ("Properties.GetAll", "Properties.GetAllController", "Introspectable.Introspect",
                    "ObjectManager.GetManagedObjects"):
            if res[key] != "ok":
                fail("%s for uid 65534: %s" % (key, res[key]))
        if res["own"] != "org.freedesktop.DBus.Error.AccessDenied":
            fail("uid 65534 could own org.vescd1: %s" % res["own"])
        log("every method reached vescd; reads allowed, changes PermissionDenied, name not ownable")
        h.check_sanitizer_output()
    return 0


if __name__ == "__main__":
    sys.exit(main())
