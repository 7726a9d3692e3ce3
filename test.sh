#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds kmemshim and runs every test (unit, preload, install, vm, fuzz, stress, package, docs)
# with ctest, then the sanitizer builds (scripts/sanitize.sh: ASan+UBSan, TSan, UBSan-built
# libkmemshim.so).
# Installs the Debian packages it needs first: all of them for the full run; with arguments, only
# those of the labels named by -L (./test.sh -L unit installs what unit tests need), or all of
# them when the arguments select tests otherwise. Extra arguments go to ctest (e.g. -L unit), and
# then only ctest runs.
# KMS_SANITIZE_SECONDS: length of each sanitizer engine_driver and stress run (default 30 here);
# KMS_SANITIZE_DIR: where the sanitizer build trees go (default: this directory, build-*).
set -euo pipefail
cd "$(dirname "$0")"
# The package groups of scripts/deps.sh for ctest's arguments: the labels of -L LABEL[|LABEL...]
# when that is how the tests are chosen, else everything.
groups() {
    local labels="" a
    while [ $# -gt 0 ]; do
        a=$1
        shift
        case "$a" in
        -R* | -E* | -LE* | -I* | -U* | --tests-regex* | --exclude-regex* | --label-exclude*)
            echo test vm package
            return
            ;;
        -L | --label-regex) labels+="${1:-}|"; shift || true ;;
        -L?*) labels+="${a#-L}|" ;;
        --label-regex=*) labels+="${a#--label-regex=}|" ;;
        esac
    done
    [ -n "$labels" ] || { echo test vm package; return; }
    local out="" l
    for l in $(echo "$labels" | tr -d '()^$' | tr '|' ' '); do
        case "$l" in
        unit | preload | install | fuzz | stress | sanitize | vm | package | docs) out+="$l " ;;
        *) echo test vm package; return ;;
        esac
    done
    echo "$out"
}
if [ $# -gt 0 ]; then
    # shellcheck disable=SC2046  # one word per group
    scripts/deps.sh $(groups "$@")
else
    scripts/deps.sh test vm package
fi
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
