#!/bin/bash
# SPDX-License-Identifier: MIT
# Runtime tiering (KMEM_DRAM_BUDGET) on the 4node machine (DRAM nodes 0,1 of 512 MiB; KMEM nodes
# 2,3 of 256 MiB, KMEM_NODES=2,3). The workload is bench/workloads/tier_phases.c: structures A and
# B and a log of 48 MiB each, from callsites of their own; phase 1 reads A at random, phase 2 B; the
# log is written once. The budget (64 MiB) holds one structure.
#  (a) at the end of each phase at least 90% of the hot structure's pages are on {0,1}, at most 10%
#      of the cold one's and of the log's; printed: the time from the swap until 90% of B is on
#      {0,1}, and the share of sampled touches DRAM served (tiering.dram_touch_share);
#  (b) the same with all three allocated through one wrapper function (groups see through it);
#  (c) no thrash: A and B read equally for 20 s, the budget holding one: at most two moves;
#  (d) the best static plan for comparison: the workload profiled with everything in DRAM,
#      `kmemshim suggest --dram-budget 64M`, run with those rules: the DRAM route's share of sampled
#      touches (printed beside tiering's);
#  (e) a move that fails: nodes 2 and 3 filled (numactl --membind) during phase 1 so that A (96 MiB
#      here, B 16 MiB) cannot be demoted in phase 2: the program goes on, the report counts
#      moves_failed > 0.
# By hand: TIER_PHASE (seconds per phase, default 8), TIER_NOTHRASH (default 20), TIER_PARTS (default
# "a b c d e": the parts to run).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${KMS_TIER_PROG:?}"
show_topology
# KMEM_ACCESS_COST=0: 100 ms intervals throughout. By default the interval grows to bound the
# program's re-walks of the pages it touches, which TCG makes very slow (about 10 s here): seconds
# between decisions would need minutes of phases.
export KMEM_NODES=2,3 KMEM_ACCESS_COST=0
out=$KMS_OUT
phase=${TIER_PHASE:-8}
nothrash=${TIER_NOTHRASH:-20}
size=48 budget=64M
parts=" ${TIER_PARTS:-a b c d e} "
part() { [[ $parts == *" $1 "* ]]; }
tier_share="?"

# share OUT PHASE NAME: the DRAM share of that structure at the end of that phase.
share() {
    awk -v p="$2" -v n="$3" '$1 == "phase" && $2 == p && $3 == n && $4 == "dram_share" { print $5 }' "$1"
}
# at_least / at_most WHAT VALUE LIMIT
at_least() { check "$1: $2 >= $3" awk -v v="$2" -v l="$3" 'BEGIN { exit !(v != "" && v + 0 >= l + 0) }'; }
at_most() { check "$1: $2 <= $3" awk -v v="$2" -v l="$3" 'BEGIN { exit !(v != "" && v + 0 <= l + 0) }'; }
# same_groups TIMELINE JSON: the timeline's group names are the stats report's callsites.
same_groups() {
    python3 - "$1" "$2" <<'PY'
import json, sys
t = {l.split("\t")[1] for l in open(sys.argv[1]) if not l.startswith(("#", "time_s"))}
j = {g["callsite"] for g in json.load(open(sys.argv[2]))["tiering"]["groups"]}
print("timeline groups:", sorted(t), "report groups:", sorted(j))
assert t == j, (t ^ j)
PY
}
# phased NAME ARGS...: the phased workload under tiering, checked per phase; stats in NAME.json.
phased() {
    local name=$1 rc=0
    shift
    KMEM_DRAM_BUDGET=$budget KMEM_ACCESS=100 KMEM_STATS=$out/$name.json KMEM_TIMELINE=$out/$name.tsv \
        LD_PRELOAD="$KMS_SHIM" "$KMS_TIER_PROG" --size $size --phase "$phase" --dram-nodes 0,1 \
        --swap-time "$@" >"$out/$name.out" 2>"$out/$name.err" || rc=$?
    cat "$out/$name.out" "$out/$name.err"
    note_result "$name: tier_phases ran" "$rc"
    at_least "$name: phase 1, A (hot) on DRAM" "$(share "$out/$name.out" 1 A)" 0.9
    at_most "$name: phase 1, B (cold) on DRAM" "$(share "$out/$name.out" 1 B)" 0.1
    at_most "$name: phase 1, log on DRAM" "$(share "$out/$name.out" 1 log)" 0.1
    at_least "$name: phase 2, B (hot) on DRAM" "$(share "$out/$name.out" 2 B)" 0.9
    at_most "$name: phase 2, A (cold) on DRAM" "$(share "$out/$name.out" 2 A)" 0.1
    at_most "$name: phase 2, log on DRAM" "$(share "$out/$name.out" 2 log)" 0.1
    echo "vm: $name: $(grep '^swap A' "$out/$name.out" || echo 'swap A: no line') (from the start of phase 1)"
    echo "vm: $name: $(grep '^swap B' "$out/$name.out" || echo 'swap B: no line') (from the swap)"
    check "$name: the timeline names the groups as the report does" same_groups "$out/$name.tsv" "$out/$name.json"
    python3 - "$out/$name.json" "$name" <<'PY' || note_result "$name: the stats report's tiering object" 1
import json, sys
t = json.load(open(sys.argv[1]))["tiering"]
print("vm: %s: tiering interval_ms %s promoted %.1f MiB demoted %.1f MiB moves %d failed %d "
      "dram_touch_share %.4f" % (sys.argv[2], t["interval_ms"], t["promoted_bytes"] / 2**20,
      t["demoted_bytes"] / 2**20, t["moves"], t["moves_failed"], t["dram_touch_share"]))
for g in t["groups"]:
    print("  group %(callsite)s tier %(tier)s density %(density).4f resident %(resident)d moves %(moves)d" % g)
PY
}

if part a; then
section "(a) phased workload, budget $budget: the heat moves from A to B"
phased phased
tier_share=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tiering"]["dram_touch_share"])' \
    "$out/phased.json" 2>/dev/null || echo "?")
fi

if part b; then
section "(b) the same through one wrapper function (my_xmalloc)"
phased wrapper --wrapper
fi

if part c; then
section "(c) no thrash: A and B read equally for $nothrash s, the budget holding one"
rc=0
KMEM_DRAM_BUDGET=$budget KMEM_ACCESS=100 KMEM_STATS=$out/equal.json KMEM_TIMELINE=$out/equal.tsv \
    LD_PRELOAD="$KMS_SHIM" "$KMS_TIER_PROG" --size $size --log-size 0 --equal --phases 1 \
    --phase "$nothrash" --dram-nodes 0,1 >"$out/equal.out" 2>&1 || rc=$?
cat "$out/equal.out"
note_result "equal: tier_phases ran" "$rc"
moves=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tiering"]["moves"])' "$out/equal.json" || echo "")
echo "vm: no thrash: $moves moves in $nothrash s"
at_most "equal densities: moves in $nothrash s" "$moves" 2
fi

if part d; then
section "(d) the best static plan from suggest, against runtime tiering"
rc=0
"$KMS_CLI" run --nodes 2,3 --threshold 1T --access --profile "$out/p.txt" -- \
    "$KMS_TIER_PROG" --size $size --phase "$phase" --dram-nodes 0,1 >"$out/profile.out" 2>&1 || rc=$?
note_result "profile run" "$rc"
rc=0
"$KMS_CLI" suggest --dram-budget $budget -o "$out/static.rc" "$out/p.txt" || rc=$?
note_result "suggest --dram-budget $budget" "$rc"
cat "$out/static.rc"
rc=0
KMEMRC=$out/static.rc KMEM_ACCESS=100 KMEM_STATS=$out/static.json LD_PRELOAD="$KMS_SHIM" \
    "$KMS_TIER_PROG" --size $size --phase "$phase" --dram-nodes 0,1 >"$out/static.out" 2>&1 || rc=$?
cat "$out/static.out"
note_result "static run" "$rc"
static_share=$(python3 - "$out/static.json" <<'PY' || echo "?"
import json, sys
a = json.load(open(sys.argv[1]))["access"]
for r in a["routes"]:
    print("  route", r["route"], "touch_share", r["touch_share"], file=sys.stderr)
print(sum(r["touch_share"] for r in a["routes"] if r["route"] == "dram"))
PY
)
echo "vm: share of sampled touches served by DRAM: static plan (suggest) $static_share, runtime tiering $tier_share"
for p in 1 2; do
    echo "vm: static plan, end of phase $p: A $(share "$out/static.out" $p A), B $(share "$out/static.out" $p B), log $(share "$out/static.out" $p log) on DRAM"
done
fi

if part e; then
section "(e) a move that fails: KMEM nodes 2 and 3 nearly full, A cannot be demoted"
# A of 160 MiB, B and the log of 16 MiB (about 163 and 18 MiB resident), a budget of 176 MiB: A fits
# in DRAM alone, not with B, so phase 2 demotes A while promoting B (and the log, which then fits)
# frees at most 36 MiB on KMEM. Before the workload starts, a filler per node, bound to it, takes
# 4 MiB at a time until 48 MiB of the node are free, and holds that: room for B and the log should
# they be made on KMEM, but at most 2 x 48 + 36 MiB for A's 163. (Fillers running beside the moves
# got the workload or themselves OOM-killed under TCG's timing.) The page cache is dropped first:
# a move would reclaim it and fit.
filler='
import ctypes, sys, time
node = sys.argv[1]
# No transparent huge pages: what is held is what was asked for, nothing the kernel can split later.
ctypes.CDLL(None).prctl(41, 1, 0, 0, 0)  # PR_SET_THP_DISABLE
def free():
    for l in open("/sys/devices/system/node/node%s/meminfo" % node):
        if "MemFree:" in l:
            return int(l.split()[-2]) * 1024
held = []
was = free()
while free() > (52 << 20):
    held.append(b"\x01" * (4 << 20))
print("filler: node %s: holding %d MiB, %d MiB were free, %d MiB are" % (node, 4 * len(held), was >> 20, free() >> 20), flush=True)
time.sleep(3600)
'
sync
echo 3 >/proc/sys/vm/drop_caches
fillers=()
for n in 2 3; do
    numactl --membind=$n python3 -c "$filler" $n >"$out/filler$n.out" 2>&1 &
    fillers+=($!)
done
for n in 2 3; do
    for _ in $(seq 600); do grep -q '^filler:' "$out/filler$n.out" && break; sleep 0.1; done
    cat "$out/filler$n.out"
done
grep -E 'MemFree|AnonPages|FilePages' /sys/devices/system/node/node[23]/meminfo
rc=0
KMEM_DRAM_BUDGET=176M KMEM_ACCESS=100 KMEM_STATS=$out/full.json KMEM_TIMELINE=$out/full.tsv LD_PRELOAD="$KMS_SHIM" \
    "$KMS_TIER_PROG" --size 160 --b-size 16 --log-size 16 --phase "$phase" --dram-nodes 0,1 \
    >"$out/full.out" 2>&1 &
wpid=$!
wait $wpid || rc=$?
kill "${fillers[@]}" 2>/dev/null || true
wait "${fillers[@]}" 2>/dev/null || true
cat "$out"/filler[23].out
cat "$out/full.out"
note_result "full KMEM nodes: tier_phases went on to its end" "$rc"
check "full KMEM nodes: both phases reported" grep -q '^tier_phases: done' "$out/full.out"
failed=$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["tiering"]; print(t["moves_failed"])' "$out/full.json" || echo "")
python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["tiering"]; print("vm: full KMEM nodes: moves %d moves_failed %d failed_bytes %s; A on DRAM at the end: %s" % (t["moves"], t["moves_failed"], t.get("failed_bytes"), sys.argv[2]))' \
    "$out/full.json" "$(share "$out/full.out" 2 A)" || true
at_least "full KMEM nodes: failed moves counted" "$failed" 1
check "full KMEM nodes: no OOM kill" bash -c '! dmesg | grep -E "oom-kill|Killed process"'
fi

finish
