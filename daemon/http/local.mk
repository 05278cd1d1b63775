# daemon/http: the read-only HTTP listener for dashboards (evhttp), off by
# default (vescd-http.socket or http-listen).  evhttp lives in libevent's
# "extra" half, which vescd otherwise leaves out (daemon/local.mk links
# libevent_core for its RSS): only this part needs libevent_extra.

daemon_vescd_SOURCES += daemon/http/http-server.h daemon/http/http-server.c
daemon_vescd_LDADD += -levent_extra

EXTRA_DIST += daemon/http/README.md docs/http.md

# Against the real daemon: vesc-sim (dual-mismatch), vescd with --http-listen
# and with a socket-activated fd; curl for every endpoint, the event stream.
TESTS += tests/integration/http/test-http.py
dist_noinst_SCRIPTS += tests/integration/http/test-http.py
# The dashboard in headless Chromium (skips without it); keeps a screenshot
# in the build tree: tests/integration/http/dashboard.png.
TESTS += tests/integration/http/test-dashboard.py
dist_noinst_SCRIPTS += tests/integration/http/test-dashboard.py
CLEANFILES += tests/integration/http/dashboard.png
EXTRA_DIST += docs/dashboard.png
