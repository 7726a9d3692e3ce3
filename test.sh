#!/usr/bin/env bash
# Builds kmemshim and runs every test (unit, preload, vm, fuzz, stress) with ctest, then the
# sanitizer builds (scripts/sanitize.sh: ASan+UBSan, TSan, UBSan-built libkmemshim.so).
# Installs the Debian packages it needs first. Extra arguments go to ctest (e.g. -L unit), and
# then only ctest runs, as before.
# KMS_SANITIZE_SECONDS: length of each sanitizer engine_driver and stress run (default 30 here);
# KMS_SANITIZE_DIR: where the sanitizer build trees go (default: this directory, build-*).
set -euo pipefail
cd "$(dirname "$0")"
scripts/deps.sh test vm
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKMEMSHIM_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"
if [ $# -gt 0 ]; then
    cd build
    exec ctest --output-on-failure -j"$(nproc)" "$@"
fi
# The full run: the sanitizer builds run even when a regular test failed (their reports help
# with the same failure); either one failing fails the run.
rc=0
(cd build && ctest --output-on-failure -j"$(nproc)") || rc=$?
t0=$SECONDS
# 30 s: each of the three timed parts (the engine driver under ASan and under TSan, kms_stress
# under the UBSan shim) runs that long in wall time, loaded or not: 3 x 30 s, as long as the
# stress test's own run, for about 1 min more than the default 10 s.
KMS_SANITIZE_SECONDS=${KMS_SANITIZE_SECONDS:-30} scripts/sanitize.sh || rc=$?
echo "test.sh: sanitizer builds took $((SECONDS - t0)) s"
[ $rc = 0 ] && echo "test.sh: all passed" || echo "test.sh: FAILED"
exit $rc
