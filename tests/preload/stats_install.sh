#!/usr/bin/env bash
# cmake --install into a temporary prefix: the library, the command, the man
# pages and kmemrc.example land there, and the installed `kmemshim run` finds
# the installed library (not the build tree's).
# usage: stats_install.sh BUILD_DIR
set -euo pipefail
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/log" || { cat "$tmp/log"; fail "install"; }
p=$tmp/prefix
[ -x "$p/bin/kmemshim" ] || fail "no bin/kmemshim"
lib=$(find "$p" -name libkmemshim.so | head -1)
[ -n "$lib" ] || fail "no libkmemshim.so"
[ -f "$p/share/man/man1/kmemshim.1" ] || fail "no kmemshim.1"
[ -f "$p/share/man/man7/kmemshim.7" ] || fail "no kmemshim.7"
find "$p" -name kmemrc.example | grep -q . || fail "no kmemrc.example"
# The man pages render without warnings.
for m in "$p/share/man/man1/kmemshim.1" "$p/share/man/man7/kmemshim.7"; do
    out=$(groff -man -ww -z "$m" 2>&1) || fail "groff $m"
    [ -z "$out" ] || fail "groff warnings in $m: $out"
done
out=$("$p/bin/kmemshim" run -- /bin/echo ok) || fail "run failed"
[ "$out" = ok ] || fail "output: $out"
got=$("$p/bin/kmemshim" run -n -- true | sed -n 's/^LD_PRELOAD=//p')
[ "$got" = "$(realpath "$lib")" ] || fail "preloads $got, installed $lib"
# A copy moved elsewhere still finds its own library (relative lookup).
mv "$p" "$tmp/moved"
got=$("$tmp/moved/bin/kmemshim" run -n -- true | sed -n 's/^LD_PRELOAD=//p')
case $got in "$tmp"/moved/*) ;; *) fail "moved install preloads $got" ;; esac
"$tmp/moved/bin/kmemshim" run --stats -- /bin/echo ok 2>"$tmp/err" >/dev/null
grep -q '^kmemshim stats' "$tmp/err" || fail "no report from the installed library"
echo "install: ok"
