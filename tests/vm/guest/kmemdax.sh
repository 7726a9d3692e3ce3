#!/bin/bash
# SPDX-License-Identifier: MIT
# Group 4: real KMEM DAX (run.sh machine nvdimm). Nodes 0,1 have a CPU and 512 MiB each; nodes 2
# and 3 have no memory at boot but an emulated NVDIMM each (distances as in the 4-node machine).
# This script makes each NVDIMM a devdax namespace (ndctl) and gives it to the kernel as system RAM
# (daxctl, which onlines it), so nodes 2 and 3 become KMEM DAX nodes for real. Then the shim runs
# WITHOUT KMEM_NODES: it must find 2 and 3 through libdaxctl, and placement must follow. The kernel
# puts the onlined dax memory in a lower memory tier: detection by tiers alone must agree with
# libdaxctl. Last, KMEM_MOVABLE=1 with numa_balancing=2: the pages of a block a loop keeps touching
# from CPU 0 start on node 2 and are promoted to node 0, while a plain dax_kmem block's stay on 2.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
unset KMEM_NODES MEMKIND_DAX_KMEM_NODES
show_topology

section "before: no KMEM node to find"
shim_nodes
check "kmemshim nodes says it found none" grep -qiw 'none' "$KMS_OUT/nodes.txt"
expect_status 1 "KMEM_STRICT=1 stops a program when there is no KMEM node" \
    env KMEM_STRICT=1 LD_PRELOAD="$KMS_SHIM" "$KMS_PROBE" alloc=4K
probe label=no-kmem/fallback cpu=0 alloc=1Mx16 expect=0,1

section "NVDIMM -> devdax namespace -> system-ram"
for r in /sys/bus/nd/devices/region*; do
    r=${r##*/}
    # A label-less NVDIMM comes with a raw namespace to convert; a labelled one only with a seed.
    ns=$(ndctl list -r "$r" -N | grep -o '"dev":"namespace[0-9.]*"' | head -n1 | cut -d'"' -f4 || true)
    if [ -n "$ns" ]; then
        ndctl create-namespace -f -e "$ns" --mode=devdax --map=mem >/dev/null
    else
        ndctl create-namespace -r "$r" --mode=devdax --map=mem >/dev/null
    fi
done
for d in /sys/bus/dax/devices/dax*; do
    daxctl reconfigure-device "${d##*/}" --mode=system-ram >/dev/null
done
daxctl list -u
numactl -H

section "after: libdaxctl finds nodes 2 and 3"
shim_nodes
check "kmemshim nodes says the KMEM nodes came from libdaxctl" grep -qi 'libdaxctl' "$KMS_OUT/nodes.txt"
check "kmemshim nodes lists node 2 and 3 as KMEM" grep -qiE 'kmem nodes:[^(]*\b2[,-]3\b' "$KMS_OUT/nodes.txt"

section "memory tiers: nodes 2 and 3 below the CPU nodes; detection by tiers agrees with libdaxctl"
cat /sys/devices/virtual/memory_tiering/memory_tier*/nodelist
# Columns of the node table: node cpus size MiB tier dax kmem why
tier_of() { awk -v n="$1" '$1 == n && $4 ~ /B$/ { print $5 }' "$KMS_OUT/nodes.txt"; }
echo "tiers: node 0 $(tier_of 0), node 2 $(tier_of 2), node 3 $(tier_of 3)"
check "node 2 is in a lower tier than node 0" test "$(tier_of 2)" -gt "$(tier_of 0)"
check "node 3 is in a lower tier than node 1" test "$(tier_of 3)" -gt "$(tier_of 1)"
check "nodes 2 and 3 are backed by a dax device" grep -qE '^ +2  - .*  yes  yes   dax device in system-ram mode; memory tier' "$KMS_OUT/nodes.txt"
kmem_line() { KMEM_DETECT=$1 "$KMS_CLI" nodes 2>&1 | sed -n 's/^KMEM nodes: \([^ ]*\) .*/\1/p'; }
by_tiers=$(kmem_line tiers) by_dax=$(kmem_line daxctl)
echo "KMEM_DETECT=tiers: $by_tiers; KMEM_DETECT=daxctl: $by_dax"
check "tiers and libdaxctl find the same KMEM nodes (2-3)" test "$by_tiers" = 2-3 -a "$by_dax" = 2-3

section "placement without KMEM_NODES"
export KMEM_STRICT=1
probe KMEM_POLICY=dax_kmem label=dax_kmem/cpu0 cpu=0 alloc=4Kx256 expect=2 'vma=bind:2 ' alloc=1Mx64 expect=2 verify
probe KMEM_POLICY=dax_kmem label=dax_kmem/cpu1 cpu=1 alloc=4Kx256 expect=3 alloc=1Mx64 expect=3 verify
probe KMEM_POLICY=kmem_all label=kmem_all/cpu0 cpu=0 alloc=1Mx64 expect=2 'vma=bind:2-3 '
probe KMEM_POLICY=kmem_all label=kmem_all/spill cpu=0 alloc=1Mx448 expect=2,3 require=2,3 full=2 verify
probe KMEM_POLICY=preferred label=preferred/cpu1 cpu=1 alloc=1Mx64 expect=3 'vma=prefer:3 '
probe KMEM_THRESHOLD=1M label=threshold cpu=0 alloc=64Kx64 expect=0,1 alloc=4Mx4 expect=2 verify

section "KMEM_MOVABLE=1 and the kernel's tiering (numa_balancing=2)"
echo 2 > /proc/sys/kernel/numa_balancing
echo "numa_balancing=$(cat /proc/sys/kernel/numa_balancing)"
# NUMA balancing starts sampling a process 1 s after it starts, and promotes within a second or two
# under TCG: before the probe has even looked. 5 s leaves time to see where the first touches went.
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
delay=/sys/kernel/debug/sched/numa_balancing/scan_delay_ms
check "NUMA balancing's scan delay set to 5 s" sh -c "echo 5000 > $delay && test \$(cat $delay) = 5000"
vmstat_tiering() { grep -E '^(numa_hint_faults|numa_pages_migrated|pgpromote_success) ' /proc/vmstat | tr '\n' ' '; echo; }
vmstat_tiering
# Movable: MPOL_BIND|MPOL_F_NUMA_BALANCING over {0,1,2} with home node 2 (numa_maps: "bind=balancing:");
# first touches on 2, then the kernel promotes the hot pages to the toucher's node 0.
probe KMEM_MOVABLE=1 KMEM_POLICY=dax_kmem label=movable cpu=0 alloc=1Mx32 expect=2 'vma=bind=balancing:0-2 ' \
    hot=0:90:60 verify
vmstat_tiering
# Bound: MPOL_BIND to {2} without the flag. NUMA balancing never samples it: the pages stay.
probe KMEM_POLICY=dax_kmem label=bound cpu=0 alloc=1Mx32 expect=2 'vma=bind:2 ' touch=20 expect=2 verify
vmstat_tiering
echo 0 > /proc/sys/kernel/numa_balancing

finish
