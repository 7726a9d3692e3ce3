#!/bin/bash
# SPDX-License-Identifier: MIT
# Access profiling on the 4node machine (Debian's 6.1 kernel, which has soft-dirty bits): access_prog
# (tests/preload/programs/access_prog.c: a large structure re-read all the time, a large one written once,
# 64-byte nodes walked all the time, a medium one read once a second) is profiled with
# `kmemshim run --access` while the whole heap goes to KMEM (nodes 2,3); by density the two hot
# structures rank above the medium one and that above the cold one (hot/cold >= 10x), and written
# pages are counted. `kmemshim suggest --dram-budget 24M` keeps exactly the two hot structures in
# DRAM although the bytes ranking sends the large hot one to KMEM. Run again with the suggested
# rules: every page of the hot structures on {0,1}, every page of the cold one on {2,3}
# (move_pages, in access_prog).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${KMS_ACCESS_PROG:?}"
show_topology
export KMEM_NODES=2,3 KMEM_STATS_SAMPLE=0
# Densities per configured interval: under TCG a re-walk is dear, and the cost bound would
# lengthen it.
export KMEM_ACCESS_COST=0
out=$KMS_OUT

section "profile with access sampling (6 s, 100 ms intervals)"
check "profile run" "$KMS_CLI" run --profile "$out/p.txt" --stats="$out/stats.txt" --access --interval 100 -- \
    "$KMS_ACCESS_PROG" 6
cat "$out/p.txt" "$out/stats.txt"

section "densities and writes"
check "density ranking" python3 - "$out/p.txt" <<'PY'
import sys
rows, facts = {}, {}
for l in open(sys.argv[1]):
    if l.startswith("# access "):
        f = l.split()
        facts = dict(zip(f[2::2], f[3::2]))
    if l.startswith("#"):
        continue
    c = l.rstrip("\n").split("\t")
    if c[9] != "-":
        rows[c[6].split("+")[0]] = (float(c[10]) / float(c[9]), c[12], float(c[10]))
print("densities:", {k: round(v[0], 4) for k, v in rows.items()})
print("written per interval:", {k: v[1] for k, v in rows.items()})
assert facts["written"] == "soft-dirty", facts
d = {k: v[0] for k, v in rows.items()}
hot = min(d["alloc_hot_large"], d["alloc_node"])
assert hot > d["alloc_medium"] > d["alloc_cold_large"], d
assert d["alloc_cold_large"] == 0 or hot / d["alloc_cold_large"] >= 10, d
# The cold structure was written (in its first interval); the large hot one is read all the
# time and written only once, so far less is written than touched per interval.
assert float(rows["alloc_cold_large"][1]) > 0, rows
assert float(rows["alloc_hot_large"][1]) < 0.2 * rows["alloc_hot_large"][2], rows
print("ranking ok: hot/cold >= 10x, writes counted")
PY

section "suggest: by access and by bytes"
check "suggest by access" "$KMS_CLI" suggest --dram-budget 24M -o "$out/access.rc" "$out/p.txt"
check "suggest by bytes" "$KMS_CLI" suggest --by bytes --dram-budget 24M -o "$out/bytes.rc" "$out/p.txt"
cat "$out/access.rc" "$out/bytes.rc"
check "access rules pass check" "$KMS_CLI" check "$out/access.rc"
# rules_for FILE: the functions the rules send to KMEM, sorted.
rules_for() { grep -A3 '^# [0-9]*: ' "$1" | sed -n 's/^#    \(alloc_[a-z_]*\)+.*/\1/p' | sort | tr '\n' ' '; }
check "access plan moves medium and cold" test "$(rules_for "$out/access.rc")" = "alloc_cold_large alloc_medium "
check "bytes plan moves the large hot one" test "$(rules_for "$out/bytes.rc")" = "alloc_hot_large "

section "placement with the suggested rules"
rc=0
KMEMRC=$out/access.rc LD_PRELOAD=$KMS_SHIM "$KMS_ACCESS_PROG" 1 0-1 2-3 >"$out/placed.out" 2>&1 || rc=$?
cat "$out/placed.out"
add_placement "$out/placed.out"
note_result "hot structures on {0,1}, cold on {2,3}" "$rc"
[ "$(grep -c ' placement ' "$out/placed.out")" = 3 ] || note_result "three placement lines" 1

finish
