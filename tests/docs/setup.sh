# SPDX-License-Identifier: MIT
# Sourced by every transcript first (". $TESTDIR/setup.sh"). The examples' commands run at the top
# of a source tree after its build: cram's scratch directory gets build/ (copies of the command,
# the library and the example programs), bench/demo.py, kmemrc (kmemrc.example) and ./app, and
# build/ goes first in PATH, as README says. LD_LIBRARY_PATH lets LD_PRELOAD=libkmemshim.so name
# the library without its path, as the examples write it.
#
# The environment is made the same wherever the tree is and whoever runs the tests: a sampled
# statistics report depends on every byte the program allocates, and a program copies its
# environment and its paths (python3 its script's directory). So copies, not links into the
# tree, and only the variables below; cram.sh runs cram in /tmp, so the directory's name has the
# same length everywhere. The source tree stays in $src, a variable of this shell only.
src=$KMS_SRC
mkdir -p build/tests/preload bench
cp "$KMS_BUILD/kmemshim" "$KMS_BUILD/access_demo" build/
cp "$KMS_BUILD/libkmemshim.so.0" build/
ln -s libkmemshim.so.0 build/libkmemshim.so
cp "$KMS_BUILD/tests/preload/access_prog" build/tests/preload/
cp "$KMS_BUILD/tier_phases" build/
mkdir -p scripts
cp "$KMS_SRC/scripts/timeline-plot.sh" scripts/
cp "$KMS_SRC/bench/demo.py" bench/
cp "$KMS_SRC/kmemrc.example" kmemrc
cp "$KMS_APP" app
for v in $(compgen -e); do
    case $v in
    LANG | LC_ALL | TZ | COLUMNS | TMPDIR | PWD | SHLVL) ;;
    *) unset "$v" ;;
    esac
done
export PATH="$PWD/build:/usr/local/bin:/usr/bin:/bin" HOME="$PWD" LD_LIBRARY_PATH="$PWD/build"
export PYTHONHASHSEED=0
unset OLDPWD
