# SPDX-License-Identifier: MIT
# Helpers for the guest scripts (bash, run by tests/vm/init inside the VM, chroot into the host's /).
# run.sh exports: KMS_MACHINE, KMS_TEST (the script's name), KMS_OUT (writable, this run's directory); CMakeLists.txt passes
# KMS_PROBE (kms_probe), KMS_SHIM (libkmemshim.so), KMS_CLI (the kmemshim command).
# shellcheck shell=bash

: "${KMS_PROBE:?}" "${KMS_SHIM:?}" "${KMS_CLI:?}" "${KMS_MACHINE:?}" "${KMS_TEST:?}"
for f in "$KMS_PROBE" "$KMS_SHIM" "$KMS_CLI"; do
    [ -e "$f" ] || { echo "vm: $f does not exist: build the tree first (cmake --build)"; exit 1; }
done
kms_runs=0
kms_failed=0
kms_pages_on=0      # pages on the expected node set, summed over every expect= check
kms_pages_total=0   # pages checked by expect=
kms_expects=0

section() {
    printf '\n=== %s\n' "$*"
}

# note_result WHAT STATUS: counts one checked run.
note_result() {
    kms_runs=$((kms_runs + 1))
    if [ "$2" -ne 0 ]; then
        kms_failed=$((kms_failed + 1))
        echo "vm: FAILED (exit status $2): $1"
    fi
}

# probe [NAME=VALUE...] STEP...: kms_probe under the shim with those variables (see kms_probe.c
# for the steps). A failed check is counted, the script goes on.
probe() {
    local envs=() rc=0
    while [ $# -gt 0 ] && [[ $1 == [A-Z]*=* ]]; do envs+=("$1"); shift; done
    echo "--- ${envs[*]} kms_probe $*"
    env "${envs[@]}" LD_PRELOAD="$KMS_SHIM" "$KMS_PROBE" "$@" > "$KMS_OUT/probe.out" 2>&1 || rc=$?
    cat "$KMS_OUT/probe.out"
    add_placement "$KMS_OUT/probe.out"
    note_result "${envs[*]} kms_probe $*" "$rc"
}

# add_placement FILE: adds the "placement ON/TOTAL pages" reports of kms_probe output to the sums.
add_placement() {
    local on total
    while read -r on total; do
        kms_pages_on=$((kms_pages_on + on))
        kms_pages_total=$((kms_pages_total + total))
        kms_expects=$((kms_expects + 1))
    done < <(sed -n 's|.* placement \([0-9]*\)/\([0-9]*\) pages on .*|\1 \2|p' "$1")
}

# expect_status WANT WHAT CMD...: the command exits with WANT.
expect_status() {
    local want=$1 what=$2 rc=0
    shift 2
    "$@" || rc=$?
    if [ "$rc" -eq "$want" ]; then
        note_result "$what" 0
    else
        echo "vm: $what: exit status $rc, expected $want"
        note_result "$what" 1
    fi
}

# check WHAT CMD...: the command succeeds.
check() {
    local what=$1 rc=0
    shift
    "$@" || rc=$?
    note_result "$what" "$rc"
}

show_topology() {
    section "topology"
    numactl -H
}

# shim_nodes: `kmemshim nodes`; its output also goes to $KMS_OUT/nodes.txt
shim_nodes() {
    local rc=0
    "$KMS_CLI" nodes > "$KMS_OUT/nodes.txt" 2>&1 || rc=$?
    cat "$KMS_OUT/nodes.txt"
    note_result "kmemshim nodes" "$rc"
}

finish() {
    section "summary"
    if [ "$kms_pages_total" -gt 0 ]; then
        awk -v m="$KMS_TEST ($KMS_MACHINE machine)" -v on="$kms_pages_on" -v t="$kms_pages_total" -v n="$kms_expects" \
            'BEGIN { printf "vm: %s: placement %d/%d pages on the expected node sets = %.2f%% (%d checks)\n", m, on, t, 100 * on / t, n }'
    fi
    echo "vm: $KMS_TEST ($KMS_MACHINE machine): $((kms_runs - kms_failed)) of $kms_runs checked runs passed"
    [ "$kms_failed" -eq 0 ]
}
