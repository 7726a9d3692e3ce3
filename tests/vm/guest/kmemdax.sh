#!/bin/bash
# Group 4: real KMEM DAX (run.sh machine nvdimm). Nodes 0,1 have a CPU and 512 MiB each; nodes 2
# and 3 have no memory at boot but an emulated NVDIMM each (distances as in the 4-node machine).
# This script makes each NVDIMM a devdax namespace (ndctl) and gives it to the kernel as system RAM
# (daxctl, which onlines it), so nodes 2 and 3 become KMEM DAX nodes for real. Then the shim runs
# WITHOUT KMEM_NODES: it must find 2 and 3 through libdaxctl, and placement must follow.
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

section "placement without KMEM_NODES"
export KMEM_STRICT=1
probe KMEM_POLICY=dax_kmem label=dax_kmem/cpu0 cpu=0 alloc=4Kx256 expect=2 'vma=bind:2 ' alloc=1Mx64 expect=2 verify
probe KMEM_POLICY=dax_kmem label=dax_kmem/cpu1 cpu=1 alloc=4Kx256 expect=3 alloc=1Mx64 expect=3 verify
probe KMEM_POLICY=kmem_all label=kmem_all/cpu0 cpu=0 alloc=1Mx64 expect=2 'vma=bind:2-3 '
probe KMEM_POLICY=kmem_all label=kmem_all/spill cpu=0 alloc=1Mx448 expect=2,3 require=2,3 full=2 verify
probe KMEM_POLICY=preferred label=preferred/cpu1 cpu=1 alloc=1Mx64 expect=3 'vma=prefer:3 '
probe KMEM_THRESHOLD=1M label=threshold cpu=0 alloc=64Kx64 expect=0,1 alloc=4Mx4 expect=2 verify

finish
