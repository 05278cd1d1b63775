#!/usr/bin/python3
"""Configuration by name (DESIGN "Decisions of 2026-12" item 10) on both
adapters, against vesc-sim:
- dual-mismatch (A 5.03, B 3.58) and dual-ok (6.05): GetConfig / config.get
  decode every layout by name (layout, signature, params, raw = BackupConfig's
  blob); DiffConfig / config.diff by name (name, both values, unit), across
  layouts too;
- SetConfig on B (3.58) sets l_current_max, motor_type (by label) and
  foc_motor_r; GetConfig reads them back equal; config.set on the JSON socket
  likewise on A (5.03);
- a value outside the table's range is refused with InvalidArgument naming
  the parameter and its range, and nothing is written; an unknown name too;
- controller_id is never changed unless named; naming another device's id is
  refused naming both devices;
- the backup file (config.backup, BackupConfigFile) has format 1, uuid,
  firmware_version and both configurations; config.restore / RestoreConfigFile
  take it back;
- an unprivileged caller (uid 65534) may read and diff but SetConfig is
  PermissionDenied."""
import base64
import json
import os
import sys

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbus  # noqa: E402
from vescd_harness import (CONTROLLER_IFACE, PATH_A, PATH_B, TIMEOUT, UUID_A, UUID_B,  # noqa: E402
                           BUS_NAME, Harness, fail, log)

INVALID = "org.vescd1.Error.InvalidArgument"

# argv: bus address, path; tries GetConfig, DiffConfig, SetConfig as 65534
CLIENT = r"""
path, other = args
obj = bus.get_object("org.vescd1", path)
calls = (("get", lambda: obj.GetConfig("mcconf", dbus_interface="org.vescd1.Controller", timeout=120)),
         ("diff", lambda: obj.DiffConfig("mcconf", dbus.ObjectPath(other), dbus_interface="org.vescd1.Controller",
                                         timeout=120)),
         ("set", lambda: obj.SetConfig("mcconf", json.dumps({"l_current_max": 42}),
                                       dbus_interface="org.vescd1.Controller", timeout=120)))
"""


def check(cond, what):
    if not cond:
        fail(what)


def online(h, paths):
    h.wait_until(lambda: all(p in h.controllers() for p in paths) and
                 all(bool(h.prop(p, CONTROLLER_IFACE, "Online")) for p in paths), "controllers online")


def get_config(obj, which):
    return json.loads(str(obj.GetConfig(which, dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT)))


def check_config(cfg, which, layout, blob):
    check(cfg["layout"] == layout, "%s layout %r, expected %r" % (which, cfg["layout"], layout))
    raw = base64.b64decode(cfg["raw"])
    check(raw == blob, "%s raw differs from BackupConfig's blob" % which)
    check(cfg["signature"] == int.from_bytes(blob[:4], "big"), "%s signature %r" % (which, cfg["signature"]))
    p = cfg["params"]
    check(len(p) > 20, "%s of %s has only %d parameters" % (which, layout, len(p)))
    if which == "mcconf":
        check(isinstance(p["l_current_max"], float), "l_current_max %r" % p.get("l_current_max"))
        check(p["motor_type"] in ("BLDC", "DC", "FOC", "GPD"), "motor_type %r" % p.get("motor_type"))
        check(isinstance(p["foc_motor_r"], float), "foc_motor_r %r" % p.get("foc_motor_r"))
    else:
        check(isinstance(p["controller_id"], int), "controller_id %r" % p.get("controller_id"))


def dual_mismatch():
    with Harness(board="dual-mismatch") as h:
        online(h, (PATH_A, PATH_B))
        a = h.bus.get_object(BUS_NAME, PATH_A)
        b = h.bus.get_object(BUS_NAME, PATH_B)

        for obj, layout in ((a, "5.03"), (b, "3.58")):
            mc, app = [bytes(x) for x in obj.BackupConfig(dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT)]
            check_config(get_config(obj, "mcconf"), "mcconf", layout, mc)
            check_config(get_config(obj, "appconf"), "appconf", layout, app)
        log("GetConfig decodes 5.03 and 3.58 by name")
        check(get_config(b, "appconf")["params"]["controller_id"] == 74, "B's controller_id")

        # diff across layouts: names, both values, unit
        d = json.loads(str(a.DiffConfig("mcconf", dbus.ObjectPath(PATH_B), dbus_interface=CONTROLLER_IFACE,
                                        timeout=TIMEOUT)))
        check(d["layout_a"] == "5.03" and d["layout_b"] == "3.58" and not d["equal"], "diff header %r" % d)
        by = {e["name"]: e for e in d["differences"]}
        check(all(set(e) == {"name", "a", "b", "unit"} for e in d["differences"]), "diff entries")
        check(all(e["a"] != e["b"] for e in d["differences"]), "a difference with equal values")
        check(any(e["a"] is None for e in d["differences"]) and any(e["b"] is None for e in d["differences"]),
              "names only in one layout are listed with null on the other side")
        check("l_current_max" not in by, "l_current_max equal on both (defaults)")
        log("DiffConfig 5.03 vs 3.58:", len(d["differences"]), "differences")

        # set by name on B (3.58), read back
        want = {"l_current_max": 55.5, "motor_type": "FOC", "foc_motor_r": 0.0234}
        b.SetConfig("mcconf", json.dumps(want), dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT)
        got = get_config(b, "mcconf")["params"]
        for k, v in want.items():
            check(got[k] == v, "B %s read back %r, set %r" % (k, got[k], v))
        log("SetConfig on 3.58: read back equal")

        # range refusal, unknown name: nothing written
        err = h.call_error(lambda: b.SetConfig("mcconf", json.dumps({"foc_motor_r": 0.05, "l_current_max": 5000}),
                                               dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT))
        check(err and err[0] == INVALID and "l_current_max" in err[1] and "0 to 1000 A" in err[1],
              "range refusal: %r" % (err,))
        err = h.call_error(lambda: b.SetConfig("mcconf", json.dumps({"no_such_param": 1}),
                                               dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT))
        check(err and err[0] == INVALID and "no_such_param" in err[1], "unknown name: %r" % (err,))
        err = h.call_error(lambda: b.SetConfig("mcconf", json.dumps({"motor_type": "WARP"}),
                                               dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT))
        check(err and err[0] == INVALID and "motor_type" in err[1] and "FOC" in err[1], "bad label: %r" % (err,))
        got = get_config(b, "mcconf")["params"]
        check(got["foc_motor_r"] == 0.0234 and got["l_current_max"] == 55.5, "refused set wrote something")
        log("refusals name the parameter and its range")

        # controller_id: another device's id is refused naming both
        err = h.call_error(lambda: b.SetConfig("appconf", json.dumps({"controller_id": 12}),
                                               dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT))
        check(err and err[0] == INVALID and UUID_A in err[1] and UUID_B in err[1], "id collision: %r" % (err,))
        check(get_config(b, "appconf")["params"]["controller_id"] == 74, "B's id changed")
        # an app setting leaves the id alone
        app_before = get_config(b, "appconf")["params"]
        name = next(k for k, v in app_before.items() if isinstance(v, bool))
        b.SetConfig("appconf", json.dumps({name: not app_before[name]}), dbus_interface=CONTROLLER_IFACE,
                    timeout=TIMEOUT)
        app_after = get_config(b, "appconf")["params"]
        check(app_after[name] == (not app_before[name]) and app_after["controller_id"] == 74,
              "appconf %s set, id kept" % name)
        log("controller_id kept; collision refused")

        # JSON socket: config.get / set / diff on A (5.03)
        res, err = h.json_call("config.get", {"uuid": UUID_A, "which": "mcconf"})
        check(err is None and res["layout"] == "5.03", "config.get %r %r" % (res, err))
        res, err = h.json_call("config.set", {"uuid": UUID_A, "which": "mcconf",
                                              "params": {"l_current_max": 71.25, "motor_type": "BLDC"}})
        check(err is None and res["params"]["l_current_max"] == 71.25 and res["params"]["motor_type"] == "BLDC",
              "config.set %r %r" % (res, err))
        res, err = h.json_call("config.set", {"uuid": UUID_A, "which": "mcconf", "params": {"l_current_max": -3}})
        check(err and err["data"]["name"] == "InvalidArgument" and "l_current_max" in err["data"]["detail"] and
              "0 to 1000 A" in err["data"]["detail"], "config.set range %r" % (err,))
        res, err = h.json_call("config.set", {"uuid": UUID_A, "which": "bogus", "params": {"x": 1}})
        check(err and err["code"] == -32602, "config.set which %r" % (err,))
        res, err = h.json_call("config.diff", {"uuid": UUID_A, "other": UUID_B, "which": "mcconf"})
        check(err is None and {e["name"] for e in res["differences"]} >= {"l_current_max"}, "config.diff %r" % (err,))
        e = next(e for e in res["differences"] if e["name"] == "l_current_max")
        check(e["a"] == 71.25 and e["b"] == 55.5 and e["unit"] == "A", "diff entry %r" % e)
        log("JSON config.get/set/diff")

        # backup file, restore from it
        res, err = h.json_call("config.backup", {"uuid": UUID_B})
        check(err is None and res["format"] == 1 and res["uuid"] == UUID_B and res["firmware_version"] and
              res["mcconf"]["layout"] == "3.58" and res["appconf"]["params"]["controller_id"] == 74,
              "config.backup %r" % (err,))
        backup = res
        b.SetConfig("mcconf", json.dumps({"l_current_max": 33}), dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT)
        res, err = h.json_call("config.restore", {"uuid": UUID_B, "backup": backup})
        check(err is None, "config.restore backup %r" % (err,))
        check(get_config(b, "mcconf")["params"]["l_current_max"] == 55.5, "restored from the backup file")
        f = json.loads(str(b.BackupConfigFile(dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT)))
        check(f["format"] == 1 and f["mcconf"]["raw"] == backup["mcconf"]["raw"], "BackupConfigFile")
        b.SetConfig("mcconf", json.dumps({"l_current_max": 34}), dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT)
        b.RestoreConfigFile(json.dumps(f), dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT)
        check(get_config(b, "mcconf")["params"]["l_current_max"] == 55.5, "RestoreConfigFile")
        err = h.call_error(lambda: b.RestoreConfigFile(json.dumps({"format": 2}), dbus_interface=CONTROLLER_IFACE,
                                                       timeout=TIMEOUT))
        check(err and "format" in err[1], "RestoreConfigFile of another format: %r" % (err,))
        log("backup file format 1, restored on both adapters")

        out = h.run_calls_as(CLIENT, PATH_A, PATH_B)
        if out is None:
            log("unprivileged check skipped (not root or no setpriv)")
        else:
            check(out == "get=allowed diff=allowed set=org.vescd1.Error.PermissionDenied", "unprivileged: %s" % out)
            log("unprivileged:", out)


def dual_ok():
    with Harness(board="dual-ok") as h:
        online(h, (PATH_A, PATH_B))
        a = h.bus.get_object(BUS_NAME, PATH_A)
        b = h.bus.get_object(BUS_NAME, PATH_B)
        for which in ("mcconf", "appconf"):
            mc, app = [bytes(x) for x in a.BackupConfig(dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT)]
            check_config(get_config(a, which), which, "6.05", mc if which == "mcconf" else app)
        b.SetConfig("mcconf", json.dumps({"foc_motor_r": 0.0411}), dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT)
        d = json.loads(str(a.DiffConfig("mcconf", dbus.ObjectPath(PATH_B), dbus_interface=CONTROLLER_IFACE,
                                        timeout=TIMEOUT)))
        check(d["layout_a"] == d["layout_b"] == "6.05", "6.05 diff layouts")
        names = [e["name"] for e in d["differences"]]
        check("foc_motor_r" in names, "6.05 diff %r" % names)
        e = d["differences"][names.index("foc_motor_r")]
        check(e["b"] == 0.0411 and e["unit"] == "Ω", "6.05 diff entry %r" % e)
        d = json.loads(str(a.DiffConfig("appconf", dbus.ObjectPath(PATH_B), dbus_interface=CONTROLLER_IFACE,
                                        timeout=TIMEOUT)))
        check("controller_id" not in [e["name"] for e in d["differences"]], "controller_id is not a difference")
        log("6.05: get, set, diff by name")


def main():
    dual_mismatch()
    dual_ok()
    log("PASS")


if __name__ == "__main__":
    main()
