#!/usr/bin/env bash
# Builds kmemshim and runs every test (unit, preload, vm, fuzz, stress) with ctest.
# Installs the Debian packages it needs first. Extra arguments go to ctest (e.g. -L unit).
set -euo pipefail
cd "$(dirname "$0")"
scripts/deps.sh test vm
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKMEMSHIM_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"
cd build
ctest --output-on-failure -j"$(nproc)" "$@"
