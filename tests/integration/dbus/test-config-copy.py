#!/usr/bin/python3
"""Configuration copy and the admin group, on vesc-sim --board dual-ok
(both sides 6.05) with vescd --admin-group set to an existing system group:
- A's motor configuration is changed (RestoreConfig of a modified backup),
  so CompareConfig sees a difference;
- a caller that is neither root nor in the admin group (uid/gid 65534, no
  supplementary groups) is refused CopyConfigFrom on D-Bus and limits.set
  on the JSON socket with PermissionDenied;
- a member of the admin group who is not root (uid/gid 65534 with the
  group as supplementary group) may: CopyConfigFrom copies A's
  configuration to B over D-Bus and limits.set succeeds on the JSON socket;
- afterwards the two configurations compare equal, B keeps its own CAN id
  (74, also in its APPCONF) and holds A's motor configuration byte for byte;
- the JSON config.copy copies the other way (A's original back to B);
- KeepCanId (default true; JSON keep_can_id): RestoreConfig of A's whole
  backup onto B keeps B at 74 (APPCONF and Id); with KeepCanId false the
  backup's id 12 (A's) is refused with InvalidArgument naming both
  controllers, nothing written, on D-Bus and JSON (config.restore and
  config.copy alike); a free id (30) is written: B answers from there and
  is followed by UUID, never shown offline, and moved back to 74 by JSON."""
import base64
import grp
import os
import sys
import time

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbus  # noqa: E402
from vescd_harness import (CONTROLLER_IFACE, PATH_A, PATH_B, TIMEOUT, UUID_A, UUID_B,  # noqa: E402
                           BUS_NAME, Harness, cannot_check, fail, finish, log)

# argv: bus address, source path, target path, JSON socket, uuid
CLIENT = r"""
import json, socket, sys, dbus
address, source, target, sock, uuid = sys.argv[1:6]
out = []
bus = dbus.bus.BusConnection(address)
try:
    bus.get_object("org.vescd1", target).CopyConfigFrom(dbus.ObjectPath(source), {},
                                                        dbus_interface="org.vescd1.Controller", timeout=120)
    out.append("dbus=allowed")
except dbus.exceptions.DBusException as e:
    out.append("dbus=" + e.get_dbus_name())
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(120)
s.connect(sock)
f = s.makefile("r")
req = {"jsonrpc": "2.0", "id": 1, "method": "limits.set", "params": {"uuid": uuid, "current_max_scale": 0.9}}
s.sendall((json.dumps(req) + "\n").encode())
for line in f:
    m = json.loads(line)
    if m.get("id") == 1:
        out.append("json=" + ("allowed" if "result" in m else m["error"]["data"]["name"]))
        break
print(" ".join(out))
"""


def admin_group():
    """An existing group that is neither root's nor 65534's."""
    for name in ("users", "adm", "daemon"):
        try:
            g = grp.getgrnam(name)
        except KeyError:
            continue
        if g.gr_gid not in (0, 65534):
            return g.gr_name, g.gr_gid
    for g in grp.getgrall():
        if g.gr_gid not in (0, 65534):
            return g.gr_name, g.gr_gid
    return None, None


def main():
    group, gid = admin_group()
    args = ["--admin-group", group] if group else []
    with Harness(board="dual-ok", vescd_args=args) as h:
        h.wait_until(lambda: sorted(h.controllers()) == sorted([PATH_A, PATH_B]) and
                     all(bool(h.prop(p, CONTROLLER_IFACE, "Online")) for p in (PATH_A, PATH_B)),
                     "both controllers online")
        a = h.bus.get_object(BUS_NAME, PATH_A)
        b = h.bus.get_object(BUS_NAME, PATH_B)

        def backup(obj):
            return [bytes(x) for x in obj.BackupConfig(dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT)]

        mc_orig, _ = backup(a)
        mc_new = mc_orig[:-1] + bytes([mc_orig[-1] ^ 0x5A])
        a.RestoreConfig(dbus.ByteArray(mc_new), dbus.ByteArray(b""), {}, dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT)
        diffs = [str(d) for d in b.CompareConfig(PATH_A, dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT)]
        if diffs != ["motor configuration differs in 1 byte (first at offset %d)" % (len(mc_new) - 1)]:
            fail("CompareConfig after changing A: %r" % diffs)
        sock = os.path.join(h.tmp, "vescd.sock")

        # --- permissions: a non-member is refused on both adapters
        out = h.run_as(CLIENT, PATH_A, PATH_B, sock, UUID_A)
        if out is None:
            cannot_check("not root or no setpriv: the admin-group checks (copying as root instead)")
            b.CopyConfigFrom(PATH_A, {}, dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT)
        else:
            if out != "dbus=org.vescd1.Error.PermissionDenied json=PermissionDenied":
                fail("non-member: %r" % out)
            log("uid 65534 outside group %s refused on D-Bus and JSON" % group)
            if backup(b)[0] == mc_new:
                fail("a refused copy changed B")
            if not group:
                fail("no system group to use as the admin group")
            # --- a member of the admin group who is not root may
            out = h.run_as(CLIENT, PATH_A, PATH_B, sock, UUID_A, groups=[gid])
            if out != "dbus=allowed json=allowed":
                fail("admin-group member: %r\n%s" % (out, h.vescd_log()))
            log("uid 65534 in group %s (gid %d) allowed on D-Bus and JSON" % (group, gid))

        # --- the copy: equal configurations, B keeps its CAN id
        diffs = [str(d) for d in b.CompareConfig(PATH_A, dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT)]
        if diffs:
            fail("CompareConfig after CopyConfigFrom: %r" % diffs)
        b_mc, b_app = backup(b)
        if b_mc != mc_new:
            fail("B's motor configuration is not A's")
        if b_app[4] != 74 or int(h.prop(PATH_B, CONTROLLER_IFACE, "Id")) != 74:
            fail("B's CAN id changed: APPCONF %d, Id %d" % (b_app[4], int(h.prop(PATH_B, CONTROLLER_IFACE, "Id"))))
        if int(h.prop(PATH_A, CONTROLLER_IFACE, "Id")) != 12:
            fail("A's CAN id changed")
        log("CopyConfigFrom: B holds A's configuration, keeps id 74")

        # --- JSON config.copy: A's original configuration back, then to B
        a.RestoreConfig(dbus.ByteArray(mc_orig), dbus.ByteArray(b""), {}, dbus_interface=CONTROLLER_IFACE,
                        timeout=TIMEOUT)
        res, err = h.json_call("config.copy", {"from": UUID_A, "to": UUID_B})
        if err or res != {}:
            fail("JSON config.copy: %s %s" % (res, err))
        if backup(b)[0] != mc_orig:
            fail("JSON config.copy did not copy A's motor configuration to B")
        res, err = h.json_call("config.copy", {"from": UUID_A, "to": "000000000000000000000000"})
        if not err or err["data"]["name"] != "NoSuchController":
            fail("JSON config.copy to an unknown controller: %s %s" % (res, err))
        res, err = h.json_call("config.copy", {"from": UUID_A, "to": UUID_A})
        if not err or err["data"]["name"] != "InvalidArgument":
            fail("JSON config.copy onto itself: %s %s" % (res, err))
        log("JSON config.copy")

        # --- KeepCanId: A's backup restored onto B keeps B's id by default
        a_mc, a_app = backup(a)
        offline_seen = []

        def on_changed(iface, changed, invalidated, path=None):
            if path == PATH_B and "Online" in changed and not bool(changed["Online"]):
                offline_seen.append(True)
        h.bus.add_signal_receiver(on_changed, "PropertiesChanged", "org.freedesktop.DBus.Properties",
                                  path_keyword="path")
        b.RestoreConfig(dbus.ByteArray(a_mc), dbus.ByteArray(a_app), {}, dbus_interface=CONTROLLER_IFACE,
                        timeout=TIMEOUT)
        b_mc, b_app = backup(b)
        if b_mc != a_mc or b_app[4] != 74 or int(h.prop(PATH_B, CONTROLLER_IFACE, "Id")) != 74 or \
                int(h.prop(PATH_A, CONTROLLER_IFACE, "Id")) != 12:
            fail("RestoreConfig of A's backup onto B: APPCONF id %d, Id %d/%d" %
                 (b_app[4], int(h.prop(PATH_B, CONTROLLER_IFACE, "Id")), int(h.prop(PATH_A, CONTROLLER_IFACE, "Id"))))
        log("RestoreConfig of A's backup onto B keeps B's id 74")

        # an explicit id another device uses: refused, naming both
        e = h.call_error(lambda: b.RestoreConfig(dbus.ByteArray(a_mc), dbus.ByteArray(a_app),
                                                 {"KeepCanId": dbus.Boolean(False)},
                                                 dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT))
        if not e or e[0] != "org.vescd1.Error.InvalidArgument" or UUID_A not in e[1] or UUID_B not in e[1] or \
                "12" not in e[1]:
            fail("RestoreConfig KeepCanId=false onto an id in use: %s" % (e,))
        res, err = h.json_call("config.restore", {"uuid": UUID_B, "mcconf": base64.b64encode(a_mc).decode(),
                                                  "appconf": base64.b64encode(a_app).decode(), "keep_can_id": False})
        if not err or err["data"]["name"] != "InvalidArgument" or UUID_A not in err["data"].get("detail", "") or \
                UUID_B not in err["data"].get("detail", ""):
            fail("JSON config.restore keep_can_id=false onto an id in use: %s %s" % (res, err))
        res, err = h.json_call("config.copy", {"from": UUID_A, "to": UUID_B, "keep_can_id": False})
        if not err or err["data"]["name"] != "InvalidArgument" or UUID_A not in err["data"].get("detail", ""):
            fail("JSON config.copy keep_can_id=false: %s %s" % (res, err))
        e = h.call_error(lambda: b.CopyConfigFrom(PATH_A, {"KeepCanId": dbus.Boolean(False)},
                                                  dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT))
        if not e or e[0] != "org.vescd1.Error.InvalidArgument" or UUID_A not in e[1]:
            fail("CopyConfigFrom KeepCanId=false: %s" % (e,))
        if int(h.prop(PATH_B, CONTROLLER_IFACE, "Id")) != 74 or backup(b)[1][4] != 74:
            fail("a refused restore moved B")
        log("KeepCanId=false onto A's id refused with InvalidArgument naming both (D-Bus, JSON)")

        # an explicit free id: B moves there and is followed by UUID
        moved = bytearray(a_app)
        moved[4] = 30
        b.RestoreConfig(dbus.ByteArray(b""), dbus.ByteArray(bytes(moved)), {"KeepCanId": dbus.Boolean(False)},
                        dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT)
        if int(h.prop(PATH_B, CONTROLLER_IFACE, "Id")) != 30 or not bool(h.prop(PATH_B, CONTROLLER_IFACE, "Online")):
            fail("B after moving to id 30: Id %d, Online %s" % (int(h.prop(PATH_B, CONTROLLER_IFACE, "Id")),
                                                               h.prop(PATH_B, CONTROLLER_IFACE, "Online")))
        if backup(b)[1][4] != 30:
            fail("B's APPCONF after moving to 30")
        moved[4] = 74
        res, err = h.json_call("config.restore", {"uuid": UUID_B, "appconf": base64.b64encode(bytes(moved)).decode(),
                                                  "keep_can_id": False})
        if err or int(h.prop(PATH_B, CONTROLLER_IFACE, "Id")) != 74:
            fail("JSON config.restore back to 74: %s %s, Id %d" % (res, err, int(h.prop(PATH_B, CONTROLLER_IFACE, "Id"))))
        t0 = time.monotonic()  # let queued PropertiesChanged signals arrive
        h.wait_until(lambda: time.monotonic() > t0 + 0.5, "signals dispatched")
        if offline_seen:
            fail("B was shown offline while its id changed")
        if sorted(h.controllers()) != sorted([PATH_A, PATH_B]):
            fail("controllers after the moves: %r" % h.controllers())
        log("KeepCanId=false to a free id: B followed to 30 and back to 74, never offline")

        if h.stop_vescd() != 0:
            fail("vescd did not exit 0")
    finish()


if __name__ == "__main__":
    main()
