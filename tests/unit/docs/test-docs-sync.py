#!/usr/bin/python3
# tests/unit/docs/test-docs-sync.py: the documents list what the code has.
#
# Pure text checks of the source tree (plus the --help of the built
# programs when they are there), so that a key, method, error or option
# added to the code cannot silently miss its document:
#   - every configuration key of daemon/core/config.c is a row of
#     docs/vescd.conf.md with the same default and range, and vice versa;
#     every key in units/vescd.conf (also commented out) exists;
#   - every JSON method of daemon/json/json-proto.c is a row of docs/api-map.md
#     with the same "privileged" flag, and vice versa;
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

SRC = os.environ.get("top_srcdir") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
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
        if m and m.group(1) not in keys:
            fail("units/vescd.conf:%d: unknown key '%s'" % (n, m.group(1)))


# ------------------------------------------------------------ JSON methods
def check_json_methods():
    code = read("daemon/json/json-proto.c")
    table = re.search(r"json_methods\[[^]]*\]\s*=\s*\{(.*?)\n\};", code, re.S)
    if not table:
        fail("daemon/json/json-proto.c: could not find the json_methods table")
        return
    methods = dict(re.findall(r'\{\s*"([a-z_.]+)",\s*(true|false)', table.group(1)))
    doc_text = read("docs/api-map.md")
    m = re.search(r"<!-- api-map:begin -->(.*?)<!-- api-map:end -->", doc_text, re.S)
    if not m:
        fail("docs/api-map.md: no api-map:begin/end markers")
        return
    doc = {}
    for cells in table_rows(m.group(1)):
        if len(cells) >= 3 and cells[0].startswith("`"):
            doc[unquote(cells[0])] = cells[-1]
    for name in sorted(set(methods) - set(doc)):
        fail("docs/api-map.md: JSON method '%s' is missing" % name)
    for name in sorted(set(doc) - set(methods)):
        fail("docs/api-map.md: '%s' is not a method of daemon/json/json-proto.c" % name)
    for name in sorted(set(methods) & set(doc)):
        want = "yes" if methods[name] == "true" else "no"
        if doc[name] != want:
            fail("docs/api-map.md: '%s' privileged is '%s', the code says '%s'" % (name, doc[name], want))
    proto = read("docs/json-protocol.md")
    for name in sorted(methods):
        if "`%s`" % name not in proto:
            fail("docs/json-protocol.md: JSON method '%s' is not described" % name)


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


for check in (check_config, check_json_methods, check_errors, check_dbus, check_field_tables, check_links_and_paths,
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
