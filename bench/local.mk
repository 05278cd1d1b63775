# bench: benchmarks that print figures (never pass/fail on time).
#
#   make bench         builds and runs every benchmark, then prints a summary
#   make check         runs bench/smoke.sh: each benchmark with tiny sizes,
#                      asserting only that it ran and printed its figure lines
#
# See docs/benchmarks.md.  Benchmarks are check programs: `make all` does not
# build them, `make check` and `make bench` do.

bench_programs = \
	bench/bench-ingest \
	bench/bench-flash \
	bench/bench-latency \
	bench/bench-rss \
	bench/bench-poll
check_PROGRAMS += $(bench_programs)

bench_util_sources = bench/bench-util.h bench/bench-util.c
bench_cppflags = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon -I$(top_srcdir)/bench

# (1) telemetry ingest: links the pure controller model (daemon/libvescd.a) and
# runs vescd under callgrind for the whole frame path.
bench_bench_ingest_SOURCES = bench/bench-ingest.c bench/bench-json.h bench/bench-json.c $(bench_util_sources)
bench_bench_ingest_CPPFLAGS = $(bench_cppflags)
bench_bench_ingest_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
bench_bench_ingest_LDADD = $(VESCD_PURE_LIBS) $(JANSSON_LIBS) -lm

# (2) pair staging: a stop-and-wait flasher written with the codec only, and
# vescd's own pair update driven through the JSON socket.
bench_bench_flash_SOURCES = bench/bench-flash.c bench/bench-json.h bench/bench-json.c $(bench_util_sources)
bench_bench_flash_CPPFLAGS = $(bench_cppflags)
bench_bench_flash_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
bench_bench_flash_LDADD = common/libvesc.a $(JANSSON_LIBS) -lm

# (3) frame-to-client latency through the JSON socket.
bench_bench_latency_SOURCES = bench/bench-latency.c bench/bench-json.h bench/bench-json.c \
	$(bench_util_sources)
bench_bench_latency_CPPFLAGS = $(bench_cppflags)
bench_bench_latency_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
bench_bench_latency_LDADD = common/libvesc.a $(JANSSON_LIBS) -lm

# (4) vescd's resident memory with two controllers and 50 JSON clients.
bench_bench_rss_SOURCES = bench/bench-rss.c bench/bench-json.h bench/bench-json.c \
	$(bench_util_sources)
bench_bench_rss_CPPFLAGS = $(bench_cppflags)
bench_bench_rss_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
bench_bench_rss_LDADD = common/libvesc.a $(JANSSON_LIBS) -lm

# (5) the telemetry rate of a polled controller under a watch (vs vesc-sim's count).
bench_bench_poll_SOURCES = bench/bench-poll.c bench/bench-json.h bench/bench-json.c $(bench_util_sources)
bench_bench_poll_CPPFLAGS = $(bench_cppflags)
bench_bench_poll_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
bench_bench_poll_LDADD = common/libvesc.a $(JANSSON_LIBS) -lm

# (6) get_values p99 under the hostile suite's attacks: a Python script
# (tests/integration/hostile/hostile.py's harness), copied to the build tree
# so `make bench` and the smoke test find it next to the others.
bench_scripts = bench/bench-hostile
check_SCRIPTS = $(bench_scripts)
bench/bench-hostile: $(srcdir)/bench/bench-hostile.py
	$(AM_V_GEN)$(MKDIR_P) bench && cp $(srcdir)/bench/bench-hostile.py $@ && chmod +x $@
CLEANFILES += $(bench_scripts)
EXTRA_DIST += bench/bench-hostile.py

TESTS += bench/smoke.sh
dist_noinst_SCRIPTS += bench/smoke.sh bench/run-all.sh
EXTRA_DIST += docs/benchmarks.md

# The programs the benchmarks drive.  vescd is optional: its benchmarks
# report "skipped" until daemon/vescd is built.
bench_deps = sim/vesc-sim firmware/vescfw

.PHONY: bench
bench: $(bench_programs) $(bench_scripts) $(bench_deps)
	-@$(MAKE) $(AM_MAKEFLAGS) imagesets >/dev/null 2>&1
	-@$(MAKE) $(AM_MAKEFLAGS) daemon/vescd >/dev/null 2>&1
	@top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	  DBUS_DAEMON='$(DBUS_DAEMON)' \
	  $(SHELL) $(srcdir)/bench/run-all.sh $(bench_programs) $(bench_scripts)
