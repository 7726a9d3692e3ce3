#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016  # the sh -c scripts expand their own $1 and $2
# Injected faults: each case runs a program under the shim in a hostile
# environment and checks what the program saw and what the shim printed.
# usage: faults.sh SHIM BUILD_TESTS_DIR CASE [KMEMSHIM_CLI]
set -uo pipefail
shim=$1 bin=$2 case=$3 cli=${4:-}
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
fail() { echo "FAIL [$case] $*"; echo "--- stdout"; cat "$out"; echo "--- stderr"; cat "$err"; exit 1; }
# 77: ctest's skip code (SKIP_RETURN_CODE in CMakeLists.txt).
skip() { echo "SKIP [$case] $*"; exit 77; }
# The cases that mount in a namespace of their own.
need_root() { [ "$(id -u)" = 0 ] || skip "needs root (a mount namespace)"; }

run() { "$@" >"$out" 2>"$err"; }
expect_rc() { [ "$rc" = "$1" ] || fail "exit status $rc, want $1"; }
expect_out() { grep -qF -- "$1" "$out" || fail "stdout lacks '$1'"; }
expect_err_only() { # the shim's whole stderr is this one line
    [ "$(cat "$err")" = "$1" ] || fail "stderr is not exactly: $1"
}

SECCOMP_WARN="kmemshim: warning: mbind() is not permitted (Operation not permitted: a seccomp filter, as in containers started without CAP_SYS_NICE?); every route uses DRAM"
# Only libdaxctl is asked (KMEM_DETECT=daxctl): what the memory tiers and HMAT say depends on the machine.
NO_KMEM="no KMEM nodes: KMEM_NODES is not set and KMEM_DETECT=daxctl found no slow-memory node (no dax device in system-ram mode with online memory)"
export KMEM_DETECT=daxctl

case "$case" in
seccomp)
    # Docker's default profile: the NUMA policy calls fail with EPERM.
    run "$bin/deny_numa_exec" mbind,set_mempolicy,get_mempolicy \
        env KMEM_NODES=0 LD_PRELOAD="$shim" "$bin/api_semantics"; rc=$?
    expect_rc 0; expect_out "api_semantics: 0 failures"; expect_err_only "$SECCOMP_WARN"
    # move_pages denied too: nothing changes for the program.
    run "$bin/deny_numa_exec" mbind,set_mempolicy,get_mempolicy,move_pages,migrate_pages \
        env KMEM_NODES=0 KMEM_POLICY=preferred LD_PRELOAD="$shim" "$bin/threads"; rc=$?
    expect_rc 0; expect_out "corrupted 0"; expect_err_only "$SECCOMP_WARN"
    # KMEM_QUIET=1: the same run without the warning.
    run "$bin/deny_numa_exec" mbind,set_mempolicy,get_mempolicy \
        env KMEM_QUIET=1 KMEM_NODES=0 LD_PRELOAD="$shim" "$bin/api_semantics"; rc=$?
    expect_rc 0; expect_out "api_semantics: 0 failures"; [ ! -s "$err" ] || fail "KMEM_QUIET=1: stderr"
    # Everything lands with the default policy, as it says.
    run "$bin/deny_numa_exec" mbind env KMEM_NODES=0 LD_PRELOAD="$shim" \
        "$bin/entry_points" 65536 default default; rc=$?
    expect_rc 0; expect_out "0 failures"
    ;;
seccomp_strict)
    run "$bin/deny_numa_exec" mbind env KMEM_STRICT=1 KMEM_NODES=0 LD_PRELOAD="$shim" /bin/echo main-ran; rc=$?
    expect_rc 1
    expect_err_only "kmemshim: error: mbind() is not permitted (Operation not permitted: a seccomp filter, as in containers started without CAP_SYS_NICE?) (KMEM_STRICT=1)"
    [ ! -s "$out" ] || fail "main ran"
    ;;
no_dax_bus)
    need_root
    # A container without /sys/bus/dax: the "no KMEM nodes" path.
    run unshare -m sh -c 'mount -t tmpfs none /sys/bus && exec env KMEM_DETECT=daxctl LD_PRELOAD="$1" "$2"' sh "$shim" "$bin/api_semantics"; rc=$?
    expect_rc 0; expect_out "0 failures"; expect_err_only "kmemshim: warning: $NO_KMEM; every route uses DRAM"
    run unshare -m sh -c 'mount -t tmpfs none /sys/bus && exec env KMEM_DETECT=daxctl KMEM_STRICT=1 LD_PRELOAD="$1" /bin/echo main-ran' sh "$shim"; rc=$?
    expect_rc 1; expect_err_only "kmemshim: error: $NO_KMEM (KMEM_STRICT=1)"
    # KMEM_QUIET=1 silences the warning, never the error.
    run unshare -m sh -c 'mount -t tmpfs none /sys/bus && exec env KMEM_QUIET=1 LD_PRELOAD="$1" "$2"' sh "$shim" "$bin/api_semantics"; rc=$?
    expect_rc 0; expect_out "0 failures"; [ ! -s "$err" ] || fail "KMEM_QUIET=1: stderr"
    run unshare -m sh -c 'mount -t tmpfs none /sys/bus && exec env KMEM_QUIET=1 KMEM_STRICT=1 LD_PRELOAD="$1" /bin/echo main-ran' sh "$shim"; rc=$?
    expect_rc 1; expect_err_only "kmemshim: error: $NO_KMEM (KMEM_STRICT=1)"
    ;;
system_wide)
    need_root
    # The shim in /etc/ld.so.preload, as a fleet-wide install does it: here in a mount
    # namespace of its own, with an overlay over /etc that adds the file. Every process
    # loads the shim without asking; on a machine without KMEM nodes (this one) or in a
    # container that denies mbind, those that did not ask for placement stay silent.
    etc=$(mktemp -d)
    trap 'rm -f "$out" "$err"; rm -rf "$etc"' EXIT
    mkdir "$etc/upper" "$etc/work"
    echo "$shim" >"$etc/upper/ld.so.preload"
    overlay='mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1,workdir=$2" /etc'
    unshare -m sh -c "$overlay" sh "$etc/upper" "$etc/work" 2>"$err" ||
        skip "no overlay file system over /etc: $(cat "$err")"
    sysrun() { run unshare -m sh -c "$overlay"' && shift 2 && exec "$@"' sh "$etc/upper" "$etc/work" "$@"; }
    # The shim is there: KMEM_VERSION=1 says so, and only that.
    sysrun env KMEM_VERSION=1 /bin/echo main-ran; rc=$?
    expect_rc 0; expect_out main-ran
    if ! grep -qxE 'kmemshim [0-9]+\.[0-9]+\.[0-9]+' "$err" || [ "$(wc -l <"$err")" != 1 ]; then
        fail "KMEM_VERSION=1"
    fi
    # A shell script, ls and a program that allocates: nothing on stderr.
    sysrun sh -c 'ls / >/dev/null && "$1" && /bin/echo main-ran' sh "$bin/api_semantics"; rc=$?
    expect_rc 0; expect_out main-ran; expect_out "0 failures"; [ ! -s "$err" ] || fail "stderr under the system-wide default"
    # A KMEM_* variable asks for placement: the degradation is said, once.
    sysrun env KMEM_THRESHOLD=64K "$bin/api_semantics"; rc=$?
    expect_rc 0; expect_out "0 failures"; expect_err_only "kmemshim: warning: $NO_KMEM; every route uses DRAM"
    # So does preloading the library for one command.
    sysrun env LD_PRELOAD="$shim" /bin/echo main-ran; rc=$?
    expect_rc 0; expect_err_only "kmemshim: warning: $NO_KMEM; every route uses DRAM"
    # mbind denied (the container case) where KMEM nodes are given: said; KMEM_QUIET=1: silent.
    sysrun env KMEM_NODES=0 "$bin/deny_numa_exec" mbind "$bin/api_semantics"; rc=$?
    expect_rc 0; expect_out "0 failures"; expect_err_only "$SECCOMP_WARN"
    sysrun env KMEM_QUIET=1 KMEM_NODES=0 "$bin/deny_numa_exec" mbind "$bin/api_semantics"; rc=$?
    expect_rc 0; expect_out "0 failures"; [ ! -s "$err" ] || fail "KMEM_QUIET=1: stderr"
    # Errors always print, KMEM_QUIET or not.
    sysrun env KMEM_QUIET=1 KMEM_THRESHOLD=12Q /bin/echo main-ran; rc=$?
    expect_rc 1; [ ! -s "$out" ] || fail "main ran"
    expect_err_only "kmemshim: error: KMEM_THRESHOLD='12Q': unknown suffix (expected K, M, G or T); expected a size such as 4096, 64K, 1M, 2G or 1T"
    sysrun env KMEM_QUIET=1 KMEM_STRICT=1 /bin/echo main-ran; rc=$?
    expect_rc 1; expect_err_only "kmemshim: error: $NO_KMEM (KMEM_STRICT=1)"
    ;;
no_proc)
    need_root
    # A bare chroot without /proc: allocation still works, placement too.
    run unshare -m sh -c 'umount -l /proc && exec env KMEM_NODES=0 LD_PRELOAD="$1" "$2"' sh "$shim" "$bin/api_semantics"; rc=$?
    expect_rc 0; expect_out "0 failures"; [ ! -s "$err" ] || fail "unexpected stderr"
    run unshare -m sh -c 'umount -l /proc && exec env KMEM_NODES=0 KMEM_THRESHOLD=1M LD_PRELOAD="$1" "$2" 8' sh "$shim" "$bin/grow_until_enomem"; rc=$?
    expect_rc 0; expect_out "8 blocks of 64 MiB"
    ;;
address_limit_growth)
    # ulimit -v: the route grows until the limit, then NULL with ENOMEM; the program goes on.
    run prlimit --as=$((1 << 30)) env KMEM_NODES=0 KMEM_THRESHOLD=1M LD_PRELOAD="$shim" "$bin/grow_until_enomem" 64; rc=$?
    expect_rc 0; expect_out "then NULL with ENOMEM; allocating again works"
    grep -qE 'policies: bind:0=[1-9]' "$out" || fail "no block on the kmem route before the limit"
    ;;
address_limit_startup)
    # A limit below the smallest reservation: every kmem request fails with
    # ENOMEM from the start, small requests on the DRAM route still work.
    run prlimit --as=$((160 << 20)) env KMEM_NODES=0 KMEM_THRESHOLD=1M LD_PRELOAD="$shim" "$bin/grow_until_enomem" 4; rc=$?
    expect_rc 0; expect_out "0 blocks of 64 MiB, then NULL with ENOMEM"
    ;;
arena_limit)
    # Many small reservations (KMEM_ARENA_SIZE): at the arena limit a bound
    # route says ENOMEM, a preferred one goes on in DRAM.
    run env KMEM_ARENA_SIZE=64M KMEM_NODES=0 KMEM_THRESHOLD=1M LD_PRELOAD="$shim" "$bin/grow_until_enomem" 120; rc=$?
    expect_rc 0; expect_out "then NULL with ENOMEM"
    run env KMEM_ARENA_SIZE=64M KMEM_NODES=0 KMEM_POLICY=preferred KMEM_THRESHOLD=1M LD_PRELOAD="$shim" "$bin/grow_until_enomem" 120; rc=$?
    expect_rc 0; expect_out "120 blocks of 64 MiB"
    grep -qE 'policies: prefer:0=[1-9][0-9]* default=[1-9]' "$out" || fail "preferred did not continue in DRAM"
    ;;
no_elfutils)
    # libelf and libdw are opened at run time (core/elflibs.h). Stand-ins without
    # their functions, found first through LD_LIBRARY_PATH, play a machine without elfutils.
    fake=$(mktemp -d)
    trap 'rm -f "$out" "$err"; rm -rf "$fake"' EXIT
    echo 'int kms_fake_elfutils;' >"$fake/fake.c"
    for so in libelf.so.1 libdw.so.1; do
        cc -shared -fPIC -o "$fake/$so" "$fake/fake.c" || fail "cannot build the stand-in $so"
    done
    # A rule naming a function cannot match without symbol tables. libelf is
    # opened when such a rule first meets a module it names: said then, once,
    # naming the rule, and the program runs on.
    run env LD_LIBRARY_PATH="$fake" KMEM_NODES=0 "KMEM_RULES=route kmem caller *:main; route dram caller *:x*" \
        LD_PRELOAD="$shim" /bin/echo main-ran; rc=$?
    expect_rc 0; expect_out main-ran
    expect_err_only "kmemshim: warning: KMEM_RULES, column 1: caller *:main needs the symbol tables, and cannot match: libelf.so.1 has no elf_version"
    # A rule whose module never allocates never needs libelf: nothing to say.
    run env LD_LIBRARY_PATH="$fake" KMEM_NODES=0 "KMEM_RULES=route kmem caller nosuchmod:main" \
        LD_PRELOAD="$shim" /bin/echo main-ran; rc=$?
    expect_rc 0; expect_out main-ran
    [ ! -s "$err" ] || fail "stderr for a rule whose module is not loaded"
    # With the real libelf: mapped only once a module a rule names allocates.
    run env KMEM_NODES=0 "KMEM_RULES=route kmem caller nosuchmod:main" LD_PRELOAD="$shim" \
        cat /proc/self/maps; rc=$?
    expect_rc 0; expect_out "[stack]"
    ! grep -q 'libelf' "$out" || fail "libelf mapped for a rule whose module is not loaded"
    run env KMEM_NODES=0 "KMEM_RULES=route kmem caller *:main" LD_PRELOAD="$shim" \
        cat /proc/self/maps; rc=$?
    expect_rc 0; expect_out "libelf"
    # kmemshim check, which validates rules before they run, calls it an error.
    [ -x "$cli" ] || fail "kmemshim check: no CLI given (argument 4)"
    run env LD_LIBRARY_PATH="$fake" "$cli" check --rules 'route kmem caller *:main; route dram caller libc.so.6:*; route dram caller a:b'; rc=$?
    expect_rc 1
    [ "$(cat "$err")" = "KMEM_RULES, column 1: caller *:main needs the symbol tables: libelf.so.1 has no elf_version
... and 1 more rules that name functions, which cannot match either" ] || fail "check without libelf"
    run "$cli" check --rules 'route kmem caller *:main'; rc=$?
    expect_rc 0; expect_out "KMEM_RULES: ok"
    # Offsets and whole modules need no symbols: the program runs.
    run env LD_LIBRARY_PATH="$fake" KMEM_NODES=0 "KMEM_RULES=route kmem caller echo+0x1234; route dram caller libc.so.6:*" \
        LD_PRELOAD="$shim" /bin/echo main-ran; rc=$?
    expect_rc 0; expect_out main-ran
    [ ! -s "$err" ] || fail "stderr with offset and module rules"
    # Reports lose symbols and source lines, with one warning each, and are still written.
    run env LD_LIBRARY_PATH="$fake" KMEM_NODES=0 KMEM_STATS="$fake/s.txt" KMEM_PROFILE="$fake/p.prof" \
        LD_PRELOAD="$shim" /bin/echo main-ran; rc=$?
    expect_rc 0; expect_out main-ran
    [ "$(cat "$err")" = "kmemshim: warning: callsites in the reports will have no symbols: libelf.so.1 has no elf_version
kmemshim: warning: the profile will have no source lines: libdw.so.1 has no dwfl_begin" ] || fail "warnings"
    grep -q '^kmemshim stats: pid' "$fake/s.txt" || fail "no report"
    head -1 "$fake/p.prof" | grep -qx '# kmemshim profile 1' || fail "no profile"
    # The real ones, for comparison: no warning at all.
    run env KMEM_NODES=0 KMEM_STATS="$fake/s2.txt" KMEM_PROFILE="$fake/p2.prof" \
        LD_PRELOAD="$shim" /bin/echo main-ran; rc=$?
    expect_rc 0; [ ! -s "$err" ] || fail "stderr with elfutils present"
    ;;
*)
    echo "faults.sh: unknown case $case" >&2; exit 2 ;;
esac
echo "ok   [$case] $(head -c 300 "$out" | tr '\n' ' ')| stderr: $(head -c 300 "$err" | tr '\n' ' ')"
