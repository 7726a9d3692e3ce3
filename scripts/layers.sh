#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fails when a source file includes from a layer above its own. The layers, top to bottom:
#   cli/      the kmemshim command (a client of policy/ and core/, never of preload/)
#   preload/  the exported allocation symbols and start-up
#   policy/   configuration, rules, callsite matching, the route decision
#   core/     topology, node sets, arenas, heaps, callsites, counting and reports
# A file may include its own layer and any layer below it.
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
[ $bad = 0 ] && echo "layers: every include points down (cli, preload -> policy -> core)"
exit $bad
