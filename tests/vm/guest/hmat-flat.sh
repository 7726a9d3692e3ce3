#!/bin/bash
# SPDX-License-Identifier: MIT
# The hmat-flat machine (run.sh): the hmat machine's topology, but the ACPI HMAT says nodes 2 and 3
# answer as fast as local DRAM (100 ns, 20 GB/s from their nearest CPU node). They are CPU-less but
# not slow memory: the default detection finds no KMEM node, says why in the usual warning, and
# everything stays in DRAM (KMEM_STRICT=1 stops a program).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
unset KMEM_NODES MEMKIND_DAX_KMEM_NODES
show_topology
warning="kmemshim: warning: no KMEM nodes: KMEM_NODES is not set and KMEM_DETECT=daxctl,tiers,hmat found no slow-memory node (no dax device in system-ram mode with online memory; no CPU-less node in a lower memory tier; no CPU-less node with a clearly higher HMAT latency); every route uses DRAM"

section "kmemshim nodes: no KMEM node, and why"
shim_nodes
nodes=$KMS_OUT/nodes.txt
check "the usual warning, naming HMAT" grep -qxF "$warning" "$nodes"
check "no KMEM node" grep -qE '^KMEM nodes: \(none\) ' "$nodes"
check "node 2: as fast as DRAM" \
    grep -qE "^ +2  - .*  no   no    no dax device; memory tier [0-9]+ as the CPU nodes; HMAT latency 100 ns vs 100 ns of node 0's DRAM \(< 1.5x\): as fast as DRAM$" "$nodes"

section "a program: the same one warning, everything in DRAM"
rc=0
env KMEM_POLICY=dax_kmem LD_PRELOAD="$KMS_SHIM" "$KMS_PROBE" label=no-kmem cpu=0 alloc=1Mx64 expect=0,1 > "$KMS_OUT/probe.out" 2>&1 || rc=$?
cat "$KMS_OUT/probe.out"
add_placement "$KMS_OUT/probe.out"
note_result "no KMEM node: DRAM" "$rc"
check "exactly the usual warning" test "$(grep '^kmemshim:' "$KMS_OUT/probe.out")" = "$warning"
expect_status 1 "KMEM_STRICT=1 stops a program" env KMEM_STRICT=1 LD_PRELOAD="$KMS_SHIM" "$KMS_PROBE" alloc=4K

finish
