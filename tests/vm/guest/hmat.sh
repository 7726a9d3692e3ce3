#!/bin/bash
# SPDX-License-Identifier: MIT
# The hmat machine (run.sh): nodes 0,1 with a CPU and 512 MiB; nodes 2,3 plain RAM, 256 MiB, no
# dax device; distances as on the tie machine (2 and 3 both at 17 from node 0). The ACPI HMAT says
# 2 answers in 300 ns at 5 GB/s, 3 in 500 ns at 2 GB/s, DRAM in 100 ns at 20 GB/s.
# Without KMEM_NODES, the default detection must find 2 and 3 through HMAT (the 6.1 kernel puts every
# node in the same memory tier), break the tie from node 0 in favour of 2, and place as the table
# says. Then the interleave targets: 256 MiB spread 50/50 over 2 and 3 (interleave) and 25% on each
# node (interleave_all); weighted_interleave falls back to plain interleave with one warning (6.1
# has no MPOL_WEIGHTED_INTERLEAVE) and stops the program under KMEM_STRICT=1.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
unset KMEM_NODES MEMKIND_DAX_KMEM_NODES
show_topology
for n in 0 1 2 3; do
    echo "node$n access0: $(cat /sys/devices/system/node/node$n/access0/initiators/read_latency 2>&1) ns from $(ls /sys/devices/system/node/node$n/access0/initiators | grep node | tr '\n' ' ')"
done
cat /sys/devices/virtual/memory_tiering/memory_tier*/nodelist

section "kmemshim nodes: HMAT finds 2 and 3"
shim_nodes
nodes=$KMS_OUT/nodes.txt
check "KMEM nodes 2-3, found by HMAT only" \
    grep -qE '^KMEM nodes: 2-3 \(source: detected \(KMEM_DETECT=daxctl,tiers,hmat\): libdaxctl: \(none\), memory tiers: \(none\), HMAT: 2-3\)$' "$nodes"
check "node 2: why, with its latency" \
    grep -qE "^ +2  - .*  no   yes   no dax device; memory tier [0-9]+ as the CPU nodes; HMAT latency 300 ns vs 100 ns of node 0's DRAM \(>= 1.5x\)$" "$nodes"
check "node 3: latency 500 ns" grep -qE "^ +3  - .*HMAT latency 500 ns vs 100 ns of node 1's DRAM" "$nodes"
check "HMAT table: node 2 from initiator 0, 300 ns read and write" \
    grep -qE '^ +2 +[01] +0 +300 +300 +[0-9]+ +[0-9]+$' "$nodes"
check "tie broken by HMAT: dax_kmem from node 0 binds 2" grep -qE '^ *dax_kmem +cpu-node 0: +bind +2$' "$nodes"
check "tie broken by HMAT: preferred from node 0 is node 2" grep -qE '^ *preferred +cpu-node 0: +preferred +2$' "$nodes"
check "kmemshim nodes says HMAT broke the tie" \
    grep -qxF 'note: KMEM nodes 2-3 are equally close to CPU node 0 (distance 17); HMAT picks 2 (lowest read latency, then highest read bandwidth)' "$nodes"
check "weighted_interleave is plain interleave on this kernel" \
    grep -qE '^ *weighted_interleave +cpu-node 0: +interleave +2-3$' "$nodes"
"$KMS_CLI" nodes --json > "$KMS_OUT/nodes.json"
check "kmemshim nodes --json: node 3's HMAT latency" /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
n3 = [n for n in d["nodes"] if n["node"] == 3][0]
assert d["kmem_nodes"] == "2-3" and n3["kmem"] and n3["hmat"]["read_latency_ns"] == 500, n3' "$KMS_OUT/nodes.json"
KMEM_DETECT=tiers "$KMS_CLI" nodes > "$KMS_OUT/tiers.txt" 2>&1 || true
check "KMEM_DETECT=tiers alone finds nothing here (one tier)" \
    grep -qE '^kmemshim: warning: no KMEM nodes: KMEM_NODES is not set and KMEM_DETECT=tiers found' "$KMS_OUT/tiers.txt"

section "placement on the nodes HMAT found (KMEM_STRICT=1: no warning may degrade it)"
export KMEM_STRICT=1
probe KMEM_POLICY=dax_kmem label=dax_kmem/cpu0 cpu=0 alloc=4Kx256 expect=2 'vma=bind:2 ' alloc=1Mx64 expect=2 verify
probe KMEM_POLICY=preferred label=preferred/cpu0 cpu=0 alloc=1Mx64 expect=2 'vma=prefer:2 '
probe KMEM_POLICY=dax_kmem label=dax_kmem/cpu1 cpu=1 alloc=1Mx64 expect=3 'vma=bind:3 '
probe KMEM_POLICY=kmem_all label=kmem_all/cpu0 cpu=0 alloc=1Mx64 expect=2 'vma=bind:2-3 '
probe KMEM_THRESHOLD=1M label=threshold cpu=0 alloc=64Kx64 expect=0,1 'vma=bind:0-1 ' alloc=4Mx4 expect=2

section "interleave: 256 MiB over 2 and 3, half each"
probe KMEM_POLICY=interleave label=interleave cpu=0 alloc=1Mx256 expect=2,3 share=2:50:5 share=3:50:5 'vma=interleave:2-3 ' verify
section "interleave_all: 256 MiB over the four nodes, a quarter each"
probe 'KMEM_RULES=route interleave_all size >= 1M' label=interleave_all cpu=1 alloc=1Mx256 expect=0-3 \
    share=0:25:5 share=1:25:5 share=2:25:5 share=3:25:5 'vma=interleave:0-3 ' verify

section "weighted_interleave on 6.1: one warning, plain interleave; KMEM_STRICT=1 stops"
unset KMEM_STRICT
rc=0
env KMEM_POLICY=weighted_interleave LD_PRELOAD="$KMS_SHIM" "$KMS_PROBE" label=weighted cpu=0 alloc=1Mx256 \
    expect=2,3 share=2:50:5 share=3:50:5 'vma=interleave:2-3 ' > "$KMS_OUT/weighted.out" 2>&1 || rc=$?
cat "$KMS_OUT/weighted.out"
note_result "weighted_interleave falls back to interleave" "$rc"
check "exactly one warning, the fallback's" test "$(grep '^kmemshim:' "$KMS_OUT/weighted.out")" = \
    "kmemshim: warning: weighted_interleave: this kernel has no MPOL_WEIGHTED_INTERLEAVE (Linux 6.9+); the weighted routes interleave evenly"
expect_status 1 "KMEM_STRICT=1 stops weighted_interleave on 6.1" \
    env KMEM_STRICT=1 KMEM_POLICY=weighted_interleave LD_PRELOAD="$KMS_SHIM" "$KMS_PROBE" alloc=4K

finish
