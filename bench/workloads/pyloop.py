# SPDX-License-Identifier: MIT
"""Python workload of the kmemshim benchmark: dicts and lists built, updated,
sorted and dropped in a loop. Prints a checksum that depends only on SCALE."""
import sys

scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
rounds = max(1, int(25 * scale))
total = 0
for r in range(rounds):
    d = {}
    for i in range(20000):
        key = "k%d-%d" % (r, i)
        d[key] = [i, str(i) * (i % 7 + 1), (i, r)]
    rows = [v for v in d.values() if v[0] % 3 == 0]
    rows.sort(key=lambda v: (v[1], -v[0]))
    for k in list(d)[::2]:
        del d[k]
    big = [list(range(i % 50)) for i in range(5000)]
    merged = {}
    for lst in big:
        merged.setdefault(len(lst), []).extend(lst)
    blob = "".join(v[1] for v in rows[:2000])
    total = (total * 31 + len(d) + len(rows) + sum(len(v) for v in merged.values())
             + len(blob) + rows[0][0]) % (1 << 61)
print("pyloop scale=%g checksum=%d" % (scale, total))
