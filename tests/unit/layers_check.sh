#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/layers.sh passes on the tree and fails, naming the file and line, on a tree where
# core/ includes from policy/, where cli/ includes from preload/, and where core/ and policy/
# call the public allocator (a call named in a comment or a string, a member called free, and
# core/meta.c, the one allocator of the shim's memory, are not reported).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
"$top/scripts/layers.sh" || { echo "FAIL: the tree breaks its layers"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/core "$work"/policy "$work"/preload "$work"/cli
printf '#include "core/b.h"\n' >"$work/policy/a.c"
printf '#include "core/c.h"\n#include "policy/a.h"\n' >"$work/core/b.c"
printf '#include "preload/entry.h"\n' >"$work/cli/main.c"
printf 'void *a(void) { return malloc(8); } /* free(p) */\nvoid b(void *p) {\n    free (p);\n}\n' >"$work/policy/c.c"
printf 'const char *s = "calloc(1, 2)";\nvoid d(struct o *o) { o->free(o); x.realloc(0); }\nchar *e(void) { return strdup(s); }\n' >"$work/core/d.c"
printf 'void *kms_meta_malloc(unsigned long n) { return malloc(n); }\n' >"$work/core/meta.c"
out=$("$top/scripts/layers.sh" "$work") && { echo "FAIL: a tree with upward includes passed"; exit 1; }
grep -q '^core/b.c:2: includes "policy/a.h"' <<<"$out" || { echo "FAIL: core/b.c not named: $out"; exit 1; }
grep -q '^cli/main.c:1: includes "preload/entry.h"' <<<"$out" || { echo "FAIL: cli/main.c not named: $out"; exit 1; }
grep -q 'policy/a.c' <<<"$out" && { echo "FAIL: a downward include was reported: $out"; exit 1; }
grep -q '^policy/c.c:1: calls malloc()' <<<"$out" || { echo "FAIL: policy/c.c's malloc not named: $out"; exit 1; }
grep -q '^policy/c.c:3: calls free()' <<<"$out" || { echo "FAIL: policy/c.c's free not named: $out"; exit 1; }
grep -q '^core/d.c:3: calls strdup()' <<<"$out" || { echo "FAIL: core/d.c's strdup not named: $out"; exit 1; }
n=$(grep -c 'calls [a-z]*()' <<<"$out")
[ "$n" = 3 ] || { echo "FAIL: expected 3 calls reported (not a comment, string, member or core/meta.c), got $n: $out"; exit 1; }
echo "ok"
