#!/usr/bin/python3
"""Ride modes and reading limits back (DESIGN "Decisions of 2026-12" item
10) on both adapters, against vesc-sim --board dual-mismatch (A 5.03, B
3.58), the limits in force read from vesc-sim's control socket (`status`):
- mode-NAME keys of vescd.conf; Manager.SetRideMode / limits.mode apply a
  mode to both controllers: the limits it names (by value, or as a fraction
  of the configured value read by name from the MCCONF) and the configured
  value for every other limit, so a mode switch leaves nothing behind;
- RideMode / ride_mode show the active mode; it is kept in the state
  directory and read again when vescd starts;
- Controller.GetLimits / limits.get read the limits back: from the
  controller on 5.03 (source "controller"), what vescd set on 3.58
  (source "vescd");
- a controller that reboots gets the mode again;
- an unknown mode is refused (NotFound, naming the modes there are), and an
  unprivileged caller (uid 65534) may read limits but not choose a mode."""
import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbus  # noqa: E402
from vescd_harness import (CONTROLLER_IFACE, MANAGER_IFACE, MANAGER_PATH, PATH_A, PATH_B, TIMEOUT,  # noqa: E402
                           UUID_A, UUID_B, Harness, fail, log)

CONF = """# ride modes for the test
[modes]
mode-eco = current_max_scale=0.5, max_erpm_scale=0.6, watt_max_scale=0.25
mode-sport = watt_max=900, max_erpm=90000
"""

# argv: bus address, controller path; SetRideMode and GetLimits as 65534
DBUS_CLIENT = r"""
path = args[0]
calls = (("mode", lambda: manager.SetRideMode("eco", timeout=120)),
         ("get", lambda: bus.get_object("org.vescd1", path).GetLimits(dbus_interface="org.vescd1.Controller",
                                                                      timeout=120)))
"""

# argv: JSON socket, uuid; limits.mode and limits.get as 65534
JSON_CLIENT = r"""
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(60)
s.connect(sys.argv[1])
f = s.makefile("r")
f.readline()
out = []
for i, (m, p) in enumerate([("limits.mode", {"mode": "eco"}), ("limits.get", {"uuid": sys.argv[2]})]):
    s.sendall(json.dumps({"jsonrpc": "2.0", "id": i, "method": m, "params": p}).encode() + b"\n")
    while True:
        msg = json.loads(f.readline())
        if msg.get("id") == i:
            break
    out.append(m + "=" + (str(msg["error"]["code"]) if "error" in msg else "allowed"))
print(" ".join(out))
"""


def check(cond, what):
    if not cond:
        fail(what)


def online(h):
    h.wait_until(lambda: all(p in h.controllers() for p in (PATH_A, PATH_B)) and
                 all(bool(h.prop(p, CONTROLLER_IFACE, "Online")) for p in (PATH_A, PATH_B)), "controllers online")


def sim_limits(h):
    """{uuid: limits in force} from vesc-sim's status."""
    return {c["uuid"]: c["limits"] for c in h.sim_status()["controllers"]}


def configured(h, path):
    p = json.loads(str(h.bus.get_object("org.vescd1", path).GetConfig("mcconf", dbus_interface=CONTROLLER_IFACE,
                                                                       timeout=TIMEOUT)))["params"]
    return {"current_min_scale": p["l_current_min_scale"], "current_max_scale": p["l_current_max_scale"],
            "min_erpm": p["l_min_erpm"], "max_erpm": p["l_max_erpm"], "min_duty": p["l_min_duty"],
            "max_duty": p["l_max_duty"], "watt_min": p["l_watt_min"], "watt_max": p["l_watt_max"]}


def expect(h, uuid, want, what):
    got = sim_limits(h)[uuid]
    for k, v in want.items():
        if abs(got[k] - v) > max(1e-3, abs(v) * 1e-4):
            fail("%s: %s of %s is %r, expected %r (all: %s)" % (what, k, uuid, got[k], v, got))


def mode_eco(conf):
    w = dict(conf)
    w["current_max_scale"] = 0.5
    w["max_erpm"] = conf["max_erpm"] * 0.6
    w["watt_max"] = conf["watt_max"] * 0.25
    return w


def mode_sport(conf):
    w = dict(conf)
    w["watt_max"] = 900
    w["max_erpm"] = 90000
    return w


def get_limits(h, path):
    d = h.bus.get_object("org.vescd1", path).GetLimits(dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT)
    return {str(k): (float(v) if not isinstance(v, str) else str(v)) for k, v in d.items()}


def main():
    h = Harness(board="dual-mismatch")
    with open(os.path.join(h.tmp, "none.conf"), "w") as f:
        f.write(CONF)
    with h:
        online(h)
        mgr = h.manager()
        check(str(h.prop(MANAGER_PATH, MANAGER_IFACE, "RideMode")) == "", "RideMode at start")
        conf = {UUID_A: configured(h, PATH_A), UUID_B: configured(h, PATH_B)}
        log("configured limits:", conf)

        # --- D-Bus: eco on both controllers
        mgr.SetRideMode("eco", dbus_interface=MANAGER_IFACE, timeout=TIMEOUT)
        check(str(h.prop(MANAGER_PATH, MANAGER_IFACE, "RideMode")) == "eco", "RideMode after SetRideMode")
        for u in (UUID_A, UUID_B):
            expect(h, u, mode_eco(conf[u]), "eco")
        with open(os.path.join(h.tmp, "ride-mode")) as f:
            check(f.read().strip() == "eco", "the state directory keeps the mode")
        la, lb = get_limits(h, PATH_A), get_limits(h, PATH_B)
        check(la["Source"] == "controller" and abs(la["CurrentMaxScale"] - 0.5) < 1e-3 and
              abs(la["MaxErpm"] - conf[UUID_A]["max_erpm"] * 0.6) < 1, "GetLimits on A (5.03): %s" % la)
        check(lb["Source"] == "vescd" and abs(lb["WattMax"] - conf[UUID_B]["watt_max"] * 0.25) < 1 and
              "InCurrentMax" not in lb, "GetLimits on B (3.58): %s" % lb)
        log("eco applied to both (D-Bus), read back:", la["Source"], lb["Source"])

        # --- JSON: sport; what eco changed is back at the configured values
        res, err = h.json_call("limits.mode", {"mode": "sport"})
        check(err is None, "limits.mode sport: %s" % err)
        for u in (UUID_A, UUID_B):
            expect(h, u, mode_sport(conf[u]), "sport")
        res, err = h.json_call("manager.get")
        check(err is None and res["ride_mode"] == "sport", "manager.get ride_mode: %s %s" % (res, err))
        res, err = h.json_call("limits.get", {"uuid": UUID_A})
        check(err is None and res["watt_max"] == 900 and res["current_max_scale"] == 1 and
              res["source"] == "controller", "limits.get A: %s %s" % (res, err))
        res, err = h.json_call("limits.get", {"uuid": UUID_B})
        check(err is None and res["max_erpm"] == 90000 and res["source"] == "vescd", "limits.get B: %s %s" % (res, err))
        log("sport applied to both (JSON), eco's limits gone")

        # --- unknown mode: refused, nothing changes
        e = h.call_error(lambda: mgr.SetRideMode("turbo", dbus_interface=MANAGER_IFACE, timeout=TIMEOUT))
        check(e and e[0] == "org.vescd1.Error.NotFound" and "eco, sport" in e[1], "SetRideMode turbo: %r" % (e,))
        res, err = h.json_call("limits.mode", {"mode": "turbo"})
        check(err and err["code"] == 1015, "limits.mode turbo: %s" % err)
        check(str(h.prop(MANAGER_PATH, MANAGER_IFACE, "RideMode")) == "sport", "RideMode after a refusal")
        log("unknown mode refused")

        # --- a reboot: the controller starts with its configured limits; vescd applies the mode again
        boots = {c["uuid"]: c["counters"]["boots"] for c in h.sim_status()["controllers"]}
        h.bus.get_object("org.vescd1", PATH_B).Reboot(dbus_interface=CONTROLLER_IFACE, timeout=TIMEOUT)
        h.wait_until(lambda: any(c["uuid"] == UUID_B and c["counters"]["boots"] > boots[UUID_B]
                                 for c in h.sim_status()["controllers"]), "B rebooted")

        def sport_again():
            got = sim_limits(h)[UUID_B]
            return abs(got["watt_max"] - 900) < 1e-3 and abs(got["max_erpm"] - 90000) < 1e-3
        h.wait_until(sport_again, "sport applied again to B after its reboot")
        expect(h, UUID_B, mode_sport(conf[UUID_B]), "sport after the reboot")
        log("mode applied again after a reboot")

        # --- unprivileged callers
        out = h.run_calls_as(DBUS_CLIENT, PATH_A)
        if out is None:
            log("unprivileged checks skipped (not root or no setpriv)")
        else:
            check(out == "mode=org.vescd1.Error.PermissionDenied get=allowed", "unprivileged D-Bus: %s" % out)
            out = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3",
                                  "-c", JSON_CLIENT, os.path.join(h.tmp, "vescd.sock"), UUID_A],
                                 capture_output=True, text=True, timeout=TIMEOUT, check=True).stdout.strip()
            check(out == "limits.mode=1001 limits.get=allowed", "unprivileged JSON: %s" % out)
            check(str(h.prop(MANAGER_PATH, MANAGER_IFACE, "RideMode")) == "sport", "RideMode after refusals")
            log("unprivileged: reads allowed, mode refused")

        # --- vescd restarts: the mode is read from the state directory and applied
        check(h.stop_vescd() == 0, "vescd exit status")
        h.notify.close()
        for f in ("notify", "vescd.sock"):
            if os.path.exists(os.path.join(h.tmp, f)):
                os.unlink(os.path.join(h.tmp, f))
        h.start_vescd()
        h.wait_until(lambda: str(h.prop(MANAGER_PATH, MANAGER_IFACE, "RideMode")) == "sport", "RideMode after restart")
        online(h)
        log("mode kept across a vescd restart")

        # --- none: the mode is no longer applied (limits stay until changed)
        mgr = h.manager()
        mgr.SetRideMode("", dbus_interface=MANAGER_IFACE, timeout=TIMEOUT)
        check(str(h.prop(MANAGER_PATH, MANAGER_IFACE, "RideMode")) == "", "RideMode none")
        check(not os.path.exists(os.path.join(h.tmp, "ride-mode")), "no mode: the state file goes")
        check(h.stop_vescd() == 0, "vescd exit status")
    log("PASS")


if __name__ == "__main__":
    main()
