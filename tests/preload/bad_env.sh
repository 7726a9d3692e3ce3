#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every bad KMEM_* value stops the program before main with exit status 1 and
# one message naming the variable, the value and what is accepted.
# usage: bad_env.sh SHIM
set -uo pipefail
shim=$1
fail=0 n=0

expect_stop() { # VAR VALUE EXPECTED-MESSAGE [more VAR=VALUE]
    local var=$1 val=$2 want=$3
    shift 3
    local out rc
    out=$(env "$@" "$var=$val" LD_PRELOAD="$shim" /bin/echo main-ran 2>&1)
    rc=$?
    n=$((n + 1))
    if [ "$rc" != 1 ] || [ "$out" != "kmemshim: error: $want" ]; then
        echo "FAIL $var='$val': exit $rc, output:"
        echo "  got:  $out"
        echo "  want: kmemshim: error: $want"
        fail=1
    else
        echo "ok   $var='$val' -> exit 1: $out"
    fi
}

S="expected a size such as 4096, 64K, 1M, 2G or 1T"
expect_stop KMEM_THRESHOLD "" "KMEM_THRESHOLD='': empty; $S"
expect_stop KMEM_THRESHOLD "-1" "KMEM_THRESHOLD='-1': negative; $S"
expect_stop KMEM_THRESHOLD "abc" "KMEM_THRESHOLD='abc': not a number; $S"
expect_stop KMEM_THRESHOLD "12Q" "KMEM_THRESHOLD='12Q': unknown suffix (expected K, M, G or T); $S"
expect_stop KMEM_THRESHOLD "1M junk" "KMEM_THRESHOLD='1M junk': trailing characters; $S"
expect_stop KMEM_THRESHOLD "99999999999999999999" "KMEM_THRESHOLD='99999999999999999999': overflows 64 bits; $S"
expect_stop KMEM_THRESHOLD "17179869184G" "KMEM_THRESHOLD='17179869184G': overflows 64 bits; $S"
expect_stop KMEM_THRESHOLD " 1M" "KMEM_THRESHOLD=' 1M': not a number; $S"
P="expected a policy (dax_kmem, kmem_all, preferred, interleave, weighted_interleave (or memkind's MEMKIND_DAX_KMEM, MEMKIND_DAX_KMEM_ALL, MEMKIND_DAX_KMEM_PREFERRED))"
expect_stop KMEM_POLICY "" "KMEM_POLICY='': empty; $P"
expect_stop KMEM_POLICY "fast" "KMEM_POLICY='fast': $P"
expect_stop KMEM_POLICY "dram" "KMEM_POLICY='dram': $P"
expect_stop KMEM_POLICY "DAX_KMEM" "KMEM_POLICY='DAX_KMEM': $P"
expect_stop KMEM_POLICY "dax_kmem " "KMEM_POLICY='dax_kmem ': $P"
N="expected a node list such as 2,3 or 2-5"
expect_stop KMEM_NODES "" "KMEM_NODES='': empty node list; $N"
expect_stop KMEM_NODES "a" "KMEM_NODES='a': expected a node number, found 'a'; $N"
expect_stop KMEM_NODES "-1" "KMEM_NODES='-1': expected a node number, found '-'; $N"
expect_stop KMEM_NODES "3-1" "KMEM_NODES='3-1': range 3-1 runs backwards; $N"
expect_stop KMEM_NODES "0," "KMEM_NODES='0,': missing node number at the end; $N"
expect_stop KMEM_NODES "99999" "KMEM_NODES='99999': node number too large (the limit is 1023); $N"
expect_stop MEMKIND_DAX_KMEM_NODES "x" "MEMKIND_DAX_KMEM_NODES='x': expected a node number, found 'x'; $N"
expect_stop KMEM_NODES "7" "environment (KMEM_NODES): KMEM node 7 does not exist (this machine has nodes 0)"
B="expected 1, yes, on, true or 0, no, off, false"
expect_stop KMEM_STRICT "maybe" "KMEM_STRICT='maybe': $B (stop on problems)"
expect_stop KMEM_STRICT "" "KMEM_STRICT='': $B (stop on problems)"
expect_stop KMEM_STRICT "2" "KMEM_STRICT='2': $B (stop on problems)"
expect_stop KMEM_QUIET "please" "KMEM_QUIET='please': $B (no warnings)"
expect_stop KMEM_VERSION "v" "KMEM_VERSION='v': $B (print the version)"
expect_stop KMEM_ARENA_SIZE "1M" "KMEM_ARENA_SIZE='1M': too small; expected at least 64M"
# Each size names the sizes it accepts: KMEM_THRESHOLD's example sizes would
# mislead for a variable with a floor or a ceiling.
expect_stop KMEM_ARENA_SIZE "x" "KMEM_ARENA_SIZE='x': not a number; expected a size of at least 64M, such as 64M, 1G or 1T"
SAMPLE="expected 0 (every block) or a size up to 1G, such as 4096, 64K or 1M"
expect_stop KMEM_STATS_SAMPLE "-5" "KMEM_STATS_SAMPLE='-5': negative; $SAMPLE"
expect_stop KMEM_STATS_SAMPLE "2G" "KMEM_STATS_SAMPLE='2G': too large; $SAMPLE"
expect_stop KMEM_STATS "" "KMEM_STATS='': empty; expected stderr, 1 (stderr), 0 (no report) or a path"
expect_stop KMEM_PROFILE "" "KMEM_PROFILE='': empty; expected 1 (kmemshim.%p.profile), 0 (no profile) or a path"
expect_stop KMEMRC "" "KMEMRC='': empty; expected a path"
# Errors print under KMEM_QUIET=1 too.
expect_stop KMEM_THRESHOLD "12Q" "KMEM_THRESHOLD='12Q': unknown suffix (expected K, M, G or T); $S" KMEM_QUIET=1
expect_stop KMEM_STRICT 1 "no KMEM nodes: KMEM_NODES is not set and KMEM_DETECT=daxctl found no slow-memory node (no dax device in system-ram mode with online memory) (KMEM_STRICT=1)" KMEM_DETECT=daxctl
expect_stop KMEM_DETECT "tiers,acpi" "KMEM_DETECT='tiers,acpi': unknown source 'acpi'; expected a comma-separated list of daxctl, tiers, hmat (or all)"
expect_stop KMEM_DETECT "" "KMEM_DETECT='': empty; expected a comma-separated list of daxctl, tiers, hmat (or all)"
expect_stop KMEM_MOVABLE "maybe" "KMEM_MOVABLE='maybe': $B (leave KMEM pages to the kernel's tiering)"
expect_stop KMEM_POLICY "interleave_all" "KMEM_POLICY='interleave_all': expected a policy (dax_kmem, kmem_all, preferred, interleave, weighted_interleave (or memkind's MEMKIND_DAX_KMEM, MEMKIND_DAX_KMEM_ALL, MEMKIND_DAX_KMEM_PREFERRED))"

# Good values run main; the unknown-variable warning names the variable.
out=$(KMEM_TRESHOLD=1M KMEM_NODES=0 LD_PRELOAD="$shim" /bin/echo main-ran 2>&1)
n=$((n + 1))
case "$out" in
"kmemshim: warning: unknown variable KMEM_TRESHOLD ignored"*main-ran) echo "ok   unknown variable warned" ;;
*) echo "FAIL unknown variable: $out"; fail=1 ;;
esac
out=$(KMEM_NODES=0 KMEM_THRESHOLD=64k KMEM_POLICY=MEMKIND_DAX_KMEM_ALL KMEM_STRICT=no KMEM_QUIET=off LD_PRELOAD="$shim" /bin/echo main-ran 2>&1)
n=$((n + 1))
if [ "$out" = main-ran ]; then echo "ok   good values accepted quietly"; else echo "FAIL good values: $out"; fail=1; fi
out=$(LD_PRELOAD="$shim" /bin/echo main-ran 2>&1)
n=$((n + 1))
# What the memory tiers and HMAT say in the parenthesis depends on the machine.
if [[ "$out" == "kmemshim: warning: no KMEM nodes: KMEM_NODES is not set and KMEM_DETECT=daxctl,tiers,hmat found no slow-memory node (no dax device in system-ram mode with online memory; "*"); every route uses DRAM
main-ran" && "$out" != *$'\n'*$'\n'* ]]; then echo "ok   no KMEM nodes: one warning line"; else echo "FAIL no-KMEM warning: $out"; fail=1; fi
# KMEM_QUIET=1: no warning line, neither for the missing KMEM nodes nor for an unknown variable.
out=$(KMEM_QUIET=1 KMEM_TRESHOLD=1M LD_PRELOAD="$shim" /bin/echo main-ran 2>&1)
n=$((n + 1))
if [ "$out" = main-ran ]; then echo "ok   KMEM_QUIET=1: no warnings"; else echo "FAIL KMEM_QUIET=1: $out"; fail=1; fi
echo "bad_env: $n cases"
exit $fail
