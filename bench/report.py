#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Turns the measurements of bench/run.sh into RESULTS.md and chart.png.

    bench/report.py RESULTS_DIR

Reads raw.tsv (one line per run), rounds.tsv, machine.txt, callgrind.tsv and
callgrind-functions.tsv from RESULTS_DIR and bench/analysis.md (the written
closing note, if any). Only the standard library and gnuplot are used.
"""
import collections
import math
import os
import statistics
import subprocess
import sys
import tempfile

CONFIGS = ["glibc", "mimalloc", "jemalloc", "tcmalloc", "memtier-dram", "memtier-kmem",
           "shim-dram", "shim-kmem", "shim-rules1k"]
WORKLOADS = ["churn", "xthread", "larson", "threads", "mstress", "server", "realloc", "mixed", "aligned", "procs",
             "python", "sqlite", "redis"]
DESCRIPTION = {
    "churn": "single thread, 30M random small-object replacements (16 B-1 KiB) in an 8K-slot ring, with bursts",
    "xthread": "two threads, 10M blocks each handed over in batches of 128, every block freed by the other thread",
    "larson": "larson-style server: 250 epochs of 2 short-lived threads that free their dead predecessors' blocks",
    "threads": "thread churn: 2,000 short-lived threads (2 at a time, 2,000 requests each) and 2 long-lived "
               "ones; each keeps 1,000 blocks of its own and trades the rest through 16K shared slots",
    "mstress": "mstress-shaped: 200 rounds of 2 threads (3,750 and 7,500 requests, 8 B-10 MiB) that trade "
               "blocks through a 1,000-slot table and exit; the main thread frees half the table between rounds",
    "server": "a thread per connection on 127.0.0.1: 10,000 connections from 2 client threads, each "
              "handler builds a 1-16 KiB response from 32 small blocks",
    "procs": "a shell loop (`sh`) starting a small tool (`kmbench tiny`: 200 small blocks) 1,000 times",
    "realloc": "64 interleaved buffers grown by 1-96 B realloc steps up to 16 B-256 KiB, 14M steps",
    "mixed": "40K allocations of 16 B-64 MiB (94% up to 4 KiB, 0.1% 1-64 MiB), every page touched",
    "aligned": "5M posix_memalign/aligned_alloc/memalign, alignments 16 B-64 KiB",
    "python": "/usr/bin/python3: dict/list build, sort, delete loop (pyloop.py)",
    "sqlite": "sqlite3 :memory:, 200k single INSERTs in a transaction, index, queries, update, delete",
    "redis": "redis-server on 127.0.0.1, redis-benchmark -q -n 20000 -P 16 -c 16 -r 100000, 12 tests "
             "(time: the client's wall time; RSS and CPU: the server's)",
}
CONFIG_TEXT = {
    "glibc": "no preload (for redis: the jemalloc it is linked with)",
    "mimalloc": "`LD_PRELOAD=libmimalloc.so.2`",
    "jemalloc": "`LD_PRELOAD=libjemalloc.so.2`",
    "tcmalloc": "`LD_PRELOAD=libtcmalloc_minimal.so.4`",
    "memtier-dram": "`LD_PRELOAD=libmemtier.so.0 MEMKIND_MEM_TIERS='KIND:DRAM,RATIO:1;POLICY:STATIC_RATIO'` "
                    "under `stdbuf -oL`",
    "memtier-kmem": "`LD_PRELOAD=libmemtier.so.0 MEMKIND_MEM_TIERS='KIND:KMEM_DAX,RATIO:1;POLICY:STATIC_RATIO' "
                    "MEMKIND_DAX_KMEM_NODES=0` under `stdbuf -oL`",
    "shim-dram": "`LD_PRELOAD=libkmemshim.so KMEM_THRESHOLD=1T KMEM_NODES=0`: everything on the dram route",
    "shim-kmem": "`LD_PRELOAD=libkmemshim.so KMEM_NODES=0`: everything on the kmem route (dax_kmem, node 0)",
    "shim-rules1k": "as shim-kmem plus `KMEMRC=` a file of 1,000 `route kmem caller nosuchmod_N:fn_N` "
                    "rules and `default kmem`",
}


def read_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        lines = [l.rstrip("\n").split("\t") for l in f if l.strip()]
    if not lines:
        return []
    head = lines[0]
    return [dict(zip(head, l)) for l in lines[1:]]


def geomean(xs):
    xs = [x for x in xs if x is not None and x > 0]
    if not xs:
        return None
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def fmt(x, digits=3):
    if x is None:
        return "-"
    if x >= 100:
        return "%.0f" % x
    return "%.*g" % (digits, x)


def describe_failure(status):
    if status.startswith("server-signal:"):
        return "server crash (SIG%s)" % status.split(":", 1)[1]
    if status.startswith("signal:"):
        return "crash (SIG%s)" % status.split(":", 1)[1]
    if status.startswith("server-exit:"):
        return "server exit %s" % status.split(":", 1)[1]
    if status.startswith("exit:"):
        return "exit %s" % status.split(":", 1)[1]
    return {"timeout": "timeout", "wrong-output": "wrong output", "unavailable": "not built"}.get(status, status)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "results")
    here = os.path.dirname(os.path.abspath(__file__))
    raw = read_tsv(os.path.join(out, "raw.tsv"))
    if not raw:
        sys.exit("report.py: no measurements in %s/raw.tsv" % out)
    configs = [c for c in CONFIGS if any(r["config"] == c for r in raw)]
    workloads = [w for w in WORKLOADS if any(r["workload"] == w for r in raw)]
    rounds = sorted({int(r["round"]) for r in raw})

    # The reference output of a workload is glibc's (its most common one).
    ref = {}
    notes = []
    for w in workloads:
        hs = collections.Counter(r["output"] for r in raw
                                 if r["workload"] == w and r["config"] == "glibc" and r["status"] == "ok")
        if not hs:
            hs = collections.Counter(r["output"] for r in raw if r["workload"] == w and r["status"] == "ok")
            notes.append("%s: glibc never succeeded; outputs compared with the most common one" % w)
        elif len(hs) > 1:
            notes.append("%s: glibc's own output differed between rounds" % w)
        ref[w] = hs.most_common(1)[0][0] if hs else None
    for r in raw:
        if r["status"] == "ok" and r["output"] != ref[r["workload"]]:
            r["status"] = "wrong-output"

    run = {}  # (w, c, round) -> row
    for r in raw:
        run[(r["workload"], r["config"], int(r["round"]))] = r

    def ok(w, c, k):
        r = run.get((w, c, k))
        return r is not None and r["status"] == "ok"

    def val(w, c, k, field):
        r = run[(w, c, k)]
        try:
            return float(r[field])
        except ValueError:
            return None

    def med(w, c, field):
        xs = [val(w, c, k, field) for k in rounds if ok(w, c, k)]
        xs = [x for x in xs if x is not None]
        return statistics.median(xs) if xs else None

    def ratio(w, c, base, field="wall_s"):
        xs = [val(w, c, k, field) / val(w, base, k, field) for k in rounds
              if ok(w, c, k) and ok(w, base, k) and val(w, c, k, field) and val(w, base, k, field)]
        return statistics.median(xs) if xs else None

    def failures(w, c):
        st = [run[(w, c, k)]["status"] for k in rounds if (w, c, k) in run]
        bad = [s for s in st if s != "ok"]
        return bad, len(st)

    def cell(w, c, x, digits=3):
        bad, n = failures(w, c)
        if x is None:
            if bad:
                return "**%s**" % describe_failure(collections.Counter(bad).most_common(1)[0][0])
            return "-"
        s = fmt(x, digits)
        if bad:
            s += " (%d/%d failed: %s)" % (len(bad), n, describe_failure(bad[0]))
        return s

    L = []
    mach = open(os.path.join(out, "machine.txt")).read() if os.path.exists(os.path.join(out, "machine.txt")) else ""
    mode = next((l.split(": ", 1)[1] for l in mach.splitlines() if l.startswith("mode: ")), "")
    date = next((l.split(": ", 1)[1] for l in mach.splitlines() if l.startswith("date: ")), "")
    L.append("# kmemshim benchmark results\n")
    L.append("Written by `bench/run.sh` (%s, %s); regenerate the report from the raw data with "
             "`bench/report.py bench/results`. Every configuration ran every workload once per round, "
             "interleaved, the starting configuration rotating each round. Times are wall-clock medians "
             "over the rounds; ratios are medians of per-round ratios (run / baseline of the same round); "
             "geomeans are over the workloads where both sides succeeded. Each run's output was compared "
             "with glibc's (a checksum of the data written and read back, or the program's output).\n"
             % (mode, date))

    # ---- targets
    def geo_ratio(c, base, field="wall_s"):
        if c not in configs or base not in configs:
            return None
        return geomean([ratio(w, c, base, field) for w in workloads])

    L.append("## Targets\n")
    L.append("Time targets are judged on wall time; the geomean of the CPU-time ratios (user + system) "
             "is given beside it because it is less disturbed by other load on the machine.\n")
    L.append("| target | measured | met | by CPU time |")
    L.append("|---|---|---|---|")

    def verdict(x, limit):
        if x is None:
            return "n/a (no successful runs)"
        return "yes" if x <= limit else "**no**"

    for c, base, limit, text in (("shim-dram", "mimalloc", 1.02, "geomean time, dram route ≤ 1.02× mimalloc"),
                                 ("shim-kmem", "mimalloc", 1.03, "geomean time, kmem route ≤ 1.03× mimalloc"),
                                 ("shim-rules1k", "mimalloc", 1.05, "geomean time, 1,000 rules ≤ 1.05× mimalloc")):
        if c not in configs or base not in configs:
            continue
        x, y = geo_ratio(c, base), geo_ratio(c, base, "cpu_s")
        L.append("| %s | %s× | %s | %s× (%s) |" % (text, fmt(x), verdict(x, limit), fmt(y),
                                                  "within" if y is not None and y <= limit else "over"))
    if "shim-kmem" in configs and "mimalloc" in configs:
        worst = max(((ratio(w, "shim-kmem", "mimalloc"), w) for w in workloads
                     if ratio(w, "shim-kmem", "mimalloc") is not None), default=None)
        wcpu = max(((ratio(w, "shim-kmem", "mimalloc", "cpu_s"), w) for w in workloads
                    if ratio(w, "shim-kmem", "mimalloc", "cpu_s") is not None), default=None)
        if worst:
            L.append("| worst single workload, kmem route ≤ 1.15× mimalloc | %s %s× | %s | %s %s× |"
                     % (worst[1], fmt(worst[0]), verdict(worst[0], 1.15),
                        wcpu[1] if wcpu else "-", fmt(wcpu[0]) if wcpu else "-"))
    cgt = {r["config"]: r for r in read_tsv(os.path.join(out, "callgrind.tsv"))}

    def per_pair(c):
        r = cgt.get(c)
        return None if r is None or r["Ir_per_pair"] == "failed" else float(r["Ir_per_pair"])

    mi_pair = per_pair("mimalloc")
    for c, text in (("shim-kmem", "instructions per malloc(32)/free pair, kmem route ≤ mimalloc + 15"),
                    ("shim-sizerule", "size-only rules (`route dram size >= 0`): the threshold's fast path, "
                                      "≤ mimalloc + 15 instructions per pair")):
        x = per_pair(c)
        if x is not None and mi_pair is not None:
            extra = "" if c == "shim-kmem" else "; the same split by `KMEM_THRESHOLD`: %s" % fmt(per_pair("shim-dram"), 4)
            L.append("| %s | %s vs %s (%+.0f)%s | %s | |" % (text, fmt(x, 4), fmt(mi_pair, 4), x - mi_pair, extra,
                                                           verdict(x - mi_pair, 15)))
    x, k = per_pair("shim-depth2"), per_pair("shim-kmem")
    if x is not None and k is not None:
        # the request's share: the pair minus what the kmem route's free and loop cost
        L.append("| one `depth 2` rule over all sizes ≤ 1,000 instructions per request | %s per pair "
                 "(%s per request beyond the kmem route's pair) | %s | |"
                 % (fmt(x, 4), fmt(x - k, 4), verdict(x - k, 1000)))
    st = {r["mode"]: r["Ir"] for r in read_tsv(os.path.join(out, "callgrind-stats.tsv"))}
    if st.get("off") not in (None, "failed") and st.get("on") not in (None, "failed"):
        d = float(st["on"]) / float(st["off"]) - 1
        L.append("| `KMEM_STATS` on, allocation loop ≤ +5%% (instructions, stats_cost) | %+.1f%% (%.0f M vs %.0f M) | %s | |"
                 % (d * 100, float(st["on"]) / 1e6, float(st["off"]) / 1e6, verdict(d, 0.05)))
    cwt = {(r["workload"], r["config"]): r["Ir"] for r in read_tsv(os.path.join(out, "callgrind-workloads.tsv"))}
    t, tm = cwt.get(("true", "shim-kmem")), cwt.get(("true", "mimalloc"))
    if t not in (None, "failed"):
        L.append("| `/bin/true` exec to exit, with KMEM nodes ≤ 0.4 M instructions | %.2f M (mimalloc %s M) | %s | |"
                 % (float(t) / 1e6, "%.2f" % (float(tm) / 1e6) if tm not in (None, "failed") else "-",
                    verdict(float(t) / 1e6, 0.4)))
    if "mimalloc" in configs:
        small = [w for w in workloads if med(w, "mimalloc", "maxrss_kib") is not None
                 and med(w, "mimalloc", "maxrss_kib") < 16 * 1024 and w not in ("redis",)]
        for c in ("shim-dram", "shim-kmem", "shim-rules1k"):
            if c not in configs:
                continue
            over, worst = [], None
            for w in small:
                a, b = med(w, c, "maxrss_kib"), med(w, "mimalloc", "maxrss_kib")
                if a is None:
                    continue
                if worst is None or a - b > worst[0]:
                    worst = (a - b, w)
                if a - b > 512:
                    over.append("%s +%.1f" % (w, (a - b) / 1024))
            if worst is not None:
                L.append("| peak RSS, %s ≤ mimalloc + 0.5 MiB, small workloads (mimalloc < 16 MiB: %s) | %s | %s | |"
                         % (c, ", ".join(small),
                            "over on " + "; ".join(over) + " MiB" if over else
                            "worst %s %+.2f MiB" % (worst[1], worst[0] / 1024),
                            "**no**" if over else "yes"))
    for c, m in (("shim-dram", "memtier-dram"), ("shim-kmem", "memtier-kmem")):
        if c not in configs or m not in configs:
            continue
        slower, won, crashed = [], 0, []
        for w in workloads:
            x = ratio(w, c, m)
            if x is None:
                if med(w, c, "wall_s") is not None and med(w, m, "wall_s") is None:
                    crashed.append(w)
                    won += 1
                elif med(w, c, "wall_s") is None:
                    slower.append("%s (shim failed)" % w)
                continue
            if x < 1:
                won += 1
            else:
                slower.append("%s %.2f×" % (w, x))
        L.append("| %s faster than %s on every workload | faster on %d/%d%s%s | %s | |"
                 % (c, m, won, len(workloads),
                    "; memtier failed on " + ", ".join(crashed) if crashed else "",
                    "; not faster on " + ", ".join(slower) if slower else "",
                    "**no**" if slower else "yes"))
    L.append("")

    # ---- chart
    chart = make_chart(out, configs, workloads, ratio, med)
    if chart:
        L.append("![time and peak RSS relative to glibc](chart.png)\n")

    # ---- tables
    def table(title, value, digits=3, geo=None, intro=""):
        L.append("## %s\n" % title)
        if intro:
            L.append(intro + "\n")
        L.append("| workload | " + " | ".join(configs) + " |")
        L.append("|---|" + "---:|" * len(configs))
        for w in workloads:
            L.append("| %s | " % w + " | ".join(cell(w, c, value(w, c), digits) for c in configs) + " |")
        if geo:
            L.append("| **geomean** | " + " | ".join(
                "**%s** (%d)" % (fmt(geomean([geo(w, c) for w in workloads])),
                                 len([1 for w in workloads if geo(w, c) is not None]))
                if geomean([geo(w, c) for w in workloads]) is not None else "-" for c in configs) + " |")
        L.append("")

    table("Median wall time (s)", lambda w, c: med(w, c, "wall_s"))
    table("Time relative to glibc (median of per-round ratios)", lambda w, c: ratio(w, c, "glibc"),
          geo=lambda w, c: ratio(w, c, "glibc"),
          intro="Below 1 is faster than glibc. The geomean row gives, in brackets, how many workloads it covers.")
    if "mimalloc" in configs:
        table("Time relative to mimalloc (median of per-round ratios)", lambda w, c: ratio(w, c, "mimalloc"),
              geo=lambda w, c: ratio(w, c, "mimalloc"),
              intro="The shim is mimalloc underneath, so this is its overhead.")
    table("Median peak RSS (MiB)", lambda w, c: None if med(w, c, "maxrss_kib") is None
          else med(w, c, "maxrss_kib") / 1024,
          intro="ru_maxrss of the program (for redis: VmHWM of the server).")
    table("Median CPU time, user + system (s)", lambda w, c: med(w, c, "cpu_s"),
          intro="Less sensitive than wall time to other load on the machine (for redis: the server's).")

    # ---- callgrind
    cg = read_tsv(os.path.join(out, "callgrind.tsv"))
    fn = read_tsv(os.path.join(out, "callgrind-functions.tsv"))
    if cg:
        L.append("## Instructions per malloc(32)/free pair (callgrind)\n")
        L.append("`bench/callgrind.sh`: `valgrind --tool=callgrind --toggle-collect=kmbench_pairs` around a "
                 "loop of N = %s `malloc(32)`/`free` pairs with one other 32-byte block live; a run with "
                 "N = 1,000 is subtracted. *Allocator* leaves out the loop's own instructions. "
                 "The counts are exact and repeat from run to run.\n" % "{:,}".format(int(cg[0]["pairs"])))
        loop = {r["config"]: float(r["Ir_per_pair"]) for r in fn if r["function"] == "kmbench_pairs"}
        mi = next((float(r["Ir_per_pair"]) - loop.get("mimalloc", 0) for r in cg
                   if r["config"] == "mimalloc" and r["Ir_per_pair"] != "failed"), None)
        L.append("| configuration | per pair, total | allocator | vs mimalloc | where (instructions per pair) |")
        L.append("|---|---:|---:|---:|---|")
        for r in cg:
            c = r["config"]
            if r["Ir_per_pair"] == "failed":
                L.append("| %s | **failed** | | | |" % c)
                continue
            tot = float(r["Ir_per_pair"])
            alloc = tot - loop.get(c, 0)
            where = ", ".join("`%s` %s" % (f["function"], fmt(float(f["Ir_per_pair"])))
                              for f in fn if f["config"] == c and f["function"] != "kmbench_pairs")
            L.append("| %s | %s | %s | %s | %s |" % (c, fmt(tot, 4), fmt(alloc, 4),
                     "%+.0f" % (alloc - mi) if mi is not None and c != "mimalloc" else "", where))
        L.append("")

    cw = read_tsv(os.path.join(out, "callgrind-workloads.tsv"))
    if cw:
        wcfg = [c for c in CONFIGS if any(r["config"] == c for r in cw)]
        wl = []
        for r in cw:
            if r["workload"] not in wl:
                wl.append(r["workload"])
        ir = {(r["workload"], r["config"]): r["Ir"] for r in cw}
        scale = {r["workload"]: r["scale"] for r in cw}
        L.append("## User-space instructions per workload (callgrind)\n")
        L.append("Every instruction the program executes outside the kernel, counted by callgrind on the "
                 "synthetic workloads at a small scale (given per row): the allocator's share of the work "
                 "without any timing noise. It does not see page faults or system calls (for those, see "
                 "the CPU-time table). *true* is `/bin/true` from exec to exit; *startup* is a whole "
                 "process that makes one malloc/free pair; the other rows have it subtracted. Millions of instructions, and in brackets relative to "
                 "mimalloc.\n")
        L.append("| workload (scale) | " + " | ".join(wcfg) + " |")
        L.append("|---|" + "---:|" * len(wcfg))
        rel = collections.defaultdict(list)

        def net(w, c):
            # the workload's own count: its process minus the start-up process of the same configuration
            v, st = ir.get((w, c)), ir.get(("startup", c))
            if v in (None, "failed") or w in ("startup", "true") or st in (None, "failed"):
                return v
            return str(float(v) - float(st))

        for w in wl:
            cells = []
            base = net(w, "mimalloc")
            for c in wcfg:
                v = net(w, c)
                if v is None:
                    cells.append("-")
                elif v == "failed":
                    cells.append("**failed**")
                else:
                    x = float(v) / 1e6
                    if base not in (None, "failed"):
                        rr = float(v) / float(base)
                        if w not in ("startup", "true"):
                            rel[c].append(rr)
                        cells.append("%s (%.2f)" % (fmt(x), rr))
                    else:
                        cells.append(fmt(x))
            L.append("| %s (%s) | " % (w, scale[w]) + " | ".join(cells) + " |")
        L.append("| **geomean** (without startup) | " + " | ".join(
            "**%.2f**" % geomean(rel[c]) if rel[c] else "-" for c in wcfg) + " |")
        L.append("")

    # ---- closing note, failures, rounds, machine
    analysis = os.path.join(here, "analysis.md")
    if os.path.exists(analysis):
        L.append(open(analysis).read().rstrip() + "\n")

    L.append("## Configurations and workloads\n")
    for c in configs:
        L.append("- **%s**: %s" % (c, CONFIG_TEXT.get(c, "")))
    L.append("")
    for w in workloads:
        L.append("- **%s**: %s" % (w, DESCRIPTION.get(w, "")))
    L.append("")
    L.append("Sizes are for the full run; `--quick` does a tenth of the work (sqlite 20k rows, redis -n 2000).\n")

    fail_txt = os.path.join(out, "failures.txt")
    wrong = sorted({(r["workload"], r["config"]) for r in raw if r["status"] == "wrong-output"})
    if (os.path.exists(fail_txt) and os.path.getsize(fail_txt)) or wrong or notes:
        L.append("## Failures\n")
        L.append("The first failing run of each workload × configuration, with the start of its stderr "
                 "(`failures.txt` has it all).\n")
        for w, c in wrong:
            L.append("- %s under %s: output differs from glibc's" % (w, c))
        for n in notes:
            L.append("- " + n)
        if os.path.exists(fail_txt):
            L.append("\n```")
            for block in open(fail_txt).read().split("== ")[1:]:
                lines = block.rstrip().splitlines()
                L.append("== " + lines[0])
                L.extend("   " + l[:160] for l in lines[1:4])
            L.append("```")
        L.append("")

    rnds = read_tsv(os.path.join(out, "rounds.tsv"))
    if rnds:
        L.append("## Rounds\n")
        L.append("Load average at the start and end of each round: other work on the machine shows here.\n")
        L.append("| round | start (UTC) | load | end | load |")
        L.append("|---|---|---|---|---|")
        for r in rnds:
            L.append("| %s | %s | %s | %s | %s |" % (r["round"], r["start_utc"], r["loadavg_start"],
                                                  r["end_utc"], r["loadavg_end"]))
        L.append("")
    if mach:
        L.append("## Machine\n")
        L.append("```")
        L.append(mach.rstrip())
        L.append("```")
    with open(os.path.join(out, "RESULTS.md"), "w") as f:
        f.write("\n".join(L) + "\n")


def make_chart(out, configs, workloads, ratio, med):
    """Two panels, time and peak RSS relative to glibc, one bar per configuration;
    a failed run is an x at the bottom of its slot."""
    if "glibc" not in configs:
        return False
    others = [c for c in configs if c != "glibc"] or configs
    groups = workloads + ["geomean"]
    nc = len(others)
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#7f7f7f", "#d62728", "#e377c2", "#bcbd22"]
    with tempfile.TemporaryDirectory() as tmp:
        gp = []
        gp.append('set terminal pngcairo size 1600,1100 font "DejaVu Sans,12"')
        gp.append('set output "%s"' % os.path.join(out, "chart.png"))
        gp.append("set multiplot layout 2,1")
        gp.append("set style fill solid 0.9 border -1")
        gp.append("set boxwidth 0.9")
        gp.append("set logscale y 2")
        gp.append("set grid ytics")
        gp.append("set key outside right top vertical")
        gp.append('set label 1 "x: failed or crashed" at graph 1.01, graph 0.02 left')
        gp.append("set xrange [-1:%d]" % (len(groups) * (nc + 2) - 1))
        gp.append("set xtics (%s) scale 0" % ", ".join('"%s" %g' % (g, i * (nc + 2) + (nc - 1) / 2)
                                                       for i, g in enumerate(groups)))
        for panel, (title, field) in enumerate((("wall time relative to glibc (lower is faster)", "wall_s"),
                                                 ("peak RSS relative to glibc", "maxrss_kib"))):
            ys = {}
            for j, c in enumerate(others):
                vals = []
                for w in workloads:
                    vals.append(ratio(w, c, "glibc", field))
                vals.append(geomean(vals))
                ys[c] = vals
            allv = [v for vs in ys.values() for v in vs if v]
            lo = min(allv + [1]) / 1.5
            hi = max(allv + [1]) * 1.5
            gp.append('set title "%s"' % title)
            gp.append("set yrange [%g:%g]" % (lo, hi))
            gp.append('set ylabel "× glibc"')
            plots = []
            for j, c in enumerate(others):
                dat = os.path.join(tmp, "%d-%s.dat" % (panel, c))
                bad = os.path.join(tmp, "%d-%s.bad" % (panel, c))
                with open(dat, "w") as f, open(bad, "w") as fb:
                    for i, v in enumerate(ys[c]):
                        x = i * (nc + 2) + j
                        if v:
                            f.write("%g %g\n" % (x, v))
                        elif i < len(workloads):
                            fb.write("%g %g\n" % (x, lo * 1.15))
                plots.append('"%s" using 1:2 with boxes lc rgb "%s" title "%s"' % (dat, colors[j % len(colors)], c))
                if os.path.getsize(bad):
                    plots.append('"%s" using 1:2 with points pt 2 ps 1.5 lw 2 lc rgb "%s" notitle'
                                 % (bad, colors[j % len(colors)]))
            plots.append('1 with lines lc rgb "black" lw 1 notitle')
            gp.append("plot " + ", \\\n     ".join(plots))
        gp.append("unset multiplot")
        script = os.path.join(tmp, "chart.gp")
        with open(script, "w") as f:
            f.write("\n".join(gp) + "\n")
        try:
            subprocess.run(["gnuplot", script], check=True)
        except (OSError, subprocess.CalledProcessError) as e:
            print("report.py: gnuplot failed: %s" % e, file=sys.stderr)
            return False
    return True


if __name__ == "__main__":
    main()
