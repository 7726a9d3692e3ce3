#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Access profiling end to end: KMEM_ACCESS / kmemshim run --access, the profile's access columns,
# kmemshim suggest --by, the stats report's shares, bad input.
# usage: access.sh SHIM KMEMSHIM_CLI TESTS_BIN_DIR CASE
# CASE: rank | run | short | fork | old | bad | program
set -euo pipefail
shim=$1 cli=$2 bin=$3 case=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
prog=$bin/access_prog
# Node 0 stands in for a KMEM node, as in the other preload tests.
export KMEM_NODES=0
# The densities asserted below are per interval as configured: the cost bound, which lengthens
# the interval where re-walking a page is dear (as in this VM), is tested on its own (tier.sh).
export KMEM_ACCESS_COST=0

# Whether this kernel keeps soft-dirty bits: a new process's mappings carry VmFlags "sd".
if awk '/^VmFlags:/ { print; exit }' /proc/self/smaps | grep -qw sd; then
    written=soft-dirty
else
    written=n/a
fi

# Checks the profile's shape: the header, the column line's fields in every row, the access line.
valid_profile() { # FILE
    python3 - "$1" "$written" <<'PY'
import sys
path, written = sys.argv[1], sys.argv[2]
lines = open(path).read().split("\n")
assert lines[0] == "# kmemshim profile 1", lines[0]
assert lines[-1] == "", "no newline at the end"
acc = [l for l in lines if l.startswith("# access ")]
assert len(acc) == 1, acc
f = acc[0].split()
facts = dict(zip(f[2::2], f[3::2]))
assert int(facts["samples"]) >= 1, facts
assert facts["written"] == written, (facts, written)
names = [l[2:].split("\t") for l in lines if l.startswith("# peak_live\t")]
assert len(names) == 1, names
names = names[0]
assert names[9:] == ["resident_peak", "touched_avg", "touched_peak", "written_avg", "touches",
                     "parent", "parent_symbol"], names
for l in lines[1:-1]:
    if l.startswith("#"):
        continue
    cols = dict(zip(names, l.split("\t")))
    assert len(l.split("\t")) == len(names), (len(names), l)
    if cols["resident_peak"] != "-":
        assert written != "n/a" or cols["written_avg"] == "n/a", l
        for n in ("resident_peak", "touched_avg", "touched_peak", "touches"):
            int(cols[n])
    assert (cols["parent"] == "-") == (cols["parent_symbol"] == "-"), l
print("profile ok:", path, facts)
PY
}

case $case in
rank)
    # 3.5 s at 50 ms: about 70 intervals; the medium structure is read 3 times besides its write.
    KMEM_STATS_SAMPLE=0 KMEM_STATS=$work/stats.txt KMEM_PROFILE=$work/p.txt KMEM_ACCESS=50ms \
        LD_PRELOAD=$shim "$prog" 3.5 >out
    [ "$(cat out)" = "access_prog: done (0)" ] || fail "stdout: $(cat out)"
    cat p.txt stats.txt
    valid_profile p.txt
    # The untracked rest of the route everything took (node 0 standing in for KMEM), counted together.
    grep -Pq '^# access_other\tdax_kmem\t[1-9][0-9]*\t[0-9]+\t[0-9]+\t(n/a|[0-9]+)\t[0-9]+$' p.txt ||
        fail "no untracked bucket for dax_kmem"
    python3 - p.txt <<'PY'
import sys
rows = {}
for l in open(sys.argv[1]):
    if l.startswith("#"):
        continue
    c = l.rstrip("\n").split("\t")
    fn = c[6].split("+")[0]
    if c[9] != "-":
        rows[fn] = float(c[10]) / float(c[9])
print("densities:", rows)
for fn in ("alloc_hot_large", "alloc_node", "alloc_medium", "alloc_cold_large"):
    assert fn in rows, (fn, "not tracked", rows)
hot = min(rows["alloc_hot_large"], rows["alloc_node"])
assert hot > rows["alloc_medium"] > rows["alloc_cold_large"], rows
assert rows["alloc_cold_large"] == 0 or hot / rows["alloc_cold_large"] >= 10, rows
PY
    # The budget holds both hot structures (22 MiB), not the medium one besides.
    "$cli" suggest --dram-budget 24M -o access.rc p.txt 2>err
    cat access.rc err
    grep -qx 'kmemshim suggest: ranked by access density: the callsites touched most per byte stay in DRAM' err ||
        fail "no line saying the ranking"
    for fn in alloc_hot_large alloc_node; do
        grep -Eq "^# $fn\+0x[0-9a-f]+ .* dram$" access.rc || fail "$fn not kept in DRAM"
        ! grep -A3 "^# [0-9]*: " access.rc | grep -q "$fn" || fail "a rule sends $fn away"
    done
    for fn in alloc_medium alloc_cold_large; do
        grep -Eq "^# $fn\+0x[0-9a-f]+ .* kmem$" access.rc || fail "$fn not sent to the target"
        grep -A3 "^# [0-9]*: " access.rc | grep -q "$fn" || fail "no rule for $fn"
    done
    [ "$(grep -c '^route kmem caller ' access.rc)" = 2 ] || fail "expected exactly 2 rules"
    grep -Eq '^# sampled accesses kept in DRAM: (9[0-9]|100)\.[0-9]% by access, [0-9.]+% by bytes' access.rc ||
        fail "share line"
    "$cli" check access.rc
    # The bytes ranking sends the large hot structure to KMEM (and keeps the cold one).
    "$cli" suggest --by bytes --dram-budget 24M -o bytes.rc p.txt 2>err
    cat bytes.rc
    grep -q 'ranked by bytes (--by bytes)' err || fail "no line saying bytes"
    grep -A3 "^# [0-9]*: " bytes.rc | grep -q alloc_hot_large || fail "bytes plan keeps hot_large"
    ! grep -A3 "^# [0-9]*: " bytes.rc | grep -q alloc_cold_large || fail "bytes plan moves cold_large"
    "$cli" check bytes.rc
    # The stats report: per route, the share of touches and of resident bytes.
    grep -Eq "^accesses \(KMEM_ACCESS\): [0-9]+ intervals of 50 ms, 4 callsites tracked; writes " stats.txt ||
        fail "stats access header"
    grep -Eq '^dax_kmem +[0-9.]+% +[0-9.]+%$' stats.txt || fail "stats access share"
    # The same run, JSON.
    KMEM_STATS=$work/s.json KMEM_ACCESS=50 LD_PRELOAD=$shim "$prog" 0.3 >/dev/null
    python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
a = r["access"]
assert a["interval_ms"] == 50 and a["tracked"] == 4, a
assert abs(sum(x["touch_share"] for x in a["routes"]) - 1) < 0.01, a
print("json ok", a)' s.json
    ;;
run)
    "$cli" run --profile "$work/p.txt" --access --interval 20 -- "$prog" 0.2 >out
    valid_profile p.txt
    grep -q '^# access interval_ms 20 ' p.txt || fail "interval not 20"
    "$cli" run -n --profile x --access -- true | grep -qx 'KMEM_ACCESS=100' || fail "default interval"
    # The rules file's `stats` line is enough for KMEM_ACCESS, and the report has the shares.
    printf 'stats %s/rc.txt\n' "$work" >rc
    KMEMRC=$work/rc KMEM_ACCESS=20 LD_PRELOAD=$shim "$prog" 0.2 >/dev/null
    grep -Eq '^accesses \(KMEM_ACCESS\): [0-9]+ intervals of 20 ms, 4 callsites tracked' rc.txt || fail "$(cat rc.txt)"
    ;;
short)
    # A program that exits at once still leaves a valid profile (the last sample is taken at exit).
    "$cli" run --profile "$work/t.txt" --access -- true
    valid_profile t.txt
    grep -q '^# access interval_ms 100 samples 1 ' t.txt || fail "one sample: $(grep access t.txt)"
    # The same with tracked callsites: no interval has passed.
    KMEM_PROFILE=$work/z.txt KMEM_ACCESS=1000 LD_PRELOAD=$shim "$prog" 0 >/dev/null
    valid_profile z.txt
    grep -Eq '^# access interval_ms 1000 samples 1 written [^ ]+ tracked 4 ' z.txt || fail "$(grep access z.txt)"
    ;;
fork)
    # Forked children (subshells) and exec-ed ones each write their own valid profile.
    "$cli" run --profile "$work/f.%p.txt" --access --interval 20 -- \
        bash -c "(\"$prog\" 0.1 >/dev/null); \"$prog\" 0.1 >/dev/null; (sleep 0.05; echo sub) | cat" >out
    [ "$(cat out)" = sub ] || fail "stdout: $(cat out)"
    n=0
    for f in f.*.txt; do valid_profile "$f"; n=$((n + 1)); done
    [ $n -ge 4 ] || fail "expected at least 4 profiles, found $n"
    # A child forked with tracked callsites: its own figures, from the fork on, and its own sampler.
    rm -f f.*.txt
    "$cli" run --profile "$work/f.%p.txt" --access --interval 50 -- "$prog" 1 fork >out
    [ "$(sort out | tr '\n' ' ')" = "access_prog: child done (0) access_prog: done (0) " ] || fail "stdout: $(cat out)"
    set -- f.*.txt
    [ $# = 2 ] || fail "expected two profiles: $*"
    for f in f.*.txt; do
        valid_profile "$f"
        grep -Eq "^# access interval_ms 50 samples ([5-9]|[1-9][0-9]+) .* tracked 4 " "$f" || fail "$f: $(grep '# access ' "$f")"
        # Both walk the hot list all the time: much of it touched per interval, even on a busy machine.
        awk -F'\t' '$7 ~ /^alloc_node/ && $11 / $10 > 0.3 { ok = 1 } END { exit !ok }' "$f" || fail "$f: hot list"
    done
    ;;
old)
    # A profile written without --access: planned by bytes, with one line saying so.
    KMEM_PROFILE=$work/old.txt LD_PRELOAD=$shim "$prog" 0 >/dev/null
    ! grep -q '^# access' old.txt || fail "access lines without KMEM_ACCESS"
    [ "$(grep -v '^#' old.txt | head -1 | awk -F'\t' '{print NF}')" = 9 ] || fail "old profile not 9 columns"
    "$cli" suggest --dram-budget 24M -o old.rc old.txt 2>err
    cat err
    [ "$(wc -l <err)" = 1 ] || fail "expected one line: $(cat err)"
    grep -qx 'kmemshim suggest: ranked by bytes: the profile has no access figures (profiled without --access); the largest peaks leave DRAM first' err ||
        fail "no bytes line"
    grep -q '^route kmem caller .*' old.rc || fail "no rule"
    "$cli" check old.rc
    set +e
    "$cli" suggest --by access old.txt >/dev/null 2>err
    rc=$?
    set -e
    if [ $rc != 2 ] || ! grep -q "has no access figures" err; then
        fail "--by access on an old profile: $rc $(cat err)"
    fi
    ;;
bad)
    expect_err() { # EXPECTED_STATUS PATTERN COMMAND...
        local want=$1 pat=$2 rc
        shift 2
        set +e
        "$@" >out 2>err
        rc=$?
        set -e
        [ "$rc" = "$want" ] || fail "$*: status $rc, expected $want ($(cat err))"
        grep -q -- "$pat" err || fail "$*: message '$(cat err)' lacks '$pat'"
        echo "ok: $* -> $(head -1 err)"
    }
    for v in abc 5 0 60001 -3 100x 99999999999999999999 ""; do
        expect_err 1 "KMEM_ACCESS='$v': expected the access sampling interval in milliseconds, 10 to 60000" \
            env KMEM_PROFILE="$work/p" KMEM_ACCESS="$v" LD_PRELOAD="$shim" true
    done
    expect_err 1 'KMEM_ACCESS: needs KMEM_PROFILE or KMEM_STATS' env KMEM_ACCESS=100 LD_PRELOAD="$shim" true
    expect_err 2 "--interval 'fast': expected milliseconds, 10 to 60000" "$cli" run --profile p --access --interval fast -- true
    expect_err 2 "--interval '9': expected milliseconds, 10 to 60000" "$cli" run --profile p --access --interval 9 -- true
    expect_err 2 '--interval is the sampling interval of --access' "$cli" run --profile p --interval 50 -- true
    expect_err 2 '--access needs --profile PATH or --stats' "$cli" run --access -- true
    KMEM_PROFILE=$work/p.txt KMEM_ACCESS=20 LD_PRELOAD=$shim /bin/true
    expect_err 2 "--by 'density': expected bytes or access" "$cli" suggest --by density p.txt
    printf '# kmemshim profile 1\n# access interval_ms 20 samples 1\n# peak_live\tcount\n' >cols.txt
    expect_err 1 'cols.txt:3: the column line lacks a column every profile has' "$cli" suggest cols.txt
    printf '# kmemshim profile 1\n# access interval_ms 20 samples 1\n# peak_live\tcount\tbytes\tlive_at_exit\troutes\tcallsite\tsymbol\tsource\tsizes\n' >noacc.txt
    expect_err 1 "noacc.txt:3: the header has an '# access' line but the column line no access columns" "$cli" suggest noacc.txt
    grep '^# peak_live' p.txt >header
    { printf '# kmemshim profile 1\n# access interval_ms 20 samples 1\n'; cat header; printf '1\t1\t1\t1\tdram\tx+0x1\t-\t-\t-\n'; } >short.txt
    expect_err 1 'short.txt:4: expected 16 tab-separated fields (as the column line), found 9' "$cli" suggest short.txt
    ;;
program)
    # A real program: identical output with access sampling; the times go to the log.
    py='
import collections
d = {}
for i in range(300000):
    d.setdefault(i % 7919, []).append(str(i))
l = [bytearray(1000) for _ in range(20000)]
c = collections.Counter(len(v) for v in d.values())
print(len(d), sum(c.values()), sorted(c.items())[:3], sum(len(x) for x in l))'
    t0=$(date +%s.%N)
    /usr/bin/python3 -c "$py" >plain.out
    t1=$(date +%s.%N)
    "$cli" run --profile "$work/prof.txt" -- /usr/bin/python3 -c "$py" >prof.out
    t2=$(date +%s.%N)
    "$cli" run --profile "$work/acc.txt" --access --interval 20 -- /usr/bin/python3 -c "$py" >acc.out
    t3=$(date +%s.%N)
    cmp plain.out prof.out || fail "output differs with --profile"
    cmp plain.out acc.out || fail "output differs with --access"
    valid_profile acc.txt
    python3 - "$t0" "$t1" "$t2" "$t3" acc.txt <<'PY'
import sys
t0, t1, t2, t3 = map(float, sys.argv[1:5])
facts = {}
for l in open(sys.argv[5]):
    if l.startswith("# access "):
        f = l.split()
        facts = dict(zip(f[2::2], f[3::2]))
n, cpu = int(facts["samples"]), float(facts["sampling_seconds"])
print("python3: plain %.2f s, --profile %.2f s, --profile --access (20 ms) %.2f s; "
      "%d samples, %.2f ms of CPU per sample, %d callsites tracked"
      % (t1 - t0, t2 - t1, t3 - t2, n, 1000 * cpu / max(n, 1), int(facts["tracked"])))
assert int(facts["tracked"]) >= 1, facts
PY
    ;;
*)
    fail "unknown case $case"
    ;;
esac
echo "access.$case: ok"
