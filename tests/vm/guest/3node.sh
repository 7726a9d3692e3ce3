#!/bin/bash
# SPDX-License-Identifier: MIT
# Group 2: the 3-node machine (run.sh machine 3node): nodes 0,1 with a CPU and 512 MiB each, one
# memory-only node of 256 MiB. The unit tests' fixture calls it node 3; QEMU wants node ids without
# gaps, so here it is node 2.
#   node   0   1   2
#     0:  10  21  17
#     1:  21  10  28
#     2:  17  28  10
# Expected: from either CPU node dax_kmem = kmem_all = {2}, preferred = 2; dram = {0,1}.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
show_topology
export KMEM_NODES=2
shim_nodes

section "dax_kmem, kmem_all, preferred: node 2 from both CPU nodes"
for policy in dax_kmem kmem_all preferred; do
    for cpu in 0 1; do
        probe KMEM_POLICY=$policy label=$policy/cpu$cpu cpu=$cpu alloc=4Kx256 expect=2 alloc=1Mx64 expect=2 verify
    done
done

section "preferred beyond node 2: falls back to DRAM, node 2 full"
probe KMEM_POLICY=preferred label=preferred/overflow cpu=1 alloc=1Mx320 require=2 require-any=0,1 full=2 verify

section "dram: nodes 0 and 1 only"
for cpu in 0 1; do
    probe KMEM_THRESHOLD=1G label=dram/cpu$cpu cpu=$cpu alloc=4Kx256 expect=0,1 alloc=1Mx64 expect=0,1 verify
done

section "memkind's variable names"
unset KMEM_NODES
probe MEMKIND_DAX_KMEM_NODES=2 KMEM_POLICY=kmem_all label=memkind-nodes cpu=1 alloc=1Mx16 expect=2

finish
