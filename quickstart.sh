#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds kmemshim, then runs an unmodified python3 under it and shows, from the
# kernel's own accounting (/proc/PID/numa_maps), where its memory went
# (scripts/quickstart_demo.sh). Installs the Debian packages it needs first.
set -euo pipefail
cd "$(dirname "$0")"
scripts/deps.sh demo
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
echo "== built build/libkmemshim.so and build/kmemshim"
exec scripts/quickstart_demo.sh build
