#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The kmemshim benchmark: every workload under every allocator configuration,
# interleaved round by round, then bench/results/RESULTS.md and chart.png.
#
#   bench/run.sh [--rounds N] [--quick] [--build-dir DIR] [--out DIR]
#                [--configs a,b,...] [--workloads a,b,...] [--timeout S]
#                [--no-deps] [--no-callgrind]
#
# --quick is a smoke run (about two minutes when idle): a tenth of the work, 2 rounds.
# The default (5 rounds) takes about 15 minutes on an idle 2-core machine
# (30 with a load average of 10-30 from other work).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$here")
rounds=
quick=0
build=$top/build
out=$here/results
timeout=
deps=1
callgrind=1
all_configs=(glibc mimalloc jemalloc tcmalloc memtier-dram memtier-kmem shim-dram shim-kmem shim-rules1k)
all_workloads=(churn xthread larson threads mstress server realloc mixed aligned procs python sqlite redis)
configs=("${all_configs[@]}")
workloads=("${all_workloads[@]}")

usage() {
    sed -n '2,11s/^# \{0,1\}//p' "$0" >&2
    exit 2
}
split_list() { # NAME LIST ALLOWED...: sets array NAME from comma-separated LIST
    local -n dest=$1
    local item ok a
    IFS=, read -r -a dest <<<"$2"
    shift 2
    for item in "${dest[@]}"; do
        ok=0
        for a in "$@"; do [ "$a" = "$item" ] && ok=1; done
        [ "$ok" = 1 ] || { echo "run.sh: unknown name '$item' (expected one of: $*)" >&2; exit 2; }
    done
}
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) rounds=${2:?}; shift ;;
    --quick) quick=1 ;;
    --build-dir) build=${2:?}; shift ;;
    --out) out=${2:?}; shift ;;
    --timeout) timeout=${2:?}; shift ;;
    --configs) split_list configs "${2:?}" "${all_configs[@]}"; shift ;;
    --workloads) split_list workloads "${2:?}" "${all_workloads[@]}"; shift ;;
    --no-deps) deps=0 ;;
    --no-callgrind) callgrind=0 ;;
    -h | --help) usage ;;
    *) echo "run.sh: unknown option '$1'" >&2; usage ;;
    esac
    shift
done
if [ "$quick" = 1 ]; then
    : "${rounds:=2}" "${timeout:=30}"
    scale=0.1 pyscale=0.1 sqlrows=20000 redis_n=2000 nprocs=100
else
    : "${rounds:=5}" "${timeout:=120}"
    scale=1 pyscale=1 sqlrows=200000 redis_n=20000 nprocs=1000
fi
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --rounds wants a positive number" >&2; exit 2; }
build=$(realpath -m "$build")
out=$(realpath -m "$out")

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# ---- dependencies and builds ---------------------------------------------
if [ "$deps" = 1 ]; then
    "$top/scripts/deps.sh" bench
fi
mkdir -p "$out" "$build"
work=$(mktemp -d /tmp/kmbench.XXXXXX)
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then kill -KILL "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

log "building the workloads in $build/bench-workloads"
if ! { cmake -S "$here/workloads" -B "$build/bench-workloads" -DCMAKE_BUILD_TYPE=Release &&
    cmake --build "$build/bench-workloads" -j"$(nproc)"; } >"$work/wl.log" 2>&1; then
    cat "$work/wl.log" >&2
    exit 1
fi
bin=$build/bench-workloads

# The shim is optional: while it does not build or load, its configurations
# are recorded as "unavailable" and everything else still runs.
shim=$build/libkmemshim.so
shim_ok=0
shim_note=
log "building kmemshim in $build"
if cmake -S "$top" -B "$build" >"$work/shim.log" 2>&1 &&
    cmake --build "$build" --target kmemshim -j"$(nproc)" >>"$work/shim.log" 2>&1; then
    if LD_PRELOAD=$shim true 2>"$work/shim-true.err"; then
        shim_ok=1
    else
        shim_note="LD_PRELOAD=$shim true failed: $(head -c 300 "$work/shim-true.err")"
    fi
else
    shim_note="build failed: $(grep -m1 -iE 'error' "$work/shim.log" | head -c 300)"
fi
# the source the shim was built from (the tree may move on while the rounds run)
shim_src="$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$top" diff --quiet HEAD -- core preload policy CMakeLists.txt 2>/dev/null || echo ' with uncommitted changes in core/, preload/ or policy/'), built $(date -u '+%Y-%m-%d %H:%M UTC')"
[ "$shim_ok" = 1 ] || log "kmemshim unavailable ($shim_note); its configurations are recorded as such"

lib_path() { # SONAME -> absolute path from the linker cache
    ldconfig -p | awk -v n="$1" '$1 == n && /x86-64/ && !p { print $NF; p = 1 }'
}
declare -A lib
for so in libmimalloc.so.2 libjemalloc.so.2 libtcmalloc_minimal.so.4 libmemtier.so.0; do
    lib[$so]=$(lib_path "$so")
    [ -n "${lib[$so]}" ] || { echo "run.sh: $so not found (scripts/deps.sh bench installs it)" >&2; exit 1; }
done

# ---- inputs ----------------------------------------------------------------
"$here/workloads/gen-sql.sh" "$sqlrows" >"$work/sqlite.sql"
"$here/workloads/gen-rules.sh" 1000 >"$work/rules1k"
# A fixed data set loaded into redis after the benchmark; its DEBUG DIGEST is
# the part of the redis output that is compared with glibc's.
awk 'BEGIN {
    for (i = 0; i < 20000; i++) {
        printf "SET k:%d value-%d\n", i, i * 7
        printf "RPUSH l:%d %d\n", i % 97, i
        printf "HSET h:%d f%d %d\n", i % 89, i, i * 3
        printf "SADD s:%d m%d\n", i % 83, i
        printf "ZADD z:%d %d m%d\n", i % 79, i % 1000, i
    }
    for (i = 0; i < 20000; i += 3) printf "DEL k:%d\n", i
    for (i = 0; i < 97; i++) printf "LPOP l:%d 10\n", i
}' >"$work/redis.cmds"

# A private port on 127.0.0.1 nobody listens on.
port=
for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || { echo "run.sh: no free port found" >&2; exit 1; }

# ---- configurations --------------------------------------------------------
envv=() wrap=() avail=1
set_config() {
    envv=() wrap=() avail=1
    case "$1" in
    glibc) ;;
    mimalloc) envv=("LD_PRELOAD=${lib[libmimalloc.so.2]}") ;;
    jemalloc) envv=("LD_PRELOAD=${lib[libjemalloc.so.2]}") ;;
    tcmalloc) envv=("LD_PRELOAD=${lib[libtcmalloc_minimal.so.4]}") ;;
    memtier-dram)
        envv=("MEMKIND_MEM_TIERS=KIND:DRAM,RATIO:1;POLICY:STATIC_RATIO" "LD_PRELOAD=${lib[libmemtier.so.0]}")
        wrap=(stdbuf -oL) ;;
    memtier-kmem)
        envv=("MEMKIND_MEM_TIERS=KIND:KMEM_DAX,RATIO:1;POLICY:STATIC_RATIO" MEMKIND_DAX_KMEM_NODES=0
              "LD_PRELOAD=${lib[libmemtier.so.0]}")
        wrap=(stdbuf -oL) ;;
    shim-dram) envv=(KMEM_THRESHOLD=1T KMEM_NODES=0 "LD_PRELOAD=$shim"); avail=$shim_ok ;;
    shim-kmem) envv=(KMEM_NODES=0 "LD_PRELOAD=$shim"); avail=$shim_ok ;;
    shim-rules1k) envv=(KMEM_NODES=0 "KMEMRC=$work/rules1k" "LD_PRELOAD=$shim"); avail=$shim_ok ;;
    esac
}

# ---- one run -----------------------------------------------------------------
raw=$out/raw.tsv
failures=$out/failures.txt
printf 'round\tworkload\tconfig\tstatus\twall_s\tcpu_s\tmaxrss_kib\toutput\n' >"$raw"
: >"$failures"
rm -rf "$out/outputs"
mkdir -p "$out/outputs"
declare -A failed_once

record() { # ROUND WORKLOAD CONFIG STATUS WALL CPU RSS OUTPUT-FILE ERR-FILE
    local h=-
    if [ "$4" = ok ]; then
        h=$(sha256sum <"$8" | cut -c1-16)
        # every distinct output is kept, so a mismatch can be looked at
        [ -e "$out/outputs/$2.$h.txt" ] || cp "$8" "$out/outputs/$2.$h.txt"
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$h" >>"$raw"
    if [ "$4" != ok ] && [ -z "${failed_once[$2/$3]:-}" ]; then
        failed_once[$2/$3]=1
        { echo "== $2 under $3 (round $1): $4"; head -c 2000 "$9" 2>/dev/null; echo; } >>"$failures"
    fi
}

run_plain() { # ROUND WORKLOAD CONFIG CMD...
    local r=$1 w=$2 c=$3 res status wall cpu rss
    shift 3
    res=$("$bin/kmbrun" -o "$work/o" -e "$work/e" -t "$timeout" -- env "${envv[@]}" "${wrap[@]}" "$@")
    read -r status wall cpu rss <<<"$res"
    record "$r" "$w" "$c" "$status" "$wall" "$cpu" "$rss" "$work/o" "$work/e"
}

status_of_rc() { # exit code of a shell wait -> ok | exit:N | signal:NAME
    if [ "$1" = 0 ]; then echo ok
    elif [ "$1" -gt 128 ]; then echo "signal:$(kill -l $(($1 - 128)) 2>/dev/null || echo $(($1 - 128)))"
    else echo "exit:$1"; fi
}

run_redis() { # ROUND CONFIG
    local r=$1 c=$2 status wall cpu rss res rc=0 tck
    tck=$(getconf CLK_TCK)
    : >"$work/o"
    env "${envv[@]}" "${wrap[@]}" redis-server --port "$port" --bind 127.0.0.1 --save '' \
        --appendonly no --daemonize no --enable-debug-command local --dir "$work" \
        --logfile "$work/redis.log" >"$work/e" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 200); do
        if [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ]; then break; fi
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.05
    done
    if [ "$(redis-cli -p "$port" ping 2>/dev/null)" != PONG ]; then
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" || rc=$?
        server_pid=
        status=$(status_of_rc "$rc")
        [ "$status" = ok ] && status=exit:0-early
        tail -n 20 "$work/redis.log" >>"$work/e" 2>/dev/null || true
        record "$r" redis "$c" "$status" - - - "$work/o" "$work/e"
        return
    fi
    res=$("$bin/kmbrun" -o "$work/bo" -e "$work/be" -t "$timeout" -- redis-benchmark -q -h 127.0.0.1 \
        -p "$port" -n "$redis_n" -r 100000 -d 64 -P 16 -c 16 \
        -t set,get,incr,lpush,lpop,sadd,hset,spop,zadd,zpopmin,lrange_100,mset)
    read -r status wall cpu rss <<<"$res"
    {
        tr '\r' '\n' <"$work/bo" | sed -n 's/: [0-9.]* requests per second.*//p'
        redis-cli -p "$port" flushall
        redis-cli -p "$port" --pipe <"$work/redis.cmds" | grep -o 'errors: .*'
        redis-cli -p "$port" dbsize
        redis-cli -p "$port" debug digest
    } >>"$work/o" 2>&1 || true
    # the server's peak RSS and CPU time, not the client's
    rss=$(awk '/^VmHWM:/ { print $2 }' "/proc/$server_pid/status" 2>/dev/null || echo -)
    cpu=$(awk -v t="$tck" '{ printf "%.6f", ($14 + $15) / t }' "/proc/$server_pid/stat" 2>/dev/null || echo -)
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" || rc=$?
    server_pid=
    if [ "$rc" != 0 ]; then
        status="server-$(status_of_rc "$rc")"
        tail -n 30 "$work/redis.log" >>"$work/e" 2>/dev/null || true
    elif [ "$status" != ok ]; then
        cat "$work/be" >>"$work/e"
    fi
    record "$r" redis "$c" "$status" "$wall" "$cpu" "${rss:--}" "$work/o" "$work/e"
}

run_one() { # ROUND WORKLOAD CONFIG
    local r=$1 w=$2 c=$3
    set_config "$c"
    if [ "$avail" != 1 ]; then
        printf 'kmemshim %s\n' "$shim_note" >"$work/e"
        record "$r" "$w" "$c" unavailable - - - /dev/null "$work/e"
        return
    fi
    case "$w" in
    churn | xthread | larson | threads | mstress | server | realloc | mixed | aligned)
        run_plain "$r" "$w" "$c" "$bin/kmbench" "$w" "$scale" ;;
    procs) run_plain "$r" "$w" "$c" sh "$here/workloads/procs.sh" "$nprocs" "$bin/kmbench" ;;
    python) envv+=(PYTHONHASHSEED=0)
            run_plain "$r" "$w" "$c" /usr/bin/python3 -I "$here/workloads/pyloop.py" "$pyscale" ;;
    sqlite) run_plain "$r" "$w" "$c" sqlite3 :memory: ".read $work/sqlite.sql" ;;
    redis) run_redis "$r" "$c" ;;
    esac
}

# ---- the rounds ----------------------------------------------------------------
rounds_file=$out/rounds.tsv
printf 'round\tstart_utc\tloadavg_start\tend_utc\tloadavg_end\n' >"$rounds_file"
nc=${#configs[@]}
log "$rounds rounds x ${#workloads[@]} workloads x $nc configurations (redis on 127.0.0.1:$port)"
for r in $(seq 1 "$rounds"); do
    t0=$(date -u +%H:%M:%S) l0=$(cut -d' ' -f1-3 /proc/loadavg)
    for w in "${workloads[@]}"; do
        # each round starts the configurations at a different place
        for k in $(seq 0 $((nc - 1))); do
            run_one "$r" "$w" "${configs[$(((k + r - 1) % nc))]}"
        done
    done
    printf '%s\t%s\t%s\t%s\t%s\n' "$r" "$t0" "$l0" "$(date -u +%H:%M:%S)" "$(cut -d' ' -f1-3 /proc/loadavg)" \
        >>"$rounds_file"
    log "round $r/$rounds done"
done

# ---- machine, instruction counts, report ------------------------------------------
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "kernel: $(uname -srvm)"
    echo "os: $(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release)"
    echo "kmemshim: $shim_src"
    echo "shim: $([ "$shim_ok" = 1 ] && echo "$shim" || echo "unavailable: $shim_note")"
    echo "mode: $([ "$quick" = 1 ] && echo quick || echo full), $rounds rounds, workload scale $scale, sqlite rows $sqlrows, redis -n $redis_n, $nprocs short processes"
    echo "transparent hugepages: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo unknown)"
    echo "memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "gcc: $(gcc -dumpfullversion 2>/dev/null || echo unknown)"
    echo
    echo "packages:"
    dpkg-query -W -f='  ${Package} ${Version}\n' libc6 libmimalloc2.0 libjemalloc2 libtcmalloc-minimal4 libmemkind0 \
        python3 sqlite3 redis-server valgrind 2>/dev/null || true
    echo
    echo "lscpu:"
    lscpu | sed 's/^/  /'
    echo
    echo "numactl -H:"
    numactl -H 2>/dev/null | sed 's/^/  /' || true
} >"$out/machine.txt"

if [ "$callgrind" = 1 ]; then
    log "instruction counts (callgrind)"
    cg_args=(--build-dir "$build" --out "$out/callgrind.tsv")
    if [ "$quick" = 1 ]; then cg_args+=(--pairs 100000 --workload-scale 0); fi
    [ "$shim_ok" = 1 ] || cg_args+=(--no-shim)
    "$here/callgrind.sh" "${cg_args[@]}" || log "callgrind.sh failed; RESULTS.md goes without instruction counts"
fi

log "writing $out/RESULTS.md and $out/chart.png"
/usr/bin/python3 "$here/report.py" "$out"
log "done: $out/RESULTS.md"
