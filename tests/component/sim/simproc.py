"""vesc-sim as a child of the Python component tests: wait for its ready
line, then stop it and say how it exited (it must exit 0 on SIGTERM).
Standard library only."""

import os
import select
import signal
import subprocess
import time


def wait_ready(proc, timeout):
    """True once proc (started with stdout=PIPE) printed "vesc-sim: ready",
    False when it did not within timeout seconds or its output ended."""
    deadline = time.monotonic() + timeout
    buf = b""
    while time.monotonic() < deadline:
        r, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            break
        chunk = os.read(proc.stdout.fileno(), 256)
        if not chunk:
            break
        buf += chunk
        if b"vesc-sim: ready\n" in buf:
            return True
    return False


def stop(proc):
    """SIGTERM, wait up to 10 s (then SIGKILL); returns the exit code."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()
