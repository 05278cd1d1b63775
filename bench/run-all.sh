#!/bin/sh
# make bench: run every benchmark with its default sizes and print a summary
# of the figure lines.  Benchmarks never pass or fail on time; a benchmark
# that cannot run here says why (exit 77) and the others go on.
set -u

: "${top_builddir:=.}"
export top_builddir
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-run.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
status=0

for prog in "$@"; do
        name=$(basename "$prog")
        echo "=== $name"
        { "$top_builddir/$prog" 2>"$tmp/$name.err"; echo $? >"$tmp/$name.rc"; } | tee "$tmp/$name.out"
        rc=$(cat "$tmp/$name.rc")
        if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
                echo "$name: FAILED (exit $rc)"; cat "$tmp/$name.err"; status=1
        fi
done

echo
echo "=== summary ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores)"
for prog in "$@"; do
        name=$(basename "$prog")
        grep -h -e 'instructions per status frame' -e 'ratio ingest/bare' \
                -e 'part A single' -e 'part A pair' -e 'part B' \
                -e 'frame-to-client latency' -e 'VmRSS with' -e 'refused client' -e 'polled controller' -e 'get_values p99' -e '^SKIP' "$tmp/$name.out" 2>/dev/null
done
exit $status
