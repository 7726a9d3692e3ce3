#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Writes the sqlite3 workload of the kmemshim benchmark on stdout: ROWS single
# INSERT statements (default 200000) into an in-memory table inside one
# transaction, an index, and queries whose output depends only on ROWS.
set -euo pipefail
rows=${1:-200000}
cat <<'SQL'
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER, payload TEXT);
BEGIN;
SQL
awk -v n="$rows" 'BEGIN {
    for (i = 1; i <= n; i++)
        printf "INSERT INTO t VALUES(%d,%cname-%d-%x%c,%d,%c%s%c);\n", i, 39, i, i * 2654435761 % 4294967296, 39,
               (i * 7919) % 1000, 39, substr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 1, 10 + i % 50), 39
}'
cat <<'SQL'
COMMIT;
CREATE INDEX t_grp ON t(grp, name);
SELECT count(*), sum(grp), total(length(payload)) FROM t;
SELECT grp, count(*), min(name), max(name) FROM t GROUP BY grp ORDER BY count(*) DESC, grp LIMIT 5;
SELECT name FROM t ORDER BY payload DESC, name LIMIT 3;
UPDATE t SET payload = payload || name WHERE grp % 10 = 0;
DELETE FROM t WHERE grp % 3 = 1;
SELECT count(*), total(length(payload)) FROM t;
SQL
