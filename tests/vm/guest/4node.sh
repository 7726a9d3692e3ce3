#!/bin/bash
# SPDX-License-Identifier: MIT
# Group 1: the design's 4-node machine (run.sh machine 4node).
#   node   0   1   2   3        0,1: one CPU and 512 MiB each; 2,3: 256 MiB, no CPU
#     0:  10  21  17  28        KMEM_NODES=2,3 (plain RAM nodes: no dax device to detect)
#     1:  21  10  28  17
#     2:  17  28  10  28
#     3:  28  17  28  10
# Expected node sets (design.md): from node 0 dax_kmem={2}, kmem_all={2,3} with 2 first,
# preferred=2; from node 1 dax_kmem={3}, kmem_all={2,3} with 3 first, preferred=3; dram={0,1}.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
show_topology
export KMEM_NODES=2,3
shim_nodes
check "kmemshim nodes names KMEM nodes 2,3 from the environment" grep -qi 'environment' "$KMS_OUT/nodes.txt"

section "dax_kmem: the closest KMEM node of the CPU's node, nothing else"
probe KMEM_POLICY=dax_kmem label=dax_kmem/cpu0 cpu=0 alloc=4Kx256 expect=2 'vma=bind:2 ' alloc=64M expect=2 verify
probe KMEM_POLICY=dax_kmem label=dax_kmem/cpu1 cpu=1 alloc=4Kx256 expect=3 'vma=bind:3 ' alloc=64M expect=3 verify

section "dax_kmem: a thread that moves from CPU 0 to CPU 1 gets its later blocks on node 3"
probe KMEM_POLICY=dax_kmem label=dax_kmem/migrate \
    cpu=0 alloc=1Mx16 expect=2 cpu=1 alloc=1Mx16 expect=3 cpu=0 alloc=1Mx16 expect=2 verify
probe KMEM_POLICY=dax_kmem label=dax_kmem/two-threads \
    cpu=0 alloc=16M expect=2 thread cpu=1 alloc=16M expect=3 verify

section "kmem_all: all KMEM nodes, the closest first; beyond node 2 the rest on node 3, never DRAM"
probe KMEM_POLICY=kmem_all label=kmem_all/cpu0 cpu=0 alloc=64M expect=2 'vma=bind:2-3 '
probe KMEM_POLICY=kmem_all label=kmem_all/cpu1 cpu=1 alloc=64M expect=3
probe KMEM_POLICY=kmem_all label=kmem_all/spill cpu=0 alloc=1Mx320 expect=2,3 require=2,3 full=2 verify

section "preferred: the closest KMEM node until it is full, then other nodes"
probe KMEM_POLICY=preferred label=preferred/cpu0 cpu=0 alloc=64M expect=2 'vma=prefer:2 '
probe KMEM_POLICY=preferred label=preferred/cpu1 cpu=1 alloc=64M expect=3
probe KMEM_POLICY=preferred label=preferred/overflow cpu=0 alloc=1Mx320 require=2 require-any=0,1,3 full=2 verify

section "dram: never on a KMEM node, even beyond node 0"
probe KMEM_THRESHOLD=1G label=dram/cpu0 cpu=0 alloc=4Kx256 expect=0,1 'vma=bind:0-1 ' alloc=64M expect=0,1
probe KMEM_THRESHOLD=1G label=dram/cpu1 cpu=1 alloc=64M expect=0,1
probe KMEM_THRESHOLD=1G label=dram/overflow cpu=0 alloc=1Mx512 expect=0,1 require=0,1 verify

section "routing by size in one process: below the threshold DRAM, above it KMEM"
probe KMEM_THRESHOLD=1M KMEM_POLICY=dax_kmem label=threshold cpu=1 \
    alloc=64Kx64 expect=0,1 alloc=4Mx4 expect=3 cpu=0 alloc=4Mx4 expect=2 alloc=512Kx8 expect=0,1 verify

finish
