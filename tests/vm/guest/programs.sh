#!/bin/bash
# SPDX-License-Identifier: MIT
# Group 6: real programs under the shim (run.sh machine 4node, KMEM_NODES=2,3, KMEM_POLICY=kmem_all,
# no threshold: the whole heap goes to KMEM). python3 (/usr/bin/python3: the pyenv shim on PATH
# costs seconds per start in the guest) and sqlite3 each run twice, without and with the shim;
# stdout and exit status must be identical. While the data is alive each copies its
# /proc/PID/numa_maps to a file; from it:
#  - the shim's arenas (VMAs with a bind policy) must have all their pages on {2,3} and hold most of
#    the program's anonymous memory (the heap);
#  - printed: the fraction of all of the process's anonymous pages that are on KMEM nodes (the rest
#    is what does not go through malloc: stacks, CPython's small-object arenas, library data).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
show_topology
export KMEM_NODES=2,3 KMEM_POLICY=kmem_all

# numa_maps_check NAME FILE MIN_MIB: placement of the anonymous memory in a numa_maps copy.
numa_maps_check() {
    local name=$1 file=$2 min_mib=$3 rc=0
    awk -v name="$name" -v min_mib="$min_mib" '
        / file=/ { next }                      # file mappings (their anon COW pages are library data)
        {
            shim = ($2 ~ /^bind:/)
            for (i = 3; i <= NF; i++) {
                if ($i ~ /^kernelpagesize_kB=/) { split($i, kv, "="); kb = kv[2] }
            }
            for (i = 3; i <= NF; i++) {
                if ($i !~ /^N[0-9]+=/) continue
                split(substr($i, 2), kv, "="); node = kv[1]; pages = kv[2] * kb / 4
                all += pages
                if (node == 2 || node == 3) all_kmem += pages
                if (shim) { arena += pages; if (node == 2 || node == 3) arena_kmem += pages }
            }
        }
        END {
            if (all == 0) { print name ": no anonymous pages in numa_maps"; exit 1 }
            printf "%s: shim arenas: %d pages, %d on {2,3} = %.2f%%; all anonymous pages: %d, on {2,3} %.2f%%\n",
                name, arena, arena_kmem, arena ? 100 * arena_kmem / arena : 0, all, 100 * all_kmem / all
            if (arena == 0 || arena_kmem != arena) { print name ": FAILED: arena pages off KMEM"; exit 1 }
            if (arena * 4 / 1024 < min_mib) { printf "%s: FAILED: arenas hold %.1f MiB, expected at least %d\n", name, arena * 4 / 1024, min_mib; exit 1 }
            if (arena * 2 < all) { print name ": FAILED: less than half of the anonymous memory is in the shim arenas"; exit 1 }
        }' "$file" || rc=$?
    note_result "$name placement" "$rc"
}

# same_output NAME: compares $KMS_OUT/NAME.plain.* with $KMS_OUT/NAME.shim.*
same_output() {
    local name=$1 rc=0
    if cmp -s "$KMS_OUT/$name.plain.out" "$KMS_OUT/$name.shim.out" &&
        cmp -s "$KMS_OUT/$name.plain.rc" "$KMS_OUT/$name.shim.rc"; then
        echo "$name: identical output ($(wc -l < "$KMS_OUT/$name.plain.out") lines) and exit status ($(cat "$KMS_OUT/$name.plain.rc"))"
    else
        echo "$name: FAILED: output or exit status differ"
        diff "$KMS_OUT/$name.plain.out" "$KMS_OUT/$name.shim.out" | head -n 20 || true
        echo "exit status without/with the shim: $(cat "$KMS_OUT/$name.plain.rc")/$(cat "$KMS_OUT/$name.shim.rc")"
        rc=1
    fi
    note_result "$name output" "$rc"
}

# run_both NAME CMD...: CMD without and with the shim; stdin from $KMS_OUT/NAME.in when it exists.
run_both() {
    local name=$1 mode rc t0 in=/dev/null
    shift
    [ -f "$KMS_OUT/$name.in" ] && in=$KMS_OUT/$name.in
    for mode in plain shim; do
        rc=0
        t0=$EPOCHREALTIME
        if [ $mode = shim ]; then
            env LD_PRELOAD="$KMS_SHIM" KMS_NUMA_MAPS="$KMS_OUT/$name.numa_maps" "$@" \
                < "$in" > "$KMS_OUT/$name.$mode.out" 2> "$KMS_OUT/$name.$mode.err" || rc=$?
        else
            "$@" < "$in" > "$KMS_OUT/$name.$mode.out" 2> "$KMS_OUT/$name.$mode.err" || rc=$?
        fi
        echo "$rc" > "$KMS_OUT/$name.$mode.rc"
        cat "$KMS_OUT/$name.$mode.err"
        awk -v n="$name" -v m="$mode" -v a="$t0" -v b="$EPOCHREALTIME" \
            'BEGIN { printf "%s (%s): %.1f s in the guest\n", n, m == "shim" ? "with the shim" : "without the shim", b - a }'
    done
}

section "python3"
run_both python3 /usr/bin/python3 "$here/workload.py"
cat "$KMS_OUT/python3.shim.out"
same_output python3
numa_maps_check python3 "$KMS_OUT/python3.numa_maps" 24

section "sqlite3"
# An in-memory database of 100k rows: its pages live in sqlite's page cache, on the heap. The
# .shell line copies sqlite3's numa_maps ($PPID of the shell it starts) while they are alive and
# prints nothing.
cat > "$KMS_OUT/sqlite3.in" <<SQL
PRAGMA cache_size = -200000;
CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, v TEXT);
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 100000)
INSERT INTO t SELECT x, printf('k%07d', (x * 7919) % 100000), printf('%.*c', 40 + x % 60, 'v') FROM n;
CREATE INDEX t_k ON t(k);
SELECT count(*), sum(length(v)), min(k), max(k) FROM t;
SELECT x % 7 AS g, count(*), sum(length(v)) FROM (SELECT id AS x, v FROM t) GROUP BY g ORDER BY g;
SELECT k FROM t WHERE k BETWEEN 'k0050000' AND 'k0050005' ORDER BY k;
.shell [ -z "\$KMS_NUMA_MAPS" ] || cat /proc/\$PPID/numa_maps > "\$KMS_NUMA_MAPS"
SQL
run_both sqlite3 sqlite3 -batch :memory:
cat "$KMS_OUT/sqlite3.shim.out"
same_output sqlite3
numa_maps_check sqlite3 "$KMS_OUT/sqlite3.numa_maps" 8

finish
