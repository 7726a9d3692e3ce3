#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A rules file whose only line is `default dram` (what kmemshim suggest writes when everything
# fits the budget) keeps python3's 64 MiB of buffers in DRAM: with node 0 standing in for a KMEM
# node, the mappings that hold them have the default policy, not bind:0. An empty rules file (no
# route, no default, no threshold) sends them to KMEM, as documented.
# usage: default_dram.sh SHIM
set -euo pipefail
shim=$1
command -v python3 >/dev/null || { echo "skip: python3 is missing"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# Prints the MiB of anonymous memory under each kernel policy, holding 64 buffers of 1 MiB.
cat >"$work/buffers.py" <<'PY'
bufs = [bytearray(1 << 20) for _ in range(64)]
for b in bufs:
    b[::4096] = b"\1" * (len(b) // 4096)
mib = {}
for line in open("/proc/self/numa_maps"):
    f = line.split()
    anon = [x for x in f if x.startswith("anon=")]
    if anon:
        mib[f[1]] = mib.get(f[1], 0) + int(anon[0][5:]) * 4096 / 2**20
for pol, m in sorted(mib.items()):
    print("%s %.1f" % (pol, m))
PY
printf '# everything fits the budget: no rule needed\ndefault dram\n' >"$work/dram.rc"
: >"$work/empty.rc"
run() { env KMEM_NODES=0 KMEMRC="$1" LD_PRELOAD="$shim" python3 "$work/buffers.py"; }
out=$(run "$work/dram.rc")
echo "default dram only:"; echo "$out"
awk '$1 == "default" && $2 >= 64 { ok = 1 } END { exit !ok }' <<<"$out" ||
    fail "the 64 MiB of buffers are not under the default policy"
awk '$1 == "bind:0" && $2 >= 1 { bad = 1 } END { exit bad }' <<<"$out" ||
    fail "memory under bind:0 with a rules file of only 'default dram'"
out=$(run "$work/empty.rc")
echo "empty rules file:"; echo "$out"
awk '$1 == "bind:0" && $2 >= 64 { ok = 1 } END { exit !ok }' <<<"$out" ||
    fail "an empty rules file did not send the buffers to KMEM"
echo "default_dram: ok"
