# tests/component/core: the core (daemon/core) over fake edges.
#
# test-core-replay: discovery, identification, liveness and the
# controller/board models on a test clock over a fake transport kind fed
# captured candump transcripts (transcripts/, recorded from vesc-sim by
# record-transcripts.py), an update job played by a fake update host, the
# core's frames checked against the recording and the model's stages
# compared with golden JSON (golden/); README.md.

# What every replay test is built from and with.
replay_test_sources = tests/component/core/replay.h tests/component/core/replay.c \
	sim/vbus-frame.h sim/vbus-frame.c $(vescd_core_sources)
replay_test_cppflags = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon -I$(top_srcdir)/sim
replay_test_cflags = $(AM_CFLAGS) $(SYSTEMD_CFLAGS) $(LIBEVENT_CFLAGS) $(JANSSON_CFLAGS) $(SOCKETCAN_CFLAGS)
replay_test_ldadd = $(VESCD_PURE_LIBS) $(SYSTEMD_LIBS) $(LIBEVENT_LIBS) $(JANSSON_LIBS) $(SOCKETCAN_LIBS) -lm

check_PROGRAMS += tests/component/core/test-core-replay
TESTS += tests/component/core/test-core-replay
tests_component_core_test_core_replay_SOURCES = tests/component/core/test-core-replay.c $(replay_test_sources)
tests_component_core_test_core_replay_CPPFLAGS = $(replay_test_cppflags)
tests_component_core_test_core_replay_CFLAGS = $(replay_test_cflags)
tests_component_core_test_core_replay_LDADD = $(replay_test_ldadd)

# test-held-silence: liveness around exclusive holds (a released
# controller checked at once; the board never degraded by a silence the
# hold caused), on the replayed dual-358 board, then live.
check_PROGRAMS += tests/component/core/test-held-silence
TESTS += tests/component/core/test-held-silence
tests_component_core_test_held_silence_SOURCES = tests/component/core/test-held-silence.c $(replay_test_sources)
tests_component_core_test_held_silence_CPPFLAGS = $(replay_test_cppflags)
tests_component_core_test_held_silence_CFLAGS = $(replay_test_cflags)
tests_component_core_test_held_silence_LDADD = $(replay_test_ldadd)

# test-own-stall: liveness across a stall of vescd's own (the clock jumps
# past the offline timeout with nothing run): controllers checked, not
# taken offline; a gone one offline after its check; broadcasts that
# waited in the socket count.
check_PROGRAMS += tests/component/core/test-own-stall
TESTS += tests/component/core/test-own-stall
tests_component_core_test_own_stall_SOURCES = tests/component/core/test-own-stall.c $(replay_test_sources)
tests_component_core_test_own_stall_CPPFLAGS = $(replay_test_cppflags)
tests_component_core_test_own_stall_CFLAGS = $(replay_test_cflags)
tests_component_core_test_own_stall_LDADD = $(replay_test_ldadd)

# test-phantom-member: a peer answering only COMM_FW_VERSION, its frames
# keeping the record online at every tick (NOTIFY_BOOTs, vescd's own
# stalls) for longer than member-after-s, never becomes a board member.
check_PROGRAMS += tests/component/core/test-phantom-member
TESTS += tests/component/core/test-phantom-member
tests_component_core_test_phantom_member_SOURCES = tests/component/core/test-phantom-member.c $(replay_test_sources)
tests_component_core_test_phantom_member_CPPFLAGS = $(replay_test_cppflags)
tests_component_core_test_phantom_member_CFLAGS = $(replay_test_cflags)
tests_component_core_test_phantom_member_LDADD = $(replay_test_ldadd)

EXTRA_DIST += \
	tests/component/core/record-transcripts.py \
	tests/component/core/transcripts/discovery.log \
	tests/component/core/transcripts/update.log \
	tests/component/core/transcripts/discovery-358.log \
	tests/component/core/transcripts/new-id.log \
	tests/component/core/README.md \
	tests/component/core/golden/discovery.json \
	tests/component/core/golden/update.json \
	tests/component/core/golden/discovery-358.json \
	tests/component/core/golden/new-id.json
