# daemon/proto: build rules (included from the top-level Makefile.am)
# The pure VESC protocol codec lives in the shared convenience library.
common_libvesc_a_SOURCES += \
	daemon/proto/vesc-can.h daemon/proto/vesc-can.c \
	daemon/proto/vesc-buffer.h daemon/proto/vesc-buffer.c \
	daemon/proto/vesc-comm.h daemon/proto/vesc-comm.c \
	daemon/proto/vesc-serial.h daemon/proto/vesc-serial.c

EXTRA_DIST += docs/protocol.md

# Fuzz targets and their corpora (owned by the proto area).
include $(srcdir)/tests/fuzz/local.mk
