#!/usr/bin/python3
"""The D-Bus contract: dbus/org.vescd1.Manager.xml and
dbus/org.vescd1.Controller.xml must describe exactly what the running
daemon serves.  Normalised comparison: interface names, members,
signatures, argument names and directions, property access and the
EmitsChangedSignal annotation (absent = "true")."""
import os
import sys
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vescd_harness import (BUS_NAME, MANAGER_PATH, PATH_A, Harness, fail, log, srcdir)  # noqa: E402

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


def main():
    with Harness(board="dual-mismatch") as h:
        h.wait_until(lambda: PATH_A in h.controllers(), "controller A")
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
        if h.stop_vescd() != 0:
            fail("vescd did not exit 0")
    print("PASS")


if __name__ == "__main__":
    main()
