#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The quick start's demonstration (quickstart.sh runs it after the build; ctest's docs.quickstart
# runs it on the test build): an unmodified python3 under the shim, and where its memory went by
# the kernel's own accounting (/proc/PID/numa_maps). On a machine without KMEM nodes, node 0
# stands in for one (KMEM_NODES=0), unless KMEM_NODES or MEMKIND_DAX_KMEM_NODES names them.
# usage: scripts/quickstart_demo.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?usage: quickstart_demo.sh BUILD_DIR}" && pwd)

if [ -z "${KMEM_NODES:-}${MEMKIND_DAX_KMEM_NODES:-}" ] &&
    "$build/kmemshim" nodes --json | /usr/bin/python3 -c \
        'import json, sys; sys.exit(json.load(sys.stdin)["kmem_nodes"] != "")'; then
    echo "== this machine has no KMEM DAX node: node 0 stands in for one (KMEM_NODES=0)"
    export KMEM_NODES=0
fi
"$build/kmemshim" nodes | sed -n '/^KMEM nodes/,$p'

echo "== python3 under the shim: small objects stay in DRAM, blocks of 64K and more go to KMEM"
KMEM_THRESHOLD=64K LD_PRELOAD=$build/libkmemshim.so /usr/bin/python3 - <<'PY'
import re
table = {i: str(i) * 3 for i in range(300000)}        # many small objects
blobs = [bytearray(1 << 20) for _ in range(64)]         # 64 MiB in 1 MiB blocks
for b in blobs:
    b[::4096] = b"x" * len(b[::4096])                    # touch every page
print(f"python3: {len(table)} dict entries, {len(blobs)} MiB of buffers")
usage = {}
for line in open("/proc/self/numa_maps"):
    fields = line.split()
    policy = fields[1]
    pages = sum(int(f.split("=")[1]) for f in fields if re.fullmatch(r"N\d+=\d+", f))
    kib = int(next((f.split("=")[1] for f in fields if f.startswith("kernelpagesize_kB=")), 4))
    if "anon=" in line:
        usage[policy] = usage.get(policy, 0) + pages * kib
print("where the anonymous memory is (kernel policy of the mapping: resident MiB)")
for policy, kib in sorted(usage.items()):
    print(f"  {policy:<16} {kib / 1024:8.1f} MiB")
PY
