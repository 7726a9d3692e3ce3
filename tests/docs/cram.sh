#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs one transcript under cram (Debian's python3-cram). The environment names the build
# (KMS_BUILD), the source tree (KMS_SRC) and the examples' ./app (KMS_APP): ctest sets them.
# usage: cram.sh FILE.t (its setup.sh beside it)
set -euo pipefail
for tool in cram3 python3 groff; do
    if ! command -v $tool >/dev/null; then
        echo "skip: $tool is missing (python3-cram, python3, groff-base: scripts/deps.sh docs)"
        exit 77
    fi
done
: "${KMS_BUILD:?}" "${KMS_SRC:?}" "${KMS_APP:?}"
# cram writes FILE.t.err beside a transcript that fails: the transcript runs from a copy, so
# that the source tree stays clean; the diff is printed. /tmp: the scratch directory's name has
# the same length everywhere (setup.sh).
copy=$(mktemp -d /tmp/kms-docs.XXXXXX)
trap 'rm -rf "$copy"' EXIT
cp "$1" "$(dirname "$1")/setup.sh" "$copy/"
TMPDIR=/tmp cram3 --shell=/bin/bash "$copy/$(basename "$1")"
