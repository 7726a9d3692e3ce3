#!/bin/bash
# SPDX-License-Identifier: MIT
# Callsite rules placed, on the 4-node machine (run.sh machine 4node, KMEM_NODES=2,3).
# kms_callsite (KMS_CALLSITE, kms_callsite.c) allocates three blocks from one callsite per pattern
# form and checks with move_pages that every page is on the expected node set, and in numa_maps that
# each block's mapping is bound to it. Each form is routed by its own rule, to a target that does
# not depend on the CPU: kmem_all (every page on {2,3}, mapping bind:2-3); the other callsites take
# the default, dram ({0,1}, bind:0-1). Then the other way round (default kmem_all, the forms to
# dram), so a rule that does not match fails whichever way it is meant to route.
#   MODULE:FUNCTION  a global and a static function of the executable, functions of a library linked
#                    at start-up and of a dlopen-ed one, the caller of C++ new[], each entry point
#   *:FUNCTION, globs on both sides, MODULE+0xOFFSET, std::vector code (`*vector*`), a wrapper's
#   caller with `depth 2`, a caller rule with a size condition
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${KMS_CALLSITE:?}"
[ -x "$KMS_CALLSITE" ] || { echo "vm: $KMS_CALLSITE does not exist: build the tree first (cmake --build)"; exit 1; }
command -v objdump >/dev/null || { echo "vm: objdump is missing (binutils)"; exit 1; }
export KMEM_NODES=2,3

mod=$(basename "$KMS_CALLSITE")
[ "$mod" = kms_callsite ] || { echo "vm: the glob rule below expects the module kms_callsite, not $mod"; exit 1; }
# MODULE+0xOFFSET: the return address of cs_offset's call to malloc less the load bias, i.e. the
# address of the instruction after the call as the binary lays it out (as callsite_routes.sh does).
# (awk reads to the end: an early exit would kill objdump with SIGPIPE.)
offset=$(objdump -d --no-show-raw-insn "$KMS_CALLSITE" |
    awk '/^[0-9a-f]+ <cs_offset>:/ { f = 1; next }
         f && /^$/ { f = 0 }
         f && c && !done { sub(/:.*/, ""); gsub(/ /, ""); print "0x" $0; done = 1 }
         f && /call.*<malloc(@plt)?>/ { c = 1 }')
[ -n "$offset" ] || { echo "vm: no call to malloc found in cs_offset of $KMS_CALLSITE"; exit 1; }

# FORM|CONDITION: the rule "route TARGET CONDITION" routes FORM's blocks (see kms_callsite.c).
forms=(
    "global|caller $mod:cs_global"                   # MODULE:FUNCTION, a global function
    "static|caller $mod:cs_static"                   # a static function (.symtab only)
    "any_module|caller *:cs_any_module"              # any module
    "glob|caller kms_c?llsit*:cs_gl?b_t*"            # ? and * on both sides
    "offset|caller $mod+$offset"                     # MODULE+0xOFFSET
    "shared|caller libcallsite_shared.so:cs_shared_alloc"  # a library linked at start-up
    "dlopen|caller libcallsite_dl.so:cs_dl_alloc"    # a dlopen-ed library
    "cxx_new|caller $mod:callsite_cxx_new"           # the caller of operator new[], not libstdc++
    "cxx_vector|caller $mod:*vector*"                # operator new from std::vector code
    "wrapper|caller $mod:via_wrapper depth 2"        # through xmalloc
    "calloc|caller $mod:cs_calloc"
    "realloc|caller $mod:cs_realloc"                 # a block cs_plain made, grown here: it moves
    "posix_memalign|caller $mod:cs_memalign"
    "sized_big|size >= 512K caller $mod:cs_sized"    # both conditions hold
)
# No rule names these: they take the default. wrapper_other calls xmalloc too (the depth rule must
# not take it), sized_small comes from cs_sized below 512K.
controls=(wrapper_other sized_small plain)

# callsite_run WHAT TARGET SET DEFAULT_SET [NAME=VALUE]... cpu=N: kms_callsite under the shim with
# those variables, pinned to CPU N; the forms (routed to TARGET by their rules) must be on the nodes
# of SET, the controls on those of DEFAULT_SET.
callsite_run() {
    local what=$1 target=$2 set=$3 default=$4 envs=() args=() rc=0 f
    shift 4
    while [ $# -gt 0 ] && [[ $1 == [A-Z]*=* ]]; do envs+=("$1"); shift; done
    args=("$@")
    for f in "${forms[@]}"; do
        args+=("${f%%|*}=$set=route $target ${f#*|}")
    done
    for f in "${controls[@]}"; do
        args+=("$f=$default=(none: the default)")
    done
    echo "--- ${envs[*]} kms_callsite $*"
    env "${envs[@]}" LD_PRELOAD="$KMS_SHIM" "$KMS_CALLSITE" "${args[@]}" > "$KMS_OUT/callsite.out" 2>&1 || rc=$?
    cat "$KMS_OUT/callsite.out"
    add_placement "$KMS_OUT/callsite.out"
    # Every form and control must have been checked (a row each), not only the ones that ran.
    if [ "$(grep -c '^kms_callsite: ok ' "$KMS_OUT/callsite.out")" -ne $((${#forms[@]} + ${#controls[@]})) ]; then
        echo "vm: $what: not every form reported ok"
        [ "$rc" -ne 0 ] || rc=1
    fi
    note_result "$what" "$rc"
}

# rules TARGET: one "route TARGET CONDITION" line per form
rules() {
    local f
    for f in "${forms[@]}"; do
        echo "route $1 ${f#*|}"
    done
}

section "a rules file (KMEMRC): default dram, every form to kmem_all; from CPU 0"
{
    echo "# rules of the VM test guest/callsite.sh"
    echo "default dram"
    rules kmem_all
} > "$KMS_OUT/kmemrc.kmem_all"
cat "$KMS_OUT/kmemrc.kmem_all"
callsite_run "KMEMRC: the forms on {2,3}, the rest on {0,1}, CPU 0" kmem_all 2-3 0-1 \
    KMEMRC="$KMS_OUT/kmemrc.kmem_all" cpu=0

section "KMEM_RULES: every form to kmem_all, the rest to the default (dram); from CPU 1"
rules_env=$(rules kmem_all | paste -sd ';')
callsite_run "KMEM_RULES: the forms on {2,3}, the rest on {0,1}, CPU 1" kmem_all 2-3 0-1 \
    KMEM_RULES="$rules_env" cpu=1

section "the other way round: default kmem_all, every form to dram; from CPU 0"
{
    echo "# rules of the VM test guest/callsite.sh"
    echo "default kmem_all"
    rules dram
} > "$KMS_OUT/kmemrc.dram"
callsite_run "KMEMRC: the forms on {0,1}, the rest on {2,3}, CPU 0" dram 0-1 2-3 \
    KMEMRC="$KMS_OUT/kmemrc.dram" cpu=0

section "the check can fail: an offset one byte off matches nothing, so that form stays in DRAM"
wrong=$(printf '0x%x' $((offset - 1)))
rc=0
env KMEM_RULES="route kmem_all caller $mod+$wrong" LD_PRELOAD="$KMS_SHIM" "$KMS_CALLSITE" cpu=0 \
    "offset=2-3=route kmem_all caller $mod+$wrong" > "$KMS_OUT/callsite.out" 2>&1 || rc=$?
cat "$KMS_OUT/callsite.out"
check "kms_callsite fails (status 1) on a form left in DRAM" test "$rc" -eq 1
check "kms_callsite names the form that failed" grep -qE '^kms_callsite: FAILED +offset +placement 0/[0-9]+ pages on [{]2,3[}]' \
    "$KMS_OUT/callsite.out"

finish
