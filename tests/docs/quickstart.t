The quick start's demonstration, as quickstart.sh runs it after its build: on this machine
without KMEM nodes node 0 stands in for one, and python3's 64 MiB of buffers are on the KMEM
route (bind:0, 64 MiB or more) beside the small objects' DRAM (default).

  $ . "$TESTDIR/setup.sh"
  $ "$src/scripts/quickstart_demo.sh" build
  == this machine has no KMEM DAX node: node 0 stands in for one (KMEM_NODES=0)
  KMEM nodes: 0 (source: environment (KMEM_NODES))
  kmem means: dax_kmem (KMEM_POLICY)
  node sets (route, from CPU node: kernel policy and nodes):
    dram                    cpu-node 0: default             all nodes
    dax_kmem                cpu-node 0: bind                0
    kmem_all                cpu-node 0: bind                0
    preferred               cpu-node 0: preferred           0
    interleave              cpu-node 0: interleave          0
    interleave_all          cpu-node 0: interleave          0
    weighted_interleave     cpu-node 0: weighted_interleave 0
    weighted_interleave_all cpu-node 0: weighted_interleave 0
  == python3 under the shim: small objects stay in DRAM, blocks of 64K and more go to KMEM
  python3: 300000 dict entries, 64 MiB of buffers
  where the anonymous memory is (kernel policy of the mapping: resident MiB)
    bind:0 +(6[4-9]|[7-9][0-9]|[1-9][0-9]{2,})\.[0-9] MiB (re)
    default +[0-9]+\.[0-9] MiB (re)
