#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Cost of 1,000 callsite rules against none, on a malloc-heavy workload
# (callsite_cost: malloc/free of 8..511 bytes from eight callsites), in one
# run: the two configurations interleaved, ROUNDS times, medians of the loop's
# wall and CPU time and of the whole process's; then callgrind instructions of
# each (the loop alone, and the whole process with start-up and the rules parse).
# Each callsite is used once before the timed loop: the loop is the steady state.
# Both route every request to kmem_all (KMEM_NODES=0), so only the decision differs:
#   none:  KMEM_POLICY=kmem_all, no rule (threshold 0, the fast decision)
#   rules: KMEMRC = 1,000 "route kmem_all caller nosuchmod_N.so:fn_N" + "route kmem_all"
# usage: bench/callsite_cost.sh BUILD_DIR [ROUNDS [ITERATIONS]]
#   BUILD_DIR: the shim's build tree (libkmemshim.so); the workload is built in
#   BUILD_DIR/bench-workloads from bench/workloads when missing, as bench/run.sh does.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:?usage: bench/callsite_cost.sh BUILD_DIR [ROUNDS [ITERATIONS]]} rounds=${2:-7}
iters=${3:-20000000}
shim=$build/libkmemshim.so prog=$build/bench-workloads/callsite_cost
[ -e "$shim" ] || { echo "callsite_cost.sh: $shim missing: build first" >&2; exit 1; }
if [ ! -x "$prog" ]; then
    cmake -S "$here/workloads" -B "$build/bench-workloads" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build/bench-workloads" --target callsite_cost >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rc=$work/kmemrc
for i in $(seq 1 1000); do echo "route kmem_all caller nosuchmod_$i.so:fn_$i"; done >"$rc"
echo "route kmem_all" >>"$rc"

declare -A envs=(
    [none]="KMEM_NODES=0 KMEM_POLICY=kmem_all LD_PRELOAD=$shim"
    [rules]="KMEM_NODES=0 KMEM_POLICY=kmem_all KMEMRC=$rc LD_PRELOAD=$shim"
)
configs=(none rules)

for ((r = 1; r <= rounds; r++)); do
    # Alternate which configuration goes first, against drift on a loaded machine.
    order=("${configs[@]}")
    ((r % 2 == 0)) && order=(rules none)
    for c in "${order[@]}"; do
        loop=$(env ${envs[$c]} /usr/bin/time -o "$work/time" -f '%e %U %S' "$prog" "$iters")
        read -r pw pu ps <"$work/time"
        # config round loop-wall loop-cpu process-wall process-cpu (ns)
        echo "$c $r $loop $(echo "$pw * 1000000000 / 1" | bc) \
            $(echo "($pu + $ps) * 1000000000 / 1" | bc)" >>"$work/times"
    done
done

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
minimum() { sort -n | head -1; }
col() { awk -v c=$1 -v f=$2 '$1 == c { print $f }' "$work/times"; }
ms() { echo "scale=1; $1 / 1000000" | bc; }
pct() { printf '%+.2f%%' "$(echo "($1 / $2 - 1) * 100" | bc -l)"; }
echo "rounds $rounds, $iters malloc/free pairs per run (medians; loop = steady state)"
printf '%-6s %12s %12s %12s %12s   %s\n' config "loop wall ms" "loop cpu ms" "proc wall ms" \
    "proc cpu ms" "loop cpu ms per round"
for c in "${configs[@]}"; do
    w=$(col $c 3 | median) u=$(col $c 4 | median) p=$(col $c 5 | median) q=$(col $c 6 | median)
    printf '%-6s %12s %12s %12s %12s   %s\n' $c "$(ms $w)" "$(ms $u)" "$(ms $p)" "$(ms $q)" \
        "$(col $c 4 | awk '{ printf "%.0f ", $1 / 1e6 }')"
    eval "w_$c=$w u_$c=$u p_$c=$p q_$c=$q"
done
echo "rules vs none: loop wall $(pct $w_rules $w_none), loop cpu $(pct $u_rules $u_none)," \
    "process wall $(pct $p_rules $p_none), process cpu $(pct $q_rules $q_none)"
# The fastest round of each: the one least disturbed by other load (a busy
# sibling hyper-thread halves a thread's speed, CPU time included).
mw_none=$(col none 3 | minimum) mw_rules=$(col rules 3 | minimum)
mu_none=$(col none 4 | minimum) mu_rules=$(col rules 4 | minimum)
echo "fastest rounds: loop wall $(ms $mw_none) vs $(ms $mw_rules) ms ($(pct $mw_rules $mw_none))," \
    "loop cpu $(ms $mu_none) vs $(ms $mu_rules) ms ($(pct $mu_rules $mu_none))"
echo "(cpu = the thread's CPU time: less disturbed than wall time on a loaded machine)"

# Instructions: deterministic, so one run each (fewer iterations).
if command -v valgrind >/dev/null; then
    cg_iters=$((iters / 20))
    for c in "${configs[@]}"; do
        for scope in loop process; do
            opt=()
            [[ $scope == loop ]] && opt=(--toggle-collect=workload)
            env ${envs[$c]} valgrind --tool=callgrind "${opt[@]}" \
                --callgrind-out-file="$work/cg.$c.$scope" "$prog" "$cg_iters" >/dev/null 2>&1
            ir=$(callgrind_annotate "$work/cg.$c.$scope" 2>/dev/null |
                awk '/PROGRAM TOTALS/ { gsub(/,/, "", $1); print $1 }')
            eval "ir_${c}_$scope=$ir"
        done
        [[ -n ${KEEP_CALLGRIND:-} ]] && cp "$work"/cg.$c.* "$KEEP_CALLGRIND"/
    done
    echo "callgrind, $cg_iters pairs: instructions"
    printf '%-6s %16s %16s\n' config loop process
    for c in "${configs[@]}"; do
        eval "printf '%-6s %16s %16s\n' $c \$ir_${c}_loop \$ir_${c}_process"
    done
    printf 'rules vs none: loop %+.2f%%, process %+.2f%%; per pair: %.1f vs %.1f instructions\n' \
        "$(echo "($ir_rules_loop / $ir_none_loop - 1) * 100" | bc -l)" \
        "$(echo "($ir_rules_process / $ir_none_process - 1) * 100" | bc -l)" \
        "$(echo "$ir_rules_loop / $cg_iters" | bc -l)" "$(echo "$ir_none_loop / $cg_iters" | bc -l)"
fi
