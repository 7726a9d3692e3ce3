#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/layers.sh passes on the tree and fails, naming the file and line, on a tree where
# core/ includes from policy/ and where cli/ includes from preload/.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
"$top/scripts/layers.sh" || { echo "FAIL: the tree breaks its layers"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/core "$work"/policy "$work"/preload "$work"/cli
printf '#include "core/b.h"\n' >"$work/policy/a.c"
printf '#include "core/c.h"\n#include "policy/a.h"\n' >"$work/core/b.c"
printf '#include "preload/entry.h"\n' >"$work/cli/main.c"
out=$("$top/scripts/layers.sh" "$work") && { echo "FAIL: a tree with upward includes passed"; exit 1; }
grep -q '^core/b.c:2: includes "policy/a.h"' <<<"$out" || { echo "FAIL: core/b.c not named: $out"; exit 1; }
grep -q '^cli/main.c:1: includes "preload/entry.h"' <<<"$out" || { echo "FAIL: cli/main.c not named: $out"; exit 1; }
grep -q 'policy/a.c' <<<"$out" && { echo "FAIL: a downward include was reported: $out"; exit 1; }
echo "ok"
