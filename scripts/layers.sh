#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fails when a source file includes from a layer above its own. The layers, top to bottom:
#   cli/      the kmemshim command (a client of policy/ and core/, never of preload/)
#   preload/  the exported allocation symbols and start-up
#   policy/   configuration, rules, callsite matching, the route decision
#   core/     topology, node sets, arenas, heaps, callsites, counting and reports
# A file may include its own layer and any layer below it.
# Also fails on a call to the public allocator (malloc, calloc, realloc, free, strdup, ...) in
# core/ or policy/: the shim's own memory comes from core/meta.h, the one file that names an
# allocator for it (in a preloaded allocator the public one routes, counts and re-enters).
# Usage: scripts/layers.sh [TREE]   (default: this script's source tree)
set -u
cd "${1:-$(dirname "$0")/..}" || exit 2
rank() {
    case "$1" in
    core) echo 1 ;; policy) echo 2 ;; preload) echo 3 ;; cli) echo 3 ;; *) echo 0 ;;
    esac
}
bad=0
for f in $(find core policy preload cli -type f 2>/dev/null | sort); do
    case "$f" in *.c | *.h | *.cc) ;; *) continue ;; esac
    own=${f%%/*}
    r=$(rank "$own")
    while IFS=: read -r line inc; do
        dir=${inc%%/*}
        [ "$dir" = "$inc" ] && continue
        d=$(rank "$dir")
        [ "$d" = 0 ] && continue
        if [ "$d" -gt "$r" ] || { [ "$own" = cli ] && [ "$dir" = preload ]; } || { [ "$own" = preload ] && [ "$dir" = cli ]; }; then
            echo "$f:$line: includes \"$inc\": $dir/ is above $own/ (layers: cli, preload -> policy -> core)"
            bad=1
        fi
    done < <(grep -n '^#include "' "$f" | sed 's/^\([0-9]*\):#include "\([^"]*\)".*/\1:\2/')
done
# Calls to the public allocator: comments, strings and character constants blanked (a comment
# keeps its newlines, so line numbers hold); a name after '.', '->' or a letter is a member or
# another function.
public='malloc|calloc|realloc|reallocarray|free|strdup|strndup|posix_memalign|aligned_alloc|memalign|valloc|pvalloc|asprintf|vasprintf'
# shellcheck disable=SC2016 # perl's variables
calls='
    s{(/\*.*?\*/)|//[^\n]*|"(?:\\.|[^"\\\n])*"|'\''(?:\\.|[^'\''\\\n])*'\''}{defined $1 ? $1 =~ tr/\n//cdr : "\"\""}gse;
    my $n = 0;
    for my $l (split /\n/, $_, -1) {
        $n++;
        print "$n:$1\n" while $l =~ /(?<![\w.>])('"$public"')\s*\(/g;
    }'
for f in $(find core policy -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | sort); do
    [ "$f" = core/meta.c ] && continue # the one file that names an allocator
    while IFS=: read -r line fn; do
        echo "$f:$line: calls $fn(): core/ and policy/ take their memory from core/meta.h (kms_meta_*), not the public allocator"
        bad=1
    done < <(perl -0777 -ne "$calls" "$f")
done
[ $bad = 0 ] && echo "layers: every include points down (cli, preload -> policy -> core), and core/ and policy/ never call the public allocator"
exit $bad
