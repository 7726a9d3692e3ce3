#!/usr/bin/env bash
# Secure execution: a setuid copy of a program linked against the shim, run by
# an unprivileged user (so AT_SECURE is set). The variables that name files
# are ignored with one warning; policies still apply.
# usage: secure_exec.sh PROBE
set -euo pipefail
probe=$1
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
want="kmemshim: warning: KMEMRC, KMEM_STATS, KMEM_PROFILE ignored: secure-execution mode (setuid program or system-wide preload) does not read or write files named by the environment
secure_probe: block policy bind:0"
if [ "$out" != "$want" ]; then
    echo "FAIL: output:"; echo "$out"; echo "want:"; echo "$want"; exit 1
fi
for f in stats profile; do
    [ ! -e "$dir/$f" ] || { echo "FAIL: $f was written"; exit 1; }
done
# The same program run by root (not secure) reads KMEMRC: the bad file stops it.
if KMEM_NODES=0 KMEMRC="$dir/rc" "$dir/probe" >/dev/null 2>&1; then
    echo "FAIL: without secure mode the bad rules file was not read"; exit 1
fi
echo "ok   secure execution: one warning, files not touched, policy bind:0 still applied"
