#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What runtime tiering (KMEM_DRAM_BUDGET) costs, on this machine (KMEM_NODES=0):
#  1. the sampler's CPU: bench/workloads/tier_phases with 4 GiB resident (A and B of 1 GiB read at
#     random in turn, a log of 2 GiB written once) under tiering for about 30 s; the CPU time of the
#     sampler thread (named kmemshim-tier; else the busiest thread that is not the main one) from
#     /proc/PID/task/TID/stat against the wall time, and the interval it reached (the stats
#     report's tiering.interval_ms);
#  2. the program's own slowdown: random 64-byte reads over 64 MiB and over 1 GiB (tier_phases
#     --only-a) under the shim without tiering, with tiering (a budget that holds it, the default
#     interval and KMEM_ACCESS_COST) and with tiering at a fixed 100 ms (KMEM_ACCESS_COST=0): reads
#     per second, the median of N runs, and the ratios to the run without tiering.
# Prints a Markdown table per part. Not a test: it takes a few minutes and 4 GiB of memory.
#
#   bench/tier_cost.sh [--build-dir DIR] [--runs N] [--seconds S] [--no-4g]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(dirname "$here")/build
runs=3 seconds=10 big=1
while [ $# -gt 0 ]; do
    case "$1" in
    --build-dir) build=${2:?}; shift ;;
    --runs) runs=${2:?}; shift ;;
    --seconds) seconds=${2:?}; shift ;;
    --no-4g) big=0 ;;
    *) sed -n '2,16s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
    esac
    shift
done
shim=$build/libkmemshim.so
prog=$build/bench-workloads/tier_phases
[ -e "$shim" ] || { echo "tier_cost.sh: $shim missing: build first" >&2; exit 1; }
if [ ! -x "$prog" ]; then
    cmake -S "$here/workloads" -B "$build/bench-workloads" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build/bench-workloads" --target tier_phases >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export KMEM_NODES=0
hz=$(getconf CLK_TCK)

# thread_cpu PID: "TID NAME SECONDS" of the sampler thread (by name, else the busiest thread
# that is not the main one).
thread_cpu() {
    local pid=$1 t best="" best_cpu=-1 name cpu
    for t in /proc/"$pid"/task/*; do
        [ "${t##*/}" = "$pid" ] && continue
        name=$(cat "$t/comm" 2>/dev/null) || continue
        # utime and stime: fields 14 and 15, counted after the ")" that ends the name.
        cpu=$(sed 's/.*) //' "$t/stat" 2>/dev/null | awk '{ print $12 + $13 }') || continue
        if [ "$name" = kmemshim-tier ]; then
            echo "${t##*/} $name $(awk -v c="$cpu" -v hz="$hz" 'BEGIN { printf "%.2f", c / hz }')"
            return
        fi
        if [ "${cpu:-0}" -gt "$best_cpu" ]; then best_cpu=$cpu best="${t##*/} $name"; fi
    done
    [ -n "$best" ] && echo "$best $(awk -v c="$best_cpu" -v hz="$hz" 'BEGIN { printf "%.2f", c / hz }')"
}

if [ "$big" = 1 ]; then
    echo "## The sampler's CPU with 4 GiB resident (tier_phases: A, B 1 GiB, log 2 GiB; 2 x 15 s)"
    echo
    KMEM_DRAM_BUDGET=1536M KMEM_STATS=$work/big.json LD_PRELOAD=$shim \
        "$prog" --size 1024 --log-size 2048 --phase 15 >"$work/big.out" 2>&1 &
    pid=$!
    t0=$(date +%s.%N)
    last="" tstart=""
    while kill -0 "$pid" 2>/dev/null; do
        s=$(thread_cpu "$pid" || true)
        if [ -n "$s" ]; then
            last=$s
            [ -n "$tstart" ] || tstart=$(date +%s.%N)
            tlast=$(date +%s.%N)
        fi
        sleep 0.5
    done
    wait "$pid" || { echo "tier_cost.sh: tier_phases failed: $(cat "$work/big.out")" >&2; exit 1; }
    t1=$(date +%s.%N)
    read -r tid tname tcpu <<<"${last:-- - 0}"
    python3 - "$work/big.json" "$t0" "$t1" "$tid" "$tname" "$tcpu" "$tstart" "$tlast" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["tiering"]
t0, t1 = float(sys.argv[2]), float(sys.argv[3])
tid, name, cpu = sys.argv[4], sys.argv[5], float(sys.argv[6])
# The sampler starts with the program: its CPU over the time from the start to when it was last seen.
seen = float(sys.argv[8]) - t0 if sys.argv[7] else 0
print("| program wall | sampler thread | its CPU (last seen) | CPU / wall | interval reached | moves | promoted | demoted |")
print("|---|---|---|---|---|---|---|---|")
print("| %.1f s | %s (%s) | %.2f s | %.2f%% of a core | %d ms | %d | %.0f MiB | %.0f MiB |" % (
    t1 - t0, name, tid, cpu, 100 * cpu / seen if seen > 0 else 0, t["interval_ms"], t["moves"],
    t["promoted_bytes"] / 2**20, t["demoted_bytes"] / 2**20))
PY
    grep '^phase [12] reads' "$work/big.out" | sed 's/^/    /'
    echo
fi

echo "## Random reads: the program's own rate (tier_phases --only-a, $seconds s, median of $runs)"
echo
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# rate MIB ENV...: reads per second of one run
rate() {
    local mib=$1
    shift
    env "$@" LD_PRELOAD="$shim" "$prog" --size "$mib" --log-size 0 --only-a --phases 1 \
        --phase "$seconds" 2>"$work/err" | awk '$1 == "phase" && $3 == "reads" { print $6 }'
}
echo "| size | shim, no tiering | tiering (defaults) | ratio | interval reached | tiering, 100 ms fixed | ratio |"
echo "|---|---|---|---|---|---|---|"
for mib in 64 1024; do
    budget=$((2 * mib))M
    : >"$work/plain" && : >"$work/tier" && : >"$work/fixed" && : >"$work/iv"
    # Interleaved rounds: drift in the machine's load spreads over all three.
    for _ in $(seq "$runs"); do
        rate "$mib" >>"$work/plain"
        rate "$mib" KMEM_DRAM_BUDGET=$budget KMEM_STATS="$work/t.json" >>"$work/tier"
        python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tiering"]["interval_ms"])' "$work/t.json" >>"$work/iv"
        rate "$mib" KMEM_DRAM_BUDGET=$budget KMEM_ACCESS_COST=0 >>"$work/fixed"
    done
    p=$(median <"$work/plain") t=$(median <"$work/tier") f=$(median <"$work/fixed") iv=$(median <"$work/iv")
    awk -v m="$mib" -v p="$p" -v t="$t" -v f="$f" -v iv="$iv" 'BEGIN {
        printf "| %d MiB | %.1f M/s | %.1f M/s | %.3f | %d ms | %.1f M/s | %.3f |\n",
            m, p / 1e6, t / 1e6, t / p, iv, f / 1e6, f / p }'
done
