# Helpers for the guest scripts (bash, run by tests/vm/init inside the VM, chroot into the host's /).
# run.sh exports: KMS_MACHINE, KMS_OUT (writable, this run's directory); CMakeLists.txt passes
# KMS_PROBE (kms_probe), KMS_SHIM (libkmemshim.so), KMS_CLI (the kmemshim command).
# shellcheck shell=bash

: "${KMS_PROBE:?}" "${KMS_SHIM:?}" "${KMS_CLI:?}" "${KMS_MACHINE:?}"
kms_runs=0
kms_failed=0

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
    env "${envs[@]}" LD_PRELOAD="$KMS_SHIM" "$KMS_PROBE" "$@" || rc=$?
    note_result "${envs[*]} kms_probe $*" "$rc"
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
    echo "vm: $KMS_MACHINE: $((kms_runs - kms_failed)) of $kms_runs checked runs passed"
    [ "$kms_failed" -eq 0 ]
}
