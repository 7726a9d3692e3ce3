#!/bin/bash
# SPDX-License-Identifier: MIT
# Group 5: exhaustion, per policy, on the 4-node machine (run.sh machine 4node, KMEM_NODES=2,3,
# 256 MiB per KMEM node, about 245 MiB of it free). Blocks of 1 MiB go to KMEM, blocks under
# 64 KiB to DRAM (KMEM_THRESHOLD=64K), so a program can still allocate after its KMEM route is
# exhausted.
#
# What happens (documented in README.md):
# - dax_kmem has two limits. The shim reserves for a bound route no more address space than its
#   nodes hold (MemTotal) plus 32 MiB per thread of headroom (16 threads here: 512 MiB, so 768 MiB
#   for node 2); past that, malloc returns NULL with errno ENOMEM, the blocks already held
#   keep their data, DRAM allocations still work, and after free() the route works again.
#   But a node never has all of MemTotal free: a program that touches more than the node's free
#   memory reaches the kernel's limit first (with transparent huge pages even one touched word per
#   block is enough, as mimalloc writes one into each block), and the kernel OOM-kills it
#   (CONSTRAINT_MEMORY_POLICY, nodemask=2), exactly as it does under memkind. Nothing spills to
#   another node in either case.
# - kmem_all: when node 2 is full the kernel moves on to node 3; nothing lands on DRAM.
# - preferred: when node 2 is full the kernel falls back to other nodes, DRAM first (node 0 is the
#   closest to node 2); malloc does not fail.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
show_topology
export KMEM_NODES=2,3 KMEM_THRESHOLD=64K

section "dax_kmem beyond its reservation: NULL with ENOMEM, nothing elsewhere, nothing corrupted"
# The grabbed blocks are not touched, so that the reservation runs out before the node does. With
# transparent huge pages the one word mimalloc writes into each block would fault in 2 MiB: off
# for these two runs.
thp=/sys/kernel/mm/transparent_hugepage/enabled
thp_was=$(sed 's/.*\[\(.*\)\].*/\1/' "$thp")
echo never > "$thp"
probe KMEM_POLICY=dax_kmem label=dax_kmem/enomem-cpu0 cpu=0 \
    alloc=1Mx128 expect=2 grab=1M:1G ended=null alloc=4Kx256 expect=0,1 verify \
    free alloc=1Mx128 expect=2 verify
probe KMEM_POLICY=dax_kmem label=dax_kmem/enomem-cpu1 cpu=1 \
    alloc=1Mx128 expect=3 grab=1M:1G ended=null alloc=4Kx256 expect=0,1 verify
echo "$thp_was" > "$thp"

section "dax_kmem touching more than node 2 has free: the kernel OOM-kills, bound to node 2"
dmesg -C
expect_status 137 "dax_kmem past node 2's free memory is OOM-killed" \
    env KMEM_POLICY=dax_kmem LD_PRELOAD="$KMS_SHIM" "$KMS_PROBE" label=dax_kmem/oom cpu=0 \
    alloc=1Mx128 expect=2 fill=1M:400M
dmesg > "$KMS_OUT/dmesg-oom.txt"
grep -E 'oom-kill:|Killed process' "$KMS_OUT/dmesg-oom.txt" || true
check "the OOM kill names the memory policy and node 2 only" \
    grep -q 'oom-kill:constraint=CONSTRAINT_MEMORY_POLICY,nodemask=2,.*task=kms_probe' "$KMS_OUT/dmesg-oom.txt"

section "kmem_all beyond node 2: spills to node 3"
probe KMEM_POLICY=kmem_all label=kmem_all/exhaust cpu=0 \
    fill=1M:320M ended=max expect=2,3 require=2,3 full=2 alloc=4Kx256 expect=0,1 verify

section "preferred beyond node 2: falls back to DRAM"
probe KMEM_POLICY=preferred label=preferred/exhaust cpu=0 \
    fill=1M:320M ended=max expect=0,1,2 require=2 require-any=0,1 full=2 verify

finish
