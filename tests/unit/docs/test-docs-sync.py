#!/usr/bin/python3
# tests/unit/docs/test-docs-sync.py: the documents list what the code has.
#
# Pure text checks of the source tree (plus the --help of the built
# programs when they are there), so that a key, method, error or option
# added to the code cannot silently miss its document:
#   - every configuration key of daemon/core/config.c is a row of
#     docs/vescd.conf.md with the same default and range, and vice versa;
#     every key in units/vescd.conf (also commented out) exists;
#   - the method table (daemon/core/methods.c, read by method_table.py): every
#     D-Bus method is a method of dbus/*.xml with the same signatures and
#     argument names and vice versa; the JSON adapter's names are exactly the
#     table's; every JSON method is a row of docs/api-map.md with the same
#     "privileged" flag naming its D-Bus method first, every D-Bus-only
#     method a row of its second table; docs/json-protocol.md names every
#     JSON method and parameter; every error a row lists is in errors.h;
#   - every error of daemon/core/errors.h is a row of docs/errors.md (name, code,
#     errno) and of the error table of docs/json-protocol.md;
#   - every method, property and signal of dbus/*.xml is named in
#     docs/dbus-api.md or docs/firmware-update-api.md;
#   - the field tables (daemon/core/fields.c, fields-manager.c) and the D-Bus
#     contract list the same properties with the same types, and every
#     field's JSON name (the snake_case of its D-Bus name) is named in
#     docs/json-protocol.md or docs/api-map.md;
#   - relative links in README.md and docs/*.md resolve, and no document
#     holds an absolute path of a build machine;
#   - the commands and options of `vescctl --help`, `vesc-sim --help` and
#     `vescfw --help` appear in their man pages.
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import method_table  # noqa: E402

SRC = os.environ.get("top_srcdir") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
BUILD = os.environ.get("top_builddir") or SRC
failures = []


def fail(msg):
    failures.append(msg)


def read(rel):
    with open(os.path.join(SRC, rel), encoding="utf-8") as f:
        return f.read()


def table_rows(text):
    """Cells of every markdown table row, backquotes kept."""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("|") and not re.match(r"^\|[-| ]+\|$", line):
            yield [c.strip() for c in line.strip("|").split("|")]


def unquote(cell):
    return cell.replace("`", "").strip()


def man_text(rel):
    # drop roff escapes of hyphens so that "\-\-json" reads "--json"
    return read(rel).replace("\\-", "-").replace("\\fB", "").replace("\\fR", "").replace("\\fI", "")


# ----------------------------------------------------------- configuration
def check_config():
    code = read("daemon/core/config.c")
    keys = {}
    for name, help_text in re.findall(r'\{\s*"([a-z-]+)",\s*"((?:[^"\\]|\\.)*(?:"\s*[A-Z_]+\s*"(?:[^"\\]|\\.)*)*)"\s*\}', code):
        keys[name] = help_text
    if len(keys) < 10:
        fail("daemon/core/config.c: could not read the configuration key table (%d keys)" % len(keys))
        return
    doc = {}
    for cells in table_rows(read("docs/vescd.conf.md")):
        if len(cells) >= 5 and re.fullmatch(r"`[a-z-]+`", cells[0]):
            doc[unquote(cells[0])] = cells
    for k in sorted(set(keys) - set(doc)):
        fail("docs/vescd.conf.md: key '%s' of daemon/core/config.c is missing" % k)
    for k in sorted(set(doc) - set(keys)):
        fail("docs/vescd.conf.md: key '%s' is not in daemon/core/config.c" % k)
    for k in sorted(set(keys) & set(doc)):
        h = keys[k]
        default_cell, range_cell = unquote(doc[k][1]), doc[k][2]
        m = re.search(r"\(default ([^;)]*)", h)
        if m and '"' not in m.group(1):
            d = m.group(1).strip()
            want = "(%s)" % d if d in ("none", "off") else d
            if default_cell != want:
                fail("docs/vescd.conf.md: '%s' default is '%s', vescd --help says '%s'" % (k, default_cell, d))
        m = re.search(r"(\d+(?:\.\d+)?)\.\.(\d+(?:\.\d+)?)", h)
        if m and re.match(r"\d", unquote(range_cell)) and m.group(1) + "…" + m.group(2) not in range_cell:
            fail("docs/vescd.conf.md: '%s' range is '%s', vescd --help says %s..%s" % (k, range_cell, m.group(1), m.group(2)))
    for n, line in enumerate(read("units/vescd.conf").splitlines(), 1):
        m = re.match(r"^\s*#?\s*([a-z][a-z-]*)\s*=", line)
        # mode-NAME: ride modes, file only (docs/vescd.conf.md "Ride modes")
        if m and m.group(1).startswith("mode-"):
            if "## Ride modes (`mode-NAME`)" not in read("docs/vescd.conf.md"):
                fail("units/vescd.conf:%d: %s, but docs/vescd.conf.md has no ride modes section" % (n, m.group(1)))
            continue
        if m and m.group(1) not in keys:
            fail("units/vescd.conf:%d: unknown key '%s'" % (n, m.group(1)))


# ------------------------------------------------------------ method table
PRIVILEGED = {"anyone": "no", "admin": "yes", "root": "root"}


def api_map_rows(doc_text, marker):
    m = re.search(r"<!-- %s:begin -->(.*?)<!-- %s:end -->" % (marker, marker), doc_text, re.S)
    if not m:
        fail("docs/api-map.md: no %s:begin/end markers" % marker)
        return {}
    doc = {}
    for cells in table_rows(m.group(1)):
        if len(cells) >= 3 and cells[0].startswith("`"):
            doc[unquote(cells[0])] = cells
    return doc


def check_method_table():
    try:
        table = method_table.read(SRC)
    except (ValueError, OSError) as e:
        fail("daemon/core/methods.c: cannot read the method table: %s" % e)
        return
    if len(table) < 20:
        fail("daemon/core/methods.c: could read only %d methods" % len(table))
        return
    error_names = set(re.findall(r"X\((\w+),\s*(?:E\w+|0),", read("daemon/core/errors.h")))
    json_rows = {r["json"]: r for r in table if r["json"]}
    dbus_rows = {(r["interface"], r["member"]): r for r in table if r["member"]}
    if len(json_rows) != sum(1 for r in table if r["json"]):
        fail("daemon/core/methods.c: a JSON name is listed twice")
    if len(dbus_rows) != sum(1 for r in table if r["member"]):
        fail("daemon/core/methods.c: a D-Bus method is listed twice")
    for r in table:
        what = r["json"] or "%s.%s" % (r["interface"], r["member"])
        if not r["json"] and not r["member"]:
            fail("daemon/core/methods.c: a row has neither a JSON name nor a D-Bus member")
        if r["privilege"] not in PRIVILEGED:
            fail("daemon/core/methods.c: %s has privilege '%s'" % (what, r["privilege"]))
        for e in r["errors"]:
            if e not in error_names:
                fail("daemon/core/methods.c: %s lists error '%s', which daemon/core/errors.h does not have" % (what, e))
        if r["member"] and not r["interface"]:
            fail("daemon/core/methods.c: %s has a member but no interface" % what)

    # the JSON adapter dispatches exactly the table's JSON methods
    code = read("daemon/json/json-proto.c")
    m = re.search(r"json_method_names\[[^]]*\]\s*=\s*\{(.*?)\n\};", code, re.S)
    names = set(re.findall(r'=\s*"([a-z_.]+)"', m.group(1))) if m else set()
    if not m:
        fail("daemon/json/json-proto.c: could not find json_method_names")
    for name in sorted(set(json_rows) - names):
        fail("daemon/json/json-proto.c: JSON method '%s' of the method table has no JsonMethod" % name)
    for name in sorted(names - set(json_rows)):
        fail("daemon/json/json-proto.c: JSON method '%s' is not in daemon/core/methods.c" % name)

    # the D-Bus contract: same members, signatures and argument names
    contract = {}
    for iface in ("Manager", "Controller", "Job"):
        root = ET.fromstring(read("dbus/org.vescd1.%s.xml" % iface))
        for i in root.iter("interface"):
            for meth in i.findall("method"):
                args = meth.findall("arg")
                ins = [(a.get("type"), a.get("name")) for a in args if a.get("direction", "in") == "in"]
                outs = [(a.get("type"), a.get("name")) for a in args if a.get("direction") == "out"]
                contract[(iface, meth.get("name"))] = (ins, outs)
    for key, r in sorted(dbus_rows.items()):
        what = "%s.%s" % key
        if key not in contract:
            fail("daemon/core/methods.c: %s is not a method of dbus/org.vescd1.%s.xml" % (what, key[0]))
            continue
        for direction, sig, arg_names, want in (("in", r["in"], r["in_names"], contract[key][0]),
                                                ("out", r["out"], r["out_names"], contract[key][1])):
            have = list(zip(method_table.split_signature(sig), arg_names))
            if len(method_table.split_signature(sig)) != len(arg_names):
                fail("daemon/core/methods.c: %s: %s signature '%s' and names %s differ in number"
                     % (what, direction, sig, arg_names))
            elif have != want:
                fail("daemon/core/methods.c: %s: %s arguments %s, dbus/org.vescd1.%s.xml says %s"
                     % (what, direction, have, key[0], want))
    for key in sorted(set(contract) - set(dbus_rows)):
        fail("dbus/org.vescd1.%s.xml: method %s is not in daemon/core/methods.c" % key)

    # docs/api-map.md: one row per JSON method (privileged, its D-Bus member),
    # one row per D-Bus-only method
    doc_text = read("docs/api-map.md")
    doc = api_map_rows(doc_text, "api-map")
    for name in sorted(set(json_rows) - set(doc)):
        fail("docs/api-map.md: JSON method '%s' is missing" % name)
    for name in sorted(set(doc) - set(json_rows)):
        fail("docs/api-map.md: '%s' is not a JSON method of daemon/core/methods.c" % name)
    for name in sorted(set(json_rows) & set(doc)):
        r, cells = json_rows[name], doc[name]
        want = PRIVILEGED.get(r["privilege"])
        if cells[-1] != want:
            fail("docs/api-map.md: '%s' privileged is '%s', the method table says '%s'" % (name, cells[-1], want))
        first = re.search(r"`(\w+)\.(\w+)\(\)`", cells[1])
        if r["member"] and (not first or (first.group(1), first.group(2)) != (r["interface"], r["member"])):
            fail("docs/api-map.md: '%s' should name `%s.%s()` first" % (name, r["interface"], r["member"]))
        if not r["member"] and first:
            fail("docs/api-map.md: '%s' names D-Bus method `%s.%s()`, the method table none"
                 % (name, first.group(1), first.group(2)))
    only = api_map_rows(doc_text, "api-map-dbus-only")
    dbus_only = {"%s.%s()" % (r["interface"], r["member"]): r for r in table if r["member"] and not r["json"]}
    for name in sorted(set(dbus_only) - set(only)):
        fail("docs/api-map.md: D-Bus-only method '%s' is missing" % name)
    for name in sorted(set(only) - set(dbus_only)):
        fail("docs/api-map.md: '%s' is not a D-Bus-only method of daemon/core/methods.c" % name)
    for name in sorted(set(only) & set(dbus_only)):
        want = PRIVILEGED[dbus_only[name]["privilege"]]
        if only[name][-1] != want:
            fail("docs/api-map.md: '%s' privileged is '%s', the method table says '%s'" % (name, only[name][-1], want))

    # docs/json-protocol.md describes every JSON method and names its parameters
    proto = read("docs/json-protocol.md")
    for name, r in sorted(json_rows.items()):
        if "`%s`" % name not in proto:
            fail("docs/json-protocol.md: JSON method '%s' is not described" % name)
        for p in r["params"]:
            if "`%s`" % p not in proto:
                fail("docs/json-protocol.md: parameter '%s' of '%s' is not named" % (p, name))


# ------------------------------------------------------------------ errors
def check_errors():
    errors = re.findall(r"X\((\w+),\s*(E\w+|0),\s*(\d+),", read("daemon/core/errors.h"))
    if len(errors) < 10:
        fail("daemon/core/errors.h: could not read VESCD_ERRORS()")
        return
    doc = {}
    for cells in table_rows(read("docs/errors.md")):
        if len(cells) >= 4 and re.fullmatch(r"`\w+`", cells[0]):
            doc[unquote(cells[0])] = cells
    proto = {}
    for cells in table_rows(read("docs/json-protocol.md")):
        if len(cells) >= 3 and re.fullmatch(r"\d{4}", cells[0]):
            proto[cells[1]] = cells[0]
    names = set()
    for name, errno_name, code in errors:
        names.add(name)
        if name not in doc:
            fail("docs/errors.md: error '%s' is missing" % name)
        else:
            if doc[name][1] != code:
                fail("docs/errors.md: '%s' has code %s, errors.h says %s" % (name, doc[name][1], code))
            if name != "Failed" and not unquote(doc[name][2]).startswith(errno_name):
                fail("docs/errors.md: '%s' errno is '%s', errors.h says %s" % (name, doc[name][2], errno_name))
        if proto.get(name) != code:
            fail("docs/json-protocol.md: error '%s' should have code %s (has %s)" % (name, code, proto.get(name)))
    for name in sorted(set(doc) - names):
        fail("docs/errors.md: '%s' is not in daemon/core/errors.h" % name)


# ------------------------------------------------------------------- D-Bus
def check_dbus():
    doc = read("docs/dbus-api.md") + read("docs/firmware-update-api.md")
    for xml in ("org.vescd1.Manager.xml", "org.vescd1.Controller.xml", "org.vescd1.Job.xml"):
        for kind, name in re.findall(r'<(method|property|signal) name="(\w+)"', read("dbus/" + xml)):
            if not re.search(r"\b%s\b" % name, doc):
                fail("docs/dbus-api.md: %s %s of dbus/%s is not described" % (kind, name, xml))


# ---------------------------------------------------------- field tables
def snake(name):
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


# Properties of the D-Bus contract that are not the core's fields (the
# firmware manager's, listed by the D-Bus adapter itself).
NOT_IN_TABLES = {"Jobs", "Inhibited", "InhibitReason", "ImageSetKeep"}


def check_field_tables():
    json_doc = read("docs/json-protocol.md") + read("docs/api-map.md")
    for src, xml, iface in (("daemon/core/fields.c", "org.vescd1.Controller.xml", "org.vescd1.Controller"),
                            ("daemon/core/fields-manager.c", "org.vescd1.Manager.xml", "org.vescd1.Manager")):
        rows = re.findall(r'\{\s*"([A-Z]\w+)",\s*"([a-z{}]+)",', read(src))
        if len(rows) < 10:
            fail("%s: could not read its field table" % src)
            continue
        table = dict(rows)
        if len(table) != len(rows):
            fail("%s: a field is listed twice" % src)
        contract = dict(re.findall(r'<property name="(\w+)" type="([^"]+)"', read("dbus/" + xml)))
        for name, sig in sorted(table.items()):
            if name not in contract:
                fail("%s: field %s is not a property of dbus/%s" % (src, name, xml))
            elif contract[name] != sig:
                fail("%s: field %s is '%s', dbus/%s says '%s'" % (src, name, sig, xml, contract[name]))
            if not re.search(r"`%s`" % snake(name), json_doc):
                fail("docs/json-protocol.md: the %s field %s (JSON %s) is not named" % (iface, name, snake(name)))
        for name in sorted(set(contract) - set(table) - NOT_IN_TABLES):
            fail("dbus/%s: property %s is in no field table (%s)" % (xml, name, src))


# ------------------------------------------------------- links and paths
def check_links_and_paths():
    docs = ["README.md"] + ["docs/" + f for f in sorted(os.listdir(os.path.join(SRC, "docs"))) if f.endswith(".md")]
    machine = re.compile(r"(?<![\w.])/(?:work|home|root|tmp/build)[/-]\w")
    for rel in docs:
        text = read(rel)
        base = os.path.dirname(rel)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue
            path = target.split("#")[0]
            if not os.path.exists(os.path.join(SRC, base, path)):
                fail("%s: link to '%s' does not resolve" % (rel, target))
    others = docs + ["docs/" + f for f in ("vescd.8", "vescctl.1", "vescfw.1", "vesc-sim.1")]
    others += ["units/" + f for f in ("vescd.conf", "vescd.service.in", "vescd.socket", "80-can0.network")]
    for rel in others:
        for n, line in enumerate(read(rel).splitlines(), 1):
            if machine.search(line):
                fail("%s:%d: absolute path of a build machine: %s" % (rel, n, line.strip()))


# ----------------------------------------------------------- --help texts
def program_help(rel):
    exe = os.path.join(BUILD, rel)
    if not os.access(exe, os.X_OK):
        print("note: %s is not built, its --help is not checked" % rel)
        return None
    p = subprocess.run([exe, "--help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
    return p.stdout.decode("utf-8", "replace")


def check_help():
    out = program_help("clients/vescctl")
    if out is not None:
        man = man_text("docs/vescctl.1")
        section = None
        for line in out.splitlines():
            if line.startswith("Commands:"):
                section = "commands"
            elif line.startswith("Options:"):
                section = "options"
            elif section == "commands" and line.startswith("  "):
                words = [w for w in line.split()[:2] if re.fullmatch(r"[a-z]+", w)]
                if words[:1] == ["firmware"]:
                    words = words[:2]
                else:
                    words = words[:1]
                if not re.search(r"\b%s\b" % r"\b.{0,20}\b".join(map(re.escape, words)), man):
                    fail("docs/vescctl.1: command '%s' of vescctl --help is missing" % " ".join(words))
            elif section == "options":
                for opt in re.findall(r"--[a-z-]+", line):
                    if opt not in man:
                        fail("docs/vescctl.1: option %s of vescctl --help is missing" % opt)
    out = program_help("sim/vesc-sim")
    if out is not None:
        man, md = man_text("docs/vesc-sim.1"), read("docs/vesc-sim.md")
        for opt in sorted(set(re.findall(r"--[a-z][a-z-]*", out)) - {"--help"}):
            if opt not in man:
                fail("docs/vesc-sim.1: option %s of vesc-sim --help is missing" % opt)
            if opt not in md:
                fail("docs/vesc-sim.md: option %s of vesc-sim --help is missing" % opt)
        m = re.search(r"one of: ([a-z0-9 -]+)", out)
        for preset in (m.group(1).split() if m else []):
            if preset not in man or "`%s`" % preset not in md:
                fail("docs/vesc-sim.1/.md: board preset '%s' is missing" % preset)
    out = program_help("firmware/vescfw")
    if out is not None:
        man = man_text("docs/vescfw.1")
        for opt in sorted(set(re.findall(r"--[a-z][a-z-]*", out))):
            if opt not in man:
                fail("docs/vescfw.1: option %s of vescfw --help is missing" % opt)
        for cmd in re.findall(r"^(?:usage:|\s+)\s*vescfw (\w+)", out, re.M):
            if "vescfw " + cmd not in man:
                fail("docs/vescfw.1: command '%s' of vescfw --help is missing" % cmd)


for check in (check_config, check_method_table, check_errors, check_dbus, check_field_tables, check_links_and_paths,
              check_help):
    try:
        check()
    except (OSError, subprocess.SubprocessError) as e:
        fail("%s: %s" % (check.__name__, e))

for f in failures:
    print("FAIL: " + f)
if failures:
    sys.exit(1)
print("documents match the code")
