#!/usr/bin/python3
"""vescd on a vbus hub with vesc-sim --board dual-mismatch, watched by the
independent implementation as a third bus member, and vescd's D-Bus view
read with python3-dbus and busctl on a private dbus-daemon.

On the wire (spec §6, §8): vescd's PINGs carry one byte, its reply id (the
Manager's CanId), go one id at a time and never to 255; its buffered
requests carry the same reply id in byte 0; the replies addressed to it
reassemble cleanly (no interleaving), and at most one request whose reply
may exceed 6 bytes is outstanding on the bus at a time (DESIGN.md, request
engine).  On D-Bus: both controllers, with the ids, UUIDs, hardware names,
versions, test builds and firmware names our own FW_VERSION reads gave."""
import os
import re
import sys
import time

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vescproto as vp  # noqa: E402
from interop import (CONTROLLER_PATH, TIMEOUT, UUID_A, UUID_B, Env, check, fail, log,  # noqa: E402
                     require_programs, run, skip, wait_until)

OWN_ID = 250
BUS_NAME = "org.vescd1"
MANAGER_PATH = "/org/vescd1"
MANAGER_IFACE = "org.vescd1.Manager"
CONTROLLER_IFACE = "org.vescd1.Controller"
PROPS = "org.freedesktop.DBus.Properties"

# COMM commands whose reply always fits one short-buffer frame (<= 6 bytes)
# or that have none (§14.3, §12.4, §11); every other mode-0 request may get
# a multi-frame reply.
SHORT_REPLY = {vp.COMM_JUMP_TO_BOOTLOADER, vp.COMM_ERASE_NEW_APP, vp.COMM_WRITE_NEW_APP_DATA,
               30,   # COMM_ALIVE
               48,   # COMM_SET_MCCONF_TEMP
               49,   # COMM_SET_MCCONF_TEMP_SETUP
               73}   # COMM_ERASE_BOOTLOADER


def check_one_long_outstanding(requests, replies):
    """Replay vescd's requests and the replies to it in time order."""
    events = [(t, 0, target, mode, p) for t, target, mode, p in requests] + \
             [(t, 1, replier, mode, p) for t, replier, mode, p in replies]
    events.sort(key=lambda e: (e[0], e[1]))
    outstanding = {}   # target -> command
    worst = None
    for t, kind, who, mode, payload in events:
        if kind == 0:
            outstanding.pop(who, None)   # a newer request to the same target supersedes
            if mode == vp.MODE_PROCESS_AND_REPLY and payload[0] not in SHORT_REPLY:
                if outstanding:
                    worst = "request %d to %d while %r outstanding" % (payload[0], who, outstanding)
                outstanding[who] = payload[0]
        elif outstanding.get(who) == payload[0]:
            del outstanding[who]
    return worst


def dbus_view(address):
    try:
        import dbus
    except ImportError:
        skip("python3-dbus is not installed for %s" % sys.executable)
    bus = dbus.bus.BusConnection(address)
    try:
        mgr = bus.get_object(BUS_NAME, MANAGER_PATH)
        props = mgr.GetAll(MANAGER_IFACE, dbus_interface=PROPS)
        ctrls = {}
        for path in props["Controllers"]:
            o = bus.get_object(BUS_NAME, path)
            ctrls[str(path)] = {str(k): v for k, v in o.GetAll(CONTROLLER_IFACE, dbus_interface=PROPS).items()}
        return props, ctrls
    finally:
        bus.close()


def busctl_prop(env, path, iface, name):
    out = env.busctl("get-property", BUS_NAME, path, iface, name).strip()
    m = re.fullmatch(r'(\S+) (.*)', out)
    if not m:
        fail("busctl get-property %s: %r" % (name, out))
    sig, val = m.groups()
    if sig == "s":
        return val[1:-1] if val.startswith('"') else val
    if sig in ("y", "u", "t", "q", "i"):
        return int(val)
    if sig == "b":
        return val == "true"
    return val


def main():
    require_programs("sim/vesc-sim", "daemon/vescd")
    with Env() as env:
        address = env.start_dbus()
        c = vp.Client(vp.VbusTransport(env.start_sim("dual-mismatch")), OWN_ID)
        deadline = time.monotonic() + TIMEOUT
        while c.ping(74, 0.2) is None:
            if time.monotonic() > deadline:
                fail("no PONG from 74 after joining the hub")
        # our own reading, before vescd is on the bus
        mine = {74: c.fw_version(74), 12: c.fw_version(12)}
        c.frames = []
        c.pongs = []

        with vp.BackgroundReader(c):
            env.start_vescd("vbus:" + env.path("vbus"))
            ready_at = time.monotonic()

            def pinged():
                return {vp.frame_eid(f)[1] for f in list(c.frames)
                        if vp.frame_eid(f) and vp.frame_eid(f)[0] == vp.CAN_PACKET_PING}

            # vescd scans 0..254 on start (docs/vescd.conf.md scan-on-start)
            wait_until(lambda: set(range(255)) <= pinged(), "vescd's PINGs to every id 0..254")
            props, ctrls = None, None

            def exported():
                nonlocal props, ctrls
                props, ctrls = dbus_view(address)
                return sorted(ctrls) == sorted([CONTROLLER_PATH + UUID_A, CONTROLLER_PATH + UUID_B])
            wait_until(exported, "both controllers exported on D-Bus",
                       step=lambda left: time.sleep(min(left, 0.1)))  # re-read D-Bus, bounded
            log("vescd found both controllers %.1f s after READY" % (time.monotonic() - ready_at))
        frames = list(c.frames)

        # --- vescd on the wire
        can_id = int(props["CanId"])
        pings = [f for f in frames if vp.frame_eid(f) and vp.frame_eid(f)[0] == vp.CAN_PACKET_PING]
        log("vescd CanId %d; %d PINGs seen" % (can_id, len(pings)))
        check(can_id not in (OWN_ID, 12, 74, 255), "vescd's CanId %d is free" % can_id)
        check(all(f.can_id & vp.CAN_EFF_FLAG for f in pings), "vescd's PINGs are extended frames")
        bad = [f for f in pings if f.data != bytes([can_id])]
        check(not bad, "every PING carries one byte, vescd's reply id %d (bad: %s)"
              % (can_id, [(hex(f.can_id), f.data.hex()) for f in bad[:5]]))
        check(vp.BROADCAST_ID not in {vp.frame_eid(f)[1] for f in pings}, "vescd never PINGs 255")
        pongs_to_vescd = {f.data[0] for f in frames if vp.frame_eid(f) == (vp.CAN_PACKET_PONG, can_id)}
        check({12, 74} <= pongs_to_vescd, "the controllers' PONGs went to vescd's id")

        requests, replies, errors = vp.trace_requests(frames, can_id)
        log("vescd requests:", sorted({(t, p[0]) for _, t, _, p in requests}))
        check(requests, "vescd sent buffered requests")
        check(all(t != vp.BROADCAST_ID for _, t, _, _ in requests), "no buffered request to 255")
        check(all(m in (vp.MODE_PROCESS_AND_REPLY, vp.MODE_PROCESS_NO_REPLY) for _, _, m, _ in requests),
              "requests use mode 0 or 2")
        check(not errors, "every transfer to and from vescd reassembles (%s)" % errors[:5])
        fw_replies = {who: p for _, who, _, p in replies if p[0] == vp.COMM_FW_VERSION}
        check(sorted(fw_replies) == [12, 74], "vescd got FW_VERSION replies from 12 and 74")
        worst = check_one_long_outstanding(requests, replies)
        check(worst is None, "at most one request with a long reply outstanding (%s)" % worst)

        # --- D-Bus (python3-dbus) against our own reading
        for cid, uuid in ((12, UUID_A), (74, UUID_B)):
            p = ctrls[CONTROLLER_PATH + uuid]
            m = mine[cid]
            got = (int(p["Id"]), str(p["Uuid"]), str(p["HwName"]), str(p["FirmwareVersion"]),
                   int(p["FirmwareTestBuild"]), str(p["FirmwareName"]))
            want = (cid, m["uuid"], m["hw_name"], m["version"], m.get("test_build", 0), m.get("fw_name", ""))
            check(got == want, "D-Bus controller %s = %r (ours %r)" % (uuid, got, want))
        check(str(props["Transport"]) == "vbus:" + env.path("vbus"), "Manager.Transport")

        # --- the same through busctl
        for cid, uuid in ((12, UUID_A), (74, UUID_B)):
            path = CONTROLLER_PATH + uuid
            got = tuple(busctl_prop(env, path, CONTROLLER_IFACE, n)
                        for n in ("Id", "Uuid", "HwName", "FirmwareVersion"))
            check(got == (cid, mine[cid]["uuid"], mine[cid]["hw_name"], mine[cid]["version"]),
                  "busctl: %s = %r" % (uuid, got))
        check(busctl_prop(env, MANAGER_PATH, MANAGER_IFACE, "CanId") == can_id, "busctl: Manager CanId")
        tree = env.busctl("tree", "--list", BUS_NAME)
        check(CONTROLLER_PATH + UUID_A in tree and CONTROLLER_PATH + UUID_B in tree,
              "busctl tree lists both controller objects")

        check(env.stop_vescd() == 0, "vescd exits 0 on SIGTERM")


if __name__ == "__main__":
    run(main)
