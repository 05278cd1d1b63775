# tests/fuzz: fuzz targets for the protocol codec (included from
# daemon/proto/local.mk).  `make check` replays each target over its
# committed corpus through fuzz-replay.c; with --enable-fuzzing (CC=clang)
# the same targets are also built as real libFuzzer binaries, e.g.
#   tests/fuzz/fuzz-reassembler -max_total_time=60 $(srcdir)/tests/fuzz/corpus/fuzz-reassembler
# How to add a target for another parser: see the comment at the top of
# tests/fuzz/fuzz-replay.c.

include $(srcdir)/tests/fuzz/corpus.mk

EXTRA_DIST += $(FUZZ_CORPUS)
noinst_HEADERS += tests/fuzz/fuzz.h

FUZZ_REPLAY = \
	tests/fuzz/fuzz-can-replay \
	tests/fuzz/fuzz-comm-replay \
	tests/fuzz/fuzz-reassembler-replay \
	tests/fuzz/fuzz-serial-replay
check_PROGRAMS += $(FUZZ_REPLAY)
TESTS += $(FUZZ_REPLAY)

tests_fuzz_fuzz_can_replay_SOURCES = tests/fuzz/fuzz-can.c tests/fuzz/fuzz-replay.c
tests_fuzz_fuzz_can_replay_LDADD = common/libvesc.a
tests_fuzz_fuzz_comm_replay_SOURCES = tests/fuzz/fuzz-comm.c tests/fuzz/fuzz-replay.c
tests_fuzz_fuzz_comm_replay_LDADD = common/libvesc.a
tests_fuzz_fuzz_reassembler_replay_SOURCES = tests/fuzz/fuzz-reassembler.c tests/fuzz/fuzz-replay.c
tests_fuzz_fuzz_reassembler_replay_LDADD = common/libvesc.a
tests_fuzz_fuzz_serial_replay_SOURCES = tests/fuzz/fuzz-serial.c tests/fuzz/fuzz-replay.c
tests_fuzz_fuzz_serial_replay_LDADD = common/libvesc.a

# The corpus generator: `make fuzz-corpus` rewrites tests/fuzz/corpus/ and
# tests/fuzz/corpus.mk in the source tree from the codec's encoders.
noinst_PROGRAMS += tests/fuzz/gen-corpus
tests_fuzz_gen_corpus_SOURCES = tests/fuzz/gen-corpus.c
tests_fuzz_gen_corpus_LDADD = common/libvesc.a

.PHONY: fuzz-corpus
fuzz-corpus: tests/fuzz/gen-corpus$(EXEEXT)
	$(AM_V_GEN)tests/fuzz/gen-corpus$(EXEEXT) $(srcdir)/tests/fuzz

if ENABLE_FUZZING
# The codec is compiled into each binary (not taken from libvesc.a) so that
# libFuzzer's coverage instrumentation reaches it.
FUZZ_CODEC_SOURCES = \
	common/crc.c \
	daemon/proto/vesc-can.c \
	daemon/proto/vesc-buffer.c \
	daemon/proto/vesc-comm.c \
	daemon/proto/vesc-serial.c
FUZZ_COMPILE_FLAGS = $(AM_CFLAGS) -fsanitize=fuzzer
FUZZ_LINK_FLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer

noinst_PROGRAMS += \
	tests/fuzz/fuzz-can \
	tests/fuzz/fuzz-comm \
	tests/fuzz/fuzz-reassembler \
	tests/fuzz/fuzz-serial

tests_fuzz_fuzz_can_SOURCES = tests/fuzz/fuzz-can.c $(FUZZ_CODEC_SOURCES)
tests_fuzz_fuzz_can_CFLAGS = $(FUZZ_COMPILE_FLAGS)
tests_fuzz_fuzz_can_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_comm_SOURCES = tests/fuzz/fuzz-comm.c $(FUZZ_CODEC_SOURCES)
tests_fuzz_fuzz_comm_CFLAGS = $(FUZZ_COMPILE_FLAGS)
tests_fuzz_fuzz_comm_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_reassembler_SOURCES = tests/fuzz/fuzz-reassembler.c $(FUZZ_CODEC_SOURCES)
tests_fuzz_fuzz_reassembler_CFLAGS = $(FUZZ_COMPILE_FLAGS)
tests_fuzz_fuzz_reassembler_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_serial_SOURCES = tests/fuzz/fuzz-serial.c $(FUZZ_CODEC_SOURCES)
tests_fuzz_fuzz_serial_CFLAGS = $(FUZZ_COMPILE_FLAGS)
tests_fuzz_fuzz_serial_LDFLAGS = $(FUZZ_LINK_FLAGS)
endif
