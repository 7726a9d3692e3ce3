#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs one real program with and without the shim, under each configuration,
# and requires byte-identical output and the same exit status.
# usage: programs.sh SHIM BUILD_TESTS_DIR PROGRAM
set -euo pipefail
shim=$1 bin=$2 prog=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

configs=(
    "nokmem:"
    "dax_kmem:KMEM_NODES=0 KMEM_POLICY=dax_kmem"
    "kmem_all:KMEM_NODES=0 KMEM_POLICY=kmem_all"
    "preferred:KMEM_NODES=0 KMEM_POLICY=preferred"
    "threshold:KMEM_NODES=0 KMEM_THRESHOLD=4K"
)

run_program() { # $1: output dir
    local out=$1
    case "$prog" in
    python3)
        /usr/bin/python3 -c '
import collections, json
d = {}
for i in range(200000):
    d["k%d" % (i % 5003)] = d.get("k%d" % (i % 5003), []) + [i] if i % 7 == 0 else d.get("k%d" % (i % 5003), [])
l = [str(i) * (i % 40) for i in range(100000)]
c = collections.Counter(len(s) for s in l)
print(len(d), sum(len(v) for v in d.values()), sum(c.values()), json.dumps(sorted(c.items())[:5]))
big = bytearray(50 * 1024 * 1024); big[-1] = 7
print(sum(big[-10:]))'
        ;;
    perl)
        perl -e 'my %h; for my $i (0..200000) { $h{"k".($i % 7919)} .= chr(65 + $i % 26); }
                 my @a = map { [$_, length $h{$_}] } sort keys %h; my $s = 0; $s += $_->[1] for @a;
                 print scalar(@a), " $s\n"; my $big = "x" x (30*1024*1024); print length($big), "\n";'
        ;;
    sqlite3)
        sqlite3 :memory: <<'SQL'
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 120000)
INSERT INTO t SELECT x, printf('name-%d-%s', x, hex(x * 7)), x * 0.5 FROM c;
CREATE INDEX t_name ON t(name);
SELECT count(*), sum(v), min(name), max(name) FROM t;
SELECT name FROM t WHERE name LIKE 'name-777%' ORDER BY id LIMIT 3;
SQL
        ;;
    gcc)
        cat >hello.c <<'C'
#include <stdio.h>
#include <stdlib.h>
struct node { int v; struct node *next; };
int main(void) {
    struct node *h = NULL;
    for (int i = 0; i < 1000; i++) { struct node *n = malloc(sizeof *n); n->v = i; n->next = h; h = n; }
    long s = 0; while (h) { struct node *n = h->next; s += h->v; free(h); h = n; }
    printf("sum %ld\n", s);
    return 0;
}
C
        gcc -O2 -g0 -o "$out/hello" hello.c
        "$out/hello"
        sha256sum <"$out/hello" | cut -c1-16
        rm -f "$out/hello"
        ;;
    git)
        export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.invalid GIT_COMMITTER_NAME=t \
            GIT_COMMITTER_EMAIL=t@example.invalid GIT_AUTHOR_DATE='2026-01-01T00:00:00Z' \
            GIT_COMMITTER_DATE='2026-01-01T00:00:00Z' HOME=$work GIT_CONFIG_NOSYSTEM=1
        rm -rf repo && git init -q -b main repo && cd repo
        for i in 1 2 3; do seq 1 $((i * 5000)) >"f$i.txt"; git add "f$i.txt"; git commit -qm "commit $i"; done
        git log --stat --format='%H %s' | head -20
        git gc -q && git count-objects | sed 's/, [0-9.]* [kK]ilobytes//'
        cd ..
        ;;
    bash)
        bash -c '
            for i in $(seq 1 40); do echo "line $i $(echo $i | sed "s/1/one/g")"; done | sort | uniq -c | tail -5
            (for i in 1 2 3 4; do (seq 1 2000 | awk "{s+=\$1} END {print $i, s}") & done; wait) | sort
            x=$(yes abc | head -100000 | tr a-z A-Z | sort -u); echo "$x"'
        ;;
    cxx)
        "$bin/cxx_containers"
        ;;
    threads)
        "$bin/threads"
        ;;
    fork_threads)
        "$bin/fork_threads"
        ;;
    *)
        echo "programs.sh: unknown program $prog" >&2
        exit 2
        ;;
    esac
}

mkdir -p ref
set +e
run_program ref >ref/stdout 2>ref/stderr
ref_rc=$?
set -e
fail=0
for c in "${configs[@]}"; do
    name=${c%%:*} vars=${c#*:}
    mkdir -p "$name"
    set +e
    # shellcheck disable=SC2086,SC2163
    (export LD_PRELOAD=$shim $vars; run_program "$name") >"$name/stdout" 2>"$name/stderr"
    rc=$?
    set -e
    before=$fail
    if [ "$rc" != "$ref_rc" ]; then
        echo "FAIL $prog [$name]: exit status $rc, without the shim $ref_rc"; fail=1
    fi
    if ! cmp -s ref/stdout "$name/stdout"; then
        echo "FAIL $prog [$name]: output differs:"; diff ref/stdout "$name/stdout" | head -20; fail=1
    fi
    # The shim may say one thing on stderr: that there are no KMEM nodes.
    extra=$(diff <(grep -v '^kmemshim: warning: no KMEM nodes' "$name/stderr") ref/stderr || true)
    if [ -n "$extra" ]; then
        echo "FAIL $prog [$name]: stderr differs:"; echo "$extra" | head -20; fail=1
    fi
    [ "$fail" = "$before" ] && echo "ok   $prog [$name]: identical output ($(wc -c <"$name/stdout") bytes), exit $rc"
done
exit $fail
