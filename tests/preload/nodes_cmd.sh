#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kmemshim nodes: topology, where the KMEM nodes came from, and the node set
# of each route from each CPU node.
# usage: nodes_cmd.sh KMEMSHIM FIXTURES_DIR
set -euo pipefail
cmd=$1 fx=$2
fail=0
check() { # NAME EXPECTED ACTUAL
    if [ "$2" != "$3" ]; then
        echo "FAIL $1:"; diff <(echo "$2") <(echo "$3") || true; fail=1
    else
        echo "ok   $1"
    fi
}

got=$(KMEM_NODES=2,3 "$cmd" nodes --topology "$fx/four_node.txt")
check "four-node machine" "topology ($fx/four_node.txt): 4 node(s)
node  cpus              memory  tier  dax  kmem  why
   0  0                    512 MiB     -  no   no    has CPUs
   1  1                    512 MiB     -  no   no    has CPUs
   2  -                    256 MiB     -  no   yes   named by environment (KMEM_NODES)
   3  -                    256 MiB     -  no   yes   named by environment (KMEM_NODES)
distances:
  node    0    1    2    3
     0   10   21   17   28
     1   21   10   28   17
     2   17   28   10   28
     3   28   17   28   10
KMEM nodes: 2-3 (source: environment (KMEM_NODES))
kmem means: dax_kmem (KMEM_POLICY)
node sets (route, from CPU node: kernel policy and nodes):
  dram                    cpu-node 0: bind                0-1
  dram                    cpu-node 1: bind                0-1
  dax_kmem                cpu-node 0: bind                2
  dax_kmem                cpu-node 1: bind                3
  kmem_all                cpu-node 0: bind                2-3
  kmem_all                cpu-node 1: bind                2-3
  preferred               cpu-node 0: preferred           2
  preferred               cpu-node 1: preferred           3
  interleave              cpu-node 0: interleave          2-3
  interleave              cpu-node 1: interleave          2-3
  interleave_all          cpu-node 0: interleave          0-3
  interleave_all          cpu-node 1: interleave          0-3
  weighted_interleave     cpu-node 0: weighted_interleave 2-3
  weighted_interleave     cpu-node 1: weighted_interleave 2-3
  weighted_interleave_all cpu-node 0: weighted_interleave 0-3
  weighted_interleave_all cpu-node 1: weighted_interleave 0-3" "$got"

got=$(MEMKIND_DAX_KMEM_NODES=1,2 KMEM_POLICY=preferred "$cmd" nodes --topology "$fx/tie_one_cpu.txt" | sed -n '/^KMEM nodes/,$p')
check "tie, memkind's variable" "KMEM nodes: 1-2 (source: environment (MEMKIND_DAX_KMEM_NODES))
kmem means: preferred (KMEM_POLICY)
node sets (route, from CPU node: kernel policy and nodes):
  dram                    cpu-node 0: bind                0
  dax_kmem                cpu-node 0: bind                1-2
  kmem_all                cpu-node 0: bind                1-2
  preferred               cpu-node 0: preferred_many      1-2
  interleave              cpu-node 0: interleave          1-2
  interleave_all          cpu-node 0: interleave          0-2
  weighted_interleave     cpu-node 0: weighted_interleave 1-2
  weighted_interleave_all cpu-node 0: weighted_interleave 0-2" "$got"

# Detection from a fixture sysfs tree: HMAT finds 2 and 3 slow, and breaks the tie from node 0.
got=$(env -u KMEM_NODES "$cmd" nodes --topology "$fx/tie_hmat.txt" --sysfs "$fx/sysfs/slow" | grep -E '^ +[23]  -|^HMAT|^ +[0-3] {7}1  |^weighted|^KMEM nodes|^  (dax_kmem|preferred) |^note')
check "HMAT detection and tie-break (--sysfs)" "   2  -                    256 MiB     4  no   yes   memory tier 4 as the CPU nodes; HMAT latency 300 ns vs 100 ns of node 0's DRAM (>= 1.5x)
   3  -                    256 MiB     4  no   yes   memory tier 4 as the CPU nodes; HMAT latency 500 ns vs 100 ns of node 0's DRAM (>= 1.5x)
HMAT (from the nearest initiator; latency ns, bandwidth MB/s):
     0       1  0                100        100     20480     20480
     1       1  1                100        100     20480     20480
     2       1  0                300        300      5120      5120
     3       1  0-1              500        500      2048      2048
weighted interleave weights (node:weight): 0:4 1:4 2:1 3:1
KMEM nodes: 2-3 (source: detected (KMEM_DETECT=daxctl,tiers,hmat): libdaxctl: not asked, memory tiers: (none), HMAT: 2-3)
  dax_kmem                cpu-node 0: bind                2
  dax_kmem                cpu-node 1: bind                3
  preferred               cpu-node 0: preferred           2
  preferred               cpu-node 1: preferred           3
note: KMEM nodes 2-3 are equally close to CPU node 0 (distance 17); HMAT picks 2 (lowest read latency, then highest read bandwidth)" "$got"

got=$(env -u KMEM_NODES "$cmd" nodes --topology "$fx/four_node.txt" --sysfs "$fx/sysfs/dax" --json | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["kmem_nodes"], d["detect"])
for n in d["nodes"]:
    print(n["node"], n["tier"], n["kmem"], n["why"])
print(len(d["routes"]), d["routes"][2])')
check "JSON, lower tier" "2-3 daxctl,tiers,hmat
0 4 False has CPUs
1 4 False has CPUs
2 22 True memory tier 22, below the CPU nodes' tier 4; no HMAT latency
3 22 True memory tier 22, below the CPU nodes' tier 4; no HMAT latency
16 {'route': 'dax_kmem', 'cpu_node': 0, 'policy': 'bind', 'nodes': '2'}" "$got"

got=$(env -u KMEM_NODES "$cmd" nodes 2>&1 | grep -E '^KMEM nodes|^kmemshim: warning' || true)
check "live machine without KMEM nodes" "kmemshim: warning: no KMEM nodes: KMEM_NODES is not set and KMEM_DETECT=daxctl,tiers,hmat found no slow-memory node (no dax device in system-ram mode with online memory; no CPU-less node in a lower memory tier; the firmware gives no HMAT figures); every route uses DRAM
KMEM nodes: (none) (source: detected (KMEM_DETECT=daxctl,tiers,hmat): libdaxctl: (none), memory tiers: (none), HMAT: (none))" "$got"

# The warning once: in JSON a note of the output, not also on stderr.
got=$(env -u KMEM_NODES "$cmd" nodes --json 2>&1 >/dev/null)
check "JSON: no warning on stderr" "" "$got"
got=$(env -u KMEM_NODES "$cmd" nodes --json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
print(json.load(sys.stdin)["notes"])')
check "JSON: the warning in the notes" "['no KMEM nodes: KMEM_NODES is not set and KMEM_DETECT=daxctl,tiers,hmat found no slow-memory node (no dax device in system-ram mode with online memory; no CPU-less node in a lower memory tier; the firmware gives no HMAT figures); every route uses DRAM']" "$got"
got=$(env -u KMEM_NODES "$cmd" nodes 2>/dev/null | grep -c 'no KMEM nodes' || true)
check "text: the warning not on stdout" 0 "$got"

got=$(KMEM_NODES=0 "$cmd" nodes | grep -E '^KMEM nodes|^  dax_kmem')
check "live machine, KMEM_NODES=0" "KMEM nodes: 0 (source: environment (KMEM_NODES))
  dax_kmem                cpu-node 0: bind                0" "$got"

set +e
got=$(KMEM_NODES=9 "$cmd" nodes --topology "$fx/four_node.txt" 2>&1); rc=$?
set -e
check "unknown node" "1: kmemshim: error: environment (KMEM_NODES): KMEM node 9 does not exist (this machine has nodes 0-3)" "$rc: $got"
set +e
got=$(env -u KMEM_NODES "$cmd" nodes --topology "$fx/tie_hmat.txt" --sysfs "$fx/sysfs/bad_nodelist" 2>&1); rc=$?
set -e
check "malformed sysfs file" "1: kmemshim: error: $fx/sysfs/bad_nodelist/sys/devices/virtual/memory_tiering/memory_tier22/nodelist: expected a node number, found 'x'" "$rc: $got"
set +e
got=$(KMEM_DETECT=tiers,acpi "$cmd" nodes 2>&1); rc=$?
set -e
check "unknown KMEM_DETECT source" "1: kmemshim: error: KMEM_DETECT='tiers,acpi': unknown source 'acpi'; expected a comma-separated list of daxctl, tiers, hmat (or all)" "$rc: $got"
# A --topology file that is not numactl -H output: the file named, its bytes quoted.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
set +e
got=$("$cmd" nodes --topology /nonexistent/topo 2>&1); rc=$?
set -e
check "missing topology file" "1: kmemshim nodes: cannot read /nonexistent/topo: No such file or directory" "$rc: $got"
set +e
got=$("$cmd" nodes --topology "$work" 2>&1); rc=$?
set -e
check "directory as topology" "1: kmemshim nodes: cannot read $work: Is a directory" "$rc: $got"
printf '\177ELF\002\001\001\000\000' >"$work/elf"
set +e
got=$("$cmd" nodes --topology "$work/elf" 2>&1); rc=$?
set -e
check "binary topology" "1: kmemshim nodes: $work/elf: not numactl -H output (a NUL byte at offset 7: binary data)" "$rc: $got"
printf 'node 0 cpus: 0\n\177\001bad\n' >"$work/ctl"
set +e
got=$("$cmd" nodes --topology "$work/ctl" 2>&1); rc=$?
set -e
check "control bytes quoted" "1: kmemshim nodes: $work/ctl: line 2: unrecognised line '\\x7f\\x01bad' (expected numactl -H output)" "$rc: $got"
: >"$work/empty"
set +e
got=$("$cmd" nodes --topology "$work/empty" 2>&1); rc=$?
set -e
check "empty topology" "1: kmemshim nodes: $work/empty: no nodes found (expected numactl -H output)" "$rc: $got"
set +e
got=$("$cmd" nodes --bogus 2>&1); rc=$?
set -e
check "bad argument" "2: kmemshim nodes: unexpected argument '--bogus' (see --help)" "$rc: $got"
exit $fail
