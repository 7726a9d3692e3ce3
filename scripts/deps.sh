#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian packages the build and the tests need, only those missing.
# Usage: scripts/deps.sh [GROUP]...   (build is always included)
#   build     the library, the command and the test programs; Check for the unit tests
#   unit      the unit tests (ctest -L unit): gnuplot draws scripts/timeline-plot.sh's picture
#   preload   the programs the preload tests run under the shim (ctest -L preload)
#   install   the install test (ctest -L install): groff renders the man pages
#   fuzz      the rules fuzzer (ctest -L fuzz): clang and its libFuzzer runtime
#   stress    the stress tests (ctest -L stress): nothing beyond build
#   sanitize  the sanitizer builds: nothing beyond build (gcc's runtimes)
#   vm        the VM tests (ctest -L vm): QEMU, a static busybox, ndctl, daxctl and the initramfs tools
#   package   the Debian package test (ctest -L package): debhelper and dpkg-dev build the packages
#             (debian/), lintian checks them, man-db and python3 use them installed
#   test      every ctest label but vm and package: preload, install, fuzz and docs
#   docs      the transcripts of README's and the man pages' examples (ctest -L docs): cram,
#             python3, groff-base (renders the man pages)
#   demo      quickstart.sh
#   bench     bench/run.sh, bench/callgrind.sh, bench/stats_cost.sh, bench/callsite_cost.sh
set -euo pipefail
want=(cmake make gcc g++ pkg-config libmimalloc-dev libnuma-dev libdaxctl-dev libelf-dev libdw-dev
      check libsubunit-dev numactl libunwind8)
for group in "$@"; do
    case "$group" in
    build | stress | sanitize) ;;
    unit) want+=(gnuplot-nox) ;;
    preload) want+=(python3 perl sqlite3 git) ;;
    install) want+=(groff-base) ;;
    fuzz) want+=(clang libclang-rt-14-dev) ;;
    docs) want+=(python3-cram python3 groff-base) ;;
    test) want+=(python3 perl sqlite3 git groff-base clang libclang-rt-14-dev gnuplot-nox python3-cram) ;;
    demo) want+=(python3 sqlite3) ;;
    vm) want+=(qemu-system-x86 busybox-static ndctl daxctl cpio kmod xz-utils) ;;
    package) want+=(debhelper dpkg-dev lintian man-db python3) ;;
    bench) want+=(libjemalloc2 libtcmalloc-minimal4 libmemkind0 redis-server redis-tools gnuplot-nox
                  valgrind python3 sqlite3) ;;
    *)
        echo "deps.sh: unknown group '$group' (expected build, unit, preload, install, fuzz, stress," \
             "sanitize, vm, package, docs, test, demo or bench)" >&2
        exit 2
        ;;
    esac
done
missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps.sh: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
