#!/bin/sh
# SPDX-License-Identifier: MIT
# Many short processes: a shell loop that starts a small tool N times, as
# build and packaging scripts do. Under a preloaded allocator every process
# (the shell's own forks included) pays the allocator's start-up.
#
#   procs.sh N TOOL     (TOOL: the kmbench binary; each run is "kmbench tiny")
set -eu
n=${1:?usage: procs.sh N TOOL}
tool=${2:?usage: procs.sh N TOOL}
first=$("$tool" tiny)
i=1
while [ "$i" -lt "$n" ]; do
    out=$("$tool" tiny)
    if [ "$out" != "$first" ]; then
        echo "procs.sh: run $i printed '$out', the first printed '$first'" >&2
        exit 3
    fi
    i=$((i + 1))
done
echo "procs n=$n $first"
