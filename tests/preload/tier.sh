#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runtime tiering (KMEM_DRAM_BUDGET) on this machine, where node 0 stands in for a KMEM node: the
# mappings' kernel policies follow the heat (the DRAM route's `default`, the KMEM route's `bind:0`),
# the reports say what moved, bad input gets its error or warning, and a read-only /proc (accessed
# bits that cannot be cleared) is said and never planned by.
# usage: tier.sh SHIM KMEMSHIM_CLI TIER_PHASES CASE
# CASE: phases | wrapper | zero | report | run | bad | nokmem | rofs | profile
set -euo pipefail
shim=$1 cli=$2 prog=$3 case=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
# Three structures of 16 MiB (A, B, the log); a budget that holds one of them and the little
# untracked memory the program has. 4 s phases of 100 ms intervals: KMEM_ACCESS_COST=0 keeps the
# interval from growing (by default it grows to bound the program's re-walks of its pages, to seconds
# on this machine, and the checks here are about where the heat sends the groups, not how soon).
size=16 budget=${TIER_TEST_BUDGET:-24M} phase=4   # TIER_TEST_BUDGET: to see the checks fail by hand

# phase_policy OUT PHASE NAME: the policy column of that phase's line for that structure.
phase_policy() {
    awk -v p="$2" -v n="$3" '$1 == "phase" && $2 == p && $3 == n {
        for (i = 4; i < NF; i++) if ($i == "policy") print $(i + 1) }' "$1"
}
# expect_policy OUT PHASE NAME WANT
expect_policy() {
    local got
    got=$(phase_policy "$1" "$2" "$3")
    [ "$got" = "$4" ] || fail "phase $2: $3's mapping policy is '$got', expected '$4' ($1: $(grep "^phase $2 $3 " "$1"))"
    echo "ok: phase $2 $3 policy $got"
}
# expect_err STATUS PATTERN COMMAND...: exit status and a message (stderr) that matches PATTERN.
expect_err() {
    local want=$1 pat=$2 rc
    shift 2
    set +e
    "$@" >out 2>err
    rc=$?
    set -e
    [ "$rc" = "$want" ] || fail "$*: status $rc, expected $want (stderr: $(cat err))"
    grep -Eq -- "$pat" err || fail "$*: message '$(cat err)' lacks /$pat/"
    echo "ok: $* -> $rc: $(head -1 err)"
}
# The phased workload under tiering; stdout in the file $1, stderr in $1.err.
tiered() { # OUT [NAME=VALUE...] -- [tier_phases ARGS...]
    local out=$1 envs=()
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    env KMEM_NODES=0 KMEM_DRAM_BUDGET="$budget" KMEM_ACCESS=100 KMEM_ACCESS_COST=0 "${envs[@]}" LD_PRELOAD="$shim" \
        "$prog" --size $size --phase $phase "$@" >"$out" 2>"$out.err" || fail "tier_phases: status $? ($(cat "$out.err"))"
    cat "$out" "$out.err"
    grep -q '^tier_phases: done' "$out" || fail "no end line"
}

case $case in
phases | wrapper)
    # Phase 1 reads A: A in DRAM, B and the log on KMEM; phase 2 reads B: B in DRAM, A on KMEM.
    # --wrapper: all three come from one wrapper function, which groups must see through.
    args=()
    [ "$case" = wrapper ] && args=(--wrapper)
    tiered out -- "${args[@]}"
    expect_policy out 1 A default
    expect_policy out 1 B bind:0
    expect_policy out 1 log bind:0
    expect_policy out 2 B default
    expect_policy out 2 A bind:0
    expect_policy out 2 log bind:0
    ;;
zero)
    # A budget of 0: every group on KMEM, whatever its heat.
    budget=0 phase=1.5
    tiered out --
    for p in 1 2; do
        for s in A B log; do expect_policy out $p $s bind:0; done
    done
    ;;
report)
    # The stats report's tiering object and the timeline's rows, from one phased run.
    tiered out KMEM_STATS="$work/s.json" KMEM_TIMELINE="$work/t.tsv" --
    python3 - s.json t.tsv "$prog" <<'PY'
import json, subprocess, sys
r = json.load(open(sys.argv[1]))
t = r["tiering"]
print("tiering:", {k: v for k, v in t.items() if k != "groups"})
assert t["budget"] == 24 << 20, t
assert t["interval_ms"] == 100, t  # KMEM_ACCESS_COST=0: never lengthened
assert t["moves"] >= 2, t
assert t["moves_failed"] == 0, t
# Node 0 is both tiers here: a move changes the policy, no page changes node, so the bytes moved
# each way may be 0 (the VM test sees them).
assert t["promoted_bytes"] >= 0 and t["demoted_bytes"] >= 0, t
assert 0.5 < t["dram_touch_share"] <= 1, t
# Which group is which: the function each callsite's return address lies in (nm).
funcs = []
for l in subprocess.run(["nm", "-S", "--defined-only", sys.argv[3]], capture_output=True,
                        text=True, check=True).stdout.splitlines():
    f = l.split()
    if len(f) == 4 and f[3] in ("alloc_index_a", "alloc_index_b", "alloc_log"):
        funcs.append((int(f[0], 16), int(f[1], 16), {"alloc_index_a": "A", "alloc_index_b": "B",
                                                       "alloc_log": "log"}[f[3]]))
g = {}
for x in t["groups"]:
    assert x["tier"] in ("dram", "kmem"), x
    assert 0 <= x["density"] <= 1.0001, x
    off = int(x["callsite"].split("+0x")[1], 16)
    for start, size, name in funcs:
        if start <= off < start + size:
            g[name] = x
print("groups:", g)
assert set(g) == {"A", "B", "log"}, (g, funcs)
# A demoted at the swap, B promoted; each moved at least once.
assert g["A"]["tier"] == "kmem" and g["A"]["moves"] >= 1, g["A"]
assert g["B"]["tier"] == "dram" and g["B"]["moves"] >= 1, g["B"]
# The log is made when A and B already hold more than the budget: it starts on KMEM. While it
# is being written (the program's first fraction of a second) it is the hottest structure, and
# with 100 ms intervals it may be promoted for that moment; never read again, it ends on KMEM,
# after at most that one round trip.
assert g["log"]["tier"] == "kmem" and g["log"]["moves"] <= 2, g["log"]

lines = open(sys.argv[2]).read().split("\n")
assert lines[0] == "# kmemshim timeline 1", lines[0]
assert lines[1].split("\t") == ["time_s", "group", "tier", "resident", "touched", "density"], lines[1]
assert lines[-1] == "", "no newline at the end"
rows = [l.split("\t") for l in lines[2:-1] if not l.startswith("#")]
assert len(rows) >= 3 * 5, len(rows)  # 8 s at 100 ms, three groups: about 240 rows (fewer if the interval grew)
last = -1.0
groups = set()
for c in rows:
    assert len(c) == 6, c
    ts = float(c[0])
    assert ts >= last, (ts, last)
    last = ts
    assert c[2] in ("dram", "kmem"), c
    assert int(c[3]) >= 0 and int(c[4]) >= 0 and 0 <= float(c[5]) <= 1.0001, c
    groups.add(c[1])
assert len(groups) >= 3, groups
# The timeline names each group as the report does (module+0xOFFSET, as in profiles), from its
# first row on.
assert groups == {x["callsite"] for x in t["groups"]}, (groups, t["groups"])
# Each of A and B spends some intervals in each tier.
seen = {}
for c in rows:
    seen.setdefault(c[1], set()).add(c[2])
assert sum(1 for v in seen.values() if v == {"dram", "kmem"}) >= 2, seen
print("timeline ok:", len(rows), "rows,", len(groups), "groups, last at", last, "s")
PY
    # The text report has a tiering section.
    tiered out2 KMEM_STATS=stderr -- --phase 0.5
    grep -qi '^tiering' out2.err || fail "no tiering section in the text report"
    ;;
run)
    # kmemshim run --dram-budget: the variables it sets.
    "$cli" run -n --dram-budget 8G --interval 50 --timeline "$work/t.tsv" -- true >out
    cat out
    grep -qx 'KMEM_DRAM_BUDGET=8G' out || fail "no KMEM_DRAM_BUDGET=8G"
    grep -qx 'KMEM_ACCESS=50' out || fail "no KMEM_ACCESS=50"
    grep -qx "KMEM_TIMELINE=$work/t.tsv" out || fail "no KMEM_TIMELINE"
    "$cli" run -n --dram-budget 1G -- true | grep -qx 'KMEM_ACCESS=100' || fail "default interval"
    expect_err 2 "--dram-budget" "$cli" run --dram-budget 12Q -- true
    # And for real: the timeline is written.
    "$cli" run --nodes 0 --dram-budget "$budget" --timeline "$work/r.tsv" -- "$prog" --size 4 --phase 0.5 >out
    head -2 r.tsv
    [ "$(head -1 r.tsv)" = "# kmemshim timeline 1" ] || fail "timeline from kmemshim run"
    ;;
bad)
    # A bad budget: status 1 and a message that names the variable; the program does not run.
    for v in 12Q -1 abc 1.5.G 99999999999999999999999 ""; do
        expect_err 1 "KMEM_DRAM_BUDGET" env KMEM_NODES=0 KMEM_DRAM_BUDGET="$v" LD_PRELOAD="$shim" "$prog" --size 1 --phase 0
        [ ! -s out ] || fail "KMEM_DRAM_BUDGET='$v': the program ran: $(cat out)"
    done
    # KMEM_MOVABLE=1 leaves pages to the kernel; a budget moves them: they exclude each other.
    expect_err 1 "KMEM_MOVABLE.*KMEM_DRAM_BUDGET|KMEM_DRAM_BUDGET.*KMEM_MOVABLE" \
        env KMEM_NODES=0 KMEM_MOVABLE=1 KMEM_DRAM_BUDGET=1G LD_PRELOAD="$shim" "$prog" --size 1 --phase 0
    [ ! -s out ] || fail "KMEM_MOVABLE=1 with a budget: the program ran"
    ;;
nokmem)
    # No KMEM node (no KMEM_NODES on this one-node machine): one warning, no tiering, the program runs.
    env -u KMEM_NODES KMEM_DRAM_BUDGET=8M KMEM_ACCESS=100 KMEM_STATS="$work/s.json" LD_PRELOAD="$shim" \
        "$prog" --size 4 --phase 0.5 >out 2>err
    cat err
    grep -q '^tier_phases: done' out || fail "the program did not finish"
    [ "$(wc -l <err)" = 1 ] || fail "expected one warning line, got: $(cat err)"
    if ! grep -Eqi 'tiering' err || ! grep -Eqi 'off|no tiering|disabled|without tiering' err; then
        fail "the warning does not say tiering is off: $(cat err)"
    fi
    python3 -c '
import json, sys
t = json.load(open(sys.argv[1])).get("tiering")
assert t is None or (t["moves"] == 0 and t["promoted_bytes"] == 0 and t["demoted_bytes"] == 0), t
print("no moves:", t)' s.json
    # The same under KMEM_STRICT=1: an error.
    expect_err 1 "KMEM_DRAM_BUDGET|tiering|no KMEM nodes" env -u KMEM_NODES KMEM_STRICT=1 KMEM_DRAM_BUDGET=8M LD_PRELOAD="$shim" \
        "$prog" --size 1 --phase 0
    ;;
rofs)
    # A read-only /proc (hardened containers): clear_refs cannot be written, so accessed bits are
    # never cleared and every page looks touched. Profiles and tiering must say so and place or
    # plan nothing by it. A private mount namespace with its own read-only bind mount of /proc:
    # the machine's /proc is never touched.
    [ "$(id -u)" = 0 ] || skip "needs root (a mount namespace with a read-only /proc)"
    command -v unshare >/dev/null || skip "needs unshare (util-linux)"
    unshare -m true 2>/dev/null || skip "unshare -m is denied here"
    in_ro_proc() { # COMMAND...: in a mount namespace whose /proc is read-only
        unshare -m --propagation private -- sh -c \
            'mount --bind /proc /proc && mount -o remount,bind,ro /proc && exec "$@"' sh "$@"
    }
    # The namespace works as intended: clear_refs cannot be written in it.
    ! in_ro_proc sh -c 'echo 1 >/proc/self/clear_refs' 2>/dev/null || fail "clear_refs writable under the read-only /proc"
    echo 1 >/proc/self/clear_refs || fail "the machine's /proc is read-only: the namespace leaked"

    # 1. An access profile: a warning, no densities claimed, suggest does not rank by access.
    set +e
    in_ro_proc env KMEM_NODES=0 KMEM_PROFILE="$work/p.txt" KMEM_ACCESS=100 LD_PRELOAD="$shim" \
        "$prog" --size 8 --phase 0.8 >out 2>err
    rc=$?
    set -e
    cat err
    [ $rc = 0 ] || fail "profile run: status $rc"
    grep -q '^tier_phases: done' out || fail "the program did not finish"
    grep -Eqi 'clear_refs|accessed bit' err || fail "no warning that accessed bits cannot be cleared: $(cat err)"
    cat p.txt
    python3 - p.txt <<'PY'
import sys
rows = 0
for l in open(sys.argv[1]):
    if l.startswith("#"):
        continue
    c = l.rstrip("\n").split("\t")
    if len(c) < 14 or c[0] == "callsite" or c[0] == "written_avg":
        continue
    rows += 1
    # resident and touched: no figures a density could be made of.
    assert c[10] == "-" or c[9] == "-", ("a density claimed under a read-only /proc", c)
print("no densities in", rows, "rows")
PY
    set +e
    "$cli" suggest --dram-budget 12M -o s.rc p.txt 2>serr
    rc=$?
    set -e
    cat serr
    ! grep -q 'ranked by access density' serr || fail "suggest ranked by access a profile whose accessed bits were never cleared"
    if [ $rc = 0 ]; then
        grep -Eq 'ranked by bytes' serr || fail "suggest gives no reason for not ranking by access: $(cat serr)"
    fi
    set +e
    "$cli" suggest --by access --dram-budget 12M p.txt >/dev/null 2>serr
    rc=$?
    set -e
    cat serr
    [ $rc != 0 ] || fail "suggest --by access ranked a profile without access figures"
    # 2. Tiering: a warning, and nothing placed by the heat it cannot see: the policies at the end
    # of phase 2 are those of the end of phase 1.
    set +e
    in_ro_proc env KMEM_NODES=0 KMEM_DRAM_BUDGET="$budget" KMEM_ACCESS=100 KMEM_STATS="$work/t.json" \
        LD_PRELOAD="$shim" "$prog" --size $size --phase 2 >out 2>err
    rc=$?
    set -e
    cat out err
    [ $rc = 0 ] || fail "tiering run: status $rc"
    grep -Eqi 'clear_refs|accessed bit' err || fail "no warning from the tiering run: $(cat err)"
    for s in A B log; do
        [ "$(phase_policy out 1 $s)" = "$(phase_policy out 2 $s)" ] || fail "$s moved without access figures"
    done
    python3 -c '
import json, sys
t = json.load(open(sys.argv[1])).get("tiering")
assert t is None or (t["moves"] == 0 and t["promoted_bytes"] == 0 and t["demoted_bytes"] == 0), t
print("no moves:", t)' t.json
    ;;
profile)
    # Profiles and suggest group through the wrapper as tiering does: the profile has a row per
    # context (parent and parent_symbol name the wrapper's caller), suggest's rules name the
    # caller at depth 2, and the program run with them has each structure where its rule says.
    # One phase that reads A: B and the log are cold.
    env KMEM_NODES=0 KMEM_ACCESS_COST=0 "$cli" run --profile p.tsv --access -- \
        "$prog" --wrapper --size $size --phase 2 --phases 1 >out 2>err || fail "profile run: $(cat err)"
    cat p.tsv
    # col NAME: the column's number in p.tsv's column line (suggest reads them by name).
    col() { awk -F'\t' -v n="$1" '/^# peak_live\t/ { sub(/^# /, ""); for (i = 1; i <= NF; i++) if ($i == n) print i }' p.tsv; }
    pc=$(col parent_symbol) sc=$(col symbol)
    [ -n "$pc" ] || fail "no parent_symbol column"
    for fn in alloc_index_b alloc_log; do
        awk -F'\t' -v c="$pc" -v s="$sc" -v f="$fn" '!/^#/ && $c ~ "^" f "\\+" && $s ~ /^my_xmalloc\+/ { ok = 1 } END { exit !ok }' p.tsv ||
            fail "no row for my_xmalloc called from $fn"
        echo "ok: a row for my_xmalloc<$fn"
    done
    awk -F'\t' -v c="$pc" -v s="$sc" '!/^#/ && $c == "-" && $s ~ /^my_xmalloc\+/ { ok = 1 } END { exit !ok }' p.tsv ||
        fail "no row for my_xmalloc's own group (its first caller, A)"
    # A budget that holds one structure: B's and the log's contexts leave DRAM, by their callers.
    "$cli" suggest --dram-budget 20M -o r.rules p.tsv 2>err || fail "suggest: $(cat err)"
    cat r.rules
    [ "$(grep -c '^route kmem size >= 1K caller tier_phases+0x[0-9a-f]* depth 2$' r.rules)" = 2 ] ||
        fail "expected two context rules at depth 2"
    grep -q '^route kmem caller' r.rules && fail "the wrapper's own group (A, the hot one) got a rule"
    "$cli" check r.rules
    env KMEM_NODES=0 KMEMRC=r.rules LD_PRELOAD="$shim" "$prog" --wrapper --size $size --phase 0.2 --phases 1 >out2 2>&1 ||
        fail "run with the rules: $(cat out2)"
    cat out2
    expect_policy out2 1 A default
    expect_policy out2 1 B bind:0
    expect_policy out2 1 log bind:0
    # The columns by name: the same profile with its columns in another order plans the same.
    awk -F'\t' -v OFS='\t' -v a="$sc" -v b="$pc" '/^# peak_live\t/ || !/^#/ { t = $a; $a = $b; $b = t } { print }' p.tsv >swapped.tsv
    "$cli" suggest --dram-budget 20M -o r2.rules swapped.tsv 2>err || fail "suggest swapped: $(cat err)"
    diff <(grep -v '^# kmemshim rules suggested' r.rules) <(grep -v '^# kmemshim rules suggested' r2.rules) ||
        fail "the same profile with two columns swapped plans otherwise"
    echo "ok: columns read by name"
    # The hot context under a cold wrapper's own group: the context's dram rule comes before the
    # wrapper's, which would take its requests otherwise. A hand-made heat: A (the wrapper's own
    # row) untouched, B touched every interval.
    tc=$(col touched_avg) rc=$(col resident_peak)
    awk -F'\t' -v OFS='\t' -v c="$pc" -v s="$sc" -v t="$tc" -v r="$rc" '
        !/^#/ && $s ~ /^my_xmalloc\+/ { $t = ($c ~ /^alloc_index_b\+/) ? $r : 0 } { print }' p.tsv >cold_a.tsv
    "$cli" suggest --dram-budget 20M -o r3.rules cold_a.tsv 2>err || fail "suggest cold_a: $(cat err)"
    cat r3.rules
    grep '^route' r3.rules >routes
    sed -n 1p routes | grep -q '^route dram size >= 1K caller .* depth 2$' || fail "first rule: not B's context kept in DRAM: $(cat routes)"
    tail -1 routes | grep -q '^route kmem caller tier_phases+0x' || fail "last rule: not the wrapper's own: $(cat routes)"
    env KMEM_NODES=0 KMEMRC=r3.rules LD_PRELOAD="$shim" "$prog" --wrapper --size $size --phase 0.2 --phases 1 >out3 2>&1 ||
        fail "run with the rules: $(cat out3)"
    cat out3
    expect_policy out3 1 A bind:0
    expect_policy out3 1 B default
    expect_policy out3 1 log bind:0
    ;;
*)
    fail "unknown case $case"
    ;;
esac
echo "tier.$case: ok"
