# clients: vescctl (D-Bus command-line client).
bin_PROGRAMS += clients/vescctl
clients_vescctl_SOURCES = clients/vescctl.c
clients_vescctl_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS) $(JANSSON_CFLAGS)
clients_vescctl_LDADD = $(VESCD_PURE_LIBS) $(SYSTEMD_LIBS) $(JANSSON_LIBS)
