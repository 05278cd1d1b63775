# clients: vescctl (D-Bus command-line client), examples, bash completion.
bin_PROGRAMS += clients/vescctl
clients_vescctl_SOURCES = \
	clients/ctl/vescctl.h \
	clients/ctl/main.c \
	clients/ctl/bus.c \
	clients/ctl/cmd-board.c \
	clients/ctl/cmd-watch.c \
	clients/ctl/cmd-top.c \
	clients/ctl/cmd-config.c \
	clients/ctl/cmd-firmware.c
clients_vescctl_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS) $(JANSSON_CFLAGS)
clients_vescctl_LDADD = $(VESCD_PURE_LIBS) $(SYSTEMD_LIBS) $(JANSSON_LIBS) -lm

# bash completion, installed as completions/vescctl (configure
# --with-bashcompletiondir; default from bash-completion.pc)
bashcompletion_DATA = clients/completion/vescctl
EXTRA_DIST += clients/completion/vescctl

# the web dashboard, served by vescd's HTTP listener (http-root, default
# $(pkgdatadir)/www; docs/http.md)
wwwdir = $(pkgdatadir)/www
dist_www_DATA = clients/web/index.html clients/web/dashboard.js clients/web/dashboard.css

# examples (installed with the documentation)
clientsexamplesdir = $(docdir)/examples
dist_clientsexamples_DATA = clients/examples/dashboard.py clients/examples/board-status.sh

# integration tests: vescctl's commands, vescctl top under tmux, the examples
clients_integration_tests = \
	tests/integration/clients/test-vescctl.py \
	tests/integration/clients/test-top.py \
	tests/integration/clients/test-examples.py
TESTS += $(clients_integration_tests)
dist_noinst_SCRIPTS += $(clients_integration_tests)
