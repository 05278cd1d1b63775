# tests/system: the system tier (scripts/test-system boots one VM with systemd
# as PID 1, installs the .debs and runs system-check.sh there).  Run once by
# scripts/test, not by make check (it needs the packages and a VM boot).
dist_noinst_SCRIPTS += tests/system/system-check.sh
