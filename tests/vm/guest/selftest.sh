#!/bin/bash
# SPDX-License-Identifier: MIT
# The harness checks itself (ctest vm.harness, 3node machine): the guest sees the host's / read-only
# and its output directory writable, the tools the tests use run in the chroot, kms_probe fails on a
# wrong expectation, and the script's exit status reaches the host unchanged even where QEMU's
# isa-debug-exit could not carry it: this script ends with 200 when all is well, and ctest passes
# only when run.sh reports "guest status 200".
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

check "the host's / is read-only" bash -c '! touch /kms-vm-selftest 2>/dev/null'
check "the output directory is writable" touch "$KMS_OUT/selftest.file"
check "three NUMA nodes" test "$(numactl -H | sed -n 's/^available: \([0-9]*\) nodes.*/\1/p')" = 3
check "bash process substitution (/dev/fd)" grep -q . <(echo yes)
check "numactl runs" numactl --show
check "ndctl runs" ndctl --version
check "daxctl runs" daxctl --version
check "python3 runs" /usr/bin/python3 -c 'print("python3 ok")'
check "sqlite3 runs" sqlite3 --version
check "kmemshim runs" "$KMS_CLI" nodes
check "the shim library is there" test -f "$KMS_SHIM"
expect_status 1 "kms_probe fails when pages are not on the expected set" \
    env KMEM_NODES=2 KMEM_POLICY=dax_kmem LD_PRELOAD="$KMS_SHIM" "$KMS_PROBE" label=deliberately-wrong cpu=0 alloc=1Mx4 expect=0
expect_status 2 "kms_probe refuses to run when LD_PRELOAD did not load" \
    env LD_PRELOAD=/nonexistent/libkmemshim.so "$KMS_PROBE" alloc=4K
expect_status 1 "kms_probe fails when a required node holds nothing" \
    "$KMS_PROBE" label=deliberately-wrong cpu=0 alloc=1Mx4 require=1

if finish; then
    exit 200
fi
exit 1
