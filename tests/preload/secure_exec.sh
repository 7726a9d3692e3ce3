#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Secure execution: a setuid copy of a program linked against the shim, run by
# an unprivileged user (so AT_SECURE is set). The variables that name files
# are ignored with one warning; policies still apply. The probe loads the shim
# as /etc/ld.so.preload would (not through LD_PRELOAD): without a KMEM_*
# variable it says nothing about missing KMEM nodes.
# usage: secure_exec.sh PROBE
set -euo pipefail
probe=$1
# A setuid-root copy run by another user: only root can make one (77: ctest's skip code).
[ "$(id -u)" = 0 ] || { echo "SKIP: secure_exec needs root to make a setuid-root program"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
chmod 755 "$dir"
cp "$probe" "$dir/probe"
chown root:root "$dir/probe"
chmod 4755 "$dir/probe"
printf 'this is not a rules file\n' >"$dir/rc"
chmod 644 "$dir/rc"
nobody=65534
out=$(setpriv --reuid=$nobody --regid=$nobody --clear-groups \
    env KMEM_NODES=0 KMEM_THRESHOLD=64K KMEMRC="$dir/rc" KMEM_STATS="$dir/stats" \
    KMEM_PROFILE="$dir/profile" "$dir/probe" 2>&1) || { echo "FAIL: exit $?: $out"; exit 1; }
want="kmemshim: warning: KMEMRC, KMEM_STATS, KMEM_PROFILE ignored: secure-execution mode (setuid, setgid or file capabilities) does not read or write files named by the environment
secure_probe: block policy bind:0"
if [ "$out" != "$want" ]; then
    echo "FAIL: output:"; echo "$out"; echo "want:"; echo "$want"; exit 1
fi
for f in stats profile; do
    [ ! -e "$dir/$f" ] || { echo "FAIL: $f was written"; exit 1; }
done
# Nothing asked (no KMEM_* variable but KMEM_DETECT, which asks for nothing), no KMEM node on
# this machine: silent, DRAM. Only libdaxctl is asked: what the memory tiers and HMAT say in the
# warning depends on the machine.
export KMEM_DETECT=daxctl
secure() { setpriv --reuid=$nobody --regid=$nobody --clear-groups env "$@" "$dir/probe" 2>&1; }
out=$(secure -u KMEM_NODES) || { echo "FAIL: exit $?: $out"; exit 1; }
[ "$out" = "secure_probe: block policy default" ] || { echo "FAIL: without KMEM_*: $out"; exit 1; }
# A KMEM_* variable asked for placement: the missing nodes are said.
out=$(secure -u KMEM_NODES KMEM_THRESHOLD=64K) || { echo "FAIL: exit $?: $out"; exit 1; }
[ "$out" = "kmemshim: warning: no KMEM nodes: KMEM_NODES is not set and KMEM_DETECT=daxctl found no slow-memory node (no dax device in system-ram mode with online memory); every route uses DRAM
secure_probe: block policy default" ] || { echo "FAIL: KMEM_THRESHOLD without KMEM nodes: $out"; exit 1; }
# KMEM_QUIET=1 silences the secure-mode warning; KMEM_STATS=0 asks for no file at all.
out=$(secure KMEM_NODES=0 KMEM_QUIET=1 KMEM_STATS="$dir/stats") || { echo "FAIL: exit $?: $out"; exit 1; }
[ "$out" = "secure_probe: block policy bind:0" ] || { echo "FAIL: KMEM_QUIET=1: $out"; exit 1; }
out=$(secure KMEM_NODES=0 KMEM_STATS=0 KMEM_PROFILE=off) || { echo "FAIL: exit $?: $out"; exit 1; }
[ "$out" = "secure_probe: block policy bind:0" ] || { echo "FAIL: KMEM_STATS=0: $out"; exit 1; }
[ ! -e "$dir/stats" ] || { echo "FAIL: stats was written"; exit 1; }
# The same program run by root (not secure) reads KMEMRC: the bad file stops it.
if KMEM_NODES=0 KMEMRC="$dir/rc" "$dir/probe" >/dev/null 2>&1; then
    echo "FAIL: without secure mode the bad rules file was not read"; exit 1
fi
echo "ok   secure execution: one warning, files not touched, policy bind:0 still applied; silent without KMEM_*"
