"""Reads the method table of daemon/core/methods.c (one row per method:
D-Bus interface/member/signatures/argument names, JSON name and parameters,
privilege, errors) for the tests that check it against the D-Bus contract,
the running daemon and the documents.  Text only: the rows are designated
initializers, one field each, as methods.c keeps them."""
import os
import re

C_STRING = r'"(?:[^"\\]|\\.)*"'


def _strings(expr, macros):
    """The value of a C string expression: literals and macro names, concatenated."""
    out = ""
    for tok in re.findall(C_STRING + r"|[A-Z_][A-Z0-9_]*", expr):
        if tok.startswith('"'):
            out += tok[1:-1].replace("\\0", "\0").replace('\\"', '"')
        elif tok in macros:
            out += _strings(macros[tok], macros)
        else:
            raise ValueError("unknown macro %s" % tok)
    return out


def _rows(body):
    """The top-level { ... } initializers of the table's body."""
    rows, depth, start, i = [], 0, None, 0
    while i < len(body):
        c = body[i]
        if c == '"':
            m = re.match(C_STRING, body[i:])
            i += len(m.group(0))
            continue
        if body.startswith("/*", i):
            i = body.index("*/", i) + 2
            continue
        if c == "{":
            if depth == 0:
                start = i
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                rows.append(body[start + 1:i])
        i += 1
    return rows


def _field(row, name):
    """The expression of .name = ... up to the next top-level field."""
    m = re.search(r"\.%s\s*=\s*" % name, row)
    if not m:
        return None
    i, depth = m.end(), 0
    while i < len(row):
        c = row[i]
        if c == '"':
            i += len(re.match(C_STRING, row[i:]).group(0))
            continue
        if c in "({":
            depth += 1
        elif c in ")}":
            depth -= 1
        elif c == "," and depth == 0 and re.match(r",\s*(\.\w+\s*=|$)", row[i:]):
            break
        i += 1
    return row[m.end():i].strip()


# parameters whose macro names them
FIXED = {"P_SET": "set", "P_WHICH": "which", "P_JOB": "job"}


def _names(s):
    return [n for n in s.split("\0") if n] if s is not None else []


def read(srcdir):
    code = open(os.path.join(srcdir, "daemon/core/methods.c"), encoding="utf-8").read()
    macros = dict(re.findall(r"^#define\s+(E_\w+)\s+(.*)$", code, re.M))
    m = re.search(r"static const Method methods\[\]\s*=\s*\{(.*?)\n\};", code, re.S)
    if not m:
        raise ValueError("daemon/core/methods.c: no methods[] table")
    table = []
    for row in _rows(m.group(1)):
        def s(name):
            e = _field(row, name)
            return None if e is None else _strings(e, macros)
        params = _field(row, "params") or ""
        table.append({
            "interface": s("interface"),
            "member": s("member"),
            "in": s("in") or "",
            "in_names": _names(s("in_names")),
            "out": s("out") or "",
            "out_names": _names(s("out_names")),
            "json": s("json"),
            "privilege": (_field(row, "privilege") or "").replace("METHOD_", "").lower(),
            "errors": (s("errors") or "").split(),
            # P_*("name") and { .name = "name" ... }; the limits come from LIMIT_FIELDS
            "params": [a or b or FIXED[c] for a, b, c in
                       re.findall(r'P_\w+\("(\w+)"|\.name\s*=\s*"(\w+)"|\b(P_SET|P_WHICH|P_JOB)\b', params)],
            "limits": "LIMIT_FIELDS" in params,
        })
    return table


def split_signature(sig):
    """'ssa{sv}' -> ['s', 's', 'a{sv}'] (complete D-Bus types)."""
    out, i = [], 0
    while i < len(sig):
        j = i
        while sig[j] == "a":
            j += 1
        if sig[j] in "({":
            depth = 0
            while True:
                if sig[j] in "({":
                    depth += 1
                elif sig[j] in ")}":
                    depth -= 1
                j += 1
                if depth == 0:
                    break
        else:
            j += 1
        out.append(sig[i:j])
        i = j
    return out
