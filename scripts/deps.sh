#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, only those missing.
# Usage: scripts/deps.sh [build|test|vm|bench]...  (build is always included)
set -euo pipefail
want=(cmake make gcc g++ pkg-config libmimalloc-dev libnuma-dev libdaxctl-dev libelf-dev libdw-dev
      check libsubunit-dev numactl libunwind8)
for group in "$@"; do
    case "$group" in
    build) ;;
    demo) want+=(python3 sqlite3) ;;
    test) want+=(python3 perl sqlite3 git libseccomp-dev clang libclang-rt-14-dev) ;;
    vm) want+=(qemu-system-x86 busybox-static ndctl daxctl cpio kmod xz-utils) ;;
    bench) want+=(libjemalloc2 libtcmalloc-minimal4 libmemkind0 redis-server redis-tools gnuplot-nox
                  valgrind python3 sqlite3) ;;
    *) echo "deps.sh: unknown group '$group' (expected build, demo, test, vm or bench)" >&2; exit 2 ;;
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
