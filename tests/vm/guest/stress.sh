#!/bin/bash
# SPDX-License-Identifier: MIT
# The stress program (tests/stress, kms_stress) on the 4-node machine with 1 GiB KMEM nodes
# (run.sh machine 4node-big, KMEM_NODES=2,3), with tests/stress/stress.kmemrc spreading its requests
# over every route: dram (bind 0-1), dax_kmem (bind 2 from CPU 0, bind 3 from CPU 1), kmem_all
# (bind 2-3) and preferred (prefer 2 / prefer 3).
# Fails on: kms_stress failing (a changed byte, any NULL from an allocation, a forked child that
# fails or hangs, a thread without progress for --watchdog s, RSS growth, fewer than
# --min-lifetimes short-lived threads, the blocks held at the end in fewer than 4 policies), a crash
# or a kill, an OOM kill or a crash anywhere in the guest, and blocks held at the end in a mapping
# whose policy is none of the routes'.
# Why 1 GiB nodes and no --allow-enomem: the shim reserves for a bound route at most its nodes'
# MemTotal, and each thread's heap takes whole 32 MiB mimalloc segments from it; on the 4node
# machine's 256 MiB nodes the ~10 threads of this run exhaust dax_kmem's reservation within seconds
# while the node is almost empty. kms_stress --allow-enomem counts a NULL from the C entry points,
# but a throwing C++ new then ends the program with std::bad_alloc (seen in a forked child). With
# 1 GiB per node no request may fail.
# KMS_STRESS: the kms_stress binary; KMS_STRESS_RC: the rules file.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${KMS_STRESS:?}" "${KMS_STRESS_RC:?}"
for f in "$KMS_STRESS" "$KMS_STRESS_RC"; do
    [ -e "$f" ] || { echo "vm: $f does not exist: build the tree first (cmake --build)"; exit 1; }
done
show_topology
export KMEM_NODES=2,3

# Options: the guest has 2 vCPUs under TCG, where a short-lived thread's life takes ~0.4 s (about
# 75 per 30 s were seen); kms_stress runs on (up to 4 x --seconds) until --min-lifetimes have passed.
seconds=30
opts=(--seconds "$seconds" --threads 4 --churn 2 --budget 96 --expect-policies 4 --watchdog 120
      --min-lifetimes 50)

section "kms_stress ${opts[*]}"
echo "KMEMRC=$KMS_STRESS_RC:"
sed 's/^/    /' "$KMS_STRESS_RC"
dmesg -c > /dev/null   # the kernel log from here on is this run's
rc=0
start=$(date +%s)
timeout -s KILL $((seconds * 4 + 180)) env KMEMRC="$KMS_STRESS_RC" LD_PRELOAD="$KMS_SHIM" \
    "$KMS_STRESS" "${opts[@]}" > "$KMS_OUT/stress.out" 2>&1 || rc=$?
echo "(ran $(( $(date +%s) - start )) s, exit status $rc)"
cat "$KMS_OUT/stress.out"
note_result "kms_stress ${opts[*]}" "$rc"
check "kms_stress says PASS" grep -q '^kms_stress: PASS$' "$KMS_OUT/stress.out"
if grep -q 'FAIL' "$KMS_OUT/stress.out"; then
    echo "vm: kms_stress reported a failure"
    note_result "kms_stress reports no FAIL line" 1
fi

section "the kernel saw no OOM kill, no segfault"
if dmesg | grep -iE 'out of memory|oom-kill|oom_reaper|segfault|general protection|traps:'; then
    note_result "no OOM kill or crash in the kernel log" 1
else
    echo "(none)"
    note_result "no OOM kill or crash in the kernel log" 0
fi

section "the blocks held at the end lie in the routes' mappings"
# dram bind:0-1; dax_kmem bind:2 or bind:3 (the CPU a worker ran on); kmem_all bind:2-3; preferred
# prefer:2 or prefer:3. "default" (or anything else) would be a block outside the shim's arenas.
held=$(sed -n 's/^kms_stress: blocks held at the end, by mapping policy://p' "$KMS_OUT/stress.out")
echo "held:$held"
bad=0
if [ -z "$held" ]; then
    echo "vm: kms_stress printed no policies of the blocks held"
    bad=1
fi
for kv in $held; do
    case "${kv%=*}" in
    bind:0-1 | bind:2 | bind:3 | bind:2-3 | prefer:2 | prefer:3) ;;
    *) echo "vm: blocks in a mapping with policy ${kv%=*}, which no route has"; bad=1 ;;
    esac
done
note_result "every block held lies in a mapping of a route's policy" "$bad"

section "memory per node after the run"
for n in 0 1 2 3; do
    grep -E 'MemTotal|MemFree' "/sys/devices/system/node/node$n/meminfo" | tr -s ' ' | paste -sd ' '
done

section "operations"
sed -n 's/^kms_stress: \([0-9]* s, .*operations.*\)/vm: stress: \1/p; s/^kms_stress: \(.* ENOMEM .*\)/vm: stress: \1/p' \
    "$KMS_OUT/stress.out"
finish
