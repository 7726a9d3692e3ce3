#!/bin/bash
# SPDX-License-Identifier: MIT
# Routing by rules on the 4-node machine (run.sh machine 4node, KMEM_NODES=2,3): KMEM_RULES and a
# rules file (KMEMRC) send each size to its target, and every target places as the design's table
# says (from CPU 0: dax_kmem {2}, preferred 2; from CPU 1: dax_kmem {3}; kmem_all {2,3}; dram {0,1}).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
export KMEM_NODES=2,3

section "KMEM_RULES: below 1 MiB dram, from 1 MiB kmem_all"
probe "KMEM_RULES=route dram size < 1M; route kmem_all size >= 1M" label=rules/env cpu=1 \
    alloc=64Kx64 expect=0,1 'vma=bind:0-1 ' alloc=4Mx4 expect=2,3 'vma=bind:2-3 ' verify

section "KMEM_RULES: preferred from 1 MiB, the default (dram) below"
probe "KMEM_RULES=route preferred size >= 1M" label=rules/preferred cpu=0 \
    alloc=64Kx64 expect=0,1 alloc=4Mx4 expect=2 'vma=prefer:2 ' verify

section "a rules file: default dram, 1M..8M dax_kmem, above 8M kmem_all"
cat > "$KMS_OUT/kmemrc" <<'RC'
# rules of the VM test guest/rules.sh
default dram
route dax_kmem size 1M..8M
route kmem_all size > 8M
RC
probe KMEMRC="$KMS_OUT/kmemrc" label=rules/file cpu=1 \
    alloc=64Kx64 expect=0,1 alloc=2Mx8 expect=3 'vma=bind:3 ' alloc=16Mx2 expect=2,3 cpu=0 alloc=2Mx8 expect=2 verify

finish
