#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The sanitizer builds (tests/sanitize/CMakeLists.txt), each in its own build directory:
#   build-asan   ASan + UBSan: the unit tests and engine_driver (the engine linked directly,
#                live and on the 4-node topology), labels unit and sanitize (the label only
#                exists in these trees: tests/sanitize/CMakeLists.txt)
#   build-tsan   TSan: engine_driver, label sanitize (tests/sanitize/tsan.supp: mimalloc only)
#   build-ubsan  UBSan in everything, libkmemshim.so included: the preload tests preload it
#                (label preload, and stress but for the 30 s run), and kms_stress and
#                stats_signals run under it (only UBSan's reports count for those two)
# Fails if a test fails or if any sanitizer report appears in a test's output.
# usage: scripts/sanitize.sh [asan] [tsan] [ubsan]     (default: all three)
# KMS_SANITIZE_DIR: where the build directories go (default: the source tree, like build/).
# KMS_SANITIZE_SECONDS: how long each engine_driver run and the stress run last (default 10).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=${KMS_SANITIZE_DIR:-$src}
secs=${KMS_SANITIZE_SECONDS:-10}
jobs=$(nproc)
builds=("$@")
[ ${#builds[@]} -gt 0 ] || builds=(asan tsan ubsan)

# -Werror as in test.sh's build: CI asks for it. (gcc's warnings under -fsanitize can include
# false ones — format-truncation, maybe-uninitialized, stringop-overflow; none today, and a new
# one is fixed or silenced where it appears, not by turning -Werror off.)
configure() { # DIR SANITIZER
    cmake -S "$src" -B "$1" -G "Unix Makefiles" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DKMEMSHIM_WERROR=ON -DKMEMSHIM_SANITIZE="$2" -DKMS_SANITIZE_SECONDS="$secs" \
        -DKMS_STRESS_SECONDS="$secs" >/dev/null
}

# The reports of ASan, LSan, UBSan and TSan, in the output of every test that ran.
reports() { # DIR
    grep -E -n 'runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer|WARNING: ThreadSanitizer|SUMMARY: [A-Za-z]+Sanitizer' \
        "$1/Testing/Temporary/LastTest.log" || true
}

fail=0
run() { # NAME DIR CTEST_LABEL_REGEX [EXCLUDE_REGEX]
    local name=$1 dir=$2 labels=$3 exclude=${4:-^$} t0=$SECONDS rc=0
    echo "sanitize.sh: $name: testing ($labels)"
    (cd "$dir" && ctest --output-on-failure -j"$jobs" -L "$labels" -E "$exclude") || rc=$?
    local found
    found=$(reports "$dir")
    if [ -n "$found" ]; then
        echo "sanitize.sh: $name: sanitizer reports:"
        echo "$found" | head -40
        rc=1
    fi
    echo "sanitize.sh: $name: tests $([ $rc = 0 ] && echo passed || echo FAILED) in $((SECONDS - t0)) s"
    [ $rc = 0 ] || fail=1
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

for b in "${builds[@]}"; do
    t0=$SECONDS
    dir=$out/build-$b
    case "$b" in
    asan)
        configure "$dir" address
        make -C "$dir" -j"$jobs" --no-print-directory engine_driver kmemshim_cli >/dev/null
        make -C "$dir/tests/unit" -j"$jobs" --no-print-directory all >/dev/null
        echo "sanitize.sh: asan: built in $((SECONDS - t0)) s"
        run asan "$dir" '^(unit|sanitize)$'
        ;;
    tsan)
        configure "$dir" thread
        make -C "$dir" -j"$jobs" --no-print-directory engine_driver >/dev/null
        echo "sanitize.sh: tsan: built in $((SECONDS - t0)) s"
        run tsan "$dir" '^sanitize$'
        ;;
    ubsan)
        configure "$dir" undefined
        make -C "$dir" -j"$jobs" --no-print-directory kmemshim kmemshim_cli kms_probe tier_phases kmbench >/dev/null
        make -C "$dir/tests/preload" -j"$jobs" --no-print-directory all >/dev/null
        make -C "$dir/tests/stress" -j"$jobs" --no-print-directory all >/dev/null
        echo "sanitize.sh: ubsan: built in $((SECONDS - t0)) s"
        # The preload tests keep most of their programs' stderr to themselves, so UBSan writes
        # its reports to files (one per process) instead: none may appear.
        logs=$dir/ubsan-reports
        rm -rf "$logs" && mkdir -p "$logs"
        ubsan_options="$UBSAN_OPTIONS:log_path=$logs/report"
        # Not the VM tests (label vm and stress: vm.stress): this tree has no VM image, and
        # the regular run has them. stress.onenode: kms_stress runs below, with its limits off.
        UBSAN_OPTIONS=$ubsan_options run ubsan "$dir" '^(preload|stress)$' \
            '^(stress\.onenode|vm\..*)$'
        # The stress program under the UBSan shim; its RSS and thread-count limits are the
        # stress test's business (ctest -L stress), here only what UBSan says counts.
        t0=$SECONDS
        log=$dir/stress-ubsan.log
        rc=0
        env UBSAN_OPTIONS="$ubsan_options" KMEM_NODES=0 KMEMRC="$src/tests/stress/stress.kmemrc" \
            LD_PRELOAD="$dir/libkmemshim.so" \
            "$dir/tests/stress/kms_stress" --seconds "$secs" --rss-factor 100 --expect-policies 3 \
            >"$log" 2>&1 || rc=$?
        tail -3 "$log"
        if grep -q -E 'runtime error:|Sanitizer' "$log"; then
            grep -E 'runtime error:|Sanitizer' "$log" | head -20
            rc=1
        fi
        echo "sanitize.sh: ubsan: kms_stress $([ $rc = 0 ] && echo passed || echo FAILED) in $((SECONDS - t0)) s"
        [ $rc = 0 ] || fail=1
        if [ -n "$(ls -A "$logs")" ]; then
            echo "sanitize.sh: ubsan: reports in $logs:"
            for f in "$logs"/*; do
                echo "== $f" && head -20 "$f"
            done | head -80
            fail=1
        fi
        ;;
    *)
        echo "sanitize.sh: unknown build '$b' (expected asan, tsan or ubsan)" >&2
        exit 2
        ;;
    esac
done
[ $fail = 0 ] && echo "sanitize.sh: all passed" || echo "sanitize.sh: FAILED"
exit $fail
