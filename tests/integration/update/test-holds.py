#!/usr/bin/python3
"""Holds, both ways, on D-Bus and on the JSON socket (DESIGN.md "Decisions of
2026-12" item 1).  vesc-sim dual-mismatch (A 5.03, B 3.58), the 5.03 test
set, a Repair that updates B.

1. Operation during a job: at every phase change of the repair B is muted
   in vesc-sim (so the phase lasts), and every controller operation on B --
   GetValues, SetLimits, Reboot, BackupConfig, RestoreConfig, CompareConfig,
   CopyConfigFrom (B the target, and B the source), a second job -- is
   refused at once with Busy whose text names the job and its phase
   ("2f00... is being updated by job 3 (writing)"), the same text on D-Bus
   and JSON (data.detail of error 1003).  Then B is unmuted and the repair
   must still end done.
(The job's side -- a job refused while a write runs, and one that waits
1 s for a backup and then fails with Busy -- is test-holds-job.py.)
"""
import base64
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbus  # noqa: E402
from update_harness import (BUS_NAME, CONTROLLER_IFACE, ERROR_PREFIX, JOB_IFACE, PROPS_IFACE,  # noqa: E402
                            UUID_A, UUID_B, UpdateHarness, fail, log)

PATH_A = "/org/vescd1/controller/" + UUID_A
PATH_B = "/org/vescd1/controller/" + UUID_B
BUSY = ERROR_PREFIX + "Busy"
BUSY_CODE = 1003
# the phases a repair of B (3.58 -> 5.03) lasts long enough in to be named
# by every probe; the short ones (backing-up, staged, committing,
# confirming...) are probed when their signal is seen in time
REQUIRED_PHASES = {"checking", "erasing", "writing", "rebooting"}


def ctl(h, path):
    return dbus.Interface(h.bus.get_object(BUS_NAME, path), CONTROLLER_IFACE)


def dbus_ops(h, mc, app):
    b, a = ctl(h, PATH_B), ctl(h, PATH_A)
    return [
        ("GetValues", lambda: b.GetValues()),
        ("SetLimits", lambda: b.SetLimits({"current_max_scale": dbus.Double(0.9)})),
        ("Reboot", lambda: b.Reboot()),
        ("BackupConfig", lambda: b.BackupConfig()),
        ("RestoreConfig", lambda: b.RestoreConfig(dbus.ByteArray(mc), dbus.ByteArray(app),
                                                  dbus.Dictionary({}, signature="sv"))),
        ("CompareConfig", lambda: b.CompareConfig(dbus.ObjectPath(PATH_A))),
        ("CopyConfigFrom", lambda: b.CopyConfigFrom(dbus.ObjectPath(PATH_A), dbus.Dictionary({}, signature="sv"))),
        ("CopyConfigFrom(source B)", lambda: a.CopyConfigFrom(dbus.ObjectPath(PATH_B),
                                                              dbus.Dictionary({}, signature="sv"))),
    ]


def json_ops(mc, app):
    return [
        ("controller.get_values", {"uuid": UUID_B}),
        ("limits.set", {"uuid": UUID_B, "current_max_scale": 0.9}),
        ("controller.reboot", {"uuid": UUID_B}),
        ("config.backup", {"uuid": UUID_B}),
        ("config.restore", {"uuid": UUID_B, "mcconf": base64.b64encode(mc).decode(),
                            "appconf": base64.b64encode(app).decode()}),
        ("config.compare", {"uuid": UUID_B, "other": UUID_A}),
        ("config.copy", {"from": UUID_A, "to": UUID_B}),
        ("config.copy(source B)", {"from": UUID_B, "to": UUID_A}),
    ]


def json_busy_detail(h, method, params):
    """The data.detail of a Busy answer, or fail."""
    result, err = h.json_call(method.split("(")[0], params)
    if not err or err.get("code") != BUSY_CODE:
        fail("JSON %s on a held controller: %s %s" % (method, result, err))
    return str((err.get("data") or {}).get("detail", ""))


def probe(h, job_no, set_id, mc, app, seen):
    """Every operation on B now: Busy naming job job_no.  Returns the
    phases the texts named."""
    pat = re.compile(r"^%s is being updated by job %d \(([a-z-]+)\)$" % (UUID_B, job_no))
    named = set()
    for name, call in dbus_ops(h, mc, app):
        e = h.call_error(call)
        if not e or e[0] != BUSY:
            fail("D-Bus %s during job %d: %s" % (name, job_no, e))
        m = pat.match(e[1])
        if not m:
            fail("D-Bus %s: Busy text %r does not name job %d and its phase" % (name, e[1], job_no))
        named.add(m.group(1))
    e = h.call_error(lambda: h.mgr("UpdateController", UUID_B, set_id, {}))
    if not e or e[0] != BUSY or not pat.match(e[1]):
        fail("a second job on B during job %d: %s" % (job_no, e))
    for method, params in json_ops(mc, app):
        detail = json_busy_detail(h, method, params)
        m = pat.match(detail)
        if not m:
            fail("JSON %s: Busy detail %r does not name job %d and its phase" % (method, detail, job_no))
        named.add(m.group(1))
    seen |= named
    return named


def part_phases(h, set_id, mc, app):
    state = {"job": None, "probed": set(), "named": set(), "error": None}

    def on_props(iface, changed, invalidated, path=None):
        if iface != JOB_IFACE or str(path) != state["job"] or state["error"]:
            return
        phase = str(changed.get("Phase", ""))
        running = str(changed.get("State", "running")) == "running"
        if not phase or not running or phase in state["probed"]:
            return
        state["probed"].add(phase)
        try:
            h.sim_control("mute B on")
            try:
                named = probe(h, int(state["job"].rsplit("/", 1)[1]), set_id, mc, app, state["named"])
            finally:
                h.sim_control("mute B off")
            log("phase %s: every operation refused with Busy (texts named %s)" % (phase, sorted(named)))
        except SystemExit as e:
            state["error"] = e

    match = h.bus.add_signal_receiver(on_props, signal_name="PropertiesChanged", dbus_interface=PROPS_IFACE,
                                      path_keyword="path", bus_name=BUS_NAME)
    job = str(h.mgr("Repair", set_id, {}))
    state["job"] = job
    log("Repair started", job)
    # the signal of the first phase may have gone out before the match
    # knew the path: probe checking now (the job is in it, or waits in it)
    if str(h.job_prop(job, "State")) == "running" and "checking" not in state["probed"]:
        on_props(JOB_IFACE, {"Phase": h.job_prop(job, "Phase")}, [], path=job)
    st, err, report = h.wait_job_end(job)
    h.bus.remove_signal_receiver(on_props, signal_name="PropertiesChanged", dbus_interface=PROPS_IFACE,
                                 path_keyword="path", bus_name=BUS_NAME)
    del match
    if state["error"]:
        raise state["error"]
    if st != "done":
        fail("the repair probed in every phase ended %s %s:\n%s" % (st, err, h.vescd_log()))
    missing = REQUIRED_PHASES - state["named"]
    if missing:
        fail("Busy texts never named phases %s (named %s, probed %s)" %
             (sorted(missing), sorted(state["named"]), sorted(state["probed"])))
    log("the repair ended done; Busy named phases %s" % sorted(state["named"]))
    # the holds are gone with the job
    ctl(h, PATH_B).GetValues()
    result, err = h.json_call("config.backup", {"uuid": UUID_B})
    if err:
        fail("config.backup after the job: %s" % err)


def main():
    with UpdateHarness(board="dual-mismatch") as h:
        h.wait_both()
        set_id = h.install_tar("vesc-5.03-test")
        mc, app = (bytes(bytearray(x)) for x in ctl(h, PATH_B).BackupConfig())
        part_phases(h, set_id, mc, app)

    print("PASS")


if __name__ == "__main__":
    main()
