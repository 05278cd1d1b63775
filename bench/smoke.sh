#!/bin/sh
# make check smoke test of the benchmarks: run each with tiny sizes and
# check that it ran and printed its figure lines.  Timing is never judged.
# A benchmark that cannot run here (exit 77, e.g. vescd not built) is
# reported and does not fail the smoke test; if all are skipped, SKIP.
set -u

: "${top_builddir:=.}"
export top_builddir
b="$top_builddir/bench"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-smoke.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0
ran=0

# run NAME PATTERN... -- ARGS...: the output must contain every pattern
run() {
        name=$1; shift
        pats=""
        while [ "$1" != "--" ]; do pats="$pats
$1"; shift; done
        shift
        "$b/$name" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
        rc=$?
        cat "$tmp/$name.out"
        if [ $rc -eq 77 ]; then
                echo "smoke: $name skipped"
                return 0
        fi
        if [ $rc -ne 0 ]; then
                echo "smoke: FAIL: $name exited $rc"; cat "$tmp/$name.err"
                fail=1; return 0
        fi
        ran=$((ran + 1))
        echo "$pats" | while IFS= read -r p; do
                [ -n "$p" ] || continue
                grep -q -- "$p" "$tmp/$name.out" || { echo "smoke: FAIL: $name printed no '$p' line"; exit 1; }
        done || fail=1
}

run bench-ingest "wire bits mean" "instructions per status frame, model only:" \
        "instructions per status frame, whole path in vescd:" "bare reader (floor):" \
        "reader + ingest path:" "ratio ingest/bare CPU:" -- --seconds 0.06 --frames 2000 --path-frames 0
run bench-flash "part A single controller:" "part A pair (one by one):" "ratio" "part B" \
        "whole job (checking → done)" -- --size 800 --time-scale 0.1
run bench-latency "frame-to-client latency, watch = frame rate: p99 per run" "bare reader p99" \
        "p99 under 1000 us (budget) in" -- --rate 200 --frames 40 --runs 2
run bench-rss "before clients: VmRSS" "VmRSS with" "own memory (Private_Dirty" -- --clients 3 --seconds 0.3
run bench-poll "polled controller:" -- --rate 10 --seconds 0.5
run bench-hostile "get_values p99 quiet:" "get_values p99 log-flood:" -- --seconds 0.5 --only quiet,log-flood

[ $fail -eq 0 ] || exit 1
[ $ran -gt 0 ] || exit 77
exit 0
