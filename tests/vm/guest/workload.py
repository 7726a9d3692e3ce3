# SPDX-License-Identifier: MIT
"""A deterministic python3 workload for the VM tests (guest/programs.sh).

Builds about 50 MB of objects (a dict of small objects and a list of 4 KiB bytes objects, which
CPython allocates with malloc), prints digests of them, and, when KMS_NUMA_MAPS names a file,
copies /proc/self/numa_maps there while everything is still alive. stdout does not depend on
where memory is, so it must be identical with and without the shim.
"""
import hashlib
import os

table = {}
for i in range(50_000):
    table[f"key{i:06d}"] = (i, str(i * 7919), [i % 13, i % 17])
blobs = [hashlib.sha256(str(i).encode()).digest() * 128 for i in range(10_000)]

h = hashlib.sha256()
for k in sorted(table)[::97]:
    h.update(repr((k, table[k])).encode())
print("dict entries:", len(table), "digest:", h.hexdigest())
print("blobs:", len(blobs), "bytes:", sum(map(len, blobs)),
      "digest:", hashlib.sha256(b"".join(blobs[::101])).hexdigest())
words = " ".join(f"w{i % 1000}" for i in range(100_000)).split()
print("words:", len(words), "distinct:", len(set(words)))

out = os.environ.get("KMS_NUMA_MAPS")
if out:
    with open("/proc/self/numa_maps") as src, open(out, "w") as dst:
        dst.write(src.read())
