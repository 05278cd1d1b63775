#!/usr/bin/python3
"""JSON socket fairness.  32 slowloris connections (a partial line, one more
byte every 5 s) are closed once their partial line is older than
client-line-timeout, so they do not lock out a 33rd client; the one that
does not fit meanwhile gets TooManyClients (1026) naming max-clients, not
the text of a held controller.  A normal client is served throughout.
Watchers that close while the controllers are silent free their slots at
once.  A non-root uid may hold max-clients-per-uid connections."""
import json
import os
import socket
import time

from hostile import (UUID_A, UUID_B, Harness, JsonConn, Served, fail, json_path, log, wait_controllers)

LINE_TIMEOUT = 4


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    return s


def first_line(s):
    buf = b""
    while b"\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            return None
        buf += chunk
    return json.loads(buf.split(b"\n", 1)[0])


def closed_by_peer(s, timeout):
    """True once vescd closed s (EOF), within timeout seconds."""
    s.settimeout(timeout)
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return True
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


PER_UID_CODE = r'''
import json, socket, sys
path = sys.argv[2]
socks, refused = [], None
for i in range(10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    line = b""
    while not line.endswith(b"\n"):
        c = s.recv(4096)
        if not c:
            break
        line += c
    msg = json.loads(line.split(b"\n")[0]) if line else {}
    if "error" in msg:
        refused = (i, msg["error"])
        break
    socks.append(s)
print(json.dumps({"held": len(socks), "refused": refused}))
'''


def main():
    with Harness(board="dual-mismatch", vescd_args=["--client-line-timeout", str(LINE_TIMEOUT)]) as h:
        wait_controllers(h, [UUID_A, UUID_B])
        path = json_path(h)
        served = Served(path, UUID_A)
        served.start()
        time.sleep(0.5)

        # --- 32 slowloris connections: 31 fit next to the normal client
        loris, refused = [], []
        for i in range(32):
            s = connect(path)
            hello = first_line(s)
            if hello and "error" in hello:
                refused.append(hello["error"])
                s.close()
                continue
            s.sendall(b'{"jsonrpc":"2.0",')
            loris.append(s)
        log("slowloris: %d held, %d refused" % (len(loris), len(refused)))
        if len(loris) != 31 or len(refused) != 1:
            fail("expected 31 slowloris connections and 1 refusal, got %d and %d" % (len(loris), len(refused)))
        err = refused[0]
        if err.get("code") != 1026 or "max-clients" not in json.dumps(err) or "holds the controller" in json.dumps(err):
            fail("refusal is not a precise TooManyClients: %s" % err)
        log("refusal: %s" % err)
        # one byte more every 2 s does not keep them alive
        t0 = time.monotonic()
        while time.monotonic() - t0 < LINE_TIMEOUT + 3:
            for s in loris:
                try:
                    s.sendall(b" ")
                except OSError:
                    pass
            time.sleep(2)
        still = [s for s in loris if not closed_by_peer(s, 0.5)]
        if still:
            fail("%d slowloris connections still open after client-line-timeout" % len(still))
        for s in loris:
            s.close()
        # a 33rd client gets in and is served
        c = JsonConn(path)
        result, error, _ = c.call("controller.get_values", {"uuid": UUID_B})
        if error is not None:
            fail("the 33rd client was not served: %s" % error)
        c.close()

        # --- watchers that close while the controllers are silent
        watchers = []
        for i in range(20):
            w = JsonConn(path)
            w.call("telemetry.watch", {"controllers": [UUID_A], "rate_hz": 0.1})
            watchers.append(w)
        for w in watchers:
            w.close()
        time.sleep(0.5)
        # all 31 other slots are free again: 31 connections fit at once
        extra = []
        for i in range(31):
            s = connect(path)
            hello = first_line(s)
            if not hello or "error" in hello:
                fail("connection %d refused after 20 watchers closed: %s" % (i + 1, hello))
            extra.append(s)
        for s in extra:
            s.close()
        log("closed watchers freed their slots")

        # --- per uid (needs root to run a client as another uid)
        out = h.run_as(PER_UID_CODE, path)
        if out is None:
            log("not root: the per-uid limit is not tried")
        else:
            r = json.loads(out)
            log("uid 65534: %s" % r)
            if r["held"] != 8 or not r["refused"] or r["refused"][1].get("code") != 1026 or \
                    "max-clients-per-uid" not in json.dumps(r["refused"][1]):
                fail("per-uid limit: %s" % r)

        served.stop()
        served.check("slowloris and closed watchers", min_calls=50)
        h.stop_vescd()
    print("PASS")


if __name__ == "__main__":
    main()
