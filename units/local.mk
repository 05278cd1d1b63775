# units/local.mk: what makes vescd an installed system service -- the D-Bus
# policy, activation file and interfaces (dbus/), the systemd units,
# sysusers.d and tmpfiles.d entries and the example configuration (units/).
# The directories come from systemd.pc and dbus-1.pc (configure.ac).

dbuspolicy_DATA = dbus/org.vescd1.conf
dbussystemservice_DATA = dbus/org.vescd1.service
dbusinterface_DATA = dbus/org.vescd1.Manager.xml dbus/org.vescd1.Controller.xml dbus/org.vescd1.Job.xml
systemdsystemunit_DATA = units/vescd.service units/vescd.socket units/vescd-http.socket
sysusers_DATA = units/sysusers.d/vescd.conf
tmpfiles_DATA = units/tmpfiles.d/vescd.conf
network_DATA = units/80-can0.network
vescdconfdir = $(sysconfdir)/vescd
vescdconf_DATA = units/vescd.conf
EXTRA_DIST += $(dbuspolicy_DATA) $(dbussystemservice_DATA) $(dbusinterface_DATA) \
	units/vescd.service.in units/vescd.socket units/vescd-http.socket $(sysusers_DATA) $(tmpfiles_DATA) $(network_DATA) $(vescdconf_DATA)

units/vescd.service: units/vescd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) units && \
	$(SED) -e 's|@sbindir[@]|$(sbindir)|g' $(srcdir)/units/vescd.service.in > $@.tmp && mv $@.tmp $@
CLEANFILES += units/vescd.service


# The shipped policy on a bus with Debian's system-bus defaults: every
# method reaches vescd, which decides (tests/dbus-test-config.sh).
TESTS += tests/integration/dbus/test-dbus-policy.py
dist_noinst_SCRIPTS += tests/integration/dbus/test-dbus-policy.py

# The C test programs (unit, component, fuzz-corpus replay): what
# debian/rules and scripts/cross-test run where no bus, VM or Python is.
print-c-tests:
	@echo $(filter $(check_PROGRAMS),$(TESTS))
.PHONY: print-c-tests
