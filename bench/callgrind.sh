#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Instructions per malloc(32)/free pair on the allocator's fast path, counted by
# valgrind --tool=callgrind: kmbench's kmbench_pairs() runs N pairs in a tight
# loop, collection is on only inside it, and a run with a few pairs is
# subtracted so that first-call set-up (heap creation, page faults) drops out.
# Unlike times, the counts are exactly repeatable.
#
#   bench/callgrind.sh [--build-dir DIR] [--out FILE.tsv] [--pairs N] [--no-shim]
#                      [--workload-scale S]
#
# Expects the workloads built by bench/run.sh in DIR/bench-workloads (builds
# them if missing) and the shim in DIR/libkmemshim.so. Writes FILE.tsv (default
# bench/results/callgrind.tsv) and, beside it, callgrind-functions.tsv: the
# instructions per pair of each function for every configuration, and
# callgrind-workloads.tsv: all user-space instructions of each synthetic
# workload run at SCALE S (default 0.05; 0 skips them and what follows), a
# noise-free view of what the allocator costs the whole program, and of
# /bin/true from exec to exit; callgrind-stats.tsv: the instructions of an
# allocation loop (stats_cost) with KMEM_STATS off and on.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$here")
build=$top/build
out=$here/results/callgrind.tsv
big=1000000
small=1000
use_shim=1
wscale=0.05
while [ $# -gt 0 ]; do
    case "$1" in
    --build-dir) build=${2:?}; shift ;;
    --out) out=${2:?}; shift ;;
    --pairs) big=${2:?}; shift ;;
    --no-shim) use_shim=0 ;;
    --workload-scale) wscale=${2:?}; shift ;;
    *) sed -n '2,18s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
    esac
    shift
done
if ! [[ "$big" =~ ^[0-9]+$ ]] || [ "$big" -le $((small * 10)) ]; then
    echo "callgrind.sh: --pairs wants a number above $((small * 10))" >&2
    exit 2
fi
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind missing (scripts/deps.sh bench)" >&2; exit 1; }
build=$(realpath -m "$build")
out=$(realpath -m "$out")
mkdir -p "$(dirname "$out")"
bin=$build/bench-workloads
if [ ! -x "$bin/kmbench" ]; then
    cmake -S "$here/workloads" -B "$bin" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$bin" >/dev/null
fi
shim=$build/libkmemshim.so
work=$(mktemp -d /tmp/kmbcg.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$here/workloads/gen-rules.sh" 1000 >"$work/rules1k"

lib_path() { ldconfig -p | awk -v n="$1" '$1 == n && /x86-64/ && !p { print $NF; p = 1 }'; }

configs=(glibc mimalloc jemalloc tcmalloc)
# shim-sizerule: a rule set that looks only at sizes (the same split as
# shim-dram's threshold); shim-depth2: one depth 2 rule over all sizes, which
# walks the stack on every request; shim-stats: KMEM_STATS on.
if [ "$use_shim" = 1 ]; then
    configs+=(shim-dram shim-kmem shim-rules1k shim-sizerule shim-depth2 shim-stats)
fi
envv=()
set_config() {
    case "$1" in
    glibc) envv=() ;;
    mimalloc) envv=("LD_PRELOAD=$(lib_path libmimalloc.so.2)") ;;
    jemalloc) envv=("LD_PRELOAD=$(lib_path libjemalloc.so.2)") ;;
    tcmalloc) envv=("LD_PRELOAD=$(lib_path libtcmalloc_minimal.so.4)") ;;
    shim-dram) envv=(KMEM_THRESHOLD=1T KMEM_NODES=0 "LD_PRELOAD=$shim") ;;
    shim-kmem) envv=(KMEM_NODES=0 "LD_PRELOAD=$shim") ;;
    shim-rules1k) envv=(KMEM_NODES=0 "KMEMRC=$work/rules1k" "LD_PRELOAD=$shim") ;;
    shim-sizerule) envv=(KMEM_NODES=0 "KMEM_RULES=route dram size >= 0" "LD_PRELOAD=$shim") ;;
    shim-depth2) envv=(KMEM_NODES=0 "KMEM_RULES=route kmem caller kmbench:nosuchfn depth 2"
                       "LD_PRELOAD=$shim") ;;
    shim-stats) envv=(KMEM_NODES=0 "KMEM_STATS=/dev/null" "LD_PRELOAD=$shim") ;;
    esac
}

count() { # CONFIG PAIRS -> total Ir collected inside kmbench_pairs; leaves $work/CONFIG.PAIRS.cg
    local f=$work/$1.$2.cg
    # valgrind runs under the same environment as the program; its launcher
    # is unaffected by the preloaded allocator
    if ! env "${envv[@]}" valgrind --tool=callgrind --callgrind-out-file="$f" --collect-atstart=no \
        --toggle-collect=kmbench_pairs "$bin/kmbench" pairs "$2" >"$work/$1.out" 2>"$work/$1.err"; then
        echo "callgrind.sh: $1 failed:" >&2
        tail -n 5 "$work/$1.err" >&2
        return 1
    fi
    awk '/^(summary|totals):/ { print $2; exit }' "$f"
}

printf 'config\tpairs\tIr_total\tIr_baseline\tIr_per_pair\n' >"$out"
funcs=$(dirname "$out")/callgrind-functions.tsv
printf 'config\tfunction\tIr_per_pair\n' >"$funcs"
for c in "${configs[@]}"; do
    set_config "$c"
    if ! a=$(count "$c" "$big") || ! b=$(count "$c" "$small") || [ -z "$a" ] || [ -z "$b" ]; then
        printf '%s\t%s\tfailed\tfailed\tfailed\n' "$c" "$big" >>"$out"
        continue
    fi
    per=$(awk -v a="$a" -v b="$b" -v n="$big" -v m="$small" 'BEGIN { printf "%.2f", (a - b) / (n - m) }')
    printf '%s\t%s\t%s\t%s\t%s\n' "$c" "$big" "$a" "$b" "$per" >>"$out"
    echo "$c: $per instructions per malloc/free pair" >&2
    # self cost per function, per pair, for the functions above 0.5 instruction
    # a pair; code inlined from another file is listed under that file's name
    callgrind_annotate --auto=no --threshold=100 "$work/$c.$big.cg" 2>/dev/null |
        sed -n '/file:function/,$p' |
        awk -v c="$c" -v n="$big" '
            match($0, /^ *[0-9,]+ +\( *[0-9.]+%\) +/) {
                ir = $1; gsub(/,/, "", ir)
                rest = substr($0, RLENGTH + 1)
                loc = rest; sub(/ .*/, "", loc)
                obj = ""
                if (rest ~ / \[/) { obj = rest; sub(/^[^[]*\[/, "", obj); sub(/\].*$/, "", obj); sub(/.*\//, "", obj) }
                fn = loc; sub(/^.*:/, "", fn)
                file = loc; sub(/:[^:]*$/, "", file); sub(/.*\//, "", file)
                name = obj != "" ? fn " (" obj ")" : fn " (inlined from " file ")"
                if (fn == "kmbench_pairs") name = fn
                if (ir / n >= 0.5) printf "%s\t%s\t%.2f\n", c, name, ir / n
            }' >>"$funcs"
done

[ "$wscale" != 0 ] || exit 0
wout=$(dirname "$out")/callgrind-workloads.tsv
printf 'workload\tconfig\tscale\tIr\n' >"$wout"
wconfigs=(glibc mimalloc)
if [ "$use_shim" = 1 ]; then wconfigs+=(shim-dram shim-kmem shim-rules1k); fi
# "startup": a whole process that makes one malloc/free pair: loader, libc and
# allocator start-up (for the shim: topology, node sets, rules). "true":
# /bin/true from exec to exit, what each process of a shell loop pays.
for w in true startup churn xthread larson threads mstress server realloc mixed aligned; do
    case "$w" in
    true) args=(/bin/true) ;;
    startup) args=(pairs 1) ;;
    mixed) args=(mixed "$(awk -v s="$wscale" 'BEGIN { print s * 20 }')") ;; # mostly page touching: more of it
    *) args=("$w" "$wscale") ;;
    esac
    for c in "${wconfigs[@]}"; do
        set_config "$c"
        f=$work/w.$w.$c.cg
        prog=("$bin/kmbench" "${args[@]}")
        [ "$w" = true ] && prog=(/bin/true)
        if env "${envv[@]}" valgrind --tool=callgrind --callgrind-out-file="$f" "${prog[@]}" \
            >/dev/null 2>"$work/w.err"; then
            ir=$(awk '/^(summary|totals):/ { print $2; exit }' "$f")
        else
            ir=failed
        fi
        sc=${args[1]:-1}
        printf '%s\t%s\t%s\t%s\n' "$w" "$c" "$sc" "${ir:-failed}" >>"$wout"
        rm -f "$f"
    done
    echo "$w: instruction counts done" >&2
done

# What KMEM_STATS costs an allocation loop (bench/workloads/stats_cost.c:
# 2,000,000 malloc/calloc/free of 16..1040 bytes), the whole process, off and on.
sout=$(dirname "$out")/callgrind-stats.tsv
printf 'mode\tIr\n' >"$sout"
if [ "$use_shim" = 1 ] && [ -x "$bin/stats_cost" ]; then
    for m in off on; do
        e=(KMEM_NODES=0 KMEM_THRESHOLD=64K "LD_PRELOAD=$shim")
        [ "$m" = on ] && e+=("KMEM_STATS=$work/stats.txt")
        if env "${e[@]}" valgrind --tool=callgrind --callgrind-out-file="$work/s.cg" \
            --soname-synonyms=somalloc=nouserintercepts "$bin/stats_cost" 2000000 >/dev/null 2>&1; then
            ir=$(awk '/^(summary|totals):/ { print $2; exit }' "$work/s.cg")
        else
            ir=failed
        fi
        printf '%s\t%s\n' "$m" "${ir:-failed}" >>"$sout"
    done
    echo "statistics' cost: instruction counts done" >&2
fi
