#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Draws a runtime-tiering timeline (KMEM_TIMELINE, kmemshim run --timeline) with gnuplot: above,
# each group's smoothed access density over time; below, a strip per group coloured by the tier it
# was in at each interval (DRAM or KMEM).
# usage: scripts/timeline-plot.sh TIMELINE OUT.png|OUT.svg
# The timeline: "# kmemshim timeline 1", a header line, then rows of
# time_s<TAB>group<TAB>tier<TAB>resident<TAB>touched<TAB>density (see kmemshim(7)).
set -euo pipefail
prog=timeline-plot.sh
usage() { echo "usage: $prog TIMELINE OUT.png|OUT.svg" >&2; exit 2; }
die() { echo "$prog: $*" >&2; exit 1; }
[ $# = 2 ] || usage
in=$1 out=$2
command -v gnuplot >/dev/null || die "gnuplot is not installed (apt-get install gnuplot-nox)"
[ -r "$in" ] || die "$in: cannot read it"
[ "$(head -1 "$in")" = "# kmemshim timeline 1" ] ||
    die "$in: not a kmemshim timeline (its first line is not '# kmemshim timeline 1')"
case "$out" in
*.png) term='pngcairo size 1100,700 font "DejaVu Sans,11"' ;;
*.svg) term='svg size 1100,700 dynamic font "DejaVu Sans,11"' ;;
*) die "$out: the output's name must end in .png or .svg" ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One data block per group (gnuplot's "index"), in order of first appearance: time, density,
# colour of the tier. Checked: six fields, a number of seconds, a known tier, a density.
awk -F'\t' -v data="$tmp/data" -v names="$tmp/names" -v src="$in" '
    BEGIN { n = 0; tmax = 0 }
    NR <= 2 { next }
    /^#/ || $0 == "" { next }
    {
        if (NF != 6) { printf "%s:%d: expected 6 tab-separated fields, found %d\n", src, NR, NF > "/dev/stderr"; bad = 1; exit 1 }
        if ($1 !~ /^[0-9]+(\.[0-9]*)?$/ || $6 !~ /^[0-9]+(\.[0-9]*)?$/) { printf "%s:%d: time and density must be numbers\n", src, NR > "/dev/stderr"; bad = 1; exit 1 }
        if ($3 != "dram" && $3 != "kmem") { printf "%s:%d: tier \"%s\": expected dram or kmem\n", src, NR, $3 > "/dev/stderr"; bad = 1; exit 1 }
        if (!($2 in id)) { id[$2] = n; name[n] = $2; n++ }
        g = id[$2]
        rows[g] = rows[g] sprintf("%s %s %s\n", $1, $6, $3 == "dram" ? "0xd62728" : "0x1f77b4")
        if ($1 + 0 > tmax) tmax = $1 + 0
    }
    END {
        if (bad) exit 1
        if (n == 0) { printf "%s: no rows\n", src > "/dev/stderr"; exit 1 }
        for (g = 0; g < n; g++) printf "%s\n\n", rows[g] > data
        for (g = 0; g < n; g++) print name[g] > names
        printf "%d %s\n", n, tmax
    }' "$in" >"$tmp/facts" || die "$in: cannot draw it"
read -r groups tmax <"$tmp/facts"

{
    echo "set terminal $term"
    printf 'set output "%s"\n' "${out//\"/\\\"}"
    echo 'set termoption noenhanced'
    echo 'set multiplot'
    echo "set xrange [0:$tmax]"
    echo 'set lmargin at screen 0.24'
    echo 'set rmargin at screen 0.97'
    # Above: densities.
    echo 'set origin 0,0.36'
    echo 'set size 1,0.62'
    printf 'set title "%s: access density per group (smoothed) and tier over time"\n' "$(basename "$in" | tr -d '"')"
    echo 'set ylabel "density (touched / resident per interval)"'
    echo 'set yrange [0:*]'
    echo 'set grid'
    echo 'set key inside right center'
    echo 'set format x ""'
    printf 'plot for [i=0:%d] "%s" index i using 1:2 with lines lw 2 title word(names, i+1)\n' \
        $((groups - 1)) "$tmp/data"
    # Below: the tier strip, a row per group (red: DRAM, blue: KMEM).
    echo 'set origin 0,0'
    echo 'set size 1,0.38'
    echo 'unset title'
    echo 'set format x "%g"'
    echo 'set xlabel "time (s)"'
    echo 'set ylabel "tier (red: DRAM, blue: KMEM)"'
    echo "set yrange [-0.5:$groups - 0.5]"
    echo 'set grid xtics noytics'
    echo 'unset key'
    printf 'set ytics ('
    sep=""
    i=0
    while IFS= read -r name; do
        printf '%s"%s" %d' "$sep" "${name//\"/}" "$i"
        sep=", "
        i=$((i + 1))
    done <"$tmp/names"
    echo ')'
    printf 'plot for [i=0:%d] "%s" index i using 1:(i):3 with points pt 5 ps 1.2 lc rgb variable\n' \
        $((groups - 1)) "$tmp/data"
    echo 'unset multiplot'
} >"$tmp/plot.gp"
# The names for the key, one word each (group names have no white space).
names=$(tr '\n' ' ' <"$tmp/names")
gnuplot -e "names = \"${names//\"/}\"" "$tmp/plot.gp" 2>"$tmp/err" || die "gnuplot failed: $(cat "$tmp/err")"
[ -s "$out" ] || die "gnuplot wrote nothing to $out"
echo "$prog: $groups groups, ${tmax} s -> $out"
