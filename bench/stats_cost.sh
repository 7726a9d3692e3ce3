#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What KMEM_STATS and KMEM_PROFILE cost: every user-space instruction of three
# programs under the shim (valgrind --tool=callgrind, exactly repeatable), with
# statistics off, on (sampled, the default), on with every block recorded
# (KMEM_STATS_SAMPLE=0) and with a profile; then CPU time (user+sys, median of
# 5 interleaved rounds) of the malloc loop for the same four.
#
#   bench/stats_cost.sh [--build-dir DIR] [--rounds N]
#
# Workloads (KMEM_NODES=0, KMEM_THRESHOLD=64K): bench/workloads/stats_cost
# (2,000,000 malloc/calloc/free pairs of 16..1040 bytes and nothing else),
# python3 (dicts, lists and strings) and sqlite3 (120,000 rows and an index in
# memory, about 730,000 requests). Prints a Markdown table.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(dirname "$here")/build
rounds=5
while [ $# -gt 0 ]; do
    case "$1" in
    --build-dir) build=${2:?}; shift ;;
    --rounds) rounds=${2:?}; shift ;;
    *) sed -n '2,13s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
    esac
    shift
done
shim=$build/libkmemshim.so
loop=$build/bench-workloads/stats_cost
[ -e "$shim" ] || { echo "stats_cost.sh: $shim missing: build first" >&2; exit 1; }
if [ ! -x "$loop" ]; then
    cmake -S "$here/workloads" -B "$build/bench-workloads" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build/bench-workloads" --target stats_cost >/dev/null
fi
command -v valgrind >/dev/null || { echo "stats_cost.sh: valgrind missing" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "stats_cost.sh: sqlite3 missing" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

py='
import collections
d = {}
for i in range(200000):
    k = "k%d" % (i % 5003)
    d[k] = d.get(k, []) + [i] if i % 7 == 0 else d.get(k, [])
l = [str(i) * (i % 40) for i in range(100000)]
c = collections.Counter(len(s) for s in l)
print(len(d), sum(c.values()))'
sql="CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 120000)
INSERT INTO t SELECT x, printf('name-%d-%s', x, hex(x * 7)), x * 0.5 FROM c;
CREATE INDEX t_name ON t(name);
SELECT count(*), sum(v) FROM t;"
echo "$sql" >"$work/q.sql"

workload() { # NAME: runs it
    case $1 in
    loop) "$loop" 2000000 ;;
    python3) PYTHONHASHSEED=0 /usr/bin/python3 -c "$py" ;;
    sqlite3) sqlite3 :memory: <"$work/q.sql" ;;
    esac
}
modes=(off stats exact profile)
mode_env() { # MODE
    case $1 in
    off) echo "" ;;
    stats) echo "KMEM_STATS=$work/s.txt" ;;
    exact) echo "KMEM_STATS=$work/s.txt KMEM_STATS_SAMPLE=0" ;;
    profile) echo "KMEM_PROFILE=$work/p.prof" ;;
    esac
}
instructions() { # WORKLOAD MODE
    local out=$work/cg.out cmd
    case $1 in
    loop) cmd=("$loop" 2000000) ;;
    python3) cmd=(/usr/bin/python3 -c "$py") ;;
    sqlite3) cmd=(sqlite3 -init "$work/q.sql" :memory: .quit) ;;
    esac
    # shellcheck disable=SC2046
    env KMEM_NODES=0 KMEM_THRESHOLD=64K PYTHONHASHSEED=0 $(mode_env "$2") LD_PRELOAD="$shim" \
        valgrind --tool=callgrind --callgrind-out-file="$out" --soname-synonyms=somalloc=nouserintercepts \
        "${cmd[@]}" >/dev/null 2>"$work/cg.err" </dev/null || { cat "$work/cg.err" >&2; return 1; }
    sed -n 's/^summary: //p' "$out"
}
echo "| workload | statistics off | KMEM_STATS (sampled) | KMEM_STATS_SAMPLE=0 | KMEM_PROFILE |"
echo "|---|---|---|---|---|"
for w in loop python3 sqlite3; do
    row="| $w"
    base=
    for m in "${modes[@]}"; do
        n=$(instructions "$w" "$m")
        if [ -z "$base" ]; then
            base=$n
            row+=" | $(awk -v n="$n" 'BEGIN{printf "%.1f M", n/1e6}')"
        else
            row+=" | $(awk -v n="$n" -v b="$base" 'BEGIN{printf "%.1f M (%+.1f %%)", n/1e6, (n-b)*100/b}')"
        fi
    done
    echo "$row |"
done

# CPU time of the loop, rounds interleaved so that load from elsewhere hits every mode alike.
declare -A times
for ((r = 0; r < rounds; r++)); do
    for m in "${modes[@]}"; do
        # shellcheck disable=SC2046
        t=$( { /usr/bin/time -f '%U %S' env KMEM_NODES=0 KMEM_THRESHOLD=64K $(mode_env "$m") \
            LD_PRELOAD="$shim" "$loop" 10000000 >/dev/null; } 2>&1 | tail -1 | awk '{print $1 + $2}')
        times[$m]+="$t "
    done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
row="| loop, 10 M pairs, CPU seconds (median of $rounds)"
base=
for m in "${modes[@]}"; do
    t=$(echo "${times[$m]}" | median)
    if [ -z "$base" ]; then base=$t; row+=" | $t s"; else
        row+=" | $(awk -v t="$t" -v b="$base" 'BEGIN{printf "%.2f s (%+.0f %%)", t, (t-b)*100/b}')"
    fi
done
echo "$row |"
