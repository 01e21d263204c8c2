#!/usr/bin/env python3
"""Generate docs/commands.md, the command coverage table: every Redis 7.0
command and subcommand, by group, and whether strata serves it.

Two inputs, both committed, so the document never needs a live server:
  tools/redis-7.0-commands.tsv  every command and subcommand of the
                                reference redis-server (COMMAND DOCS):
                                name, group, since, doc flags, summary
  src/commands.def              what this build serves: the generated
                                command table itself, not a second list

Usage:
  tools/gen_commands_doc.py > docs/commands.md     (what `make docs` runs)
  tools/gen_commands_doc.py --fetch PORT > tools/redis-7.0-commands.tsv
      re-read the list from a reference redis-server 7.0 on PORT
  tools/gen_commands_doc.py --served
      the served names parsed from src/commands.def, one a line (for
      tests/docs-check.sh, which compares them with the running build)

tests/docs-check.sh fails when docs/commands.md is not exactly this
program's output, or when the TSV differs from what the reference server
says. Stdlib only.
"""
import os, re, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TSV = os.path.join(ROOT, "tools", "redis-7.0-commands.tsv")
DEF = os.path.join(ROOT, "src", "commands.def")
TSV_HEADER = "command\tgroup\tsince\tdoc_flags\tsummary"

# What a Redis user sees for anything strata does not serve: the very
# errors Redis 7.0 gives for a command or subcommand it does not know.
UNKNOWN_CMD = "-ERR unknown command '<name>', with args beginning with: '<arg1>' '<arg2>' ..."
UNKNOWN_SUB = "-ERR unknown subcommand '<sub>'. Try <COMMAND> HELP."


# ---- the reference list (TSV) ----

def fetch(port):
    """Every command and subcommand from the reference server's COMMAND DOCS."""
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    from gen_commands import Conn
    c = Conn(port)
    c.cmd("HELLO", "3")
    version = c.cmd("INFO", "server").split("redis_version:")[1].split("\r\n")[0]
    if not version.startswith("7.0."):
        sys.exit("gen_commands_doc: the reference must be redis-server 7.0, not %s" % version)
    rows = []
    for name, d in c.cmd("COMMAND", "DOCS").items():
        rows.append(row(name, d))
        for sub, sd in d.get("subcommands", {}).items():
            rows.append(row(sub, sd))
    rows.sort()
    out = ["# Redis %s COMMAND DOCS, written by tools/gen_commands_doc.py --fetch; do not edit" % version,
           TSV_HEADER]
    out += ["\t".join(r) for r in rows]
    sys.stdout.write("\n".join(out) + "\n")


def row(name, d):
    fields = [name, d["group"], d.get("since", ""), ",".join(sorted(d.get("doc_flags", []))),
              d.get("summary", "")]
    for f in fields:
        assert "\t" not in f and "\n" not in f, (name, f)
    return fields


def read_tsv():
    rows = []
    with open(TSV, encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f if not l.startswith("#")]
    assert lines[0] == TSV_HEADER, "unexpected TSV header %r" % lines[0]
    for l in lines[1:]:
        name, group, since, flags, summary = l.split("\t")
        rows.append(dict(name=name, group=group, since=since,
                         flags=[x for x in flags.split(",") if x], summary=summary))
    return rows


# ---- what the build serves (commands.def) ----

def c_unescape(lit):
    """A C string literal's content as written by gen_commands.c_lit."""
    return re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m[1], 8)]), lit.encode("latin-1"))


def resp3(buf, i=0):
    """Decode one RESP3 value from buf at i; returns (value, next index)."""
    j = buf.index(b"\r\n", i)
    t, line, i = buf[i:i + 1], buf[i + 1:j], j + 2
    if t in b"+-":
        return line.decode(), i
    if t == b":":
        return int(line), i
    if t in b"$=":
        n = int(line)
        return buf[i:i + n].decode(), i + n + 2
    if t in b"*~>":
        out = []
        for _ in range(int(line)):
            v, i = resp3(buf, i)
            out.append(v)
        return out, i
    if t == b"%":
        out = {}
        for _ in range(int(line)):
            k, i = resp3(buf, i)
            out[k], i = resp3(buf, i)
        return out, i
    if t == b"_":
        return None, i
    if t == b"#":
        return line == b"t", i
    raise ValueError("RESP3 type %r in commands.def" % t)


def read_def():
    """name -> docs map for every row of src/commands.def, in table order."""
    text = open(DEF, encoding="latin-1").read()
    served = {}
    for m in re.finditer(r"^CMD\((.*?)\)\n", text, re.S | re.M):
        lits = re.findall(r'"([^"]*)"', m[1])
        name, docs = lits[0], lits[-1]   # gen_commands.c_lit never leaves a raw '"' inside
        served[name], _ = resp3(c_unescape(docs))
    return served


# ---- the document ----

def md(s):
    return s.replace("|", "\\|")


def title(name):
    return "`" + name.replace("|", " ").upper() + "`"


def render():
    ref = read_tsv()
    served = read_def()
    known = {r["name"] for r in ref}
    # Rows the build serves beyond Redis 7.0 (e.g. CLIENT SETINFO from 7.2)
    # come from commands.def's own docs.
    extra = []
    for name, d in served.items():
        if name not in known:
            extra.append(dict(name=name, group=d.get("group", "?"), since=d.get("since", ""),
                              flags=sorted(d.get("doc_flags", [])), summary=d.get("summary", ""),
                              beyond=True))
    rows = ref + extra
    tops = sorted((r for r in rows if "|" not in r["name"]), key=lambda r: r["name"])
    subs = {}
    for r in rows:
        if "|" in r["name"]:
            subs.setdefault(r["name"].split("|")[0], []).append(r)
    for v in subs.values():
        v.sort(key=lambda r: r["name"])
    groups = sorted({r["group"] for r in tops})

    def is_served(r):
        return r["name"] in served

    out = []
    w = out.append
    n_top = len([r for r in tops if not r.get("beyond")])
    n_top_served = len([r for r in tops if is_served(r) and not r.get("beyond")])
    all_subs = [s for v in subs.values() for s in v if not s.get("beyond")]
    n_sub_served = len([s for s in all_subs if is_served(s)])
    w("# Command coverage")
    w("")
    w("<!-- Generated by tools/gen_commands_doc.py from tools/redis-7.0-commands.tsv and")
    w("     src/commands.def. Do not edit: run `make docs` (tests/docs-check.sh fails")
    w("     when this file differs from the generator's output). -->")
    w("")
    w("Every command and subcommand of Redis 7.0 (the reference's `COMMAND DOCS`), by")
    w("group, and whether this build of strata serves it. \"Served\" is read from")
    w("src/commands.def, the generated command table the server is built from.")
    w("")
    w("strata serves **%d of %d** Redis 7.0 commands and **%d of %d** subcommands."
      % (n_top_served, n_top, n_sub_served, len(all_subs)))
    w("")
    w("A command strata does not serve answers exactly as Redis 7.0 answers a command")
    w("it does not know, so clients, redis-cli and redis-benchmark see the error Redis")
    w("would give:")
    w("")
    w("    " + UNKNOWN_CMD)
    w("")
    w("(the name as sent; then each of the first arguments in quotes, followed by a")
    w("space, up to 128 bytes in all). An unserved subcommand of a served container")
    w("answers Redis's `" + UNKNOWN_SUB + "`. `COMMAND INFO` and `COMMAND DOCS`")
    w("know only what is served, so clients that probe with them see the truth.")
    w("")
    w("| group | commands served | subcommands served |")
    w("|---|---|---|")
    for g in groups:
        gt = [r for r in tops if r["group"] == g and not r.get("beyond")]
        gs = [s for r in gt for s in subs.get(r["name"], []) if not s.get("beyond")]
        w("| [%s](#%s) | %d of %d | %s |" % (
            g, g, len([r for r in gt if is_served(r)]), len(gt),
            "%d of %d" % (len([s for s in gs if is_served(s)]), len(gs)) if gs else "-"))
    for g in groups:
        gt = [r for r in tops if r["group"] == g]
        w("")
        w("## %s" % g)
        w("")
        nserved = len([r for r in gt if is_served(r)])
        if nserved == 0:
            w("Not served yet. Every command of this group answers exactly like Redis's")
            w("unknown command (`-ERR unknown command '%s', with args beginning with: ...`)."
              % gt[0]["name"])
            w("")
        w("| command | strata | since | summary |")
        w("|---|---|---|---|")
        for r in gt:
            ss = subs.get(r["name"], [])
            if ss:
                ref_ss = [s for s in ss if not s.get("beyond")]
                state = ("%d of %d subcommands" % (len([s for s in ref_ss if is_served(s)]), len(ref_ss))
                         if is_served(r) else "not served")
            else:
                state = "served" if is_served(r) else "not served"
            w("| %s | %s | %s | %s |" % (title(r["name"]), state, r["since"], summary(r)))
            for s in ss:
                w("| &nbsp;&nbsp;%s | %s | %s | %s |" % (
                    title(s["name"]), "served" if is_served(s) else "not served", s["since"], summary(s)))
    return "\n".join(out) + "\n"


def summary(r):
    s = md(r["summary"])
    notes = []
    if "deprecated" in r["flags"]:
        notes.append("deprecated")
    if r.get("beyond"):
        notes.append("Redis %s, served ahead of 7.0 because clients send it" % r["since"][:3])
    return s + (" *(%s)*" % "; ".join(notes) if notes else "")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--fetch":
        fetch(int(sys.argv[2]))
    elif len(sys.argv) == 2 and sys.argv[1] == "--served":
        sys.stdout.write("".join(n + "\n" for n in read_def()))
    elif len(sys.argv) == 1:
        sys.stdout.write(render())
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
