#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The interleave targets on this machine (one node is enough to see the kernel's policy):
# each route's arena carries its policy in numa_maps, and weighted interleave is either set
# (Linux 6.9+, /sys/kernel/mm/mempolicy/weighted_interleave exists) or falls back to plain
# interleave with one warning, and stops the program under KMEM_STRICT=1.
# usage: interleave.sh SHIM KMS_PROBE KMEMSHIM DENY_NUMA_EXEC
set -uo pipefail
shim=$1 probe=$2 cmd=$3 deny=$4
fail=0 n=0
ok() { n=$((n + 1)); echo "ok   $1"; }
bad() { n=$((n + 1)); echo "FAIL $1"; fail=1; }
run() { # WHAT ENV... -- STEPS...: kms_probe under the shim must pass
    local what=$1 envs=()
    shift
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    if out=$(env "${envs[@]}" LD_PRELOAD="$shim" "$probe" "$@" 2>&1); then ok "$what"; else bad "$what"; fi
    echo "$out" | sed 's/^/     /'
}

run "interleave_all by rule: interleave over every node" \
    KMEM_RULES='route interleave_all size >= 1M' -- alloc=4Mx2 expect=0 'vma=interleave:0 '
run "interleave as KMEM_POLICY (node 0 named KMEM)" \
    KMEM_NODES=0 KMEM_POLICY=interleave KMEM_STRICT=1 -- alloc=4Mx2 expect=0 'vma=interleave:0 '

if [ -d /sys/kernel/mm/mempolicy/weighted_interleave ]; then
    run "weighted_interleave: the kernel's policy" \
        KMEM_NODES=0 KMEM_POLICY=weighted_interleave KMEM_STRICT=1 -- alloc=4Mx2 expect=0 'vma=weighted interleave:0 '
    run "weighted_interleave_all by rule" \
        KMEM_NODES=0 KMEM_RULES='route weighted_interleave_all size >= 1M' -- alloc=4Mx2 'vma=weighted interleave:0 '
    got=$(KMEM_NODES=0 "$cmd" nodes 2>&1 | grep '^weighted interleave weights')
    w=$(cat /sys/kernel/mm/mempolicy/weighted_interleave/node0)
    if [ "$got" = "weighted interleave weights (node:weight): 0:$w" ]; then ok "kmemshim nodes shows the weight ($got)"; else bad "kmemshim nodes weights: '$got'"; fi
else
    want="kmemshim: warning: weighted_interleave: this kernel has no MPOL_WEIGHTED_INTERLEAVE (Linux 6.9+); the weighted routes interleave evenly"
    out=$(KMEM_NODES=0 KMEM_POLICY=weighted_interleave LD_PRELOAD="$shim" "$probe" alloc=4M 'vma=interleave:0 ' 2>&1)
    if [ "$(echo "$out" | grep -c '^kmemshim: warning')" = 1 ] && echo "$out" | grep -qxF "$want" &&
        echo "$out" | grep -q 'all checks passed'; then ok "weighted_interleave falls back, one warning"; else bad "fallback: $out"; fi
    out=$(KMEM_NODES=0 KMEM_POLICY=weighted_interleave KMEM_STRICT=1 LD_PRELOAD="$shim" /bin/echo main-ran 2>&1)
    if [ "$out" = "kmemshim: error: weighted_interleave: this kernel has no MPOL_WEIGHTED_INTERLEAVE (Linux 6.9+) (KMEM_STRICT=1)" ]; then
        ok "KMEM_STRICT=1 stops it"; else bad "strict fallback: $out"; fi
fi

# No KMEM node: interleave has nothing to interleave over: it says so and uses DRAM.
out=$(KMEM_DETECT=daxctl KMEM_POLICY=interleave LD_PRELOAD="$shim" /bin/echo main-ran 2>&1)
if [ "$out" = "kmemshim: warning: no KMEM nodes: KMEM_NODES is not set and KMEM_DETECT=daxctl found no slow-memory node (no dax device in system-ram mode with online memory); every route uses DRAM
kmemshim: warning: routes interleave and weighted_interleave have no KMEM node to interleave over: they use DRAM
main-ran" ]; then ok "interleave without a KMEM node: two warning lines"; else bad "interleave without KMEM: $out"; fi
out=$(KMEM_DETECT=daxctl KMEM_POLICY=interleave KMEM_STRICT=1 LD_PRELOAD="$shim" /bin/echo main-ran 2>&1)
case "$out" in
"kmemshim: error: no KMEM nodes: "*"(KMEM_STRICT=1)") ok "interleave without a KMEM node, KMEM_STRICT=1: stops" ;;
*) bad "strict interleave without KMEM: $out" ;;
esac
# mbind() denied (a container's seccomp profile): interleave_all says so and takes the default
# policy, never a NULL from malloc; KMEM_STRICT=1 stops.
out=$(KMEM_DETECT=daxctl KMEM_RULES='route interleave_all size >= 1M' "$deny" mbind env LD_PRELOAD="$shim" "$probe" alloc=4Mx2 'vma=default' 2>&1)
if echo "$out" | grep -qxF "kmemshim: warning: interleave_all: the kernel refuses MPOL_INTERLEAVE (Operation not permitted); the interleave_all routes use the default policy" &&
    echo "$out" | grep -q 'all checks passed'; then ok "interleave_all with mbind denied: default policy, a warning"; else bad "mbind denied: $out"; fi
out=$(KMEM_STRICT=1 KMEM_NODES=0 KMEM_RULES='route interleave_all size >= 1M' "$deny" mbind env LD_PRELOAD="$shim" /bin/echo main-ran 2>&1)
case "$out" in
"kmemshim: error: mbind() is not permitted"*"(KMEM_STRICT=1)") ok "mbind denied, KMEM_STRICT=1: stops" ;;
*) bad "strict, mbind denied: $out" ;;
esac
echo "interleave: $n cases"
exit $fail
