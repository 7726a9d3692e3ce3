#!/bin/bash
# SPDX-License-Identifier: MIT
# Group 3: a tie (run.sh machine tie): KMEM nodes 2 and 3 are both at distance 17 from node 0.
#   node   0   1   2   3        0,1: one CPU and 512 MiB each; 2,3: 256 MiB each, KMEM_NODES=2,3
#     0:  10  21  17  17
#     1:  21  10  28  17
#     2:  17  28  10  28
#     3:  17  17  28  10
# Expected: from node 0 dax_kmem = {2,3} (bound to both), preferred = the tied set {2,3}
# (MPOL_PREFERRED_MANY, Linux 5.15+); from node 1 dax_kmem = {3}, preferred = 3.
# Allocating more than one KMEM node holds shows that both are in the set: the pages go to 2 and 3,
# none to DRAM.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
show_topology
export KMEM_NODES=2,3
shim_nodes
check "kmemshim nodes: preferred from node 0 is MPOL_PREFERRED_MANY on 2-3" \
    grep -qE '^ *preferred +cpu-node 0: +preferred_many +2-3 *$' "$KMS_OUT/nodes.txt"
check "kmemshim nodes: dax_kmem from node 0 binds 2-3" \
    grep -qE '^ *dax_kmem +cpu-node 0: +bind +2-3 *$' "$KMS_OUT/nodes.txt"

section "dax_kmem from CPU 0: bound to both tied nodes"
probe KMEM_POLICY=dax_kmem label=dax_kmem/cpu0 cpu=0 alloc=4Kx256 expect=2,3 'vma=bind:2-3 ' alloc=1Mx320 expect=2,3 require=2,3 verify
section "preferred from CPU 0: prefers both tied nodes, nothing on DRAM while they have room"
probe KMEM_POLICY=preferred label=preferred/cpu0 cpu=0 alloc=4Kx256 expect=2,3 'vma=prefer (many):2-3 ' alloc=1Mx320 expect=2,3 require=2,3 verify
section "from CPU 1 there is no tie: node 3"
probe KMEM_POLICY=dax_kmem label=dax_kmem/cpu1 cpu=1 alloc=1Mx64 expect=3
probe KMEM_POLICY=preferred label=preferred/cpu1 cpu=1 alloc=1Mx64 expect=3 'vma=prefer:3 '
section "kmem_all: both"
probe KMEM_POLICY=kmem_all label=kmem_all/cpu0 cpu=0 alloc=1Mx320 expect=2,3 require=2,3

finish
