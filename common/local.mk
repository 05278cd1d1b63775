# common/: pure helpers shared by every program (CRC, wire encodings, hex
# digits, macros).
# libvesc.a is the convenience library: common/ + daemon/proto/ + the pure
# parts of firmware/ (heatshrink, upload stream, descriptors).
noinst_LIBRARIES += common/libvesc.a
common_libvesc_a_SOURCES = \
	common/macro.h \
	common/wire.h \
	common/crc.h common/crc.c \
	common/strv.h common/strv.c \
	common/hex.h common/hex.c
common_libvesc_a_CFLAGS = $(AM_CFLAGS)
