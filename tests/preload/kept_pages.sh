#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Freed arena pages kept for reuse (core/decommit.h): threads that exit leaving blocks behind
# (kmbench mstress: every block's every word written and checked when freed) compute the same
# checksum under the shim's kmem route as without the shim; the statistics say pages were kept
# and reused; MIMALLOC_DECOMMIT_DELAY=0 keeps none; a fork()ing run and a program's own
# madvise/mprotect behave as the kernel says.
# usage: kept_pages.sh SHIM KMBENCH OWN_MADVISE FORK_THREADS
set -euo pipefail
shim=$1 kmbench=$2 own=$3 forker=$4
command -v python3 >/dev/null || { echo "skip: python3 is missing"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
want=$("$kmbench" mstress 0.2 | sed -n 's/.*checksum=//p')
[ -n "$want" ] || fail "kmbench mstress printed no checksum"
kept() { # KEY JSON: a number of the report's kept_for_reuse
    python3 -c 'import json,sys; print(json.load(open(sys.argv[2]))["kept_for_reuse"][sys.argv[1]])' "$@"
}
got=$(env KMEM_NODES=0 KMEM_STATS="$work/s.json" LD_PRELOAD="$shim" "$kmbench" mstress 0.2 |
    sed -n 's/.*checksum=//p')
[ "$got" = "$want" ] || fail "checksum under the shim $got, without it $want"
k=$(kept kept_bytes "$work/s.json") r=$(kept reused_bytes "$work/s.json")
echo "kept $k bytes, reused $r"
[ "$k" -gt 0 ] || fail "no freed arena page was kept"
[ "$r" -gt 0 ] || fail "no kept page was reused"
got=$(env KMEM_NODES=0 KMEM_STATS="$work/d.json" MIMALLOC_DECOMMIT_DELAY=0 LD_PRELOAD="$shim" \
    "$kmbench" mstress 0.2 | sed -n 's/.*checksum=//p')
[ "$got" = "$want" ] || fail "checksum with MIMALLOC_DECOMMIT_DELAY=0 $got, without the shim $want"
[ "$(kept kept_bytes "$work/d.json")" = 0 ] || fail "pages kept with MIMALLOC_DECOMMIT_DELAY=0"
env KMEM_NODES=0 LD_PRELOAD="$shim" "$forker" >"$work/fork.out" 2>&1 ||
    { cat "$work/fork.out"; fail "fork_threads under the kmem route"; }
out=$(env KMEM_NODES=0 LD_PRELOAD="$shim" "$own")
[ "$out" = ok ] || fail "own_madvise: $out"
echo "ok"
