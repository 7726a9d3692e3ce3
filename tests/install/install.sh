#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cmake --install into a scratch prefix: the command, the library in its private directory
# under its SONAME, the man pages, kmemrc.example, LICENSE and the documentation land there;
# the installed `kmemshim run` finds the installed library (not the build tree's), also after
# the prefix is moved, and programs that allocate run under it with their blocks placed.
# usage: install.sh BUILD_DIR VERSION LIBDIR MANDIR DOCDIR ENTRY_POINTS API_SEMANTICS
#   (LIBDIR, MANDIR, DOCDIR: CMake's CMAKE_INSTALL_*DIR, relative to the prefix)
set -euo pipefail
build=$1 version=$2 libdir=$3 mandir=$4 docdir=$5 entry_points=$6 api_semantics=$7
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/log" || { cat "$tmp/log"; fail "install"; }
p=$tmp/prefix
major=${version%%.*}
soname=libkmemshim.so.$major
lib=$p/$libdir/kmemshim/$soname

[ -x "$p/bin/kmemshim" ] || fail "no bin/kmemshim"
[ "$("$p/bin/kmemshim" --version)" = "kmemshim $version" ] || fail "kmemshim --version"
[ -f "$lib" ] || fail "no $libdir/kmemshim/$soname: $(find "$p" -name 'libkmemshim*')"
[ -f "$p/$libdir/kmemshim/libkmemshim.so.$version" ] || fail "no libkmemshim.so.$version"
got=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$got" = "$soname" ] || fail "SONAME '$got', want $soname"
# Nothing in the linker's search path: a preload library is not linked against.
[ -z "$(find "$p/$libdir" -maxdepth 1 -name 'libkmemshim*')" ] || fail "library in $libdir itself"
for m in man1/kmemshim.1 man7/kmemshim.7; do
    f=$p/$mandir/$m
    [ -f "$f" ] || fail "no $mandir/$m"
    out=$(groff -man -ww -z "$f" 2>&1) || fail "groff $m"
    [ -z "$out" ] || fail "groff warnings in $m: $out"
    grep -q "^\.TH .*\"kmemshim $version\"" "$f" || fail "$m does not say version $version"
done
for d in kmemrc.example LICENSE README.md design.md; do
    [ -f "$p/$docdir/$d" ] || fail "no $docdir/$d"
done
grep -q '^MIT License' "$p/$docdir/LICENSE" || fail "LICENSE"

# The installed command preloads the installed library, by its SONAME.
got=$("$p/bin/kmemshim" run -n -- true | sed -n 's/^LD_PRELOAD=//p')
[ "$got" = "$(realpath "$p/$libdir/kmemshim")/$soname" ] || fail "preloads $got, installed $lib"
"$p/bin/kmemshim" run -- true || fail "kmemshim run -- true: status $?"
[ "$(KMEM_VERSION=1 "$p/bin/kmemshim" run -- /bin/echo ok 2>&1 | grep -v warning)" = "kmemshim $version
ok" ] || fail "KMEM_VERSION=1 under the installed library"
# Programs that allocate: every entry point placed on node 0 (standing in for KMEM) above
# 64 KiB, the API's semantics intact.
"$p/bin/kmemshim" run --nodes 0 --threshold 64K -- "$entry_points" 65536 default bind:0 \
    >"$tmp/out" 2>&1 || { cat "$tmp/out"; fail "entry_points under the installed library"; }
"$p/bin/kmemshim" run --nodes 0 -- "$api_semantics" >"$tmp/out" 2>&1 ||
    { cat "$tmp/out"; fail "api_semantics under the installed library"; }
grep -q '0 failures' "$tmp/out" || fail "api_semantics: $(cat "$tmp/out")"
"$p/bin/kmemshim" run --nodes 0 --stats -- /bin/echo ok 2>"$tmp/err" >/dev/null
grep -q '^kmemshim stats' "$tmp/err" || fail "no report from the installed library"

# A copy moved elsewhere still finds its own library (the relative lookup).
mv "$p" "$tmp/moved"
got=$("$tmp/moved/bin/kmemshim" run -n -- true | sed -n 's/^LD_PRELOAD=//p')
[ "$got" = "$(realpath "$tmp/moved/$libdir/kmemshim")/$soname" ] || fail "moved install preloads $got"
"$tmp/moved/bin/kmemshim" run --nodes 0 --threshold 64K -- "$entry_points" 65536 default bind:0 \
    >"$tmp/out" 2>&1 || { cat "$tmp/out"; fail "entry_points under the moved install"; }
echo "install: ok ($p: bin/kmemshim, $libdir/kmemshim/$soname, man pages, $docdir)"
