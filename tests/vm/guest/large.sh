#!/bin/bash
# SPDX-License-Identifier: MIT
# A larger machine (run.sh machine large): 4 CPU nodes with one vCPU each, 8 memory-only
# nodes (KMEM_NODES=4-11), two of them near each CPU node:
#   from 0: 4 and 5 tie at 17        dax_kmem {4,5}    preferred {4,5} (MPOL_PREFERRED_MANY)
#   from 1: 6 at 17, 7 at 19         dax_kmem {6}      preferred 6
#   from 2: 9 at 16, 8 at 18         dax_kmem {9}      preferred 9 (the nearest is not the lowest id)
#   from 3: 10 and 11 tie at 17      dax_kmem {10,11}  preferred {10,11} (MPOL_PREFERRED_MANY)
#   from every node: kmem_all {4..11} (the nearest first), dram {0..3}
# (every other distance: CPU nodes 21 apart, memory-only nodes near the same CPU node 22, the rest
# 28). The node sets were derived by hand from the design's policy table; `kmemshim nodes` must
# print exactly fixtures/large-nodes.txt (node sizes aside). Then, from each CPU, kms_probe pinned
# there allocates through one route per size (KMEM_RULES) and every page must be on the table's set;
# for the ties, more than one node holds shows that both tied nodes are in the set.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
fixture=$(dirname "$0")/../fixtures/large-nodes.txt
[ -f "$fixture" ] || { echo "vm: missing $fixture"; exit 1; }
show_topology
export KMEM_NODES=4-11

section "kmemshim nodes, compared with fixtures/large-nodes.txt (the node sizes left out)"
shim_nodes
# The memory column depends on the kernel (what it reserves): it becomes <memory>; trailing blanks go.
sed -E 's/ +[0-9]+ (MiB|GiB)  / <memory>  /; s/ +$//' "$KMS_OUT/nodes.txt" > "$KMS_OUT/nodes.normalized.txt"
if diff -u "$fixture" "$KMS_OUT/nodes.normalized.txt"; then
    echo "(identical)"
    note_result "kmemshim nodes prints the node sets of the design's table" 0
else
    echo "vm: kmemshim nodes differs from $fixture (above: - expected, + printed)"
    note_result "kmemshim nodes prints the node sets of the design's table" 1
fi

section "placement from each CPU node: one route per size"
# dax_kmem 1M..2M, preferred 3M..4M, kmem_all 5M..6M, the rest (64 KiB blocks) dram.
rules="route dax_kmem size 1M..2M; route preferred size 3M..4M; route kmem_all size 5M..6M"
: > "$KMS_OUT/placement.out"
# place CPU DAX_SET DAX_VMA PREFERRED_SET PREFERRED_VMA NEAREST: one probe pinned to CPU (node CPU)
place() {
    local c=$1
    probe "KMEM_RULES=$rules" cpu="$c" \
        label="cpu $c dax_kmem" alloc=1Mx4 expect="$2" "vma=$3 " \
        label="cpu $c preferred" alloc=3Mx2 expect="$4" "vma=$5 " \
        label="cpu $c kmem_all" alloc=5Mx2 expect=4-11 'vma=bind:4-11 ' \
        label="cpu $c kmem_all (nearest first)" expect="$6" \
        label="cpu $c dram" alloc=64Kx16 expect=0-3 'vma=bind:0-3 ' verify
    cat "$KMS_OUT/probe.out" >> "$KMS_OUT/placement.out"
}
place 0 4,5 bind:4-5 4,5 'prefer (many):4-5' 4,5
place 1 6 bind:6 6 prefer:6 6
place 2 9 bind:9 9 prefer:9 9
place 3 10,11 bind:10-11 10,11 'prefer (many):10-11' 10,11

section "the ties: beyond the first node's memory (125 MiB), pages go to the other tied node, nowhere else"
probe "KMEM_RULES=$rules" cpu=0 label="cpu 0 dax_kmem, 136 MiB" alloc=1Mx136 expect=4,5 require=4,5
cat "$KMS_OUT/probe.out" >> "$KMS_OUT/placement.out"
probe "KMEM_RULES=$rules" cpu=3 label="cpu 3 preferred, 138 MiB" alloc=3Mx46 expect=10,11 require=10,11
cat "$KMS_OUT/probe.out" >> "$KMS_OUT/placement.out"

section "placement table (pages of each route's blocks, from each CPU)"
printf '%-32s %-36s %s\n' "from / route" "pages on the expected set" "pages per node (others 0)"
sed -n 's/^kms_probe: \[\(.*\)\] cpu [0-9]* (node [0-9]*): [^:]*:\(.*\) -> placement \([0-9/]*\) pages on \([^ ]*\) = .* \(ok\|FAILED\)$/\1|\3 on \4 \5|\2/p' \
    "$KMS_OUT/placement.out" |
    while IFS='|' read -r what placed nodes; do
        printf '%-32s %-36s %s\n' "$what" "$placed" "$(tr ' ' '\n' <<<"$nodes" | grep -v '=0$' | paste -sd ' ')"
    done

finish
