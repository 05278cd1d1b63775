# tools/vm: the project's VM runner (Debian's kernel under qemu, SocketCAN,
# optionally systemd as PID 1), used by the kernel CAN tests and tests/system.
dist_noinst_SCRIPTS += tools/vm/vm-run
