#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# KMEM_MOVABLE=1 on this machine (node 0 named KMEM, so the set is {0}): the arena carries
# MPOL_BIND|MPOL_F_NUMA_BALANCING (numa_maps: "bind=balancing:0") and no transparent huge pages;
# without it the same route is a plain bind. Promotion itself needs two tiers: vm.kmemdax.
# usage: movable.sh SHIM KMS_PROBE KMEMSHIM
set -uo pipefail
shim=$1 probe=$2 cmd=$3
fail=0
run() { # WHAT ENV... -- STEPS...
    local what=$1 envs=()
    shift
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    if out=$(env "${envs[@]}" LD_PRELOAD="$shim" "$probe" "$@" 2>&1); then echo "ok   $what"; else echo "FAIL $what"; fail=1; fi
    echo "$out" | sed 's/^/     /'
}
run "movable: bind with MPOL_F_NUMA_BALANCING" KMEM_NODES=0 KMEM_MOVABLE=1 KMEM_STRICT=1 -- \
    alloc=4Mx2 expect=0 'vma=bind=balancing:0 '
run "not movable: plain bind" KMEM_NODES=0 KMEM_MOVABLE=0 -- alloc=4Mx2 expect=0 'vma=bind:0 '
got=$(KMEM_NODES=0 KMEM_MOVABLE=1 "$cmd" nodes | grep -E '^  (dax_kmem|interleave) ')
want="  dax_kmem                cpu-node 0: bind+balancing(home 0) 0
  interleave              cpu-node 0: interleave          0"
if [ "$got" = "$want" ]; then echo "ok   kmemshim nodes shows the movable placement"; else echo "FAIL nodes: $got"; fail=1; fi
exit $fail
