#!/usr/bin/python3
"""The board's first verdict in vescd's log waits for the initial discovery
(daemon/core/daemon.c, "first verdict"; docs/vescd.8, LOG MESSAGES).

vesc-sim --board dual-mismatch: B (3.58, id 74) broadcasts and is
identified at once, A (5.03, id 12) is silent and found only by the
start-up PING scan.  vescd must not log "Board consistent" for B alone
before it says "Board mismatch: …": the first board line is the mismatch,
after both controllers were found, and no "Board consistent" line at all.

vesc-sim --board dual-ok: both on 6.05, both broadcasting: exactly one
"Board consistent", after both controllers were found.

vesc-sim --board dual-mismatch with member-after-s 8 (a board not
remembered yet: each side becomes a member 8 s after it was identified, B
a moment before A, both after the scan): still no "Board consistent"
before the mismatch; the first verdict waits for the candidates of the
initial discovery to become members.

The board view itself (BoardState) is published during the scan as it is
known; the log and the service's STATUS= (systemctl status) wait: STATUS=
says "Scanning the CAN bus" until the first verdict, and never
"consistent" on the mismatched board.  Each run ends when the scan is over and the
verdict is logged; vescd is then stopped so its log is complete."""
import os
import sys

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vescd_harness import (MANAGER_IFACE, MANAGER_PATH, UUID_A, UUID_B, Harness, cannot_check, fail,  # noqa: E402
                           finish, log)


def board_lines(text):
    """The board's notice lines ("Board <state>…") in log order, with their
    line numbers."""
    out = []
    for n, line in enumerate(text.splitlines()):
        i = line.find("Board ")
        if i >= 0:
            out.append((n, line[i:]))
    return out


def found_line(text, uuid):
    for n, line in enumerate(text.splitlines()):
        if uuid in line and "found:" in line:
            return n
    return None


def run(board, verdict, member_after_s="0"):
    """Start vescd on board, wait for the scan to end and verdict to be
    logged, stop vescd; returns its log."""
    with Harness(board=board, member_after_s=member_after_s) as h:
        h.wait_until(lambda: not h.prop(MANAGER_PATH, MANAGER_IFACE, "Scanning"), "the scan to end")
        if member_after_s != "0" and "a member of the board now" in h.vescd_log():
            cannot_check("member-after-s %s: a side became a member before the scan ended (a slow "
                         "machine): the wait for members was not exercised" % member_after_s)
        h.wait_until(lambda: verdict in h.vescd_log(), "'%s' in vescd's log" % verdict)
        want = verdict.split()[-1]
        h.wait_until(lambda: any(want in s for s in h.status_lines), "STATUS= with '%s'" % want)
        state = str(h.prop(MANAGER_PATH, MANAGER_IFACE, "BoardState"))
        statuses = list(h.status_lines)
        rc = h.stop_vescd()
        if rc != 0:
            fail("vescd exited with %d on SIGTERM" % rc)
        text = h.vescd_log()
    log("%s: BoardState %s; board lines: %s; STATUS= %s" % (board, state, [t for _, t in board_lines(text)],
                                                            statuses))
    check_statuses(board, want, statuses)
    return state, text


def check_statuses(board, want, statuses):
    """STATUS= before the verdict says only that vescd scans; the first
    summary is the verdict's"""
    summaries = [s for s in statuses if not s.startswith("Scanning")]
    if not summaries or want not in summaries[0]:
        fail("%s: the first STATUS= summary is not the verdict ('%s'): %s" % (board, want, statuses))
    if want != "consistent" and any("consistent" in s for s in statuses):
        fail("%s: STATUS= said 'consistent': %s" % (board, statuses))


def check_order(board, text, first_board_line):
    for name, uuid in (("A", UUID_A), ("B", UUID_B)):
        n = found_line(text, uuid)
        if n is None:
            fail("%s: no 'found:' line for %s (%s):\n%s" % (board, name, uuid, text))
        if n > first_board_line:
            fail("%s: the first board verdict (line %d) came before %s was found (line %d):\n%s"
                 % (board, first_board_line, name, n, text))


def check_mismatch(member_after_s):
    """dual-mismatch: the first verdict is the mismatch, never a consistent one"""
    state, text = run("dual-mismatch", "Board mismatch", member_after_s)
    lines = board_lines(text)
    if state != "mismatch":
        fail("dual-mismatch: BoardState %s, expected mismatch" % state)
    if any(t.startswith("Board consistent") for _, t in lines):
        fail("dual-mismatch: vescd logged 'Board consistent':\n" + text)
    if not lines or not lines[0][1].startswith("Board mismatch: "):
        fail("dual-mismatch: the first board line is not 'Board mismatch: …': %s" % lines)
    if "5.03" not in lines[0][1] or "3.58" not in lines[0][1]:
        fail("dual-mismatch: the mismatch line does not name both versions: %s" % lines[0][1])
    # the reason once with the state line, not again as a reminder
    if sum(1 for _, t in lines if t.startswith("Board mismatch")) != 1:
        fail("dual-mismatch: 'Board mismatch' logged more than once: %s" % lines)
    check_order("dual-mismatch", text, lines[0][0])


def main():
    check_mismatch("0")
    check_mismatch("8")

    # dual-ok: exactly one "Board consistent", after both were found
    state, text = run("dual-ok", "Board consistent")
    lines = board_lines(text)
    if state != "consistent":
        fail("dual-ok: BoardState %s, expected consistent" % state)
    consistent = [n for n, t in lines if t.startswith("Board consistent")]
    if len(consistent) != 1:
        fail("dual-ok: %d 'Board consistent' lines, expected one:\n%s" % (len(consistent), text))
    if lines[0][0] != consistent[0]:
        fail("dual-ok: another board line came first: %s" % lines)
    check_order("dual-ok", text, consistent[0])
    finish()


if __name__ == "__main__":
    main()
