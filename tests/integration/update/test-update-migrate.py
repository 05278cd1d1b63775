#!/usr/bin/python3
"""Configuration carried across layouts inside update jobs (DESIGN
"Decisions of 2026-12" item 10):
- dual-mismatch: distinctive motor parameters are set by name on B (3.58
  layout), Repair to 5.03; afterwards they read back by name on B equal; the
  job report lists carried/dropped/defaulted names of the motor part (3.58 ->
  5.03) and its redo no longer asks for motor detection; B keeps CAN id 74;
- dual-old-bootloader: the same for 5.03 -> 6.05 with UpdatePair on both
  sides (B's parameters set by name on the JSON socket);
- MigrateConfig false: the motor configuration is left at the new
  defaults and the redo says so."""
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from update_harness import (CONTROLLER_IFACE, UUID_A, UUID_B, UpdateHarness, fail, imageset, log)  # noqa: E402
import dbus  # noqa: E402

PATH_A = "/org/vescd1/controller/" + UUID_A
PATH_B = "/org/vescd1/controller/" + UUID_B
WANT = {"l_current_max": 47.5, "motor_type": "FOC", "foc_motor_r": 0.0271, "l_current_min": -41.0}


def get(h, path, which="mcconf"):
    obj = h.bus.get_object("org.vescd1", path)
    return json.loads(str(obj.GetConfig(which, dbus_interface=CONTROLLER_IFACE, timeout=120)))


def set_b(h, params):
    obj = h.bus.get_object("org.vescd1", PATH_B)
    obj.SetConfig("mcconf", json.dumps(params), dbus_interface=CONTROLLER_IFACE, timeout=120)


def side(report, uuid):
    for s in report["sides"]:
        if s["uuid"] == uuid:
            return s
    fail("no side %s in the report %s" % (uuid, report))


def wait_online(h, path):
    h.wait_until(lambda: path in h.controllers() and bool(h.prop(path, CONTROLLER_IFACE, "Online")),
                 "%s online" % path)


def check_carried(h, report, frm, to):
    s = side(report, UUID_B)
    m = s.get("migration", {}).get("mcconf")
    if not m or m["from"] != frm or m["to"] != to:
        fail("report lacks the motor migration %s -> %s: %s" % (frm, to, s))
    for k in WANT:
        if k not in m["carried"]:
            fail("%s not listed as carried: %s" % (k, m))
    if "controller_id" in m["carried"]:
        fail("controller_id listed as carried")
    if not m["defaulted"] and not m["dropped"]:
        fail("nothing dropped or defaulted between %s and %s: %s" % (frm, to, m))
    if "motor detection" in s["redo"]:
        fail("redo still asks for motor detection: %s" % s["redo"])
    wait_online(h, PATH_B)
    cfg = get(h, PATH_B)
    if cfg["layout"] != to:
        fail("B's layout is %s, expected %s" % (cfg["layout"], to))
    for k, v in WANT.items():
        if cfg["params"][k] != v:
            fail("B's %s is %r after the update, %r before" % (k, cfg["params"][k], v))
    log("%s -> %s: %d carried, %d dropped, %d defaulted; %s read back equal" %
        (frm, to, len(m["carried"]), len(m["dropped"]), len(m["defaulted"]), ", ".join(WANT)))


def seed_repair():
    tar503 = imageset("vesc-5.03-test") + ".tar"
    with UpdateHarness(board="dual-mismatch") as h:
        h.wait_both()
        wait_online(h, PATH_B)
        set_b(h, WANT)
        if any(get(h, PATH_B)["params"][k] != v for k, v in WANT.items()):
            fail("SetConfig on 3.58 did not take")
        set_id = h.install(tar503)
        job = str(h.mgr("Repair", set_id, {}))
        state, err, report = h.wait_job_end(job)
        if state != "done":
            fail("repair ended %s %s\n%s" % (state, err, h.vescd_log()))
        check_carried(h, report, "3.58", "5.03")
        if int(h.prop(PATH_B, CONTROLLER_IFACE, "Id")) != 74:
            fail("B is not at id 74")


def old_bootloader():
    tar605 = imageset("vesc-6.05-test") + ".tar"
    with UpdateHarness(board="dual-old-bootloader") as h:
        h.wait_both()
        wait_online(h, PATH_B)
        res, err = h.json_call("config.set", {"uuid": UUID_B, "which": "mcconf", "params": WANT})
        if err:
            fail("config.set on 5.03: %s" % err)
        set_id = h.install(tar605)
        h.wait_online()
        job = str(h.mgr("UpdatePair", set_id, {}))
        state, err, report = h.wait_job_end(job)
        if state != "done":
            fail("pair update ended %s %s\n%s" % (state, err, h.vescd_log()))
        check_carried(h, report, "5.03", "6.05")


def no_migration():
    tar503 = imageset("vesc-5.03-test") + ".tar"
    with UpdateHarness(board="dual-mismatch") as h:
        h.wait_both()
        wait_online(h, PATH_B)
        set_b(h, {"l_current_max": 47.5})
        set_id = h.install(tar503)
        job = str(h.mgr("Repair", set_id, {"MigrateConfig": dbus.Boolean(False)}))
        state, err, report = h.wait_job_end(job)
        if state != "done":
            fail("repair ended %s %s" % (state, err))
        s = side(report, UUID_B)
        if s.get("migration") or "motor detection" not in s["redo"]:
            fail("MigrateConfig false still migrated: %s" % s)
        wait_online(h, PATH_B)
        if get(h, PATH_B)["params"]["l_current_max"] == 47.5:
            fail("l_current_max carried although MigrateConfig is false")
        log("MigrateConfig false: defaults, redo says so")


def main():
    seed_repair()
    old_bootloader()
    no_migration()
    log("PASS")


if __name__ == "__main__":
    main()
