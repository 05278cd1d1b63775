# daemon/json-*: the JSON socket adapter (json-proto: pure request parsing and
# encoding; json-server: listeners, clients, watches).  Its tests live in
# tests/component/json/, its fuzz target in tests/fuzz/fuzz-json.c.

json_proto_sources = daemon/json/json-proto.h daemon/json/json-proto.c
# the watch rate limit (pure)
json_watch_sources = daemon/json/watch-limit.h daemon/json/watch-limit.c

# the bound on connections per loop iteration (the HTTP listener's too)
json_accept_sources = daemon/json/accept-limit.h daemon/json/accept-limit.c

# Into vescd (daemon/local.mk defines the program).
daemon_vescd_SOURCES += $(json_proto_sources) $(json_watch_sources) $(json_accept_sources) daemon/json/json-server.h \
	daemon/json/json-server.c daemon/json/json-daemon.c

# Unit test: links only the module it tests (and jansson).
check_PROGRAMS += tests/unit/json/test-json-proto
TESTS += tests/unit/json/test-json-proto
tests_unit_json_test_json_proto_SOURCES = tests/unit/json/test-json-proto.c $(json_proto_sources)
tests_unit_json_test_json_proto_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_unit_json_test_json_proto_CFLAGS = $(TEST_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_json_test_json_proto_LDADD = daemon/libvescd.a $(JANSSON_LIBS) $(TEST_LIBS) -lm

check_PROGRAMS += tests/unit/json/test-watch-limit
TESTS += tests/unit/json/test-watch-limit
tests_unit_json_test_watch_limit_SOURCES = tests/unit/json/test-watch-limit.c $(json_watch_sources)
tests_unit_json_test_watch_limit_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_unit_json_test_watch_limit_CFLAGS = $(TEST_CFLAGS)
tests_unit_json_test_watch_limit_LDADD = $(TEST_LIBS)

# Fuzz target for the request parser: `make check` replays the corpus through
# tests/fuzz/fuzz-replay.c; with --enable-fuzzing it is also a libFuzzer binary:
#   tests/fuzz/fuzz-json -max_total_time=60 $(srcdir)/tests/fuzz/corpus/fuzz-json
json_fuzz_corpus = \
	tests/fuzz/corpus/fuzz-json/config \
	tests/fuzz/corpus/fuzz-json/controllers-list \
	tests/fuzz/corpus/fuzz-json/garbage \
	tests/fuzz/corpus/fuzz-json/invalid \
	tests/fuzz/corpus/fuzz-json/limits-set \
	tests/fuzz/corpus/fuzz-json/telemetry-watch \
	tests/fuzz/corpus/fuzz-json/two-lines
EXTRA_DIST += $(json_fuzz_corpus)

check_PROGRAMS += tests/fuzz/fuzz-json-replay
TESTS += tests/fuzz/fuzz-json-replay
tests_fuzz_fuzz_json_replay_SOURCES = tests/fuzz/fuzz-json.c tests/fuzz/fuzz-replay.c tests/fuzz/fuzz.h \
	$(json_proto_sources)
tests_fuzz_fuzz_json_replay_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_fuzz_fuzz_json_replay_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_fuzz_fuzz_json_replay_LDADD = daemon/libvescd.a $(JANSSON_LIBS) -lm

if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz-json
tests_fuzz_fuzz_json_SOURCES = tests/fuzz/fuzz-json.c tests/fuzz/fuzz.h $(json_proto_sources)
tests_fuzz_fuzz_json_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_fuzz_fuzz_json_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_json_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_json_LDADD = daemon/libvescd.a $(JANSSON_LIBS) -lm
endif

# The server over a fake board (tests/component/json/json-test-server.c) drives the
# adapter's conformance, load and hostile-input tests without daemon or bus.
json_server_sources = daemon/json/json-server.h daemon/json/json-server.c $(json_accept_sources) daemon/core/log.h \
	daemon/core/log.c

check_PROGRAMS += tests/component/json/json-test-server
tests_component_json_json_test_server_SOURCES = tests/component/json/json-test-server.c $(json_server_sources) $(json_proto_sources) \
	$(json_watch_sources)
tests_component_json_json_test_server_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_component_json_json_test_server_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(LIBEVENT_CFLAGS) $(SYSTEMD_CFLAGS)
tests_component_json_json_test_server_LDADD = $(VESCD_PURE_LIBS) $(JANSSON_LIBS) $(LIBEVENT_LIBS) $(SYSTEMD_LIBS) -lm

# The listener takes a bounded number of connections per loop iteration
# (a connection flood does not hold up the served clients): deterministic,
# one loop iteration at a time.
check_PROGRAMS += tests/component/json/test-accept-fairness
TESTS += tests/component/json/test-accept-fairness
tests_component_json_test_accept_fairness_SOURCES = tests/component/json/test-accept-fairness.c $(json_server_sources) \
	$(json_proto_sources) $(json_watch_sources)
tests_component_json_test_accept_fairness_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_component_json_test_accept_fairness_CFLAGS = $(TEST_CFLAGS) $(JANSSON_CFLAGS) $(LIBEVENT_CFLAGS) $(SYSTEMD_CFLAGS)
tests_component_json_test_accept_fairness_LDADD = $(VESCD_PURE_LIBS) $(JANSSON_LIBS) $(LIBEVENT_LIBS) $(SYSTEMD_LIBS) \
	$(TEST_LIBS) -lm

TESTS += tests/component/json/test-json-server.py
dist_noinst_SCRIPTS += tests/component/json/test-json-server.py tests/component/json/jsontest.py

# Against the real daemon: private dbus-daemon + vesc-sim (dual-mismatch) + vescd.
TESTS += tests/integration/json/test-json-integration.py
dist_noinst_SCRIPTS += tests/integration/json/test-json-integration.py
# Polling follows the watchers: samples against vesc-sim's own count of answered polls.
TESTS += tests/integration/json/test-poll-rate.py
dist_noinst_SCRIPTS += tests/integration/json/test-poll-rate.py

dist_noinst_SCRIPTS += clients/examples/dashboard.py
EXTRA_DIST += docs/json-protocol.md docs/api-map.md
