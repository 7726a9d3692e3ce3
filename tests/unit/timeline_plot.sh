#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/timeline-plot.sh: a small fixture timeline (three groups, a swap) drawn as PNG and SVG;
# bad input gets a message and status 1 (2 for bad usage), and no picture.
# usage: timeline_plot.sh SOURCE_DIR
set -euo pipefail
src=$1
plot=$src/scripts/timeline-plot.sh
fixture=$src/tests/unit/fixtures/timeline.tsv
command -v gnuplot >/dev/null || { echo "SKIP: gnuplot is not installed (scripts/deps.sh unit)"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$plot" "$fixture" t.png
[ "$(head -c 8 t.png | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "t.png is not a PNG"
size=$(stat -c %s t.png)
# Axes, two panels, three curves and 60 tier marks: tens of kilobytes; an empty plot is a few.
[ "$size" -gt 20000 ] || fail "t.png is only $size bytes"
# The picture's width and height (the IHDR chunk): the size asked for.
[ "$(od -An -tu1 -j16 -N8 t.png | tr -s ' ' | sed 's/^ //')" = "0 0 4 76 0 0 2 188" ] ||
    fail "t.png is not 1100x700"
"$plot" "$fixture" t.svg
head -c 300 t.svg | grep -q '<svg' || fail "t.svg is not SVG"
# Each group's name, and both tiers' colours, appear in the SVG.
for g in tier_phases+0x21ad tier_phases+0x21fd tier_phases+0x224d; do
    grep -q "$g" t.svg || fail "t.svg lacks $g"
done
# One mark per row: the fixture has 20 rows in DRAM (red) and 40 on KMEM (blue).
red=$(grep -Ec '<use .*color=.rgb\( *214, *39, *40\)' t.svg || true)
blue=$(grep -Ec '<use .*color=.rgb\( *31, *119, *180\)' t.svg || true)
{ [ "$red" = 20 ] && [ "$blue" = 40 ]; } || fail "t.svg: $red DRAM marks (expected 20), $blue KMEM marks (expected 40)"
echo "ok: PNG $size bytes, SVG $(stat -c %s t.svg) bytes"

# expect_err STATUS PATTERN ARGS...: the message and status, and no picture left behind.
expect_err() {
    local want=$1 pat=$2 rc=0
    shift 2
    rm -f bad.png
    "$plot" "$@" >out 2>err || rc=$?
    [ "$rc" = "$want" ] || fail "timeline-plot.sh $*: status $rc, expected $want ($(cat err))"
    grep -q -- "$pat" err || fail "timeline-plot.sh $*: '$(cat err)' lacks '$pat'"
    [ ! -s bad.png ] || fail "timeline-plot.sh $*: drew a picture anyway"
    echo "ok: $* -> $(head -1 err)"
}
expect_err 2 usage "$fixture"
expect_err 1 "cannot read" missing.tsv bad.png
expect_err 1 "must end in .png or .svg" "$fixture" bad.gif
printf 'time_s\tgroup\n' >nohdr.tsv
expect_err 1 "not a kmemshim timeline" nohdr.tsv bad.png
head -2 "$fixture" >empty.tsv
expect_err 1 "no rows" empty.tsv bad.png
{ head -3 "$fixture"; printf '0.4\tx+0x1\tdram\t1\t1\n'; } >short.tsv
expect_err 1 "short.tsv:4: expected 6 tab-separated fields, found 5" short.tsv bad.png
{ head -3 "$fixture"; printf '0.4\tx+0x1\tpmem\t1\t1\t0.5\n'; } >tier.tsv
expect_err 1 'tier.tsv:4: tier "pmem": expected dram or kmem' tier.tsv bad.png
{ head -3 "$fixture"; printf 'soon\tx+0x1\tdram\t1\t1\t0.5\n'; } >time.tsv
expect_err 1 "time.tsv:4: time and density must be numbers" time.tsv bad.png
echo "timeline_plot: ok"
