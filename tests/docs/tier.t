README's runtime tiering: tier_phases (bench/workloads/tier_phases.c) reads structure A at random
for 5 s, then structure B, beside a log written once; a 40 MiB budget holds one of the three
32 MiB structures. The static plan from an access profile keeps one index in DRAM for the whole
run; runtime tiering follows the heat. Node 0 stands in for a KMEM node. The shares of the
touches that DRAM served vary with the machine's load (the interval grows with it): not checked
here; the mappings' policies at the end of each phase are (preload.tier and vm.tier check the
placement itself).

  $ . "$TESTDIR/setup.sh"

The two ways to turn it on, with ./app: a budget that holds everything keeps its blocks in DRAM
(the default policy, here); a budget of 0 sends the tracked callsites to KMEM.

  $ export KMEM_NODES=0
  $ KMEM_DRAM_BUDGET=8G LD_PRELOAD=libkmemshim.so ./app
  app: 100000 blocks of 48 bytes: default; 20 blocks of 1 MiB: default
  $ kmemshim run --dram-budget 8G -- ./app
  app: 100000 blocks of 48 bytes: default; 20 blocks of 1 MiB: default
  $ KMEM_DRAM_BUDGET=0 LD_PRELOAD=libkmemshim.so ./app
  app: 100000 blocks of 48 bytes: bind:0; 20 blocks of 1 MiB: bind:0
  $ unset KMEM_NODES

The demonstration:

  $ P=build/tier_phases
  $ kmemshim run --nodes 0 --threshold 1T --access --profile tier.prof -- $P --size 32 --phase 5 >/dev/null
  $ kmemshim suggest --dram-budget 40M -o static.rules tier.prof
  kmemshim suggest: ranked by access density: the callsites touched most per byte stay in DRAM
  $ kmemshim run --nodes 0 --rules static.rules --access --stats=static.txt -- $P --size 32 --phase 5 >/dev/null
  $ grep -A3 '^accesses' static.txt
  accesses \(KMEM_ACCESS\): [0-9]+ intervals of 100 ms.* (re)
  route        share of touches share of resident peak
  dram  +[0-9.]+% +[0-9.]+% (re)
  dax_kmem  +[0-9.]+% +[0-9.]+% (re)
  $ kmemshim run --nodes 0 --dram-budget 40M --stats=tier.txt --timeline tier.tsv -- $P --size 32 --phase 5 | grep policy
  phase 1 A dram_share - pages 8192 absent 0 nodes 0=8192 policy default
  phase 1 B dram_share - pages 8192 absent 0 nodes 0=8192 policy bind:0
  phase 1 log dram_share - pages 8192 absent 0 nodes 0=8192 policy bind:0
  phase 2 A dram_share - pages 8192 absent 0 nodes 0=8192 policy bind:0
  phase 2 B dram_share - pages 8192 absent 0 nodes 0=8192 policy default
  phase 2 log dram_share - pages 8192 absent 0 nodes 0=8192 policy bind:0
  $ grep -A4 '^tiering' tier.txt
  tiering \(KMEM_DRAM_BUDGET 40M\): [0-9]+ moves, [0-9.]+ MiB promoted, [0-9.]+ MiB demoted, 0\.0 MiB could not move; DRAM served [0-9.]+% of the sampled touches (re)
      group                                    tier   density     resident     promoted      demoted  moves
      tier_phases\+0x[0-9a-f]+ +(dram|kmem) .* (re)
      tier_phases\+0x[0-9a-f]+ +(dram|kmem) .* (re)
      tier_phases\+0x[0-9a-f]+ +(dram|kmem) .* (re)
  $ scripts/timeline-plot.sh tier.tsv tier.png
  timeline-plot.sh: 3 groups, [0-9.]+ s -> tier.png (re)
