#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Debian packages (debian/) as an administrator gets them: built with dpkg-buildpackage
# from a scratch copy of the source tree, clean to lintian (no E: or W: line), the files where
# debian/ says, installed with dpkg and working there (the command, the library preloaded by
# path, the manual pages, the examples), then removed and purged, leaving no file of theirs
# and /etc/ld.so.preload as it was. Whatever happens, the exit trap purges what it installed.
# usage: package.sh SOURCE_DIR VERSION   (VERSION: CMake's project(VERSION))
# shellcheck disable=SC2015  # A && B || fail: fails when either is false
set -euo pipefail
src=$1 version=$2
pkgs=(libkmemshim0 kmemshim)
fail() { echo "FAIL: $*" >&2; exit 1; }
# 77: ctest's skip code (SKIP_RETURN_CODE in CMakeLists.txt).
skip() { echo "SKIP: $*"; exit 77; }
t0=$SECONDS

[ "$(id -u)" = 0 ] || skip "needs root (installs and purges the packages)"
for tool in dpkg-buildpackage dpkg-checkbuilddeps dh lintian man readelf /usr/bin/python3; do
    command -v "$tool" >/dev/null || skip "no $tool (scripts/deps.sh package installs it)"
done
# The state dpkg has for a package: empty when it knows none.
state() { dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true; }
for p in "${pkgs[@]}"; do
    case "$(state "$p")" in
    '' | not-installed) ;;
    *) skip "$p is installed already: the test would purge it (one left by an interrupted run: apt-get purge ${pkgs[*]})" ;;
    esac
done
if grep -rqsE '^[[:space:]]*path-exclude[= ]+/usr/share/(man|doc)' /etc/dpkg/dpkg.cfg /etc/dpkg/dpkg.cfg.d; then
    skip "dpkg leaves out /usr/share/man or /usr/share/doc here (path-exclude in /etc/dpkg/dpkg.cfg.d)"
fi

arch=$(dpkg-architecture -qDEB_HOST_ARCH)
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
shimdir=/usr/lib/$ma/kmemshim
lib=$shimdir/libkmemshim.so.${version%%.*}
preload=/etc/ld.so.preload
tmp=$(mktemp -d)
chmod 755 "$tmp"
# Every temporary file goes there, removed at exit (lintian leaves some of its own behind).
export TMPDIR=$tmp
[ -e "$preload" ] && cp -a "$preload" "$tmp/ld.so.preload.before"

# Runs dpkg, waiting while another dpkg or apt holds its lock (up to 5 minutes).
dpkg_wait() {
    local i
    for ((i = 0; i < 60; i++)); do
        dpkg "$@" >"$tmp/dpkg.log" 2>&1 && return 0
        grep -q 'locked by another process' "$tmp/dpkg.log" || return 1
        sleep 5
    done
    return 1
}
preload_unchanged() {
    if [ -e "$tmp/ld.so.preload.before" ]; then
        cmp -s "$tmp/ld.so.preload.before" "$preload"
    else
        [ ! -e "$preload" ] && [ ! -L "$preload" ]
    fi
}
cleanup() {
    local rc=$? p left=()
    set +e
    for p in "${pkgs[@]}"; do
        case "$(state "$p")" in '' | not-installed) ;; *) left+=("$p") ;; esac
    done
    if [ ${#left[@]} -gt 0 ]; then
        echo "cleanup: purging ${left[*]}" >&2
        dpkg_wait --purge "${left[@]}" || { cat "$tmp/dpkg.log" >&2; rc=1; }
    fi
    if ! preload_unchanged; then
        echo "cleanup: $preload changed; restoring it" >&2
        if [ -e "$tmp/ld.so.preload.before" ]; then cp -a "$tmp/ld.so.preload.before" "$preload"; else rm -f "$preload"; fi
        rc=1
    fi
    rm -rf "$tmp"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# The source tree as a checkout has it: git's files (with uncommitted changes), else the tree
# without build directories.
mkdir "$tmp/src"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$src" ls-files -z --cached --others --exclude-standard |
        tar -C "$src" --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -C "$tmp/src" -xf -
else
    tar -C "$src" --exclude=./.git --exclude='./build*' --exclude=./tests/vm/cache -cf - . |
        tar -C "$tmp/src" -xf -
fi
cd "$tmp/src"
[ -x debian/rules ] || fail "no debian/rules in the copy of $src"
got=$(sed -n '1s/^kmemshim (\([^)]*\)).*/\1/p' debian/changelog)
[ "$got" = "$version" ] || fail "debian/changelog is at $got, CMakeLists.txt's project(VERSION) at $version"
dpkg-checkbuilddeps >"$tmp/deps.log" 2>&1 || skip "build dependencies missing: $(cat "$tmp/deps.log")"

# Build: the binary packages only, unsigned, two jobs.
t=$SECONDS
DEB_BUILD_OPTIONS=parallel=2 dpkg-buildpackage -b -us -uc >"$tmp/build.log" 2>&1 ||
    { tail -n 60 "$tmp/build.log"; fail "dpkg-buildpackage -b -us -uc"; }
build_s=$((SECONDS - t))
deb_lib=$tmp/libkmemshim0_${version}_$arch.deb
deb_cli=$tmp/kmemshim_${version}_$arch.deb
[ -f "$deb_lib" ] && [ -f "$deb_cli" ] || fail "no $(basename "$deb_lib") and $(basename "$deb_cli"): $(ls "$tmp")"
! grep -E '(^|[^-])warning:' "$tmp/build.log" || fail "warnings in the package build"

# Lintian on the upload dpkg-buildpackage wrote (every package built, .buildinfo, .changes):
# no error, no warning.
t=$SECONDS
lintian --fail-on error,warning "$tmp/kmemshim_${version}_$arch.changes" >"$tmp/lintian.log" 2>&1 ||
    { cat "$tmp/lintian.log"; fail "lintian"; }
! grep -E '^[EW]: ' "$tmp/lintian.log" || fail "lintian"
lintian_s=$((SECONDS - t))

# What each package holds and depends on: the dependencies come from shlibs.
dep_lib=$(dpkg-deb -f "$deb_lib" Depends) dep_cli=$(dpkg-deb -f "$deb_cli" Depends)
for d in libc6 libmimalloc2.0; do
    grep -q "\b$d (>= " <<<"$dep_lib" || fail "libkmemshim0 Depends '$dep_lib' lacks $d"
done
grep -q "libkmemshim0 (= $version)" <<<"$dep_cli" || fail "kmemshim Depends '$dep_cli' lacks libkmemshim0 (= $version)"
grep -q 'libmimalloc2.0 (>= ' <<<"$dep_cli" || fail "kmemshim Depends '$dep_cli' lacks libmimalloc2.0"
# The files of both, as paths on this machine (directories end in /): none may exist yet.
for deb in "$deb_lib" "$deb_cli"; do
    dpkg-deb --fsys-tarfile "$deb" | tar -t | sed 's|^\./|/|'
done | sort -u >"$tmp/contents"
touch "$tmp/dirs.before"
while IFS= read -r f; do
    if [[ $f == */ ]]; then
        if [ -d "$f" ]; then echo "$f" >>"$tmp/dirs.before"; fi
    elif [ -e "$f" ] || [ -L "$f" ]; then
        skip "$f exists already: installing would replace it and purging remove it"
    fi
done <"$tmp/contents"

# Install.
dpkg_wait -i "$deb_lib" "$deb_cli" || { cat "$tmp/dpkg.log"; fail "dpkg -i"; }
for p in "${pkgs[@]}"; do [ "$(state "$p")" = installed ] || fail "$p: dpkg state '$(state "$p")'"; done
dpkg -L "${pkgs[@]}" | grep '^/' | grep -vx '/\.' | sort -u >"$tmp/owned"
for f in /usr/bin/kmemshim "$lib" "$shimdir/libkmemshim.so.$version" /usr/share/man/man1/kmemshim.1.gz \
    /usr/share/man/man7/kmemshim.7.gz /usr/share/doc/kmemshim/kmemrc.example \
    /usr/share/doc/kmemshim/examples/systemd-dropin.conf /usr/share/doc/kmemshim/copyright \
    /usr/share/doc/kmemshim/README.md.gz /usr/share/doc/kmemshim/design.md.gz \
    /usr/share/doc/libkmemshim0/copyright; do
    grep -qx "$f" "$tmp/owned" || fail "$f is in neither package"
    [ -e "$f" ] || fail "$f is not installed"
done
# The library only in its private directory, under its SONAME and its full version: not in
# the loader's path, no development symlink.
grep '/libkmemshim\.so' "$tmp/owned" >"$tmp/libs"
[ "$(cat "$tmp/libs")" = "$lib
$shimdir/libkmemshim.so.$version" ] || fail "library files: $(cat "$tmp/libs")"
got=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$got" = "${lib##*/}" ] || fail "SONAME '$got', want ${lib##*/}"
# debian/copyright carries LICENSE's text.
diff <(sed -n '/^Permission is hereby granted/,$p' LICENSE) \
    <(sed -n '/^License: Expat$/,$p' /usr/share/doc/kmemshim/copyright | sed '1d; s/^ //; s/^\.$//' |
        sed -n '/^Permission is hereby granted/,$p') >&2 || fail "debian/copyright's license is not LICENSE's"
holder=$(sed -n 's/^Copyright (c) //p' LICENSE)
grep -qx "Copyright: $holder" /usr/share/doc/kmemshim/copyright || fail "debian/copyright lacks 'Copyright: $holder'"

# The installed command and library at work.
cli=/usr/bin/kmemshim
[ "$("$cli" --version)" = "kmemshim $version" ] || fail "kmemshim --version: $("$cli" --version 2>&1)"
"$cli" nodes >"$tmp/out" 2>&1 || { cat "$tmp/out"; fail "kmemshim nodes"; }
grep -q '^KMEM nodes: ' "$tmp/out" || { cat "$tmp/out"; fail "kmemshim nodes: no 'KMEM nodes:' line"; }
got=$("$cli" run -n -- /bin/true | sed -n 's/^LD_PRELOAD=//p')
[ "$got" = "$lib" ] || fail "kmemshim run preloads '$got', installed $lib"
"$cli" run -- /bin/true 2>"$tmp/err" || { cat "$tmp/err"; fail "kmemshim run -- /bin/true"; }
"$cli" run --nodes 0 --stats -- /bin/echo ok >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/err"; fail "kmemshim run --stats"; }
[ "$(cat "$tmp/out")" = ok ] && grep -q '^kmemshim stats: pid [0-9]*, .*echo' "$tmp/err" ||
    { cat "$tmp/out" "$tmp/err"; fail "kmemshim run --nodes 0 --stats -- /bin/echo ok"; }
# Python (Debian's) with the library preloaded by its installed path: 64 MiB of buffers on
# the kmem route, node 0 standing in for a KMEM node.
got=$(KMEM_VERSION=1 KMEM_NODES=0 KMEM_STATS="$tmp/py.txt" LD_PRELOAD="$lib" /usr/bin/python3 -c \
    'b = [bytearray(1 << 20) for _ in range(64)]; print(sum(map(len, b)))' 2>"$tmp/err") ||
    { cat "$tmp/err"; fail "python3 under LD_PRELOAD=$lib"; }
[ "$got" = 67108864 ] || fail "python3 printed '$got'"
grep -qx "kmemshim $version" "$tmp/err" || { cat "$tmp/err"; fail "KMEM_VERSION=1: no 'kmemshim $version'"; }
grep -q '^kmemshim stats: pid [0-9]*, /usr/bin/python3' "$tmp/py.txt" &&
    grep -Eq '^dax_kmem +[0-9]+ +[0-9.]+ MiB' "$tmp/py.txt" || { cat "$tmp/py.txt"; fail "python3's report"; }
"$cli" check /usr/share/doc/kmemshim/kmemrc.example >"$tmp/out" 2>&1 ||
    { cat "$tmp/out"; fail "kmemshim check on the installed kmemrc.example"; }
grep -qx "Environment=LD_PRELOAD=$lib" /usr/share/doc/kmemshim/examples/systemd-dropin.conf ||
    fail "the systemd drop-in does not preload $lib"
# The manual pages, found and rendered by man.
[ "$(env -u MANPATH man -w kmemshim)" = /usr/share/man/man1/kmemshim.1.gz ] || fail "man -w kmemshim: $(env -u MANPATH man -w kmemshim 2>&1)"
[ "$(env -u MANPATH man -w 7 kmemshim)" = /usr/share/man/man7/kmemshim.7.gz ] || fail "man -w 7 kmemshim"
env -u MANPATH MANWIDTH=80 man -P cat kmemshim >"$tmp/man1" 2>&1 || { cat "$tmp/man1"; fail "man kmemshim"; }
grep -q 'run programs with their heap on KMEM' "$tmp/man1" || { cat "$tmp/man1"; fail "man kmemshim: no NAME line"; }
env -u MANPATH MANWIDTH=80 man -P cat 7 kmemshim >"$tmp/man7" 2>&1 || { cat "$tmp/man7"; fail "man 7 kmemshim"; }
grep -q 'KMEM_POLICY' "$tmp/man7" || { cat "$tmp/man7"; fail "man 7 kmemshim: no KMEM_POLICY"; }
preload_unchanged || fail "installing changed $preload"

# Remove: no file of theirs stays (they have no conffiles); purge: dpkg forgets them.
dpkg_wait --remove kmemshim libkmemshim0 || { cat "$tmp/dpkg.log"; fail "dpkg --remove"; }
while IFS= read -r f; do
    if [ -d "$f" ] && [ ! -L "$f" ]; then
        grep -qx "$f/" "$tmp/dirs.before" || fail "$f (a directory of theirs) is left after removal"
    elif [ -e "$f" ] || [ -L "$f" ]; then
        fail "$f is left after removal"
    fi
done <"$tmp/owned"
dpkg_wait --purge kmemshim libkmemshim0 || { cat "$tmp/dpkg.log"; fail "dpkg --purge"; }
for p in "${pkgs[@]}"; do
    case "$(state "$p")" in '' | not-installed) ;; *) fail "$p: dpkg state '$(state "$p")' after purge" ;; esac
done
preload_unchanged || fail "removing changed $preload"
echo "package: ok in $((SECONDS - t0)) s (build $build_s s, lintian $lintian_s s):" \
    "$(basename "$deb_lib"), $(basename "$deb_cli"); lintian:"
grep -v 'running with root privileges' "$tmp/lintian.log" || echo "  (nothing)"
