#!/usr/bin/python3
"""Log flood: 10,000 connect/close loops on the JSON socket.  Every message
a peer can trigger is rate-limited per call site (core/log.c: 10 per 10 s,
then one "suppressed K messages" line), so vescd's log (stderr, the
journal under systemd) gets a bounded number of lines however fast the
peer loops, and the daemon keeps answering a normal client meanwhile.
vescd runs at --log-level debug so that the per-connection lines
(connected, disconnecting) are eligible at all: without the rate limit
this is one line or more per loop.

Then the same on the HTTP listener (HTTP_LOOPS connect/close loops on
loopback): the normal client is still served throughout, and the listener
still answers a request afterwards."""
import http.client
import socket
import time

from hostile import (UUID_A, UUID_B, Harness, Served, fail, json_path, log, sanitizer_build, skip,
                     wait_controllers)

LOOPS = 10000
HTTP_LOOPS = 2000  # TCP: each leaves a TIME_WAIT port behind on a shared machine
# core/log.c: LOG_RATELIMIT_BURST messages per LOG_RATELIMIT_INTERVAL per call site
BURST = 10
INTERVAL_S = 10.0
# call sites a connecting and closing peer can reach (connected,
# disconnecting, refusals, accept failures, slow reader, partial line)
SITES = 6


def bound(seconds):
    """Most lines SITES rate-limited call sites may print in this long: per
    started window a burst plus one "suppressed" line, one extra window for
    the edges."""
    windows = int(seconds // INTERVAL_S) + 2
    return SITES * windows * (BURST + 1)


def main():
    if sanitizer_build():
        # 10,000 connections: a heavy test, run once in the plain build
        skip("heavy test: runs in the plain build, not again under the sanitizers")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        http_addr = probe.getsockname()
    with Harness(board="dual-mismatch",
                 vescd_args=["--log-level", "debug", "--http-listen", "%s:%d" % http_addr]) as h:
        wait_controllers(h, [UUID_A, UUID_B])
        time.sleep(1.0)
        served = Served(json_path(h), UUID_A)
        served.start()
        # connected and served before the flood starts
        deadline = time.monotonic() + 10
        while not served.latencies and served.failure is None and time.monotonic() < deadline:
            time.sleep(0.05)
        before = len(h.vescd_log().splitlines())
        t0 = time.monotonic()
        for _ in range(LOOPS):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(json_path(h))
            s.close()
        # let vescd drain its accept queue and notice every EOF
        time.sleep(1.0)
        took = time.monotonic() - t0
        lines = h.vescd_log().splitlines()[before:]
        served.stop()
        served.check("during the log flood", min_calls=5)
        allowed = bound(took)
        log("%d connect/close loops in %.1f s: %d log lines (bound %d)" % (LOOPS, took, len(lines), allowed))
        for ln in lines[:3] + lines[-3:]:
            log("  " + ln)
        if not any("JSON client" in ln for ln in lines):
            fail("no per-connection line at all: the flood did not reach vescd's log (log level?)")
        if len(lines) > allowed:
            fail("%d lines for %d loops in %.1f s, more than %d:\n%s" %
                 (len(lines), LOOPS, took, allowed, "\n".join(lines[:40])))
        # the next window: one more connection is logged, preceded by the
        # count of what the limit dropped
        time.sleep(max(0.0, t0 + INTERVAL_S + 0.5 - time.monotonic()))
        before = len(h.vescd_log().splitlines())
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(json_path(h))
        s.close()
        deadline = time.monotonic() + 5
        dropped = 0
        while time.monotonic() < deadline and not dropped:
            time.sleep(0.2)
            for ln in h.vescd_log().splitlines()[before:]:
                if "suppressed" in ln:
                    dropped += int(ln.split("suppressed ")[1].split()[0])
        # (connections refused at max-clients are logged by another site,
        # whose count shows with its next refusal)
        if dropped < 10 * BURST:
            fail("the next window's 'suppressed K messages' lines count %d dropped messages:\n%s"
                 % (dropped, "\n".join(h.vescd_log().splitlines()[before:])))
        log("then: suppressed %d messages reported" % dropped)
        # still answering, on a fresh connection too
        res, err = h.json_call("controllers.list")
        if err is not None or sorted(c["uuid"] for c in res["controllers"]) != sorted([UUID_A, UUID_B]):
            fail("after the flood: %s %s" % (res, err))

        # the HTTP listener's flood
        served = Served(json_path(h), UUID_A)
        served.start()
        deadline = time.monotonic() + 10
        while not served.latencies and served.failure is None and time.monotonic() < deadline:
            time.sleep(0.05)
        t0 = time.monotonic()
        for _ in range(HTTP_LOOPS):
            s = socket.create_connection(http_addr)
            s.close()
        time.sleep(1.0)
        served.stop()
        served.check("during the HTTP listener's flood", min_calls=5)
        log("%d HTTP connect/close loops in %.1f s" % (HTTP_LOOPS, time.monotonic() - t0))
        c = http.client.HTTPConnection(*http_addr, timeout=20)
        c.request("GET", "/api/board")
        r = c.getresponse()
        body = r.read()
        c.close()
        if r.status != 200 or b"mismatch" not in body:
            fail("HTTP after its flood: %d %r" % (r.status, body[:200]))
        if h.stop_vescd() != 0:
            fail("vescd did not exit cleanly")
    print("PASS")


if __name__ == "__main__":
    main()
