#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Callsite routing, end to end: callsite_prog allocates from each kind of
# callsite under rules given in a KMEMRC file or KMEM_RULES, with this machine's
# node 0 declared KMEM, and checks the kernel policy of each block's mapping:
# dram -> "default", dax_kmem / kmem_all -> "bind:0", preferred -> "prefer:0".
# usage: callsite_routes.sh SHIM CALLSITE_PROG CASE
#   CASE: file env depth precedence threshold negative symlink
set -euo pipefail
shim=$1 prog=$2 case=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0

# The MODULE+0xOFFSET rule: the return address of alloc_offset's call to
# malloc, less the load bias = the address of the instruction after the call,
# as the binary lays it out.
# (awk reads to the end: an early exit would kill objdump with SIGPIPE.)
offset=$(objdump -d --no-show-raw-insn "$prog" |
    awk '/^[0-9a-f]+ <alloc_offset>:/ { f = 1; next }
         f && /^$/ { f = 0 }
         f && c && !done { sub(/:.*/, ""); gsub(/ /, ""); print "0x" $0; done = 1 }
         f && /call.*<malloc(@plt)?>/ { c = 1 }')
[[ -n $offset ]] || { echo "no call to malloc found in alloc_offset"; exit 1; }
mod=$(basename "$prog")

# run LABEL RCFILE_OR_- RULES_OR_- CHECK...   (extra environment in $extra_env)
run() {
    local label=$1 rc=$2 rules=$3
    shift 3
    local env=(KMEM_NODES=0 "LD_PRELOAD=$shim")
    [[ $rc != - ]] && env+=("KMEMRC=$rc")
    [[ $rules != - ]] && env+=("KMEM_RULES=$rules")
    env+=(${extra_env:-})
    echo "== $label"
    if ! env "${env[@]}" "$prog" "$@"; then
        echo "FAILED: $label"
        [[ $rc != - ]] && sed 's/^/    rc| /' "$rc"
        [[ $rules != - ]] && echo "    KMEM_RULES=$rules"
        failed=1
    fi
}

# Every pattern form, one callsite per route; the comment says what it proves.
all_rules=(
    "route kmem_all  caller $mod:alloc_global"             # MODULE:FUNCTION, global function
    "route preferred caller *:alloc_static"                # *:FUNCTION, static (.symtab only)
    "route dax_kmem  caller libcallsite_s?ared.so:cs_sh*"  # ? and * globs on both sides
    "route preferred caller lib*.so:*"                     # lib*.so:* - the dlopen-ed library
    "route kmem_all  caller callsite_pr?g:callsite_cxx_n*" # caller of operator new[]
    "route preferred caller $mod:*vector*"                 # new from std::vector code
    "route preferred caller $mod:via_wrapper depth 2"      # through xmalloc
    "route kmem_all  caller $mod:alloc_realloc"            # realloc moves the block
    "route preferred caller $mod:alloc_calloc"
    "route kmem_all  caller $mod:alloc_posix_memalign"
    "route preferred size >= 512K caller $mod:alloc_sized" # both conditions must hold
    "route kmem_all  caller $mod+$offset"                  # MODULE+0xOFFSET
    "route kmem_all  caller $mod:never_allocates"          # matches nothing
    "route preferred caller $mod:alloc_threaded"           # first decision in 8 threads at once
)
all_checks=(threads=prefer:0 global=bind:0 static=prefer:0 shared=bind:0 dlopen=prefer:0 cxx_new=bind:0
    cxx_vector=prefer:0 wrapper=prefer:0 realloc=bind:0 calloc=prefer:0 posix_memalign=bind:0
    sized_big=prefer:0 sized_small=default offset=bind:0 plain=default plain_small=default)

rcfile() { # NAME LINE... -> path
    local f=$work/$1
    shift
    printf '%s\n' "$@" >"$f"
    echo "$f"
}
joined() { local IFS=';'; echo "$*"; }

case $case in
file)
    rc=$(rcfile all "# every pattern form" "default dram" "${all_rules[@]}")
    run "all forms in KMEMRC" "$rc" - "${all_checks[@]}"
    ;;
env)
    run "all forms in KMEM_RULES" - "$(joined "${all_rules[@]}")" "${all_checks[@]}"
    # Half in each: the file's rules apply after KMEM_RULES'.
    rc=$(rcfile half "${all_rules[@]:7}")
    run "split between KMEM_RULES and KMEMRC" "$rc" "$(joined "${all_rules[@]:0:7}")" \
        "${all_checks[@]}"
    ;;
depth)
    # The wrapper's caller is frame 2: depth 1 (or none) sees only xmalloc.
    run "no depth" - "route preferred caller $mod:via_wrapper" wrapper=default global=default
    run "depth 1" - "route preferred caller $mod:via_wrapper depth 1" wrapper=default
    run "depth 2" - "route preferred caller $mod:via_wrapper depth 2" wrapper=prefer:0 \
        global=default plain=default
    run "depth 8" - "route kmem_all caller $mod:via_wrapper depth 8" wrapper=bind:0 global=default
    # The wrapper itself is frame 1, matched with or without depth.
    run "wrapper, no depth" - "route kmem_all caller $mod:xmalloc" wrapper=bind:0 global=default
    # A depth rule with a size condition: both must hold.
    run "depth and size" - "route preferred size >= 1M caller $mod:via_wrapper depth 2" \
        wrapper=default
    run "depth and size (match)" - "route preferred size 128K..512K caller $mod:via_wrapper depth 2" \
        wrapper=prefer:0 global=default
    # The stack's first decision made by 8 threads at once.
    run "depth 2, threads" - "route kmem_all caller $mod:via_wrapper depth 2" \
        threads_wrapper=bind:0 threads=default
    # A depth rule among plain callsite rules: the cache keeps them apart.
    run "depth with other rules" - \
        "route kmem_all caller $mod:alloc_global;route preferred caller *:via_wrapper depth 3" \
        global=bind:0 wrapper=prefer:0 plain=default static=default global=bind:0
    ;;
precedence)
    # KMEM_RULES before the file.
    rc=$(rcfile p1 "route kmem_all caller $mod:alloc_global" "route kmem_all caller *:alloc_static")
    run "KMEM_RULES before KMEMRC" "$rc" "route preferred caller $mod:alloc_global" \
        global=prefer:0 static=bind:0 plain=default
    # First match wins, inside the file and inside KMEM_RULES.
    rc=$(rcfile p2 "route preferred caller *:alloc_static" "route kmem_all caller $mod:alloc_static" \
        "route dram caller $mod:alloc_*" "route kmem_all caller *:*")
    run "first match in the file" "$rc" - static=prefer:0 global=default plain=default \
        shared=bind:0
    run "first match in KMEM_RULES" - \
        "route dram caller $mod:alloc_global;route preferred caller $mod:alloc_gl*;route preferred" \
        global=default static=prefer:0
    # A size-only rule before a caller rule.
    run "size rule first" - \
        "route preferred size >= 128K;route kmem_all caller $mod:alloc_global" \
        global=prefer:0 plain_small=default
    # Then the default line.
    rc=$(rcfile p3 "default preferred" "route dram caller $mod:alloc_global")
    run "default line" "$rc" - global=default plain=prefer:0 shared=prefer:0
    ;;
symlink)
    # The executable started under another name (a symlink, as python3 ->
    # python3.11): rules may name either.
    ln -s "$prog" "$work/cs_alias"
    prog=$work/cs_alias
    run "started as a symlink" - \
        "route preferred caller cs_alias:alloc_global;route kmem_all caller $mod:alloc_static" \
        global=prefer:0 static=bind:0 plain=default
    ;;
threshold)
    # Rules, then KMEM_THRESHOLD (or the file's threshold), then the default.
    # Rules and no threshold: no threshold step, unmatched requests take the default.
    run "rules without a threshold" - "route kmem_all caller $mod:alloc_global" \
        global=bind:0 plain=default plain_small=default
    extra_env="KMEM_THRESHOLD=128K"
    run "KMEM_THRESHOLD after rules" - "route dram caller $mod:alloc_global" \
        global=default plain=bind:0 plain_small=default shared=bind:0
    extra_env="KMEM_THRESHOLD=128K KMEM_POLICY=preferred"
    rc=$(rcfile t1 "default kmem_all" "route dram caller $mod:alloc_global")
    run "threshold, then default" "$rc" - global=default plain=prefer:0 plain_small=bind:0
    extra_env=
    rc=$(rcfile t2 "threshold 128K" "policy preferred" "route dax_kmem caller $mod:alloc_global")
    run "file threshold and policy" "$rc" - global=bind:0 plain=prefer:0 plain_small=default
    # A matching size-only rule below the threshold wins over it.
    rc=$(rcfile t3 "threshold 128K" "route dram size <= 300K caller *:alloc_plain")
    run "caller rule under the threshold" "$rc" - plain=default global=bind:0
    ;;
negative)
    # Baseline with no rule: the whole heap goes to kmem.
    run "no rules" - - global=bind:0 plain=bind:0 wrapper=bind:0
    # Rules that match nothing: a function that never allocates, a module that
    # is not loaded, an offset nothing calls from, a symbol of another module,
    # a wrapper's caller without depth, libstdc++ for C++ new.
    nothing=(
        "route preferred caller $mod:never_allocates"
        "route preferred caller nosuchmod.so:*"
        "route preferred caller $mod+0x1"
        "route preferred caller $mod+$(printf 0x%x $((offset - 1)))" # offsets are exact
        "route preferred caller libc.so.6:alloc_global"
        "route preferred caller $mod:via_wrapper"
        "route preferred caller libstdc++.so.6:*"
        "route preferred caller $mod:alloc_sized size >= 2M"
    )
    checks=(global=default static=default shared=default dlopen=default cxx_new=default
        cxx_vector=default wrapper=default sized_big=default plain=default)
    rc=$(rcfile n1 "${nothing[@]}")
    run "rules that match nothing (file)" "$rc" - "${checks[@]}"
    run "rules that match nothing (KMEM_RULES)" - "$(joined "${nothing[@]}")" "${checks[@]}"
    # Adding them to the full set changes nothing either.
    rc=$(rcfile n2 "default dram" "${nothing[@]/preferred/kmem_all}" "${all_rules[@]}")
    run "full set after rules that match nothing" "$rc" - "${all_checks[@]}"
    # With a threshold, unmatched requests keep following it.
    extra_env="KMEM_THRESHOLD=128K"
    run "threshold and rules that match nothing" - "$(joined "${nothing[@]}")" \
        global=bind:0 plain=bind:0 plain_small=default
    ;;
*)
    echo "unknown case $case"
    exit 2
    ;;
esac
exit $failed
