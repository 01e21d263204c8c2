#!/usr/bin/env python3
"""Helpers for bench/run.sh: free ports, the RESP load file for the memory
test, INFO parsing, and the report (markdown tables + gnuplot charts).

run.sh owns the processes (servers, redis-benchmark, redis-cli); this file
does no process control beyond calling gnuplot.  It only reads what run.sh
left in the raw directory:

  manifest.tsv  placement pipeline dsize test server round n csvfile
  memory.tsv    server vsize nkeys used_before rss_before used_after rss_after dbsize
  meta.txt      key=value lines (date, machine, versions, mode, ...)
  commands.txt  every command run, in order

Stdlib only.
"""

import argparse
import csv
import os
import shutil
import socket
import statistics
import subprocess
import sys

TEST_ORDER = ["PING_MBULK", "SET", "GET", "INCR", "MSET"]
SERVERS = ("strata", "redis")


# ---------------------------------------------------------------- small tools

def cmd_freeport(args):
    # Bind port 0 on loopback and let the kernel pick; never hand out 6379.
    for _ in range(50):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if port != 6379 and port not in args.exclude:
            print(port)
            return 0
    print("no free port", file=sys.stderr)
    return 1


def cmd_gen_resp(args):
    # SET key:%012d <value>: 16-byte keys, values of exactly vsize bytes that
    # do not parse as integers (redis would store those as shared ints).
    n, vsize = args.n, args.vsize
    if vsize < 16:
        raise SystemExit("vsize must be >= 16")
    pad = b"x" * (vsize - 16)
    klen = b"$16\r\n"
    vhdr = b"$%d\r\n" % vsize
    head = b"*3\r\n$3\r\nSET\r\n" + klen
    with open(args.out, "wb", buffering=1 << 20) as f:
        chunk = []
        for i in range(n):
            chunk.append(b"%skey:%012d\r\n%sval:%012d%s\r\n"
                         % (head, i, vhdr, i, pad))
            if len(chunk) == 10000:
                f.write(b"".join(chunk))
                chunk = []
        f.write(b"".join(chunk))
    return 0


def parse_info(text):
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        k, v = line.split(":", 1)
        out[k] = v
    return out


def cmd_info_field(args):
    with open(args.file, encoding="utf-8", errors="replace") as f:
        info = parse_info(f.read())
    for field in args.fields:
        if field in info:
            print(info[field])
            return 0
    print("")
    return 1


# ---------------------------------------------------------------- parsing

def parse_bench_csv(path):
    """One redis-benchmark --csv file -> {test: {rps, p50, p99, ...}}.

    Tolerates warnings and error lines mixed into the output: only quoted
    8-field rows count, the header row is skipped."""
    rows = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for rec in csv.reader(f):
                if len(rec) != 8 or rec[0] == "test":
                    continue
                try:
                    vals = [float(x) for x in rec[1:]]
                except ValueError:
                    continue
                name = rec[0].split(" ")[0]  # "MSET (10 keys)" -> "MSET"
                rows[name] = dict(zip(
                    ("rps", "avg", "min", "p50", "p95", "p99", "max"), vals))
    except OSError:
        pass
    return rows


def read_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        lines = [l.rstrip("\n").split("\t") for l in f if l.strip()]
    if not lines:
        return []
    hdr = lines[0]
    return [dict(zip(hdr, l)) for l in lines[1:]]


def read_meta(path):
    meta = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    meta[k] = v
    return meta


def median(xs):
    return statistics.median(xs) if xs else None


# ---------------------------------------------------------------- report

def fmt_us(x):
    return "n/a" if not x or x.get("cpu_us") is None else "%.1f" % x["cpu_us"]


def busy(x):
    """Share of one core the server used over the run, in percent."""
    if not x or x.get("cpu_us") is None or not x.get("rps"):
        return None
    return x["rps"] * x["cpu_us"] / 1e4


def fmt_busy(x):
    b = busy(x)
    return "n/a" if b is None else "%.0f%%" % b


def fmt_rps(x):
    return "n/a" if x is None else "{:,.0f}".format(x)


def fmt_ms(x):
    return "n/a" if x is None else "{:.3f}".format(x)


def fmt_ratio(a, b):
    if a is None or b is None or b == 0:
        return "n/a"
    return "{:.2f}".format(a / b)


def spread(xs):
    """(max - min) / median over rounds, in percent; None with < 2 rounds."""
    if len(xs) < 2:
        return None
    m = statistics.median(xs)
    return 100.0 * (max(xs) - min(xs)) / m if m else None


def collect(raw):
    """manifest -> {(placement, pipeline, dsize, test): {server: [rows]}}"""
    table = {}
    order = []
    for m in read_tsv(os.path.join(raw, "manifest.tsv")):
        key = (m["placement"], int(m["pipeline"]), int(m["dsize"]),
               m["test"].upper())
        if key not in table:
            table[key] = {s: [] for s in SERVERS}
            order.append(key)
        res = parse_bench_csv(os.path.join(raw, m["csvfile"]))
        r = res.get(key[3])
        if r is not None:
            try:
                r["foreign"] = float(m.get("foreign_pct", ""))
            except ValueError:
                r["foreign"] = None
            try:
                r["cpu_us"] = float(m.get("server_cpu_us") or "")
            except ValueError:
                r["cpu_us"] = None
            table[key][m["server"]].append(r)
    return table, order


def summarize(samples):
    if not samples:
        return None
    return {
        "rps": median([s["rps"] for s in samples]),
        "p50": median([s["p50"] for s in samples]),
        "p99": median([s["p99"] for s in samples]),
        "spread": spread([s["rps"] for s in samples]),
        "foreign": max([s["foreign"] for s in samples
                        if s.get("foreign") is not None], default=None),
        "cpu_us": median([s["cpu_us"] for s in samples
                          if s.get("cpu_us") is not None]),
        "n": len(samples),
    }


def row_label(test, dsize, dsizes):
    label = test.lower()
    if test == "PING_MBULK":
        label = "ping"
    if len(dsizes) > 1 and test in ("SET", "GET", "MSET"):
        label += " d%d" % dsize
    return label


def write_charts(raw, outdir, stamp, summary, order, dsizes):
    """Grouped-bar PNGs: rps and p99 per row, one file per placement with a
    panel per pipeline depth.  Returns [(title, filename)]."""
    gp = shutil.which("gnuplot")
    if not gp:
        return []
    charts = []
    placements = []
    for k in order:
        if k[0] not in placements:
            placements.append(k[0])
    pipelines = sorted({k[1] for k in order})
    for metric, ylabel in (("rps", "requests/s (median)"),
                           ("p99", "p99 latency, ms (median)")):
        for pl in placements:
            datfiles = []
            for p in pipelines:
                dat = os.path.join(raw, "chart-%s-%s-P%d.dat" % (metric, pl, p))
                with open(dat, "w", encoding="utf-8") as f:
                    f.write("# row strata redis\n")
                    for k in order:
                        if k[0] != pl or k[1] != p:
                            continue
                        s = summary[k]
                        vals = []
                        for srv in SERVERS:
                            v = s[srv][metric] if s[srv] else None
                            vals.append("?" if v is None else repr(v))
                        f.write('"%s" %s %s\n' % (row_label(k[3], k[2], dsizes),
                                                  vals[0], vals[1]))
                datfiles.append((p, dat))
            nrows = max(sum(1 for k in order if k[0] == pl and k[1] == p)
                        for p in pipelines)
            png = "%s-%s-%s.png" % (stamp, metric, pl)
            script = [
                'set terminal pngcairo size 1100,480 font "sans,10"',
                'set output "%s"' % os.path.join(outdir, png),
                'set datafile missing "?"',
                "set style data histograms",
                "set style histogram clustered gap 1",
                "set style fill solid 0.85 border -1",
                "set boxwidth 0.9",
                "set grid ytics",
                "set yrange [0:*]",
                "set key top right",
                "set xtics rotate by 30 right" if nrows > 5 else "set xtics norotate",
                "set offsets 0, 0, graph 0.12, 0",
                'set ylabel "%s"' % ylabel,
                "set format y \"%.0s%c\"" if metric == "rps" else "set format y \"%g\"",
                "set multiplot layout 1,%d title \"%s, %s placement (%s)\""
                % (len(datfiles), "throughput" if metric == "rps" else "p99 latency",
                   pl, stamp),
            ]
            for p, dat in datfiles:
                script += [
                    'set title "pipeline %d"' % p,
                    "plot '%s' using 2:xtic(1) title 'strata' lc rgb '#d9534f', "
                    "'' using 3 title 'redis' lc rgb '#4a7bd0'" % dat,
                ]
            script.append("unset multiplot")
            gpfile = os.path.join(raw, "chart-%s-%s.gp" % (metric, pl))
            with open(gpfile, "w", encoding="utf-8") as f:
                f.write("\n".join(script) + "\n")
            r = subprocess.run([gp, gpfile], capture_output=True, text=True)
            if r.returncode == 0:
                charts.append(("%s, %s" % ("requests/s" if metric == "rps" else "p99 latency", pl), png))
            else:
                sys.stderr.write("gnuplot failed for %s: %s\n" % (png, r.stderr))
    return charts


def cmd_report(args):
    raw = args.raw
    meta = read_meta(os.path.join(raw, "meta.txt"))
    table, order = collect(raw)
    dsizes = sorted({k[2] for k in order})
    summary = {k: {s: summarize(table[k][s]) for s in SERVERS} for k in order}
    outdir = os.path.dirname(os.path.abspath(args.out))
    stamp = meta.get("stamp", "bench")
    charts = write_charts(raw, outdir, stamp, summary, order, dsizes)
    rawrel = os.path.relpath(raw, outdir)

    L = []
    L.append("# strata vs redis: benchmark %s" % stamp)
    L.append("")
    L.append("- Date: %s" % meta.get("date", "?"))
    scale = meta.get("scale", "1")
    L.append("- Mode: %s%s (%s round(s); servers alternate strata, redis for "
             "every row; medians over rounds); elapsed %s s" % (
                 meta.get("mode", "?"),
                 "" if scale in ("1", "1.0") else ", -n scaled by %s" % scale,
                 meta.get("rounds", "?"), meta.get("elapsed_s", "?")))
    L.append("- Machine: %s CPUs (nproc), %s, kernel %s" % (
        meta.get("nproc", "?"), meta.get("cpu_model", "?"), meta.get("kernel", "?")))
    L.append("- Load average: %s at start, %s at end (the machine is shared: "
             "read small ratios as noise)" % (meta.get("load_start", "?"),
                                             meta.get("load_end", "?")))
    fr = meta.get("foreign_pct")
    L.append("- Other processes used %s%% of the machine's CPU during the run "
             "(100%% = all %s CPUs; /proc/stat minus our servers and clients); "
             "%s strata/redis pair(s) re-run because others took > %s%%%s"
             % (fr if fr is not None else "?", meta.get("nproc", "?"),
                meta.get("retries", "?"), meta.get("busy_pct", "?"),
                "; " + meta["idle_wait"] if "idle_wait" in meta else ""))
    try:
        if float(fr) >= 10:
            L.append("")
            L.append("> **Warning:** other processes took %s%% of the CPU during "
                     "this run. Rows whose *others* column is above ~10%% "
                     "measure the neighbours as much as the servers; re-run "
                     "on a quiet machine (`--wait-idle 600`)." % fr)
            L.append("")
    except (TypeError, ValueError):
        pass
    L.append("- strata: `%s` — %s" % (meta.get("strata_bin", "?"),
                                      meta.get("strata_version", "?")))
    L.append("- redis: `%s` — %s" % (meta.get("redis_bin", "?"),
                                     meta.get("redis_version", "?")))
    L.append("- redis-benchmark: %s" % meta.get("bench_version", "?"))
    L.append("- Raw redis-benchmark CSV, INFO dumps and the command log: "
             "[`%s/`](%s/)" % (rawrel, rawrel))
    L.append("")

    # ---- throughput
    L.append("## Throughput")
    L.append("")
    L.append("50 clients, `-r 1000000` random keys, `-d` = value size. "
             "rps = median requests/s over rounds; ratio = strata/redis "
             "(> 1: strata faster). Latencies are medians of the per-round "
             "p50/p99 in ms. Noise = the larger of the two servers' "
             "(max-min)/median rps over rounds (– with one round). Others = "
             "the most CPU, in % of the machine, that other processes took "
             "during any of the row's runs. CPU µs/req = the server process's "
             "own CPU time (all threads, from /proc) divided by the requests "
             "of the run; busy = that CPU as a share of one core over the "
             "run (rps x µs/req), so a server far below 100% was waiting on "
             "the client, not working.")
    L.append("")
    L.append("Placements: **pinned** = each server alone under `taskset -c 1` "
             "with `--io-threads 1`, redis-benchmark under `taskset -c 0` (one "
             "core each: the fair per-core comparison); **unpinned** = no "
             "taskset, servers with `--io-threads 2`, `redis-benchmark "
             "--threads 2`, so client and server share all CPUs. On a 2-CPU "
             "machine redis-server's busy-polling I/O threads make it slower "
             "with `--io-threads 2` than with 1, which flatters strata in the "
             "unpinned rows.")
    L.append("")
    L.append("| row | placement | pipeline | -d | strata rps | redis rps | ratio "
             "| strata p50 / p99 ms | redis p50 / p99 ms | CPU µs/req strata / "
             "redis | busy strata / redis | noise | others |")
    L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for k in order:
        pl, p, d, test = k
        s, r = summary[k]["strata"], summary[k]["redis"]
        noise = [x["spread"] for x in (s, r) if x and x["spread"] is not None]
        fo = [x["foreign"] for x in (s, r) if x and x["foreign"] is not None]
        L.append("| %s | %s | %d | %d | %s | %s | %s | %s / %s | %s / %s | %s / %s | %s / %s | %s | %s |" % (
            row_label(test, d, dsizes), pl, p, d,
            fmt_rps(s and s["rps"]), fmt_rps(r and r["rps"]),
            fmt_ratio(s and s["rps"], r and r["rps"]),
            fmt_ms(s and s["p50"]), fmt_ms(s and s["p99"]),
            fmt_ms(r and r["p50"]), fmt_ms(r and r["p99"]),
            fmt_us(s), fmt_us(r), fmt_busy(s), fmt_busy(r),
            "%.0f%%" % max(noise) if noise else "–",
            "%.0f%%" % max(fo) if fo else "?"))
    L.append("")
    ratios = [summary[k]["strata"]["rps"] / summary[k]["redis"]["rps"]
              for k in order
              if summary[k]["strata"] and summary[k]["redis"]
              and summary[k]["redis"]["rps"]]
    if ratios:
        gm = 1.0
        for x in ratios:
            gm *= x
        gm **= 1.0 / len(ratios)
        L.append("Geometric mean of the rps ratios: **%.2f** over %d rows "
                 "(min %.2f, max %.2f)." % (gm, len(ratios), min(ratios),
                                            max(ratios)))
        L.append("")
    missing = [k for k in order
               if not summary[k]["strata"] or not summary[k]["redis"]]
    if missing:
        L.append("Rows marked n/a produced no result (error or timeout); see "
                 "the `.err` files in the raw directory.")
        L.append("")
    for title, png in charts:
        L.append("![%s](%s)" % (title, png))
        L.append("")

    # ---- memory
    L.append("## Memory")
    L.append("")
    mem = read_tsv(os.path.join(raw, "memory.tsv"))
    if mem:
        L.append("Fresh server, `INFO memory` before and after loading N keys "
                 "(`SET key:%012d <value>` via `redis-cli --pipe`; 16-byte "
                 "keys). Bytes/key = (after - before) / N. Ratio = "
                 "strata/redis (< 1: strata smaller).")
        L.append("")
        L.append("| value bytes | keys | strata used_memory B/key | redis "
                 "used_memory B/key | ratio | strata RSS B/key | redis RSS "
                 "B/key | ratio |")
        L.append("|---:|---:|---:|---:|---:|---:|---:|---:|")
        by = {}
        for m in mem:
            by.setdefault((int(m["vsize"]), int(m["nkeys"])), {})[m["server"]] = m

        def per_key(m, field):
            try:
                return (int(m[field + "_after"]) - int(m[field + "_before"])) \
                    / int(m["nkeys"])
            except (KeyError, ValueError, TypeError, ZeroDivisionError):
                return None

        def fb(x):
            return "n/a" if x is None else "{:.1f}".format(x)

        for (vs, nk), d in sorted(by.items()):
            s, r = d.get("strata", {}), d.get("redis", {})
            su, ru = per_key(s, "used"), per_key(r, "used")
            sr, rr = per_key(s, "rss"), per_key(r, "rss")
            L.append("| %d | %s | %s | %s | %s | %s | %s | %s |" % (
                vs, "{:,}".format(nk), fb(su), fb(ru), fmt_ratio(su, ru),
                fb(sr), fb(rr), fmt_ratio(sr, rr)))
        L.append("")
        L.append("Absolute values (bytes):")
        L.append("")
        L.append("| server | value bytes | keys | DBSIZE after | used_memory "
                 "before | after | RSS before | after |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for m in mem:
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                m["server"], m["vsize"], m["nkeys"], m.get("dbsize", "?"),
                m["used_before"], m["used_after"], m["rss_before"],
                m["rss_after"]))
        L.append("")
    else:
        L.append("(not measured)")
        L.append("")

    # ---- commands
    L.append("## Commands run")
    L.append("")
    L.append("Ports are picked fresh per run (bound to port 0 on 127.0.0.1); "
             "`$PORT` stands for the server under test. The full log with real "
             "ports is `%s/commands.txt`." % rawrel)
    L.append("")
    L.append("```")
    seen = set()
    cmdfile = os.path.join(raw, "commands.txt")
    ports = [meta[k] for k in meta if k.endswith("_port")]
    if os.path.exists(cmdfile):
        with open(cmdfile, encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                for prt in ports:
                    line = line.replace(" %s " % prt, " $PORT ")
                    if line.endswith(" " + prt):
                        line = line[: -len(prt)] + "$PORT"
                if line not in seen:
                    seen.add(line)
                    L.append(line)
    L.append("```")
    L.append("")

    L.append("## What holds strata back")
    L.append("")
    L.append("Rows where strata is below redis-server (ratio < 1.00) or below "
             "the 1.25 target, with what the CPU columns say about them. The "
             "profile behind these notes and the next steps are in "
             "[docs/performance.md](../../docs/performance.md).")
    L.append("")
    lag = []
    for k in order:
        s, r = summary[k]["strata"], summary[k]["redis"]
        if not (s and r and r["rps"]):
            continue
        ratio = s["rps"] / r["rps"]
        if ratio >= 1.25:
            continue
        bs, br = busy(s), busy(r)
        why = []
        if s.get("cpu_us") and r.get("cpu_us"):
            why.append("strata used %.2fx redis's CPU per request"
                       % (s["cpu_us"] / r["cpu_us"]))
        if bs is not None and br is not None:
            if k[0] == "pinned" and max(bs, br) < 85:
                why.append("neither server was saturated (busy %.0f%% / "
                           "%.0f%% of its core): the single-threaded "
                           "redis-benchmark on the other core set the pace"
                           % (bs, br))
            else:
                why.append("busy %.0f%% / %.0f%%" % (bs, br))
        pl, p, d, test = k
        lag.append("- %s %s -P %d -d %d: ratio %.2f; %s." % (
            test.lower(), pl, p, d, ratio, "; ".join(why) or "no CPU data"))
    if lag:
        L.extend(lag)
    else:
        L.append("- Every row is at or above 1.25.")
    L.append("")

    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(L))
    # Short summary for the terminal.
    print("\n".join(l for l in L if l.startswith("|") or l.startswith("Geometric")))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("freeport")
    p.add_argument("--exclude", type=int, nargs="*", default=[])
    p.set_defaults(fn=cmd_freeport)
    p = sub.add_parser("gen-resp")
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--vsize", type=int, default=16)
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cmd_gen_resp)
    p = sub.add_parser("info-field")
    p.add_argument("file")
    p.add_argument("fields", nargs="+", help="first one present wins")
    p.set_defaults(fn=cmd_info_field)
    p = sub.add_parser("report")
    p.add_argument("--raw", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cmd_report)
    args = ap.parse_args()
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
