#!/usr/bin/python3
"""The D-Bus contract: dbus/org.vescd1.Manager.xml and
dbus/org.vescd1.Controller.xml must describe exactly what the running
daemon serves.  Normalised comparison: interface names, members,
signatures, argument names and directions, property access and the
EmitsChangedSignal annotation (absent = "true").

Then the method table (daemon/core/methods.c) against the running daemon:
every D-Bus method of the table is served with its arguments, and the
daemon serves no method the table does not list.

Then the field tables seen from outside: every property of the running
daemon (GetAll) appears in the JSON socket's snapshot under its snake_case
name with the same value type, and in `vescctl --json`; the JSON snapshot
has nothing else (but the object path), and nothing is nested."""
import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import dbus  # noqa: E402
from dbus.mainloop.glib import DBusGMainLoop  # noqa: E402
from gi.repository import GLib  # noqa: E402

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vescd_harness import (BUS_NAME, MANAGER_PATH, PATH_A, Harness, fail, log, srcdir)  # noqa: E402

sys.path.insert(0, os.path.join(srcdir(), "tests", "unit", "docs"))
import method_table  # noqa: E402

ANNOTATION = "org.freedesktop.DBus.Property.EmitsChangedSignal"


def normalise(root, iface_name):
    iface = None
    for i in root.iter("interface"):
        if i.get("name") == iface_name:
            iface = i
    if iface is None:
        return None
    out = set()
    for m in iface:
        if m.tag == "method":
            args = tuple((a.get("name"), a.get("type"), a.get("direction", "in")) for a in m.findall("arg"))
            out.add(("method", m.get("name"), args))
        elif m.tag == "signal":
            args = tuple((a.get("name"), a.get("type")) for a in m.findall("arg"))
            out.add(("signal", m.get("name"), args))
        elif m.tag == "property":
            emits = "true"
            for a in m.findall("annotation"):
                if a.get("name") == ANNOTATION:
                    emits = a.get("value")
            out.add(("property", m.get("name"), m.get("type"), m.get("access"), emits))
    return out


def snake(name):
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


# the JSON snapshot may leave these out while unknown (never received)
OPTIONAL = {"mcconf_signature", "appconf_signature", "erpm", "current_motor", "current_in", "duty_cycle",
            "voltage_in", "temp_fet", "temp_motor", "amp_hours", "amp_hours_charged", "watt_hours",
            "watt_hours_charged", "tachometer"}
# D-Bus members that are not the core's field tables
NOT_IN_TABLES = {"Jobs"}


def json_type_ok(sig, value):
    if sig in ("y", "u", "t", "x", "i", "n", "q"):
        return isinstance(value, int) and not isinstance(value, bool)
    if sig == "d":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if sig == "b":
        return isinstance(value, bool)
    if sig in ("s", "o"):
        return isinstance(value, str)
    if sig in ("as", "ao"):
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return False


def check_fields(h, iface, path, snapshot, types):
    props = h.bus.get_object(BUS_NAME, path).GetAll(iface, dbus_interface="org.freedesktop.DBus.Properties")
    names = set(props) - NOT_IN_TABLES
    for name in names:
        key = snake(name)
        if key not in snapshot:
            if key in OPTIONAL:
                continue
            fail("%s.%s: the JSON snapshot has no %s: %s" % (iface, name, key, sorted(snapshot)))
        if not json_type_ok(types[name], snapshot[key]):
            fail("%s.%s (%s): JSON %s = %r" % (iface, name, types[name], key, snapshot[key]))
    extra = set(snapshot) - {snake(n) for n in names} - {"path"}
    if extra:
        fail("JSON %s snapshot has fields D-Bus does not: %s" % (iface, sorted(extra)))
    nested = [k for k, v in snapshot.items() if isinstance(v, dict)]
    if nested:
        fail("JSON %s snapshot nests %s" % (iface, nested))
    log("%s: %d properties match the JSON snapshot" % (iface, len(names)))


def property_types(xml_path, iface_name):
    for i in ET.parse(xml_path).getroot().iter("interface"):
        if i.get("name") == iface_name:
            return {p.get("name"): p.get("type") for p in i.findall("property")}
    return {}


def check_tables(h):
    ctl_types = property_types(os.path.join(srcdir(), "dbus", "org.vescd1.Controller.xml"), "org.vescd1.Controller")
    mgr_types = property_types(os.path.join(srcdir(), "dbus", "org.vescd1.Manager.xml"), "org.vescd1.Manager")
    uuid = PATH_A.rsplit("/", 1)[1]
    h.wait_until(lambda: (h.json_call("controller.get", {"uuid": uuid})[0] or {}).get("erpm") is not None,
                 "telemetry of A")
    snap, err = h.json_call("controller.get", {"uuid": uuid})
    if err:
        fail("controller.get: %s" % err)
    check_fields(h, "org.vescd1.Controller", PATH_A, snap, ctl_types)
    snap, err = h.json_call("manager.get")
    if err:
        fail("manager.get: %s" % err)
    check_fields(h, "org.vescd1.Manager", MANAGER_PATH, snap, mgr_types)
    # vescctl --json: the same names as the socket
    p = subprocess.run([h.vescctl_path(), "--address", h.address, "--json", "show", uuid], capture_output=True,
                       text=True, timeout=30)
    if p.returncode != 0:
        fail("vescctl --json show: %s" % p.stderr)
    shown = json.loads(p.stdout)
    missing = {snake(n) for n in ctl_types} - set(shown)
    if missing:
        fail("vescctl --json show lacks %s" % sorted(missing))

    # the Telemetry signal: telemetry properties by name plus TimeUsec (the
    # reading's CLOCK_MONOTONIC receive time) and WallTimeUsec
    h.sim_control("ride B current 10 3")
    signals = []
    conn = dbus.bus.BusConnection(h.address, mainloop=DBusGMainLoop())
    conn.add_signal_receiver(lambda values: signals.append({str(k): v for k, v in values.items()}),
                             signal_name="Telemetry", dbus_interface="org.vescd1.Controller")
    loop = GLib.MainLoop()
    GLib.timeout_add(2000, loop.quit)
    loop.run()
    conn.close()
    now = time.monotonic_ns() // 1000
    if not signals:
        fail("no Telemetry signal in 2 s of a ride")
    tel = {n for n in ctl_types if ctl_types[n] in ("d", "x")}
    for s in signals:
        if not 0 < s.get("TimeUsec", 0) <= now or "WallTimeUsec" not in s:
            fail("Telemetry signal times: %r (now %d)" % (s, now))
        if abs(int(s["WallTimeUsec"]) - int(s["TimeUsec"]) - (time.time_ns() // 1000 - now)) > 1000000:
            fail("WallTimeUsec is not TimeUsec on the wall clock: %r" % s)
        unknown = set(s) - tel - {"TimeUsec", "WallTimeUsec"}
        if unknown:
            fail("Telemetry signal carries %s, not telemetry properties" % sorted(unknown))
    log("%d Telemetry signals carry TimeUsec/WallTimeUsec" % len(signals))


def check_method_table(live):
    """live: {interface: normalised introspection}."""
    table = method_table.read(srcdir())
    want = {}
    for r in table:
        if not r["member"]:
            continue
        args = tuple((n, t, "in") for t, n in zip(method_table.split_signature(r["in"]), r["in_names"])) + \
            tuple((n, t, "out") for t, n in zip(method_table.split_signature(r["out"]), r["out_names"]))
        want.setdefault("org.vescd1." + r["interface"], set()).add(("method", r["member"], args))
    for iface, members in live.items():
        served = {m for m in members if m[0] == "method"}
        if served != want.get(iface, set()):
            fail("%s: the daemon's methods differ from the method table\n  only served: %s\n  only in the table: %s"
                 % (iface, sorted(served - want.get(iface, set()), key=str),
                    sorted(want.get(iface, set()) - served, key=str)))
        log("%s: %d methods as the method table lists them" % (iface, len(served)))


def main():
    with Harness(board="dual-mismatch") as h:
        h.wait_until(lambda: PATH_A in h.controllers(), "controller A")
        served = {}
        for iface, path in (("org.vescd1.Manager", MANAGER_PATH), ("org.vescd1.Controller", PATH_A)):
            live_xml = h.bus.get_object(BUS_NAME, path).Introspect(dbus_interface="org.freedesktop.DBus.Introspectable")
            live = normalise(ET.fromstring(str(live_xml)), iface)
            contract = normalise(ET.parse(os.path.join(srcdir(), "dbus", iface + ".xml")).getroot(), iface)
            if live is None:
                fail("%s not served at %s" % (iface, path))
            if contract is None:
                fail("dbus/%s.xml does not describe %s" % (iface, iface))
            if live != contract:
                fail("%s differs from dbus/%s.xml\n  only in the daemon: %s\n  only in the XML: %s" %
                     (iface, iface, sorted(live - contract, key=str), sorted(contract - live, key=str)))
            log("%s matches the contract (%d members)" % (iface, len(live)))
            served[iface] = live
        check_method_table(served)
        check_tables(h)
        if h.stop_vescd() != 0:
            fail("vescd did not exit 0")
    print("PASS")


if __name__ == "__main__":
    main()
