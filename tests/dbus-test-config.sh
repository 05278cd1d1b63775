#!/bin/sh
# Print the configuration of a private test dbus-daemon that behaves like
# Debian's system bus: the default rules of Debian 12's
# /usr/share/dbus-1/system.conf (deny own, deny method calls, replies and
# signals allowed), then the shipped policy dbus/org.vescd1.conf included
# unchanged, then one <allow own="org.vescd1"/> for the uid running the test.
#
#   dbus-test-config.sh SOCKET_PATH [UID]
#
# The policy is found through top_srcdir (set by the test environment),
# else relative to this script.
set -eu
[ $# -ge 1 ] || { echo "usage: $0 SOCKET_PATH [UID]" >&2; exit 2; }
sock=$1
uid=${2:-$(id -u)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
policy=$(cd "$top_srcdir/dbus" && pwd)/org.vescd1.conf
[ -r "$policy" ] || { echo "$0: no $policy" >&2; exit 1; }
cat <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus" send_member="UpdateActivationEnvironment"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Debug.Stats"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.systemd1.Activator"/>
  </policy>
  <include>$policy</include>
  <policy user="$uid">
    <allow own="org.vescd1"/>
  </policy>
</busconfig>
CONF
