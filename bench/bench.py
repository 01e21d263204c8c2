#!/usr/bin/env python3
"""Helpers for bench/run.sh: free ports, the RESP load file for the memory
test, INFO parsing, and the report (markdown tables + gnuplot charts).

run.sh owns the processes (servers, redis-benchmark, redis-cli); this file
does no process control beyond calling gnuplot.  It only reads what run.sh
left in the raw directory:

  manifest.tsv  group placement iothreads clients keepalive pipeline dsize
                test server round n csvfile foreign_pct server_cpu_us retries
                (older runs: no group..keepalive columns, CSV output files)
  memory.tsv    server vsize nkeys used_before rss_before used_after rss_after dbsize
  meta.txt      key=value lines (date, machine, versions, mode, ...)
  commands.txt  every command run, in order

Stdlib only.
"""

import argparse
import collections
import csv
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time

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
    f = (os.fdopen(sys.stdout.fileno(), "wb", buffering=1 << 20, closefd=False)
         if args.out == "-" else open(args.out, "wb", buffering=1 << 20))
    with f:
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

def parse_bench_csv(text):
    """redis-benchmark --csv output (runs before the p99.9 column existed)."""
    rows = {}
    for rec in csv.reader(text.splitlines()):
        if len(rec) != 8 or rec[0] == "test":
            continue
        try:
            vals = [float(x) for x in rec[1:]]
        except ValueError:
            continue
        name = rec[0].split(" ")[0]  # "MSET (10 keys)" -> "MSET"
        rows[name] = dict(zip(
            ("rps", "avg", "min", "p50", "p95", "p99", "max"), vals))
    return rows


PCT_LINE = re.compile(r"^([\d.]+)% <= ([\d.]+) milliseconds "
                      r"\(cumulative count (\d+)\)")


def parse_bench_text(text):
    """redis-benchmark's default (human) output -> {test: {...}}.

    redis-benchmark 7.0's --csv stops at p99, so the suite runs it without
    --csv and reads: the "throughput summary" line (rps), the "latency
    summary" table (avg min p50 p95 p99 max) and, for p99.9, the two
    cumulative tables ("Latency by percentile distribution" and "Cumulative
    distribution of latencies"), each line "P% <= V milliseconds (cumulative
    count C)": p99.9 = the smallest V whose count C covers 99.9% of the
    requests, at the histogram's resolution (an upper bound of the exact
    value, as tight as the printed points allow).  Progress lines written
    with \\r are split off first."""
    rows = {}
    cur = None
    want_summary = False
    for line in text.replace("\r", "\n").splitlines():
        line = line.strip()
        m = re.match(r"^====== (\S+).*======$", line)
        if m:
            cur = {"pts": []}
            rows[m.group(1)] = cur
            want_summary = False
            continue
        if cur is None:
            continue
        m = PCT_LINE.match(line)
        if m:
            cur["pts"].append((float(m.group(2)), int(m.group(3))))
            continue
        if line.startswith("throughput summary:"):
            try:
                cur["rps"] = float(line.split()[2])
            except (IndexError, ValueError):
                pass
            continue
        if line.startswith("avg") and "p99" in line:
            want_summary = line.split()
            continue
        if want_summary:
            try:
                vals = [float(x) for x in line.split()]
                if len(vals) == len(want_summary):
                    cur.update(dict(zip(want_summary, vals)))
            except ValueError:
                pass
            want_summary = False
    out = {}
    for name, r in rows.items():
        pts = r.pop("pts")
        if "rps" not in r:
            continue
        if pts:
            total = max(c for _, c in pts)
            cover = [v for v, c in pts if c >= 0.999 * total]
            r["p999"] = min(cover) if cover else None
        out[name] = r
    return out


def parse_bench_output(path):
    """One redis-benchmark output file -> {test: {rps, p50, p99, p999, ...}}.

    Tolerates warnings and error lines mixed into the output."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return {}
    if '"test","rps"' in text:
        return parse_bench_csv(text)
    return parse_bench_text(text)


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


def fmt_lat(x):
    """p50 / p99 / p99.9 in ms."""
    if not x:
        return "n/a"
    return " / ".join(fmt_ms(x.get(q)) for q in ("p50", "p99", "p999"))


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


# One measured row.  group: "throughput", "scaling-iot", "scaling-clients",
# "storm" (and later "storage"); iot = the servers' --io-threads; keepalive 0
# = redis-benchmark -k 0 (reconnect per request).
Row = collections.namedtuple(
    "Row", "group placement iot clients keepalive pipeline dsize test")


def collect(raw):
    """manifest -> ({Row: {server: [samples]}}, [Row in manifest order])"""
    table = {}
    order = []
    for m in read_tsv(os.path.join(raw, "manifest.tsv")):
        key = Row(m.get("group") or "throughput", m["placement"],
                  int(m.get("iothreads") or 0), int(m.get("clients") or 50),
                  int(m.get("keepalive") or 1), int(m["pipeline"]),
                  int(m["dsize"]), m["test"].upper())
        if key not in table:
            table[key] = {s: [] for s in SERVERS}
            order.append(key)
        res = parse_bench_output(os.path.join(raw, m["csvfile"]))
        r = res.get(key.test)
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
        "p999": median([s["p999"] for s in samples
                        if s.get("p999") is not None]),
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
    """Grouped-bar PNGs: rps, and latency (p50, p99, p99.9 of each server on
    a log scale) per row, one file per placement with a panel per pipeline
    depth.  Returns [(title, filename)]."""
    gp = shutil.which("gnuplot")
    if not gp:
        return []
    charts = []
    placements = []
    for k in order:
        if k[0] not in placements:
            placements.append(k[0])
    pipelines = sorted({k[1] for k in order})
    lat = ("p50", "p99", "p999")
    for metric, ylabel in (("rps", "requests/s (median)"),
                           ("lat", "latency, ms (median over rounds, log scale)")):
        for pl in placements:
            datfiles = []
            for p in pipelines:
                dat = os.path.join(raw, "chart-%s-%s-P%d.dat" % (metric, pl, p))
                with open(dat, "w", encoding="utf-8") as f:
                    f.write("# row strata redis\n" if metric == "rps" else
                            "# row strata p50 p99 p99.9, redis p50 p99 p99.9\n")
                    for k in order:
                        if k[0] != pl or k[1] != p:
                            continue
                        s = summary[k]
                        vals = []
                        for srv in SERVERS:
                            for f1 in ((metric,) if metric == "rps" else lat):
                                v = s[srv].get(f1) if s[srv] else None
                                vals.append("?" if v is None else repr(v))
                        f.write('"%s" %s\n' % (row_label(k[3], k[2], dsizes),
                                               " ".join(vals)))
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
                "set yrange [0:*]" if metric == "rps" else "set logscale y",
                "set key top right" if metric == "rps" else "set key top left",
                "set xtics rotate by 30 right" if nrows > 5 else "set xtics norotate",
                "set offsets 0, 0, graph 0.12, 0",
                'set ylabel "%s"' % ylabel,
                "set format y \"%.0s%c\"" if metric == "rps" else "set format y \"%g\"",
                "set multiplot layout 1,%d title \"%s, %s placement (%s)\""
                % (len(datfiles), "throughput" if metric == "rps"
                   else "latency p50 / p99 / p99.9", pl, stamp),
            ]
            for p, dat in datfiles:
                if metric == "rps":
                    plot = ("plot '%s' using 2:xtic(1) title 'strata' lc rgb '#d9534f', "
                            "'' using 3 title 'redis' lc rgb '#4a7bd0'" % dat)
                else:
                    cols = ("'#f2b8b6'", "'#d9534f'", "'#8b1e1b'",
                            "'#b5c9ee'", "'#4a7bd0'", "'#1c3d7a'")
                    names = ["%s %s" % (srv, q) for srv in SERVERS
                             for q in ("p50", "p99", "p99.9")]
                    parts = []
                    for i in range(6):
                        parts.append("%s using %d%s title '%s' lc rgb %s" % (
                            "'%s'" % dat if i == 0 else "''", i + 2,
                            ":xtic(1)" if i == 0 else "", names[i], cols[i]))
                    plot = "plot " + ", ".join(parts)
                script += ['set title "pipeline %d"' % p, plot]
            script.append("unset multiplot")
            gpfile = os.path.join(raw, "chart-%s-%s.gp" % (metric, pl))
            with open(gpfile, "w", encoding="utf-8") as f:
                f.write("\n".join(script) + "\n")
            r = subprocess.run([gp, gpfile], capture_output=True, text=True)
            if r.returncode == 0:
                charts.append(("%s, %s" % ("requests/s" if metric == "rps"
                                           else "latency p50/p99/p99.9", pl), png))
            else:
                sys.stderr.write("gnuplot failed for %s: %s\n" % (png, r.stderr))
    return charts


def write_line_chart(raw, outdir, png, title, xlabel, ylabel, series,
                     logx=False, logy=False, xtics=None):
    """One line chart: series = [(title, [(x, y)])].  -> png or None."""
    gp = shutil.which("gnuplot")
    if not gp or not series:
        return None
    base = os.path.splitext(png)[0]
    plots = []
    colors = ["#d9534f", "#4a7bd0", "#8b1e1b", "#1c3d7a", "#f0a040", "#40a070"]
    for i, (name, pts) in enumerate(series):
        dat = os.path.join(raw, "%s-%d.dat" % (base, i))
        with open(dat, "w", encoding="utf-8") as f:
            for x, y in pts:
                f.write("%s %s\n" % (x, "?" if y is None else repr(y)))
        plots.append("'%s' using 1:2 with linespoints lw 2 pt 7 lc rgb '%s' "
                     "title '%s'" % (dat, colors[i % len(colors)], name))
    script = [
        'set terminal pngcairo size 800,480 font "sans,10"',
        'set output "%s"' % os.path.join(outdir, png),
        'set datafile missing "?"',
        'set title "%s"' % title,
        'set xlabel "%s"' % xlabel,
        'set ylabel "%s"' % ylabel,
        "set grid",
        "set key outside right",
        "set logscale x" if logx else "set autoscale x",
        "set logscale y" if logy else "set yrange [0:*]",
        "set format y \"%.0s%c\"" if not logy else "set format y \"%g\"",
    ]
    if xtics:
        script.append("set xtics (%s)" % ", ".join('"%s" %s' % (x, x) for x in xtics))
    script.append("plot " + ", ".join(plots))
    gpfile = os.path.join(raw, base + ".gp")
    with open(gpfile, "w", encoding="utf-8") as f:
        f.write("\n".join(script) + "\n")
    r = subprocess.run([gp, gpfile], capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write("gnuplot failed for %s: %s\n" % (png, r.stderr))
        return None
    return png


def group_table(L, rows, allsum, first_cols, first_vals, unit="rps"):
    """Markdown table for a group's rows: the given leading columns, then
    rps (or another unit) per server, ratio, latencies, CPU, others."""
    L.append("| %s | strata %s | redis %s | ratio | strata p50 / p99 / p99.9 ms "
             "| redis p50 / p99 / p99.9 ms | CPU µs/req strata / redis "
             "| busy strata / redis | noise | others |"
             % (" | ".join(first_cols), unit, unit))
    L.append("|%s---:|---:|---:|---:|---:|---:|---:|---:|---:|"
             % ("---|" * len(first_cols)))
    for k in rows:
        s, r = allsum[k]["strata"], allsum[k]["redis"]
        noise = [x["spread"] for x in (s, r) if x and x["spread"] is not None]
        fo = [x["foreign"] for x in (s, r) if x and x["foreign"] is not None]
        L.append("| %s | %s | %s | %s | %s | %s | %s / %s | %s / %s | %s | %s |" % (
            " | ".join(str(v) for v in first_vals(k)),
            fmt_rps(s and s["rps"]), fmt_rps(r and r["rps"]),
            fmt_ratio(s and s["rps"], r and r["rps"]),
            fmt_lat(s), fmt_lat(r), fmt_us(s), fmt_us(r), fmt_busy(s),
            fmt_busy(r), "%.0f%%" % max(noise) if noise else "–",
            "%.0f%%" % max(fo) if fo else "?"))
    L.append("")


def scaling_sections(L, raw, outdir, stamp, allrows, allsum):
    """Scaling (io-threads, clients) and connection-storm sections."""
    def val(k, srv, f):
        x = allsum[k][srv]
        return x.get(f) if x else None

    iot = sorted((k for k in allrows if k.group == "scaling-iot"),
                 key=lambda k: (k.pipeline, k.iot))
    cli = sorted((k for k in allrows if k.group == "scaling-clients"),
                 key=lambda k: (k.placement, k.clients))
    storm = [k for k in allrows if k.group == "storm"]
    if not (iot or cli or storm):
        return
    L.append("## Scaling")
    L.append("")
    if iot:
        L.append("### Throughput vs io-threads")
        L.append("")
        L.append("Both servers restarted with `--io-threads N` for each N, "
                 "unpinned (no taskset), %d clients, `redis-benchmark --threads "
                 "2`, GET over 1M preloaded keys (every GET hits), `-d %d`. "
                 "redis-server's io-threads only write replies (no "
                 "`io-threads-do-reads`), strata's I/O threads each own their "
                 "clients end to end. With N above the CPU count the threads "
                 "share cores with each other and with the client."
                 % (iot[0].clients, iot[0].dsize))
        L.append("")
        group_table(L, iot, allsum, ["test", "pipeline", "io-threads"],
                    lambda k: (k.test.lower(), k.pipeline, k.iot))
        series = []
        for p in sorted({k.pipeline for k in iot}):
            for srv in SERVERS:
                pts = [(k.iot, val(k, srv, "rps")) for k in
                       sorted((k for k in iot if k.pipeline == p),
                              key=lambda k: k.iot)]
                series.append(("%s -P %d" % (srv, p), pts))
        png = write_line_chart(raw, outdir, "%s-scaling-iothreads.png" % stamp,
                               "GET requests/s vs io-threads (%s)" % stamp,
                               "io-threads", "requests/s (median)", series,
                               xtics=sorted({k.iot for k in iot}))
        if png:
            L.append("![requests/s vs io-threads](%s)" % png)
            L.append("")
    if cli:
        L.append("### Throughput and latency vs number of clients")
        L.append("")
        L.append("GET `-P 1` over 1M preloaded keys, `-d %d`, one server pair "
                 "per placement (pinned: `taskset`, io-threads 1; unpinned: "
                 "io-threads 2, `redis-benchmark --threads 2`)."
                 % cli[0].dsize)
        L.append("")
        group_table(L, cli, allsum, ["placement", "io-threads", "clients"],
                    lambda k: (k.placement, k.iot, k.clients))
        for metric, ylabel, logy in (("rps", "requests/s (median)", False),
                                     ("p99", "p99 latency, ms (log scale)", True)):
            series = []
            for pl in sorted({k.placement for k in cli}):
                for srv in SERVERS:
                    pts = [(k.clients, val(k, srv, metric)) for k in
                           sorted((k for k in cli if k.placement == pl),
                                  key=lambda k: k.clients)]
                    series.append(("%s %s" % (srv, pl), pts))
            png = write_line_chart(
                raw, outdir, "%s-scaling-clients-%s.png" % (stamp, metric),
                "GET -P 1: %s vs clients (%s)" % (
                    "requests/s" if metric == "rps" else "p99", stamp),
                "clients (log scale)", ylabel, series, logx=True, logy=logy,
                xtics=sorted({k.clients for k in cli}))
            if png:
                L.append("![%s vs clients](%s)" % (metric, png))
                L.append("")
    if storm:
        L.append("### Connection storm")
        L.append("")
        L.append("`redis-benchmark -k 0`: every request opens a new TCP "
                 "connection, sends one PING (`ping_mbulk`), reads the reply "
                 "and closes, %d clients at a time. The rate counts whole "
                 "connect + command + close cycles per second; latency is per "
                 "cycle as redis-benchmark measures it (connect included)."
                 % storm[0].clients)
        L.append("")
        group_table(L, storm, allsum, ["placement", "io-threads", "clients"],
                    lambda k: (k.placement, k.iot, k.clients), unit="conn/s")


def cmd_wait_ready(args):
    """Poll PORT from the moment the server was started (--t0, unix time)
    until PING answers +PONG (not -LOADING) and INFO persistence says
    loading:0; print both delays in seconds.  Connection refused (not
    listening yet) is retried every 5 ms."""
    deadline = time.time() + args.timeout
    pong = None
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", args.port), timeout=5) as s:
                f = s.makefile("rb")
                while time.time() < deadline:
                    if pong is None:
                        s.sendall(b"PING\r\n")
                        line = f.readline()
                        if not line:
                            break
                        if line.startswith(b"+PONG"):
                            pong = time.time() - args.t0
                        else:
                            time.sleep(0.005)
                            continue
                    s.sendall(b"INFO persistence\r\n")
                    hdr = f.readline()
                    if not hdr.startswith(b"$"):
                        time.sleep(0.005)
                        continue
                    body = f.read(int(hdr[1:]) + 2).decode("utf-8", "replace")
                    if parse_info(body).get("loading") == "0":
                        print("%.3f %.3f" % (pong, time.time() - args.t0))
                        return 0
                    time.sleep(0.005)
        except OSError:
            time.sleep(0.005)
    print("? ?")
    return 1


def stats_delta(raw, csvfile):
    """keyspace_hits/misses during one run (R_STATS files) -> (hits, misses)"""
    base = os.path.join(raw, csvfile[:-4] if csvfile.endswith(".txt") else csvfile)
    try:
        with open(base + ".stats0", encoding="utf-8", errors="replace") as f:
            a = parse_info(f.read())
        with open(base + ".stats1", encoding="utf-8", errors="replace") as f:
            b = parse_info(f.read())
        return (int(b["keyspace_hits"]) - int(a["keyspace_hits"]),
                int(b["keyspace_misses"]) - int(a["keyspace_misses"]))
    except (OSError, KeyError, ValueError):
        return None


def fmt_mb(x):
    try:
        return "%.0f" % (int(x) / 1048576)
    except (TypeError, ValueError):
        return "?"


def storage_sections(L, raw, meta, allrows, allsum):
    """The storage group: SET with an AOF/WAL, 10x maxmemory, restart."""
    aof = [k for k in allrows if k.group.startswith("storage-aof-")]
    spill = [k for k in allrows if k.group.startswith("storage-spill-")]
    loads = {r["tag"]: r for r in read_tsv(os.path.join(raw, "storage-load.tsv"))}
    restart = read_tsv(os.path.join(raw, "storage-restart.tsv"))
    if not (aof or spill or restart):
        return
    L.append("## Storage")
    L.append("")
    L.append("Pinned: each server on CPU %s with io-threads 1, redis-benchmark "
             "on CPU %s. Each server's files in its own scratch directory on "
             "the same filesystem (%s)."
             % (meta.get("server_cpu", "1"), meta.get("bench_cpu", "0"),
                meta.get("storage_scratch_fs", "?")))
    L.append("")
    if aof:
        L.append("### SET with a write-ahead log: appendfsync always / everysec")
        L.append("")
        L.append("strata `--data-dir D --appendonly yes --appendfsync F` (WAL "
                 "in D/wal, background flushes to SSTables in D/lsm) against "
                 "redis-server `--dir D --appendonly yes --appendfsync F` "
                 "(AOF, with its automatic rewrites), a fresh empty pair per F. "
                 "`redis-benchmark -t set -c %d -r 1000000 -d D -P P`. With "
                 "`always` both servers fsync before replying; each groups the "
                 "writes of one event-loop pass into one fsync, so -P 16 "
                 "amortises it." % aof[0].clients)
        L.append("")
        group_table(L, aof, allsum, ["appendfsync", "pipeline", "value B"],
                    lambda k: (k.group.split("-")[-1], k.pipeline, k.dsize))
    if spill or loads:
        mm = meta.get("storage_maxmemory")
        nk = meta.get("storage_spill_keys")
        L.append("### A data set 10x maxmemory")
        L.append("")
        L.append("maxmemory M = %s MB on every server; %s keys `key:%%012d` "
                 "with 256-byte values (%s MB of values = 10 M) loaded with "
                 "`redis-cli --pipe` in key order 0..N-1. strata: `--data-dir "
                 "D --maxmemory M --maxmemory-policy spill` (no WAL: "
                 "appendonly no; cold values move to SSTables, keys stay in "
                 "RAM). redis-server: `--maxmemory M` with `allkeys-lru` "
                 "(evicts keys) and with `noeviction` (refuses writes with "
                 "-OOM once full), persistence off, like a cache."
                 % (fmt_mb(mm), nk,
                    fmt_mb(int(nk) * 256) if nk else "?"))
        L.append("")
        if loads:
            L.append("Load (the whole data set, one `redis-cli --pipe` stream "
                     "per server; errors = error replies, i.e. -OOM for "
                     "noeviction; memory after the load):")
            L.append("")
            L.append("| server | keys sent | seconds | keys/s | errors | DBSIZE after | used_memory MB | RSS MB |")
            L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
            for tag, name in (("spill-strata", "strata spill"),
                              ("spill-redis-lru", "redis allkeys-lru"),
                              ("spill-redis-noeviction", "redis noeviction")):
                r = loads.get(tag)
                if not r:
                    continue
                try:
                    kps = fmt_rps(int(r["keys"]) / float(r["secs"]))
                except (ValueError, ZeroDivisionError):
                    kps = "?"
                L.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                    name, r["keys"], r["secs"], kps, r["errors"], r["dbsize"],
                    fmt_mb(r["used_memory"]), fmt_mb(r["rss"])))
            L.append("")
        if spill:
            # hit rates per (group, server), medians over rounds
            hits = collections.defaultdict(list)
            for m in read_tsv(os.path.join(raw, "manifest.tsv")):
                if not m.get("group", "").startswith(("storage-spill-", "storage-noevict-")):
                    continue
                d = stats_delta(raw, m["csvfile"])
                if d and sum(d):
                    hits[(m["group"], int(m["pipeline"]), m["server"])].append(
                        100.0 * d[0] / sum(d))
            ne = {(k.group.split("-")[-1], k.pipeline): k for k in allrows
                  if k.group.startswith("storage-noevict-")}
            hot_n = int(nk) // 10 if nk else 0
            L.append("GET, `redis-benchmark -c %d -P P GET key:__rand_int__` "
                     "with `-r N` (**uniform**: every key equally likely) or "
                     "`-r N/10` (**hot**: only keys 0..%d, the first 10%% "
                     "loaded, so the coldest when the reads start: on disk "
                     "in strata, evicted by allkeys-lru, kept by noeviction, "
                     "which refused the later keys instead). The hot rows "
                     "follow an unreported warm-up of %s GETs over the hot "
                     "set. **hit %%** = keyspace_hits / (hits + misses) in "
                     "`INFO stats` over the run: the share of GETs that "
                     "returned the value (a miss returns nil; nothing "
                     "refills it here, as a cache client would). ratio = "
                     "strata / redis allkeys-lru requests/s; a miss is "
                     "cheaper to serve than a hit, so read rps with hit %%."
                     % (spill[0].clients, hot_n - 1,
                        meta.get("storage_warm", "2x the hot set")))
            L.append("")
            L.append("| access | pipeline | strata rps | p50 / p99 / p99.9 ms | hit % "
                     "| redis lru rps | p50 / p99 / p99.9 ms | hit % "
                     "| redis noeviction rps | p50 / p99 / p99.9 ms | hit % | ratio "
                     "| CPU µs/req strata / lru / noevict | others |")
            L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")

            def hr(g, p, srv):
                v = median(hits.get((g, p, srv), []))
                return "n/a" if v is None else "%.1f" % v
            for k in spill:
                a = k.group.split("-")[-1]
                s, r = allsum[k]["strata"], allsum[k]["redis"]
                nk_ = ne.get((a, k.pipeline))
                n = allsum[nk_]["redis"] if nk_ else None
                fo = [x["foreign"] for x in (s, r, n) if x and x["foreign"] is not None]
                L.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s / %s | %s |" % (
                    a, k.pipeline, fmt_rps(s and s["rps"]), fmt_lat(s),
                    hr(k.group, k.pipeline, "strata"),
                    fmt_rps(r and r["rps"]), fmt_lat(r),
                    hr(k.group, k.pipeline, "redis"),
                    fmt_rps(n and n["rps"]), fmt_lat(n),
                    hr("storage-noevict-" + a, k.pipeline, "redis"),
                    fmt_ratio(s and s["rps"], r and r["rps"]),
                    fmt_us(s), fmt_us(r), fmt_us(n),
                    "%.0f%%" % max(fo) if fo else "?"))
            L.append("")
            L.append("CPU µs/req = the server's own CPU time over the run "
                     "divided by its requests (all threads, the flush and "
                     "spill threads included).")
            L.append("")
    if restart:
        L.append("### Restart time")
        L.append("")
        n = restart[0]["keys"]
        L.append("%s keys (`key:%%012d`, 16-byte values) loaded into both "
                 "servers with `appendonly yes`, `appendfsync everysec` "
                 "(strata: `--data-dir`, so WAL + SSTables). Before the "
                 "first SHUTDOWN each is brought to its compact persisted "
                 "form: strata's SHUTDOWN flushes every dirty entry to "
                 "SSTables and empties the WAL; redis-server gets "
                 "BGREWRITEAOF first (prep: until aof_rewrite_in_progress:0; "
                 "the AOF becomes an RDB preamble, Redis 7's default, with "
                 "an empty tail), then SHUTDOWN. Then the same command line "
                 "is started again, pinned the same way, and timed from the "
                 "exec to the first `+PONG` (not `-LOADING`) and to `INFO "
                 "persistence` `loading:0` (ready). keys/s = keys / ready. "
                 "Later rounds SHUTDOWN the restarted server (nothing left to "
                 "persist) and start it again. strata with maxmemory 0 loads "
                 "every value into RAM, as redis does." % n)
        L.append("")
        L.append("redis **keys from RDB** = `rdb_last_load_keys_loaded` after "
                 "the start: the keys read from the AOF's RDB base; any "
                 "others were replayed as commands from the AOF tail (the "
                 "rewrite did not cover them, and the row is not the "
                 "like-for-like case). strata: every key from SSTables.")
        L.append("")
        L.append("| server | round | keys | prep s | SHUTDOWN s | first PONG s | ready s | keys/s | DBSIZE after | keys from RDB |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in restart:
            try:
                kps = fmt_rps(int(r["keys"]) / float(r["ready_s"]))
            except (ValueError, ZeroDivisionError):
                kps = "?"
            fromrdb = "–"
            if r["server"] == "redis":
                try:
                    with open(os.path.join(raw, "storage-restart-redis-r%s-info.txt"
                                           % r["round"]), encoding="utf-8",
                              errors="replace") as f:
                        fromrdb = parse_info(f.read()).get(
                            "rdb_last_load_keys_loaded", "?")
                except OSError:
                    fromrdb = "?"
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                r["server"], r["round"], r["keys"], r["prep_s"], r["shutdown_s"],
                r["pong_s"], r["ready_s"], kps, r["dbsize"], fromrdb))
        L.append("")


def cmd_report(args):
    raw = args.raw
    meta = read_meta(os.path.join(raw, "meta.txt"))
    table, allrows = collect(raw)
    allsum = {k: {s: summarize(table[k][s]) for s in SERVERS} for k in allrows}
    # The throughput group keeps its (placement, pipeline, dsize, test) keys.
    order = [(k.placement, k.pipeline, k.dsize, k.test) for k in allrows
             if k.group == "throughput"]
    summary = {(k.placement, k.pipeline, k.dsize, k.test): allsum[k]
               for k in allrows if k.group == "throughput"}
    dsizes = sorted({k[2] for k in order})
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
    L.append("- Raw redis-benchmark output, INFO dumps and the command log: "
             "[`%s/`](%s/)" % (rawrel, rawrel))
    L.append("")

    # ---- throughput (absent when --groups left it out)
    if order:
        L.append("## Throughput")
        L.append("")
        L.append("50 clients, `-r 1000000` random keys, `-d` = value size. "
                 "rps = median requests/s over rounds; ratio = strata/redis "
                 "(> 1: strata faster). Latencies are medians of the per-round "
                 "p50/p99/p99.9 in ms. Noise = the larger of the two servers' "
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
                 "| strata p50 / p99 / p99.9 ms | redis p50 / p99 / p99.9 ms | CPU µs/req strata / "
                 "redis | busy strata / redis | noise | others |")
        L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for k in order:
            pl, p, d, test = k
            s, r = summary[k]["strata"], summary[k]["redis"]
            noise = [x["spread"] for x in (s, r) if x and x["spread"] is not None]
            fo = [x["foreign"] for x in (s, r) if x and x["foreign"] is not None]
            L.append("| %s | %s | %d | %d | %s | %s | %s | %s | %s | %s / %s | %s / %s | %s | %s |" % (
                row_label(test, d, dsizes), pl, p, d,
                fmt_rps(s and s["rps"]), fmt_rps(r and r["rps"]),
                fmt_ratio(s and s["rps"], r and r["rps"]),
                fmt_lat(s), fmt_lat(r),
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

    scaling_sections(L, raw, outdir, stamp, allrows, allsum)
    storage_sections(L, raw, meta, allrows, allsum)

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

    if order:
        L.append("## What holds strata back")
        L.append("")
        L.append("Rows below the 1.25 target ratio, and GET -P 16 rows below "
                 "1,000,000 requests/s, with what the CPU columns say about them. The "
                 "profile behind these notes and the next steps are in "
                 "[docs/performance.md](../../docs/performance.md).")
        L.append("")
        lag = []
        for k in order:
            s, r = summary[k]["strata"], summary[k]["redis"]
            if not (s and r and r["rps"]):
                continue
            ratio = s["rps"] / r["rps"]
            slow_get = k[3] == "GET" and k[1] == 16 and s["rps"] < 1e6
            if ratio >= 1.25 and not slow_get:
                continue
            bs, br = busy(s), busy(r)
            why = []
            if s.get("cpu_us") and r.get("cpu_us"):
                why.append("strata used %.2fx redis's CPU per request"
                           % (s["cpu_us"] / r["cpu_us"]))
            fo = max([x["foreign"] for x in (s, r)
                      if x.get("foreign") is not None], default=None)
            if fo is not None and fo > 20:
                why.append("other processes took up to %.0f%% of the machine "
                           "in at least one round of the row (above the 20%% "
                           "re-run threshold): read it as noise" % fo)
            elif bs is not None and br is not None:
                if k[0] == "pinned" and max(bs, br) < 85:
                    why.append("neither server was saturated (busy %.0f%% / "
                               "%.0f%% of its core): the single-threaded "
                               "redis-benchmark on the other core set the pace"
                               % (bs, br))
                else:
                    why.append("busy %.0f%% / %.0f%%" % (bs, br))
            pl, p, d, test = k
            if slow_get:
                why.insert(0, "%s rps, %.2fx short of the 1,000,000 target"
                           % (fmt_rps(s["rps"]), 1e6 / s["rps"]))
            lag.append("- %s %s -P %d -d %d: ratio %.2f; %s." % (
                test.lower(), pl, p, d, ratio, "; ".join(why) or "no CPU data"))
        if lag:
            L.extend(lag)
        else:
            L.append("- Every row is at or above 1.25, GET -P 16 at or above 1,000,000 rps.")
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
    p = sub.add_parser("wait-ready")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--t0", type=float, required=True)
    p.add_argument("--timeout", type=float, default=600)
    p.set_defaults(fn=cmd_wait_ready)
    p = sub.add_parser("report")
    p.add_argument("--raw", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cmd_report)
    args = ap.parse_args()
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
