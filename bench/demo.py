# SPDX-License-Identifier: MIT
d = {}
for i in range(300000):
    d["key%d" % i] = i
bufs = [bytearray(1 << 20) for _ in range(64)]
print(len(d), sum(len(b) for b in bufs))
