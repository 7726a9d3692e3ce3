#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# KMEM_STATS, KMEM_PROFILE, kmemshim suggest and kmemshim run, end to end.
# usage: stats.sh SHIM KMEMSHIM_CLI TESTS_BIN_DIR CASE
# CASE: off | text | json | fork | threads | signals | profile | cxx | roundtrip | run | help
#       | sampled | signals_sampled | bad_sample | switches | inline | unwritable | suggest_bad
#       | run_bad
set -euo pipefail
shim=$1 cli=$2 bin=$3 case=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
prog=$bin/stats_prog
# Node 0 stands in for a KMEM node, as in the other preload tests.
export KMEM_NODES=0
# Exact numbers: every block recorded. The cases that test sampling unset it.
export KMEM_STATS_SAMPLE=0

case $case in
off)
    # No variable, no report: the output is the program's own.
    LD_PRELOAD=$shim $prog >out 2>err
    [ "$(cat out)" = ok ] || fail "stdout: $(cat out)"
    [ ! -s err ] || fail "stderr without KMEM_STATS: $(cat err)"
    ;;
text)
    KMEM_THRESHOLD=64K KMEM_STATS=stderr LD_PRELOAD=$shim $prog >out 2>err
    cat err
    [ "$(cat out)" = ok ] || fail "stdout: $(cat out)"
    grep -q '^kmemshim stats: pid [0-9]*' err || fail "no header"
    grep -qx 'every block recorded (KMEM_STATS_SAMPLE=0)' err || fail "sampling line"
    # 8 blocks of 1 MiB to dax_kmem, all live at once.
    grep -Eq '^dax_kmem +8 +8\.0 MiB +0 B +8\.0 MiB$' err || fail "dax_kmem line"
    grep -Eq '^dram +[0-9]+ ' err || fail "dram line"
    grep -Eq 'arena bind 0 .*resident node 0 [0-9.]+ MiB' err || fail "resident by node"
    grep -q 'resident bytes measured with move_pages(2)' err || fail "method"
    grep -Eq '8\.0 MiB +8 +8\.0 MiB +dax_kmem +stats_prog\+0x[0-9a-f]+ big_buffers\+0x[0-9a-f]+$' err ||
        fail "top callsite big_buffers"
    grep -Eq '100000 +.* dram +stats_prog\+0x[0-9a-f]+ small_nodes' err || fail "small_nodes"
    # The rules file's `stats` line does the same, and the environment wins over it.
    printf 'threshold 64K\nstats %s/file.%%p.txt\n' "$work" >rc
    KMEMRC=$work/rc LD_PRELOAD=$shim $prog >out 2>err
    grep -Eq '^dax_kmem +8 ' file.*.txt || fail "stats from the rules file"
    rm -f file.*.txt
    KMEMRC=$work/rc KMEM_STATS=$work/env.txt LD_PRELOAD=$shim $prog >out
    [ -s env.txt ] && ! ls file.*.txt 2>/dev/null || fail "KMEM_STATS does not win over the file"
    ;;
json)
    KMEM_THRESHOLD=64K KMEM_STATS=$work/s.%p.json LD_PRELOAD=$shim $prog >out
    f=$(ls s.*.json)
    [ "$(echo "$f" | wc -l)" = 1 ] || fail "expected one report: $f"
    python3 -m json.tool "$f" >/dev/null || fail "JSON does not parse: $(cat "$f")"
    python3 - "$f" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
routes = {x["route"]: x for x in r["routes"]}
k = routes["dax_kmem"]
assert k["allocations"] == 8 and k["bytes_requested"] == 8 << 20, k
assert k["peak_live_bytes"] == 8 << 20 and k["live_bytes"] == 0, k
res = k["resident"][0]
assert res["policy"] == "bind" and res["nodes"] == "0", res
assert res["by_node"]["0"] >= 8 << 20, res
assert routes["dram"]["allocations"] >= 100001, routes["dram"]
top = r["top_callsites"][0]
assert top["symbol"].startswith("big_buffers+"), top
assert top["callsite"].startswith("stats_prog+0x"), top
assert len(r["top_callsites"]) <= 10
print("json ok:", sys.argv[1])
PY
    ;;
fork)
    KMEM_THRESHOLD=64K KMEM_STATS=$work/f.%p.txt LD_PRELOAD=$shim $prog fork >out
    [ "$(ls f.*.txt | wc -l)" = 2 ] || fail "expected two reports: $(ls)"
    parent=$(grep -l 'child_work' f.*.txt || true)
    [ -n "$parent" ] || fail "no report names child_work"
    [ "$(echo "$parent" | wc -l)" = 1 ] || fail "child_work in both reports"
    child=$parent
    par=$(ls f.*.txt | grep -v "^$child\$")
    cat "$child"
    # The child inherits the parent's blocks (8 MiB live) and adds 3 MiB at once.
    grep -Eq '^dax_kmem +9 +11\.0 MiB +8\.0 MiB +11\.0 MiB$' "$child" || fail "child's dax_kmem"
    grep -Eq '^dax_kmem +8 +8\.0 MiB +0 B +8\.0 MiB$' "$par" || fail "parent's dax_kmem: $(cat "$par")"
    pc=$(sed -n 's/^kmemshim stats: pid \([0-9]*\),.*/\1/p' "$child")
    [ "f.$pc.txt" = "$child" ] || fail "%p is not the child's pid"
    ;;
threads)
    # Exact totals after cross-thread frees and thread exits: 8 x 200 blocks of
    # 100000 bytes to dax_kmem, 8 x 2000 of 40 to dram, nothing live at exit.
    KMEM_THRESHOLD=64K KMEM_STATS=$work/t.json KMEM_PROFILE=$work/t.prof LD_PRELOAD=$shim \
        $bin/stats_threads >out
    python3 - t.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
routes = {x["route"]: x for x in r["routes"]}
k = routes["dax_kmem"]
assert k["allocations"] == 1600 and k["bytes_requested"] == 1600 * 100000, k
assert k["live_bytes"] == 0, k
# Peaks are sampled at flushes; every block here is above 64K, so each
# allocation flushes and the peak is exact: all 1600 blocks were live at once.
assert k["peak_live_bytes"] == 1600 * 100000, k
top = r["top_callsites"][0]
assert top["symbol"].startswith("thread_alloc+"), top
assert top["allocations"] == 17600, top
print("threads ok")
PY
    line=$(grep -P '\tthread_alloc\+' t.prof) || fail "profile: no thread_alloc"
    IFS=$'\t' read -r peak count bytes live routes site sym src sizes <<<"$line"
    [ "$count $bytes $live $routes" = "17600 160640000 0 dram,dax_kmem" ] || fail "thread_alloc: $line"
    [ "$sizes" = "64:16000,262144:1600" ] || fail "histogram $sizes"
    ;;
signals)
    # timeout outside the preload: it would write its own report to the same path.
    # KMEM_THRESHOLD=4K: the main loop's requests (16..3015 bytes) stay in DRAM's heap, the
    # handler's (8 KiB) go to dax_kmem's: mimalloc is not async-signal-safe (stats_signals.c
    # says how the handler keeps off the state the main loop changes).
    timeout 240 env KMEM_THRESHOLD=4K KMEM_STATS=$work/sig.json LD_PRELOAD=$shim $bin/stats_signals >out ||
        fail "stats_signals: status $?"
    grep -qx 'ok 1 signals' out || fail "no signal handled: $(cat out)"
    python3 - sig.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for x in r["routes"]:
    assert x["allocations"] > 0, x
assert sum(x["allocations"] for x in r["routes"]) > 3000000, r["routes"]
# Only stdout's buffer (4096 bytes) is still allocated at exit.
assert sum(x["live_bytes"] for x in r["routes"]) <= 4096, r["routes"]
assert any(t["symbol"].startswith("on_alarm+") for t in r["top_callsites"]), r["top_callsites"]
print("signals ok", [(x["route"], x["live_bytes"]) for x in r["routes"]])
PY
    ;;
profile)
    KMEM_PROFILE=$work/p.prof LD_PRELOAD=$shim $prog >out
    cat p.prof
    head -1 p.prof | grep -qx '# kmemshim profile 1' || fail "header"
    grep -qx '# peak_live.count.bytes.live_at_exit.routes.callsite.symbol.source.sizes' p.prof ||
        fail "columns"
    # Everything to kmem (no threshold): big_buffers first, exact numbers.
    line=$(grep -v '^#' p.prof | head -1)
    IFS=$'\t' read -r peak count bytes live routes site sym src sizes <<<"$line"
    [ "$peak $count $bytes $live $routes" = "8388608 8 8388608 0 dax_kmem" ] || fail "big_buffers: $line"
    case $site in stats_prog+0x*) ;; *) fail "site $site" ;; esac
    case $sym in big_buffers+0x*) ;; *) fail "symbol $sym" ;; esac
    case $src in */stats_prog.c:[0-9]*) ;; *) fail "source $src" ;; esac
    [ "$sizes" = "1048576:8" ] || fail "histogram $sizes"
    small=$(grep -P '\tsmall_nodes\+' p.prof) || fail "no small_nodes"
    IFS=$'\t' read -r peak count bytes live routes site sym src sizes <<<"$small"
    [ "$count $bytes $live $sizes" = "100000 4800000 0 64:100000" ] || fail "small_nodes: $small"
    [ "$peak" -le 48000 ] && [ "$peak" -ge 40000 ] || fail "small_nodes peak $peak"
    ;;
cxx)
    KMEM_PROFILE=$work/c.prof LD_PRELOAD=$shim $bin/stats_cxx >out
    cat c.prof
    # new[] and std::allocator: the callers are in the program, never libstdc++.
    grep -P '^4194304\t4\t4194304\t0\tdax_kmem\tstats_cxx\+0x[0-9a-f]+\tmake_blobs\(?' c.prof ||
        grep -P '^4194304\t4\t4194304\t0\tdax_kmem\tstats_cxx\+0x[0-9a-f]+\t' c.prof | grep -q make_blobs ||
        fail "make_blobs not named"
    grep -P '^2097152\t1\t2097152\t0\tdax_kmem\tstats_cxx\+0x[0-9a-f]+\t[^\t]*make_vector' c.prof ||
        fail "vector<double> not named make_vector"
    # Never operator new itself. (std::string's constructor is compiled into
    # libstdc++, so its callsite rightly is libstdc++.)
    if grep -P '\t_Zn[wa]m' c.prof; then fail "operator new named as a caller"; fi
    ;;
roundtrip)
    # Sampled, as users run it: the 1 MiB blocks that decide are recorded exactly.
    unset KMEM_STATS_SAMPLE
    # 1. Profile with everything in DRAM (threshold above every request).
    KMEM_THRESHOLD=1T KMEM_PROFILE=$work/r.prof LD_PRELOAD=$shim $prog >out
    # 2. A budget of 1 MiB: only big_buffers (8 MiB at peak) has to move.
    "$cli" suggest --dram-budget 1M -o rules r.prof
    cat rules
    "$cli" check rules || fail "kmemshim check rejects the suggestion"
    [ "$(grep -c '^route ' rules)" = 1 ] || fail "expected one rule"
    grep -B2 '^route kmem caller stats_prog+0x' rules | grep -q 'big_buffers' || fail "comment"
    # 3. Rerun with the rules: the 8 MiB and nothing else go to kmem.
    KMEMRC=$work/rules KMEM_STATS=$work/r.json LD_PRELOAD=$shim $prog >out
    python3 - r.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
routes = {x["route"]: x for x in r["routes"]}
k = routes["dax_kmem"]
assert k["allocations"] == 8 and k["bytes_requested"] == 8 << 20 and k["peak_live_bytes"] == 8 << 20, k
d = routes["dram"]
assert d["peak_live_bytes"] < 1 << 20, d
print("round trip ok: dax_kmem", k["peak_live_bytes"], "dram peak", d["peak_live_bytes"])
PY
    # A budget of everything: no rule.
    "$cli" suggest --dram-budget 1G r.prof >rules2
    "$cli" check rules2
    ! grep -q '^route' rules2 || fail "rules under a large budget"
    ;;
run)
    "$cli" run --threshold 64K --stats="$work/run.%p.json" -- $prog >out
    python3 -m json.tool run.*.json >/dev/null || fail "run --stats"
    grep -q '"dax_kmem"' run.*.json || fail "run: no dax_kmem route"
    "$cli" run --profile "$work/run.prof" --nodes 0 -- $prog >out
    head -1 run.prof | grep -q 'kmemshim profile' || fail "run --profile"
    # An existing LD_PRELOAD is kept; the shim comes first, once.
    # The command preloads the library by its SONAME, beside the command in the build tree.
    soname=$(readelf -d "$shim" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
    found=$(dirname "$(realpath "$shim")")/$soname
    other=$(ls /lib/*/libc.so.6 | head -1)
    got=$(LD_PRELOAD="$other:$shim" "$cli" run -- sh -c 'echo "$LD_PRELOAD"')
    [ "$got" = "$found:$other" ] || fail "LD_PRELOAD: $got"
    # The library the command found is the one preloaded.
    "$cli" run -n --policy preferred --rules /dev/null -- true >dry
    grep -qx "LD_PRELOAD=$found" dry || fail "dry run: $(cat dry)"
    grep -qx 'KMEM_POLICY=preferred' dry || fail "policy"
    grep -qx 'KMEMRC=/dev/null' dry || fail "rules"
    ! "$cli" run --policy fast -- true 2>err || fail "bad policy accepted"
    grep -q "policy 'fast'" err || fail "message: $(cat err)"
    ! "$cli" run -- /nonexistent/cmd 2>err || fail "missing command"
    grep -q "cannot run '/nonexistent/cmd'" err || fail "message: $(cat err)"
    ;;
sampled)
    # The default sampling against the truth (stats_sampled.c): routes exact,
    # callsites within a tolerance far outside the sampling noise (about 3% for
    # keep_small's ~250 samples), large blocks exact, nothing live at exit.
    unset KMEM_STATS_SAMPLE
    KMEM_THRESHOLD=512K KMEM_STATS=$work/s.json KMEM_PROFILE=$work/s.prof LD_PRELOAD=$shim \
        $bin/stats_sampled >out
    cat s.prof
    python3 - s.json s.prof <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["sample_period_bytes"] == 256 << 10, r["sample_period_bytes"]
routes = {x["route"]: x for x in r["routes"]}
d, k = routes["dram"], routes["dax_kmem"]
# Exact: every request is counted. dram: 1,000,000 x 64 + 65,536 x 1000 + the
# calloc of 8,000,000 bytes goes to dax_kmem (above 512K) with the 40 MiB;
# stdio may add its buffer for stdout (one block of 4096 bytes at most).
assert d["allocations"] - (1000000 + 65536 + 1) in (0, 1), d
assert 0 <= d["bytes_requested"] - (64000000 + 65536000 + 320) <= 4096, d
assert k["allocations"] == 41 and k["bytes_requested"] == 40 * (1 << 20) + 8000000, k
assert d["live_bytes"] == 0 and k["live_bytes"] == 0, routes
# The large blocks are all recorded: exact peak.
assert k["peak_live_bytes"] == 40 * (1 << 20) + 8000000, k
assert 0.85 * 64e6 < d["peak_live_bytes"] < 1.15 * 64e6 + 2e6, d
sites = {}
for line in open(sys.argv[2]):
    if line.startswith("#"): continue
    f = line.rstrip("\n").split("\t")
    site = dict(peak=int(f[0]), count=int(f[1]), bytes=int(f[2]), live=int(f[3]), sizes=f[8])
    name = f[6].split("+")[0]
    # keep_small also calls calloc once: the malloc in its loop is the busy one.
    if name not in sites or site["count"] > sites[name]["count"]: sites[name] = site
ks, ch, kl = sites["keep_small"], sites["churn"], sites["keep_large"]
assert 0.85e6 < ks["count"] < 1.15e6, ks
assert 0.85 * 64e6 < ks["peak"] < 1.15 * 64e6 and ks["live"] == 0, ks
assert 0.7 * 65536e3 < ch["bytes"] < 1.3 * 65536e3, ch
assert ch["peak"] < 4 << 20, ch
assert kl == dict(peak=40 << 20, count=40, bytes=40 << 20, live=0, sizes="1048576:40"), kl
print("sampled ok: keep_small count %d peak %d, churn bytes %d, dram peak %d" %
      (ks["count"], ks["peak"], ch["bytes"], d["peak_live_bytes"]))
PY
    # Same program, every block recorded: the callsites are exact too.
    KMEM_STATS_SAMPLE=0 KMEM_THRESHOLD=512K KMEM_PROFILE=$work/e.prof LD_PRELOAD=$shim \
        $bin/stats_sampled >out
    grep -P '^64000000\t1000000\t64000000\t0\tdram\t.*\tkeep_small\+' e.prof || fail "exact keep_small"
    grep -P '^1000\t65536\t65536000\t0\tdram\t.*\tchurn\+' e.prof || fail "exact churn"
    grep -qx '# sample_period 0' e.prof || fail "exact header"
    ;;
signals_sampled)
    # As `signals`, sampled: a handler may interrupt the locked part of a
    # sampled block; no deadlock, and nothing recorded stays live.
    unset KMEM_STATS_SAMPLE
    timeout 240 env KMEM_STATS_SAMPLE=1K KMEM_THRESHOLD=4K KMEM_STATS=$work/sig.json \
        LD_PRELOAD=$shim $bin/stats_signals >out || fail "stats_signals: status $?"
    grep -qx 'ok 1 signals' out || fail "no signal handled: $(cat out)"
    python3 - sig.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert sum(x["allocations"] for x in r["routes"]) > 3000000, r["routes"]
# stdout's buffer may be sampled: 4096 bytes count for at most ~4100.
assert sum(x["live_bytes"] for x in r["routes"]) <= 8192, r["routes"]
print("signals sampled ok", [(x["route"], x["live_bytes"]) for x in r["routes"]])
PY
    ;;
inline)
    # Sampled, so that most requests are counted on malloc's and calloc's inline path: exact
    # per route all the same (stats_inline.c), through threads' exits and arena growth.
    unset KMEM_STATS_SAMPLE
    LD_PRELOAD=$shim "$bin"/stats_inline >out || fail "stats_inline without statistics"
    [ "$(cat out)" = ok ] || fail "stdout: $(cat out)"
    # 64K: both sides counted inline (100000 < the 256K period). 1M: the side below is cut
    # at the period (256K), the side above has no inline path; everything goes to dram.
    for thr in 64K 1M; do
        KMEM_THRESHOLD=$thr KMEM_ARENA_SIZE=64M KMEM_STATS=$work/i.$thr.json LD_PRELOAD=$shim \
            "$bin"/stats_inline >out || fail "stats_inline, threshold $thr"
        python3 - "i.$thr.json" "$thr" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
routes = {x["route"]: x for x in r["routes"]}
small_n = 2 * 100000 + 4 * 2 * 10000
small_b = 100000 * (200 + 200) + 4 * 10000 * (100 + 100)
big_n = 2 * 600 + 4 * 50
big_b = big_n * 100000
d = routes["dram"]
k = routes.get("dax_kmem", {"allocations": 0, "bytes_requested": 0, "live_bytes": 0})
if sys.argv[2] == "1M":
    small_n, small_b, big_n, big_b = small_n + big_n, small_b + big_b, 0, 0
# glibc's own requests are the program's too: stdio's buffer for stdout (4096 bytes at most)
# and each thread's DTV (a few hundred bytes).
assert 0 <= d["allocations"] - small_n <= 1 + 4, (d, small_n)
assert 0 <= d["bytes_requested"] - small_b <= 4096 + 4 * 1024, (d, small_b)
assert k["allocations"] == big_n and k["bytes_requested"] == big_b, (k, big_n)
assert d["live_bytes"] <= 4096 and k["live_bytes"] == 0, routes
print("inline ok:", sys.argv[2], d["allocations"], k["allocations"])
PY
    done
    ;;
unwritable)
    # The warning names what could not be written: the report or the profile.
    KMEM_STATS=/nonexistent/s KMEM_PROFILE=/nonexistent/p LD_PRELOAD=$shim $prog >out 2>err
    [ "$(cat out)" = ok ] || fail "stdout: $(cat out)"
    [ "$(cat err)" = "kmemshim: warning: cannot write the report to /nonexistent/s: No such file or directory
kmemshim: warning: cannot write the profile to /nonexistent/p: No such file or directory" ] ||
        fail "messages: $(cat err)"
    ;;
suggest_bad)
    # What is not a profile is an error, not a plan: read as a profile without
    # callsites it would become "default dram" for a program never profiled.
    expect() { # STATUS MESSAGE suggest-ARGS...
        local want_rc=$1 want=$2 rc=0
        shift 2
        "$cli" suggest "$@" >out 2>err || rc=$?
        [ "$rc" = "$want_rc" ] || fail "suggest $*: exit $rc, expected $want_rc ($(cat err))"
        [ "$(cat err)" = "$want" ] || fail "suggest $*: message $(cat err), expected $want"
        [ ! -s out ] || fail "suggest $*: output $(cat out)"
    }
    : >empty.prof
    expect 1 "empty.prof: empty file: not a kmemshim profile (expected '# kmemshim profile 1')" \
        --dram-budget 16M empty.prof
    mkdir dir.prof
    expect 1 "kmemshim suggest: dir.prof: Is a directory: not a kmemshim profile" dir.prof
    LD_PRELOAD=$shim KMEM_PROFILE=$work/whole.prof $prog >/dev/null
    head -c 30 whole.prof >cut.prof
    expect 1 "cut.prof:2: the profile ends inside its header (no column line '# peak_live<TAB>count...'): not a complete kmemshim profile" cut.prof
    head -4 whole.prof >cut.prof
    expect 1 "cut.prof:4: the profile ends inside its header (no column line '# peak_live<TAB>count...'): not a complete kmemshim profile" cut.prof
    grep -v '^# peak_live' whole.prof >nocolumns.prof
    expect 1 "nocolumns.prof:5: a callsite before the column line ('# peak_live<TAB>count...'): not a complete kmemshim profile" nocolumns.prof
    # A complete profile without callsites is a profile: nothing to move.
    LD_PRELOAD=$shim KMEM_PROFILE=$work/true.prof /bin/true
    "$cli" suggest true.prof >rules 2>err || fail "profile of /bin/true: $(cat err)"
    grep -qx 'default dram' rules || fail "rules: $(cat rules)"
    # --target names where the callsites that leave DRAM go: a KMEM target.
    for t in dram interleave_all weighted_interleave_all fast; do
        expect 2 "kmemshim suggest: --target '$t': expected kmem or a KMEM target: dax_kmem, kmem_all, preferred, interleave, weighted_interleave (or memkind's MEMKIND_DAX_KMEM, MEMKIND_DAX_KMEM_ALL, MEMKIND_DAX_KMEM_PREFERRED)" \
            --target "$t" whole.prof
    done
    # The table's route column says the target the rules use.
    "$cli" suggest --target kmem_all whole.prof >rules 2>/dev/null
    grep -qE '^# big_buffers\+0x[0-9a-f]+ +8\.0 MiB +- +- +kmem_all$' rules || fail "table: $(cat rules)"
    grep -q '^route kmem_all caller stats_prog+0x' rules || fail "rule: $(cat rules)"
    ! grep -q ' target$' rules || fail "table says target: $(cat rules)"
    ;;
run_bad)
    # An option whose value is missing is an error, whatever follows it.
    expect() { # STATUS MESSAGE run-ARGS...
        local want_rc=$1 want=$2 rc=0
        shift 2
        "$cli" run "$@" >out 2>err || rc=$?
        [ "$rc" = "$want_rc" ] || fail "run $*: exit $rc, expected $want_rc ($(cat err))"
        [ "$(cat err)" = "$want" ] || fail "run $*: message $(cat err), expected $want"
    }
    for opt in --profile --threshold --rules --nodes --policy --library --interval; do
        expect 2 "kmemshim run: $opt needs a value, found '--' (see --help)" $opt -- /bin/true
        expect 2 "kmemshim run: $opt needs a value, found '--stats' (see --help)" $opt --stats -- /bin/true
        expect 2 "kmemshim run: $opt needs a value, found '$opt=' (see --help)" "$opt=" -- /bin/true
        expect 2 "kmemshim run: $opt needs a value (see --help)" $opt
    done
    [ ! -e -- ] && [ ! -e ./--stats ] || fail "a file named after an option was written"
    # A bad value is a bad option: exit 2 before the command runs, as kmemshim(1) says.
    expect 2 "kmemshim run: --nodes 'abc': expected a node number, found 'a'; expected a node list such as 2,3 or 2-5" \
        --nodes abc -- /bin/true
    expect 2 "kmemshim run: --threshold '12Q': unknown suffix (expected K, M, G or T)" --threshold 12Q -- /bin/true
    expect 2 "kmemshim run: unknown option '--bogus' (see --help)" --bogus -- /bin/true
    # What only the library can check stops the command before main with status 1.
    expect 1 "kmemshim: error: environment (KMEM_NODES): KMEM node 999 does not exist (this machine has nodes 0)" \
        --nodes 999 -- /bin/true
    # A value that starts with "--" is given as --opt=VALUE.
    "$cli" run --nodes 0 --profile=--odd.prof -- /bin/true
    head -1 ./--odd.prof | grep -qx '# kmemshim profile 1' || fail "--profile=--odd.prof"
    ;;
bad_sample)
    unset KMEM_STATS_SAMPLE
    for v in x -1 2G 1Q; do
        KMEM_STATS_SAMPLE=$v KMEM_STATS=stderr LD_PRELOAD=$shim $prog >out 2>err && fail "KMEM_STATS_SAMPLE=$v accepted"
        grep -q "^kmemshim: error: KMEM_STATS_SAMPLE='$v': " err || fail "message for $v: $(cat err)"
    done
    grep -q "too large; expected 0 (every block) or a size up to 1G, such as 4096, 64K or 1M" \
        <(KMEM_STATS_SAMPLE=2G LD_PRELOAD=$shim $prog 2>&1) || fail "2G message"
    ;;
switches)
    # 1, yes, on, true (any case) mean stderr, as MIMALLOC_SHOW_STATS=1 does; 0, no, off,
    # false mean no report. No file named after the word appears.
    for v in 1 yes on TRUE; do
        KMEM_STATS=$v LD_PRELOAD=$shim $prog >out 2>err
        grep -q '^kmemshim stats: pid [0-9]*' err || fail "KMEM_STATS=$v: no report on stderr: $(cat err)"
        [ ! -e "$v" ] || fail "KMEM_STATS=$v wrote a file named $v"
    done
    for v in 0 no off False; do
        KMEM_STATS=$v LD_PRELOAD=$shim $prog >out 2>err
        [ ! -s err ] || fail "KMEM_STATS=$v: stderr: $(cat err)"
    done
    for f in * .[!.]*; do
        case $f in out | err | '*' | '.[!.]*') ;; *) fail "file written: $f" ;; esac
    done
    # The rules file's stats line takes the same words; KMEM_STATS=0 still wins over it.
    printf 'stats on\n' >rc
    KMEMRC=$work/rc LD_PRELOAD=$shim $prog >out 2>err
    grep -q '^kmemshim stats: pid' err || fail "stats on in the rules file: $(cat err)"
    KMEMRC=$work/rc KMEM_STATS=0 LD_PRELOAD=$shim $prog >out 2>err
    [ ! -s err ] || fail "KMEM_STATS=0 does not win over the file: $(cat err)"
    # KMEM_PROFILE=1: kmemshim.PID.profile in the directory the program started in (python3
    # leaves it before exiting), and its name on stderr.
    rm -f rc out err
    KMEM_PROFILE=1 LD_PRELOAD=$shim /usr/bin/python3 -c 'import os; os.chdir("/"); print(os.getpid())' \
        >out 2>err
    pid=$(cat out)
    [ "$(cat err)" = "kmemshim: profile written to $work/kmemshim.$pid.profile" ] ||
        fail "KMEM_PROFILE=1: stderr: $(cat err)"
    head -1 "kmemshim.$pid.profile" | grep -qx '# kmemshim profile 1' || fail "default profile"
    [ ! -e "/kmemshim.$pid.profile" ] || fail "profile written where the program ended"
    rm -f kmemshim.*.profile
    # Announced also by a program that closes stderr in its exit handlers (coreutils do).
    KMEM_PROFILE=on LD_PRELOAD=$shim /bin/echo main-ran >out 2>err
    grep -qx "kmemshim: profile written to $work/kmemshim\.[0-9]*\.profile" err ||
        fail "KMEM_PROFILE=on with /bin/echo: $(cat err)"
    rm -f kmemshim.*.profile
    for v in 0 off; do
        KMEM_PROFILE=$v LD_PRELOAD=$shim $prog >out 2>err
        if [ -s err ] || compgen -G 'kmemshim.*' >/dev/null; then fail "KMEM_PROFILE=$v: $(ls) $(cat err)"; fi
    done
    # A path chosen by the user is not announced.
    KMEM_PROFILE=$work/p.prof LD_PRELOAD=$shim $prog >out 2>err
    if [ ! -s p.prof ] || [ -s err ]; then fail "KMEM_PROFILE=PATH: $(cat err)"; fi
    ;;
help)
    "$cli" --help | grep -q 'suggest' || fail "kmemshim --help"
    # The command and the library say the same version, the one of CMake's project().
    v=$("$cli" --version) || fail "kmemshim --version status"
    case $v in "kmemshim "[0-9]*.[0-9]*.[0-9]*) ;; *) fail "kmemshim --version: $v" ;; esac
    [ "$(KMEM_VERSION=1 LD_PRELOAD=$shim /bin/echo main-ran 2>&1)" = "$v
main-ran" ] || fail "KMEM_VERSION=1: $(KMEM_VERSION=1 LD_PRELOAD=$shim /bin/echo 2>&1)"
    for c in nodes check run suggest; do
        "$cli" $c --help >h || fail "$c --help status"
        grep -q "usage: kmemshim $c" h || fail "$c --help text"
    done
    ;;
*)
    fail "unknown case $case"
    ;;
esac
echo "stats.$case: ok"
