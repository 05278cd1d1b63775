#!/usr/bin/python3
"""Holds, the job's side, on D-Bus and on the JSON socket (DESIGN.md
"Decisions of 2026-12" item 1): a firmware job started while an operation
holds its controller.  vesc-sim dual-mismatch (A 5.03, B 3.58), the 5.03
test set, jobs that would update B.

B is muted in vesc-sim first, so that the operation started on it lasts
(its requests go unanswered until their timeouts).  vescd and vesc-sim run
at --time-scale 1 here: request timeouts are scaled, and at the update
tests' usual 0.1 a configuration write gives up after 200 ms -- the write
(and its hold) would be over before the job is asked for, and the job then
rightly accepted.  That, SetLimits on a 3.58 controller without all eight
base limits (refused NotSupported before it takes a hold), and
dbus-python deferring an asynchronous call on a proxy that is still
introspecting (the job's call then reaches vescd first; see ctl()) are why
these jobs looked "let through" before: vescd's holds were right.

1. A read running (BackupConfig / config.backup): the job is accepted,
   waits in `checking` for up to 1 s for the read, then ends `failed` with
   error Busy "<B> is being read (configuration backup); the update did not
   start"; nothing was erased.
2. A write running (RestoreConfig / config.restore, SetLimits / limits.set
   with all eight base limits, as 3.58 needs): the job (UpdateController /
   Repair on D-Bus, firmware.update / firmware.repair on JSON) is refused at
   once with Busy "<B> is being written (...)".
After each case B is unmuted, the operation ends (Timeout), and B is
online and unheld again (a GetValues answers).
"""
import base64
import json
import os
import socket
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbus  # noqa: E402
from update_harness import (BUS_NAME, CONTROLLER_IFACE, ERROR_PREFIX, TIMEOUT, UUID_A, UUID_B,  # noqa: E402
                            UpdateHarness, fail, finish, log)

PATH_A = "/org/vescd1/controller/" + UUID_A
PATH_B = "/org/vescd1/controller/" + UUID_B
BUSY = ERROR_PREFIX + "Busy"
BUSY_CODE = 1003
# all eight base limits: a 3.58 controller cannot report the current ones
LIMITS_358 = {"current_min_scale": 1.0, "current_max_scale": 0.9, "min_erpm": -60000.0, "max_erpm": 60000.0,
              "min_duty": 0.005, "max_duty": 0.95, "watt_min": -1500000.0, "watt_max": 1500000.0}
BACKUP_TEXT = UUID_B + " is being read (configuration backup); the update did not start"


def ctl(h, path):
    """Without introspection: dbus-python defers the calls on a proxy that
    is still introspecting, so an asynchronous call made through a fresh
    proxy could reach vescd after a later synchronous one."""
    return dbus.Interface(h.bus.get_object(BUS_NAME, path, introspect=False), CONTROLLER_IFACE)


class Pending:
    """An asynchronous D-Bus call: its reply or error once it came."""

    def __init__(self, h, name, start):
        self.name, self.done, self.error = name, False, None

        def ok(*args):
            self.done = True

        def err(e):
            self.done, self.error = True, e.get_dbus_name()
        start(reply_handler=ok, error_handler=err)

    def wait(self, h):
        h.wait_until(lambda: self.done, "the end of %s" % self.name)
        return self.error


class JsonConn:
    """One connection to vescd's JSON socket with requests in flight:
    requests on one connection are read in order, so the second starts
    after the first."""

    def __init__(self, h):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(TIMEOUT)
        self.s.connect(os.path.join(h.tmp, "vescd.sock"))
        self.buf, self.answers, self.next_id = b"", {}, 1

    def send(self, *calls):
        """Send (method, params) requests in one write; their ids."""
        ids, data = [], b""
        for method, params in calls:
            ids.append(self.next_id)
            data += (json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method,
                                 "params": params}) + "\n").encode()
            self.next_id += 1
        self.s.sendall(data)
        return ids

    def answer(self, rid):
        while rid not in self.answers:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                msg = json.loads(line)
                if "id" in msg:
                    self.answers[msg["id"]] = (msg.get("result"), msg.get("error"))
            if rid in self.answers:
                break
            chunk = self.s.recv(65536)
            if not chunk:
                fail("JSON socket closed before answer %d" % rid)
            self.buf += chunk
        return self.answers.pop(rid)

    def close(self):
        self.s.close()


def settle(h):
    """B unmuted, online and held by nobody: a GetValues answers."""
    h.sim_control("mute B off")
    h.wait_until(lambda: bool(h.prop(PATH_B, CONTROLLER_IFACE, "Online")), "B online again")
    last = [None]

    def values_ok():
        e = h.call_error(lambda: ctl(h, PATH_B).GetValues())
        last[0] = e
        return e is None
    if not h.poll_until(values_ok, TIMEOUT):
        fail("B still refuses GetValues after the operation: %s" % (last[0],))


def nothing_erased(h, before):
    now = h.sim_controller(UUID_B)
    if now["counters"]["erases"] != before["counters"]["erases"] or now["version"] != before["version"]:
        fail("B was touched by a job that should not have started: %s -> %s" % (before, now))


def check_busy_text(where, text, what):
    want = "%s is being written (%s)" % (UUID_B, what)
    if text != want:
        fail("%s: Busy text %r, expected %r" % (where, text, want))


# ------------------------------------------------------------ a read runs
def job_during_backup_dbus(h, set_id):
    before = h.sim_controller(UUID_B)
    h.sim_control("mute B on")
    backup = Pending(h, "BackupConfig", lambda **kw: ctl(h, PATH_B).BackupConfig(**kw))
    job = str(h.mgr("UpdateController", UUID_B, set_id, {}))
    log("UpdateController accepted while the backup runs:", job)
    st, err, report = h.wait_job_end(job)
    if st != "failed" or err != ("Busy", BACKUP_TEXT):
        fail("the job waiting for the backup ended %s %s, expected failed (Busy, %r):\n%s" %
             (st, err, BACKUP_TEXT, h.vescd_log()))
    log("the job ended failed with Busy naming the backup")
    e = backup.wait(h)
    log("the backup ended:", e or "ok")
    settle(h)
    nothing_erased(h, before)


def job_during_backup_json(h, set_id):
    before = h.sim_controller(UUID_B)
    h.sim_control("mute B on")
    conn = JsonConn(h)
    try:
        rb, ru = conn.send(("config.backup", {"uuid": UUID_B}),
                           ("firmware.update", {"set": set_id, "controllers": [UUID_B]}))
        res, err = conn.answer(ru)
        if err or not isinstance(res, dict) or "id" not in res:
            fail("JSON firmware.update during a backup: %s %s (expected a job waiting for the read)" % (res, err))
        job = res["id"]
        log("firmware.update accepted while the backup runs: job", job)
        path = "/org/vescd1/job/%d" % job
        h.wait_until(lambda: str(h.job_prop(path, "State")) != "running", "the end of job %d" % job)
        res, err = h.json_call("job.get", {"job": job})
        if err or res["state"] != "failed" or res["error"] != {"code": "Busy", "text": BACKUP_TEXT}:
            fail("JSON job.get of the job that waited for the backup: %s %s" % (res, err))
        log("job.get: failed with Busy naming the backup")
        res, err = conn.answer(rb)
        log("config.backup ended:", err or "ok")
    finally:
        conn.close()
    settle(h)
    nothing_erased(h, before)


# ----------------------------------------------------------- a write runs
def job_during_write_dbus(h, set_id, name, start, what):
    before = h.sim_controller(UUID_B)
    h.sim_control("mute B on")
    op = Pending(h, name, start)
    h.poll_until(lambda: op.done, 0.2)
    if op.done:
        fail("%s on muted B ended at once: %s" % (name, op.error))
    for method, args in (("UpdateController", (UUID_B, set_id, {})), ("Repair", (set_id, {}))):
        e = h.call_error(lambda: h.mgr(method, *args))
        if not e or e[0] != BUSY:
            fail("D-Bus %s while %s runs on B: %s (expected Busy)" % (method, name, e))
        check_busy_text("D-Bus %s during %s" % (method, name), e[1], what)
        log("D-Bus %s during %s: Busy %r" % (method, name, e[1]))
    e = op.wait(h)
    log("%s ended:" % name, e or "ok")
    settle(h)
    nothing_erased(h, before)


def job_during_write_json(h, set_id, method, params, what):
    before = h.sim_controller(UUID_B)
    h.sim_control("mute B on")
    conn = JsonConn(h)
    try:
        ids = conn.send((method, params),
                        ("firmware.update", {"set": set_id, "controllers": [UUID_B]}),
                        ("firmware.repair", {"set": set_id}))
        for rid, job_method in zip(ids[1:], ("firmware.update", "firmware.repair")):
            res, err = conn.answer(rid)
            if not err or err.get("code") != BUSY_CODE:
                fail("JSON %s while %s runs on B: %s %s (expected Busy)" % (job_method, method, res, err))
            check_busy_text("JSON %s during %s" % (job_method, method),
                            str((err.get("data") or {}).get("detail", "")), what)
            log("JSON %s during %s: Busy" % (job_method, method))
        res, err = conn.answer(ids[0])
        log("%s ended:" % method, err or "ok")
    finally:
        conn.close()
    settle(h)
    nothing_erased(h, before)


def main():
    # an offline timeout far above the muted spans: B stays online
    with UpdateHarness(board="dual-mismatch", time_scale="1",
                       vescd_args=["--offline-timeout-ms", "20000"]) as h:
        h.wait_both()
        set_id = h.install_tar("vesc-5.03-test")
        mc, app = (bytes(bytearray(x)) for x in ctl(h, PATH_B).BackupConfig())

        job_during_backup_dbus(h, set_id)
        job_during_backup_json(h, set_id)

        b = ctl(h, PATH_B)
        job_during_write_dbus(h, set_id, "RestoreConfig",
                              lambda **kw: b.RestoreConfig(dbus.ByteArray(mc), dbus.ByteArray(app),
                                                           dbus.Dictionary({}, signature="sv"), **kw),
                              "configuration restore")
        job_during_write_dbus(h, set_id, "SetLimits",
                              lambda **kw: b.SetLimits(
                                  dbus.Dictionary({k: dbus.Double(v) for k, v in LIMITS_358.items()}, signature="sv"),
                                  **kw),
                              "runtime limits")
        job_during_write_json(h, set_id, "config.restore",
                              {"uuid": UUID_B, "mcconf": base64.b64encode(mc).decode(),
                               "appconf": base64.b64encode(app).decode()}, "configuration restore")
        job_during_write_json(h, set_id, "limits.set", dict(LIMITS_358, uuid=UUID_B), "runtime limits")
    finish()


if __name__ == "__main__":
    main()
