# Sourced (". FILE") by the SocketCAN tests that run vesc-sim and vescd
# through tests/canvm-run.sh, after they set top_srcdir: the environment
# those programs' harnesses read (top_srcdir, top_builddir, PYTHON3; set by
# the test environment, derived otherwise), and SKIP (exit 77) when either
# program is not built.
top_builddir=${top_builddir:-$top_srcdir}
PYTHON3=${PYTHON3:-/usr/bin/python3}
export top_srcdir top_builddir PYTHON3

if [ ! -x "$top_builddir/sim/vesc-sim" ] || [ ! -x "$top_builddir/daemon/vescd" ]; then
        echo "SKIP: vesc-sim or vescd not built"
        exit 77
fi
