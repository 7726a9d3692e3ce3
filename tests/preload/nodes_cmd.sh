#!/usr/bin/env bash
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
node  cpus              memory  kmem
   0  0                    512 MiB  
   1  1                    512 MiB  
   2  -                    256 MiB  yes
   3  -                    256 MiB  yes
distances:
  node    0    1    2    3
     0   10   21   17   28
     1   21   10   28   17
     2   17   28   10   28
     3   28   17   28   10
KMEM nodes: 2-3 (source: environment (KMEM_NODES))
kmem means: dax_kmem (KMEM_POLICY)
node sets (route, from CPU node: kernel policy and nodes):
  dram       cpu-node 0: bind           0-1
  dram       cpu-node 1: bind           0-1
  dax_kmem   cpu-node 0: bind           2
  dax_kmem   cpu-node 1: bind           3
  kmem_all   cpu-node 0: bind           2-3
  kmem_all   cpu-node 1: bind           2-3
  preferred  cpu-node 0: preferred      2
  preferred  cpu-node 1: preferred      3" "$got"

got=$(MEMKIND_DAX_KMEM_NODES=1,2 KMEM_POLICY=preferred "$cmd" nodes --topology "$fx/tie_one_cpu.txt" | sed -n '/^KMEM nodes/,$p')
check "tie, memkind's variable" "KMEM nodes: 1-2 (source: environment (MEMKIND_DAX_KMEM_NODES))
kmem means: preferred (KMEM_POLICY)
node sets (route, from CPU node: kernel policy and nodes):
  dram       cpu-node 0: bind           0
  dax_kmem   cpu-node 0: bind           1-2
  kmem_all   cpu-node 0: bind           1-2
  preferred  cpu-node 0: preferred_many 1-2" "$got"

got=$(env -u KMEM_NODES "$cmd" nodes 2>&1 | grep -E '^KMEM nodes|^kmemshim: warning' || true)
check "live machine without KMEM nodes" "kmemshim: warning: no KMEM nodes: KMEM_NODES is not set and libdaxctl found no dax device in system-ram mode with online memory; every route uses DRAM
KMEM nodes: (none) (source: none)" "$got"

got=$(KMEM_NODES=0 "$cmd" nodes | grep -E '^KMEM nodes|^  dax_kmem')
check "live machine, KMEM_NODES=0" "KMEM nodes: 0 (source: environment (KMEM_NODES))
  dax_kmem   cpu-node 0: bind           0" "$got"

set +e
got=$(KMEM_NODES=9 "$cmd" nodes --topology "$fx/four_node.txt" 2>&1); rc=$?
set -e
check "unknown node" "1: kmemshim: error: environment (KMEM_NODES): KMEM node 9 does not exist (this machine has nodes 0-3)" "$rc: $got"
set +e
got=$("$cmd" nodes --bogus 2>&1); rc=$?
set -e
check "bad argument" "2: kmemshim nodes: unexpected argument '--bogus' (see --help)" "$rc: $got"
exit $fail
