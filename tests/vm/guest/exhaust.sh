#!/bin/bash
# Group 5: exhaustion, per policy, on the 4-node machine (run.sh machine 4node, KMEM_NODES=2,3,
# 256 MiB per KMEM node). Blocks of 1 MiB go to KMEM, blocks under 64 KiB to DRAM
# (KMEM_THRESHOLD=64K), so the program can still allocate after its KMEM route is exhausted.
#
# What happens (the documented behaviour, see README.md):
# - dax_kmem: the shim reserves for a bound route no more address space than its nodes hold, so
#   when node 2 is full malloc returns NULL with errno ENOMEM (memkind instead lets the kernel
#   OOM-kill the process). Nothing is placed elsewhere; the blocks already held keep their data;
#   DRAM allocations still work; after free() the route works again.
# - kmem_all: when node 2 is full the kernel moves on to node 3; nothing lands on DRAM.
# - preferred: when node 2 is full the kernel falls back to other nodes, DRAM first (node 0 is the
#   closest to node 2); malloc never fails.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
show_topology
export KMEM_NODES=2,3 KMEM_THRESHOLD=64K

section "dax_kmem beyond node 2: NULL with ENOMEM, nothing on another node, nothing corrupted"
probe KMEM_POLICY=dax_kmem label=dax_kmem/exhaust cpu=0 \
    fill=1M:400M ended=null expect=2 alloc=4Kx256 expect=0,1 verify free alloc=1Mx64 expect=2 verify
probe KMEM_POLICY=dax_kmem label=dax_kmem/exhaust-cpu1 cpu=1 fill=1M:400M ended=null expect=3 verify

section "kmem_all beyond node 2: spills to node 3"
probe KMEM_POLICY=kmem_all label=kmem_all/exhaust cpu=0 \
    fill=1M:400M ended=max expect=2,3 require=2,3 full=2 alloc=4Kx256 expect=0,1 verify

section "preferred beyond node 2: falls back to DRAM"
probe KMEM_POLICY=preferred label=preferred/exhaust cpu=0 \
    fill=1M:400M ended=max expect=0,1,2 require=2 require-any=0,1 full=2 verify

section "the kernel's log: no OOM kill happened"
if dmesg | grep -E 'invoked oom-killer|Killed process'; then
    note_result "no OOM kill" 1
else
    note_result "no OOM kill" 0
fi

finish
