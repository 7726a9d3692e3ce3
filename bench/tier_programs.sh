#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runtime tiering on real programs: python3 (workloads/pyloop.py), sqlite3
# (workloads/gen-sql.sh) and redis-server (a fixed data set, redis-benchmark,
# the data set read back), each under the shim without tiering (everything in
# DRAM) and under a DRAM budget small enough to force moves, rounds interleaved.
# Every output must equal the first one; prints a table and redis-server's groups.
#
#   bench/tier_programs.sh [--rounds N] [--build-dir DIR] [--out DIR]
#                          [--programs python,sqlite,redis] [--timeout S] [--no-deps]
#
# Exit status 1 when an output differs or a run fails (crash, non-zero exit,
# timeout, no report), 2 on bad usage. About 2 minutes (5 rounds) on 2 busy cores.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$here")
rounds=5
build=$top/build
out=$here/results/tier_programs
timeout=120
deps=1
all_programs=(python sqlite redis)
programs=("${all_programs[@]}")

# The budgets: well under each program's resident size at this scale, so
# that groups start in DRAM, fill it and are demoted; the interval is short
# so that the sampler acts within a few seconds of run time.
declare -A budget=([python]=14M [sqlite]=16M [redis]=16M)
interval=50
pyscale=2 sqlrows=200000 redis_keys=100000 redis_n=100000

usage() {
    sed -n '9,10s/^# \{0,1\}//p' "$0" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) rounds=${2:?}; shift ;;
    --build-dir) build=${2:?}; shift ;;
    --out) out=${2:?}; shift ;;
    --timeout) timeout=${2:?}; shift ;;
    --programs)
        IFS=, read -r -a programs <<<"${2:?}"
        for p in "${programs[@]}"; do
            case " ${all_programs[*]} " in *" $p "*) ;; *)
                echo "tier_programs.sh: unknown program '$p' (expected: ${all_programs[*]})" >&2; exit 2 ;;
            esac
        done
        shift ;;
    --no-deps) deps=0 ;;
    -h | --help) usage ;;
    *) echo "tier_programs.sh: unknown option '$1'" >&2; usage ;;
    esac
    shift
done
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "tier_programs.sh: --rounds wants a positive number" >&2; exit 2; }
[[ "$timeout" =~ ^[1-9][0-9]*$ ]] || { echo "tier_programs.sh: --timeout wants seconds" >&2; exit 2; }
build=$(realpath -m "$build")
out=$(realpath -m "$out")

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

if [ "$deps" = 1 ]; then "$top/scripts/deps.sh" bench; fi
for t in python3 sqlite3 redis-server redis-cli redis-benchmark nm timeout; do
    command -v "$t" >/dev/null || { echo "tier_programs.sh: $t not found (scripts/deps.sh bench)" >&2; exit 1; }
done
log "building kmemshim in $build"
cmake -S "$top" -B "$build" >/dev/null && cmake --build "$build" --target kmemshim -j"$(nproc)" >/dev/null
shim=$build/libkmemshim.so
LD_PRELOAD=$shim true

rm -rf "$out/runs"
mkdir -p "$out/runs"
work=$(mktemp -d /tmp/kmtier.XXXXXX)
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then kill -KILL "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# ---- inputs ------------------------------------------------------------------
"$here/workloads/gen-sql.sh" "$sqlrows" >"$work/sqlite.sql"
# redis: a fixed data set in database 1, loaded before redis-benchmark works
# on database 0, then changed, then read back once database 0 is emptied.
awk -v n="$redis_keys" 'BEGIN {
    print "SELECT 1"
    for (i = 0; i < n; i++) {
        printf "SET k:%d value-%d-%s\n", i, i * 7, substr("abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz", 1, 20 + i % 40)
        printf "RPUSH l:%d %d\n", i % 97, i
        printf "HSET h:%d f%d %d\n", i % 89, i, i * 3
        printf "SADD s:%d m%d\n", i % 83, i
        printf "ZADD z:%d %d m%d\n", i % 79, i % 1000, i
    }
}' >"$work/redis-load.cmds"
awk -v n="$redis_keys" 'BEGIN {
    print "SELECT 1"
    for (i = 0; i < n; i += 3) printf "DEL k:%d\n", i
    for (i = 0; i < 97; i++) printf "LPOP l:%d 10\n", i
    for (i = 1; i < n; i += 5) printf "APPEND k:%d -appended\n", i
}' >"$work/redis-change.cmds"
redis_tests=set,get,incr,lpush,lpop,sadd,hset,zadd,lrange_100

port=
for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || { echo "tier_programs.sh: no free port found" >&2; exit 1; }

# Module name (as the shim names it: the file's base name) -> path, for nm.
{
    for p in /usr/bin/python3 "$(command -v sqlite3)" "$(command -v redis-server)"; do
        readlink -f "$p"
        ldd "$p" | awk '/=> \// { print $3 }'
    done
} | sort -u >"$out/modules.txt"

# ---- runs ----------------------------------------------------------------------
runs=$out/runs.tsv
printf 'round\tprogram\tmode\tstatus\twall_s\toutput\tstats\tcpu_s\n' >"$runs"

status_of_rc() { # exit code -> ok | timeout | exit:N | signal:NAME
    if [ "$1" = 0 ]; then echo ok
    elif [ "$1" = 124 ]; then echo timeout
    elif [ "$1" -gt 128 ]; then echo "signal:$(kill -l $(($1 - 128)) 2>/dev/null || echo $(($1 - 128)))"
    else echo "exit:$1"; fi
}

env_of() { # MODE PROGRAM STATS TIMELINE -> the shim's environment, one per line
    echo KMEM_NODES=0
    echo "KMEM_STATS=$3"
    echo "LD_PRELOAD=$shim"
    if [ "$1" = plain ]; then
        echo KMEM_THRESHOLD=1T
    else
        echo "KMEM_DRAM_BUDGET=${budget[$2]}"
        echo "KMEM_ACCESS=$interval"
        echo "KMEM_TIMELINE=$4"
    fi
}

run_simple() { # ROUND PROGRAM MODE BASE CMD...: sets status, wall, cpu
    local base=$4 rc=0 TIMEFORMAT='%3R %3U %3S' u s
    local -a e
    mapfile -t e < <(env_of "$3" "$2" "$base.json" "$base.timeline")
    shift 4
    { time timeout -k 5 "$timeout" env "${e[@]}" "$@" >"$base.out" 2>"$base.err"; } 2>"$base.time" || rc=$?
    status=$(status_of_rc "$rc")
    read -r wall u s <"$base.time"
    cpu=$(awk -v a="$u" -v b="$s" 'BEGIN { printf "%.3f", a + b }')
}

rcli() { timeout -k 5 "$timeout" redis-cli -h 127.0.0.1 -p "$port" "$@"; }

run_redis() { # ROUND MODE BASE: sets status, wall, cpu (the server's)
    local base=$3 rc=0 t0 t1 bench_rc=0
    local -a e
    mapfile -t e < <(env_of "$2" redis "$base.json" "$base.timeline")
    env "${e[@]}" redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize no --enable-debug-command local --dir "$work" --logfile "$base.log" \
        >"$base.err" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 200); do
        [ "$(rcli ping 2>/dev/null)" = PONG ] && break
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.05
    done
    : >"$base.out"
    if [ "$(rcli ping 2>/dev/null)" != PONG ]; then
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" || rc=$?
        server_pid=
        status="no-start:$(status_of_rc "$rc")" wall=- cpu=-
        return
    fi
    t0=$EPOCHREALTIME
    {
        echo "load: $(rcli --pipe <"$work/redis-load.cmds" | grep -o 'errors: .*')"
        timeout -k 5 "$timeout" redis-benchmark -q -h 127.0.0.1 -p "$port" -n "$redis_n" -r 100000 \
            -d 64 -P 16 -c 16 -t "$redis_tests" >"$base.bench" 2>&1 || bench_rc=$?
        # The benchmark's own figures vary; that it finished every test does not.
        echo "benchmark: exit $bench_rc, $(tr '\r' '\n' <"$base.bench" | grep -c 'requests per second') tests done"
        echo "change: $(rcli --pipe <"$work/redis-change.cmds" | grep -o 'errors: .*')"
        rcli -n 0 flushdb
        echo "dbsize: $(rcli -n 1 dbsize)"
        echo "digest: $(rcli debug digest)"
        rcli -n 1 mget k:0 k:1 k:2 k:12345 k:99998 k:99999
        rcli -n 1 lrange l:5 0 4
        rcli -n 1 llen l:96
        rcli -n 1 hget h:7 f7
        rcli -n 1 hlen h:88
        rcli -n 1 scard s:82
        rcli -n 1 zrange z:3 0 4 withscores
    } >>"$base.out" 2>&1 || true
    t1=$EPOCHREALTIME
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    # where the groups' policies point before it stops (bind:0 = the KMEM route)
    cat "/proc/$server_pid/numa_maps" >"$base.numa_maps" 2>/dev/null || true
    cpu=$(awk -v t="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / t }' "/proc/$server_pid/stat" 2>/dev/null || echo -)
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 200); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" || rc=$?
    server_pid=
    status=$(status_of_rc "$rc")
    [ "$status" = ok ] || status=server-$status
    [ "$bench_rc" = 0 ] || status=benchmark-exit:$bench_rc
}

fail=0
declare -A ref
log "$rounds rounds x ${#programs[@]} programs x (plain, tiered), redis on 127.0.0.1:$port; load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
    for p in "${programs[@]}"; do
        # interleaved, the first mode alternating from round to round
        if [ $((r % 2)) = 1 ]; then modes=(plain tiered); else modes=(tiered plain); fi
        for m in "${modes[@]}"; do
            base=$out/runs/$p.$m.$r
            case "$p" in
            python) run_simple "$r" "$p" "$m" "$base" env PYTHONHASHSEED=0 /usr/bin/python3 -I \
                "$here/workloads/pyloop.py" "$pyscale" ;;
            sqlite) run_simple "$r" "$p" "$m" "$base" sqlite3 :memory: ".read $work/sqlite.sql" ;;
            redis) run_redis "$r" "$m" "$base" ;;
            esac
            if [ "$status" = ok ] && [ ! -s "$base.json" ]; then status=no-report; fi
            h=$(sha256sum <"$base.out" | cut -c1-16)
            if [ -z "${ref[$p]:-}" ]; then ref[$p]=$h; fi
            if [ "$status" != ok ]; then
                log "FAILED: $p $m round $r: $status (see $base.err)"
                fail=1
            elif [ "$h" != "${ref[$p]}" ]; then
                log "DIFFERS: $p $m round $r: output $h, first run's ${ref[$p]} ($base.out)"
                fail=1
            fi
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$p" "$m" "$status" "$wall" "$h" "$base.json" "$cpu" \
                >>"$runs"
            log "$p $m round $r: $status, ${wall}s, CPU ${cpu}s"
        done
    done
done

# ---- report ----------------------------------------------------------------------
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "kmemshim: $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$top" diff --quiet HEAD -- core preload policy 2>/dev/null || echo ' with uncommitted changes')"
    echo "packages: $(dpkg-query -W -f='${Package} ${Version}; ' python3.11 sqlite3 redis-server 2>/dev/null)"
    echo "settings: KMEM_NODES=0, KMEM_ACCESS=$interval; budgets python ${budget[python]}, sqlite ${budget[sqlite]}, redis ${budget[redis]}; pyloop.py $pyscale, gen-sql.sh $sqlrows, redis: $redis_keys keys loaded, redis-benchmark -n $redis_n -P 16 -c 16 -d 64 -t $redis_tests"
    echo
    python3 - "$runs" "$out/modules.txt" <<'PY'
import bisect, json, os, re, statistics, subprocess, sys

runs_path, modules_path = sys.argv[1], sys.argv[2]
rows = [l.rstrip("\n").split("\t") for l in open(runs_path)][1:]
modules = {os.path.basename(p): p for p in open(modules_path).read().split()}
symtabs = {}

def symtab(mod):
    if mod not in symtabs:
        syms = []
        if mod in modules:
            nm = subprocess.run(["nm", "-D", "-S", "--defined-only", modules[mod]],
                                capture_output=True, text=True).stdout
            for line in nm.splitlines():
                f = line.split()
                if len(f) == 4 and f[2] in "TtWi":
                    syms.append((int(f[0], 16), int(f[1], 16), f[3].split("@")[0]))
        symtabs[mod] = sorted(syms)
    return symtabs[mod]

def symbolize(addr):
    """module+0xOFF -> function+0xN from the dynamic symbols, or '?' when the
    offset falls outside every exported function (a static one, stripped)."""
    m = re.fullmatch(r"(.+)\+0x([0-9a-f]+)", addr)
    if not m:
        return "?"
    mod, off = m.group(1), int(m.group(2), 16)
    syms = symtab(mod)
    i = bisect.bisect_right(syms, (off - 1, 1 << 64, "")) - 1  # off is a return address
    if i >= 0 and syms[i][0] <= off - 1 < syms[i][0] + syms[i][1]:
        return "%s+0x%x" % (syms[i][2], off - syms[i][0])
    return "?" if mod in modules else "? (no %s)" % mod

def load(path):
    try:
        return json.load(open(path))
    except (OSError, ValueError):
        return None

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

def fmt(x, f="%.2f"):
    return "-" if x is None else f % x

progs = []
for r in rows:
    if r[1] not in progs:
        progs.append(r[1])
print("| program | budget | time without tiering (s) | time with tiering (s) | ratio | CPU without / with (s) | moves | promoted MiB | demoted MiB | DRAM touch share | interval reached (ms) | groups | outputs |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
notes = []
for p in progs:
    mine = [r for r in rows if r[1] == p]
    walls = {m: [float(r[4]) for r in mine if r[2] == m and r[3] == "ok" and r[4] != "-"] for m in ("plain", "tiered")}
    tier = [(load(r[6]) or {}).get("tiering") for r in mine if r[2] == "tiered"]
    tier = [t for t in tier if t]
    def figure(key, scale=1.0):
        vals = [t[key] / scale for t in tier]
        return vals
    def rng(vals, f):
        if not vals:
            return "-"
        m = med(vals)
        return (f % m) + ("" if min(vals) == max(vals) else " (%s-%s)" % (f % min(vals), f % max(vals)))
    cpus = {m: [float(r[7]) for r in mine if r[2] == m and r[3] == "ok" and r[7] != "-"] for m in ("plain", "tiered")}
    a, b = med(walls["plain"]), med(walls["tiered"])
    same = len({r[5] for r in mine}) == 1 and all(r[3] == "ok" for r in mine)
    budget = tier[0]["budget"] / 1048576 if tier else None
    print("| %s | %s MiB | %s | %s | %s | %s / %s | %s | %s | %s | %s | %s | %s | %s |" % (
        p, fmt(budget, "%g"), fmt(a), fmt(b), fmt(b / a if a and b else None, "%.2fx"),
        fmt(med(cpus["plain"])), fmt(med(cpus["tiered"])),
        rng(figure("moves"), "%d"), rng(figure("promoted_bytes", 1048576), "%.1f"),
        rng(figure("demoted_bytes", 1048576), "%.1f"), rng(figure("dram_touch_share"), "%.3f"),
        rng(figure("interval_ms"), "%d"), rng([len(t["groups"]) for t in tier], "%d"),
        "identical (%d runs)" % len(mine) if same else "DIFFER or FAILED"))
    for t in tier:
        if t["moves"] == 0:
            notes.append("%s: a tiered run made no moves" % p)
        for g in t["groups"]:
            if not g["callsite"]:
                notes.append("%s: a group with an empty name (resident %d B, tier %s)" % (p, g["resident"], g["tier"]))
print()
print("Times: median of the runs (plain: KMEM_NODES=0 KMEM_THRESHOLD=1T; tiered: KMEM_DRAM_BUDGET); "
      "python3 and sqlite3: the process; redis: the client session (load, redis-benchmark, change, read back). "
      "CPU: user + system of the process (redis: the server's, threads included). "
      "Tiering figures: median over the tiered runs (range in brackets), from the KMEM_STATS JSON.")

# redis-server's groups, from its last tiered run
red = [r for r in rows if r[1] == "redis" and r[2] == "tiered" and load(r[6])]
if red:
    last = red[-1]
    t = load(last[6])["tiering"]
    print()
    print("redis-server's groups (round %s, tiered):" % last[0])
    print()
    print("| group | symbolized (nm -D) | kind | tier | resident MiB | density | moves |")
    print("|---|---|---|---|---|---|---|")
    wrapper = re.compile(r"^z(try)?(malloc|calloc|realloc)\w*\+")
    kinds = {}
    for g in sorted(t["groups"], key=lambda g: -g["resident"]):
        name = g["callsite"] or "(empty)"
        parts = name.split("<")
        sym = "<".join(symbolize(x) for x in parts) if g["callsite"] else "-"
        if not g["callsite"]:
            kind = "unnamed"
        elif len(parts) > 1:
            kind = "caller context"
        elif wrapper.match(sym):
            kind = "wrapper's own"
        else:
            kind = "callsite"
        n, b = kinds.get(kind, (0, 0))
        kinds[kind] = (n + 1, b + g["resident"])
        print("| `%s` | `%s` | %s | %s | %.1f | %.3f | %d |" % (
            name, sym, kind, g["tier"], g["resident"] / 1048576, g["density"], g["moves"]))
    total = sum(b for _, b in kinds.values()) or 1
    print()
    counts = [len(load(r[6])["tiering"]["groups"]) for r in red]
    print("Groups per tiered run: %s. In this run: %s." % (", ".join(map(str, counts)), "; ".join(
        "%d %s group%s, %.1f MiB (%.0f %%)" % (n, k, "" if n == 1 else "s", b / 1048576, 100 * b / total)
        for k, (n, b) in sorted(kinds.items()))))
    # numa_maps just before shutdown against the report at exit
    for r in red:
        bind = 0
        try:
            for line in open(r[6][:-len(".json")] + ".numa_maps"):
                f = line.split()
                if len(f) > 1 and f[1].startswith("bind:"):
                    kb = next((int(x.split("=")[1]) for x in f if x.startswith("kernelpagesize_kB=")), 4)
                    bind += sum(int(x.split("=")[1]) for x in f if re.fullmatch(r"N\d+=\d+", x)) * kb * 1024
        except OSError:
            continue
        kmem = sum(g["resident"] for g in load(r[6])["tiering"]["groups"] if g["tier"] == "kmem")
        print("Round %s: numa_maps before shutdown: %.1f MiB resident in bind ranges (the KMEM route); "
              "the report at exit: %.1f MiB in groups on kmem." % (r[0], bind / 1048576, kmem / 1048576))
    own = kinds.get("wrapper's own", (0, 0))
    print("More groups than its three wrappers (zmalloc_usable, zmalloc, zcalloc): %s (%d groups); "
          "the wrappers' own groups still hold %.0f %% of the groups' resident bytes."
          % ("yes" if len(t["groups"]) > 3 else "NO", len(t["groups"]), 100 * own[1] / total))
for n in sorted(set(notes)):
    print("note: " + n)
PY
} | tee "$out/summary.md"

# warnings and errors the shim printed, once each
grep -h 'kmemshim:' "$out"/runs/*.err 2>/dev/null | sort | uniq -c | sed 's/^/shim said: /' | tee -a "$out/summary.md" || true
[ "$fail" = 0 ] || { log "some run failed or its output differed (see $runs)"; exit 1; }
log "all outputs identical; $out/summary.md"
