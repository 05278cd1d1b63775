#!/usr/bin/python3
"""The web dashboard in headless Chromium (Debian's `chromium`), served by
vescd (--http-listen) on vesc-sim's dual-mismatch board while both motors
ride.  Chromium is driven over --remote-debugging-pipe (the DevTools protocol
as NUL-separated JSON on fds 3 and 4; no third-party module): the page loads,
shows both sides with their firmware versions and the mismatch banner with
the planner's actions, and its live values change between two DOM dumps.
A screenshot is kept in the build tree (tests/integration/http/dashboard.png).
Skips (77) when Chromium is missing or cannot start here."""

import base64
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "dbus"))
from vescd_harness import (TIMEOUT, UUID_A, UUID_B, Harness, builddir, fail, finish, free_port,  # noqa: E402
                           log, skip, srcdir)


class Chromium:
    """Headless Chromium with the DevTools protocol on a pipe."""

    def __init__(self, width=1280, height=1000):
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        if not exe:
            skip("chromium is not installed (apt-get install chromium)")
        self.profile = tempfile.mkdtemp(prefix="vescd-chromium.")
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        args = [exe, "--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--user-data-dir=" + self.profile, "--remote-debugging-pipe",
                "--window-size=%d,%d" % (width, height), "--hide-scrollbars", "about:blank"]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        self.log = open(os.path.join(self.profile, "chromium.log"), "w+")
        # the protocol's pipes become fds 3 (commands) and 4 (answers)
        self.pid = os.posix_spawn(exe, args, os.environ, file_actions=[
            (os.POSIX_SPAWN_DUP2, to_chrome_r, 3), (os.POSIX_SPAWN_DUP2, from_chrome_w, 4),
            (os.POSIX_SPAWN_DUP2, self.log.fileno(), 1), (os.POSIX_SPAWN_DUP2, self.log.fileno(), 2)])
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf = b""
        self.next_id = 0
        self.session = None
        try:
            targets = self.call("Target.getTargets", timeout=TIMEOUT * 3)["targetInfos"]
        except (TimeoutError, EOFError) as e:
            self.log.seek(0)
            self.close()
            skip("chromium does not start here (%s): %s" % (e, self.log.read()[-500:]))
        page = [t for t in targets if t["type"] == "page"]
        if not page:
            page_id = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        else:
            page_id = page[0]["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": page_id, "flatten": True})["sessionId"]

    def call(self, method, params=None, timeout=TIMEOUT):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if self.session and not method.startswith("Target."):
            msg["sessionId"] = self.session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self.buf:
                raw, self.buf = self.buf.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self.next_id:
                    if "error" in reply:
                        fail("DevTools %s: %r" % (method, reply["error"]))
                    return reply.get("result", {})
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer to %s" % method)
            r, _, _ = select.select([self.from_chrome], [], [], left)
            if r:
                chunk = os.read(self.from_chrome, 1 << 20)
                if not chunk:
                    raise EOFError("chromium closed the pipe")
                self.buf += chunk

    def evaluate(self, expression):
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return r.get("result", {}).get("value")

    def wait_for(self, expression, what, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while not self.evaluate(expression):
            if time.monotonic() > deadline:
                fail("the dashboard never showed %s:\n%s" % (what, self.evaluate("document.body.innerText")))
            time.sleep(0.1)

    def close(self):
        import signal
        if self.pid:
            os.kill(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while os.waitpid(self.pid, os.WNOHANG) == (0, 0):
                if time.monotonic() > deadline:
                    os.kill(self.pid, signal.SIGKILL)
                    os.waitpid(self.pid, 0)
                    break
                time.sleep(0.05)
            self.pid = None
        os.close(self.to_chrome)
        os.close(self.from_chrome)
        shutil.rmtree(self.profile, ignore_errors=True)


def side_values(dom, uuid):
    """The texts of one side's live values in a DOM dump."""
    m = re.search(r'<article class="side[^"]*" id="side-%s".*?</article>' % uuid, dom, re.S)
    if not m:
        fail("no side for %s in the DOM dump" % uuid)
    side = m.group(0)
    return {
        "gauges": re.findall(r'class="gauge-value">([^<]*)<', side),
        "readings": re.findall(r'class="value">([^<]*)<', side),
        "updated": re.findall(r'class="updated">([^<]*)<', side),
        "samples": int(re.search(r'data-samples="(\d+)"', side).group(1)),
        "firmware": re.findall(r'class="fw">([^<]*)<', side),
    }


def main():
    port = free_port()
    out_dir = os.path.join(builddir(), "tests", "integration", "http")
    os.makedirs(out_dir, exist_ok=True)
    chrome = None
    try:
        with Harness(vescd_args=["--http-listen", "127.0.0.1:%d" % port,
                                 "--http-root", os.path.join(srcdir(), "clients", "web")]) as h:
            h.wait_until(lambda: len(h.controllers()) >= 2, "both controllers", timeout=TIMEOUT * 3)
            chrome = Chromium()
            h.sim_control("ride all 'current 12 4; current 30 4; current -8 4; current 20 60'")
            chrome.call("Page.enable")
            chrome.call("Page.navigate", {"url": "http://127.0.0.1:%d/" % port})
            chrome.wait_for("document.querySelectorAll('article.side[id^=side-]').length >= 2", "both sides")
            chrome.wait_for("document.getElementById('link').textContent === 'live'", "a live event stream")
            chrome.wait_for("!document.getElementById('banner').hidden && "
                            "document.querySelectorAll('#banner-actions li').length > 0",
                            "the mismatch banner with actions")
            chrome.wait_for("[...document.querySelectorAll('article.side')].every("
                            "s => Number(s.dataset.samples) >= 5)", "telemetry on both sides")
            dom1 = chrome.evaluate("document.documentElement.outerHTML")
            one = {u: side_values(dom1, u) for u in (UUID_A, UUID_B)}
            # the next dump once B has had more samples (bounded)
            chrome.wait_for("Number(document.getElementById('side-%s').dataset.samples) >= %d"
                            % (UUID_B, one[UUID_B]["samples"] + 10), "more samples of B")
            dom2 = chrome.evaluate("document.documentElement.outerHTML")
            two = {u: side_values(dom2, u) for u in (UUID_A, UUID_B)}

            if one[UUID_A]["firmware"] != ["5.03"] or one[UUID_B]["firmware"] != ["3.58"]:
                fail("firmware versions: A %r, B %r" % (one[UUID_A]["firmware"], one[UUID_B]["firmware"]))
            if "state-mismatch" not in dom1:
                fail("the board state pill does not show the mismatch")
            for u in (UUID_A, UUID_B):
                if any(v == "–" for v in one[u]["gauges"] + one[u]["readings"][:1]):
                    fail("side %s shows no values: %r" % (u, one[u]))
            for u in (UUID_A, UUID_B):
                # 24 h local time with milliseconds ("4:06:37 AM.302" was printed once)
                if not re.fullmatch(r"last reading \d\d:\d\d:\d\d\.\d{3} · \d+ readings?", "".join(one[u]["updated"])):
                    fail("side %s: last reading shown as %r" % (u, one[u]["updated"]))
            if two[UUID_B]["updated"] == one[UUID_B]["updated"]:
                fail("B's sample time did not change between the dumps: %r" % one[UUID_B]["updated"])
            if (two[UUID_B]["gauges"], two[UUID_B]["readings"]) == (one[UUID_B]["gauges"], one[UUID_B]["readings"]):
                fail("B's live values did not change between the dumps: %r" % one[UUID_B])
            log("two DOM dumps: B %r -> %r" % (one[UUID_B]["gauges"], two[UUID_B]["gauges"]))

            shot = chrome.call("Page.captureScreenshot", {"format": "png"})["data"]
            path = os.path.join(out_dir, "dashboard.png")
            with open(path, "wb") as f:
                f.write(base64.b64decode(shot))
            log("screenshot: %s (%d bytes)" % (path, os.path.getsize(path)))
            if h.stop_vescd() != 0:
                fail("vescd did not exit 0")
            # the last values stay on screen, but the page says they are not live
            chrome.wait_for("!document.getElementById('stale').hidden && document.getElementById('stale')"
                            ".textContent.startsWith('Lost the connection to vescd at ') && "
                            "document.body.classList.contains('stale')", "the notice that vescd is gone")
            log("vescd stopped: %s" % chrome.evaluate("document.getElementById('stale').textContent"))
    finally:
        if chrome:
            chrome.close()
    finish()


if __name__ == "__main__":
    main()
