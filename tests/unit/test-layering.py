#!/usr/bin/env python3
# The layering of daemon/ (DESIGN "Decisions of 2026-12" item 13):
#
#   proto  <-  core  <-  {transport, update}  <-  {dbus, json, http}  <-  main.c
#
# A folder may include headers of its own folder and of the folders to its
# left, never of a folder at its level or to its right.  Daemon headers are
# included by path ("core/board.h"), so the folder of every include is
# visible.  Fails naming each offending #include; also fails when a daemon
# header is included without its folder, which would hide the layer.
import os
import re
import sys

top = os.environ.get("top_srcdir") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
daemon = os.path.join(top, "daemon")

allowed = {
    "proto": {"proto"},
    "core": {"proto", "core"},
    "transport": {"proto", "core", "transport"},
    "update": {"proto", "core", "update"},
    "dbus": {"proto", "core", "transport", "update", "dbus"},
    "json": {"proto", "core", "transport", "update", "json"},
    "http": {"proto", "core", "transport", "update", "json", "http"},
    ".": {"proto", "core", "transport", "update", "dbus", "json", "http"},
}

inc = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
headers = {}
for layer in allowed:
    d = os.path.join(daemon, layer)
    if layer != "." and os.path.isdir(d):
        for f in os.listdir(d):
            if f.endswith(".h"):
                headers.setdefault(f, layer)

errors = []
checked = 0
for layer, ok in allowed.items():
    d = os.path.join(daemon, layer)
    if not os.path.isdir(d):
        continue
    for f in sorted(os.listdir(d)):
        if not f.endswith((".c", ".h")):
            continue
        checked += 1
        text = open(os.path.join(d, f), encoding="utf-8").read()
        for name in inc.findall(text):
            where = "daemon/%s/%s" % (layer, f) if layer != "." else "daemon/" + f
            if "/" in name:
                folder = name.split("/")[0]
                if folder in allowed and folder != "." and folder not in ok:
                    errors.append('%s includes "%s": %s may not depend on %s' % (where, name, layer, folder))
            elif name in headers:
                errors.append('%s includes "%s" without its folder (use "%s/%s")' % (where, name, headers[name], name))

if checked < 20:
    print("test-layering: found only %d sources under %s" % (checked, daemon))
    sys.exit(1)
for e in errors:
    print("test-layering: " + e)
print("test-layering: %d files, %d violations" % (checked, len(errors)))
sys.exit(1 if errors else 0)
