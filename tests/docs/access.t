README's placing by access: access_demo's two structures of 64 MiB (an index read all the time,
a log written once), and the four structures of tests/preload/programs/access_prog.c, profiled by access
with everything in DRAM, node 0 standing in for a KMEM node, planned by access. What varies from
run to run (the program's speed, the access rates, the bytes plan's accident of ordering, the
share of accesses kept, which depends on how many intervals the cost bound allows a loaded machine)
is masked; the ranking is checked: the index stays in DRAM and the log goes to kmem; the two hot
structures of access_prog (in either order: their densities are both close to 1) stay.

  $ . "$TESTDIR/setup.sh"
  $ kmemshim run --nodes 0 --threshold 1T --profile demo.prof --access -- access_demo
  [0-9]+ lookups \(0\) (re)
  $ kmemshim suggest --by bytes --dram-budget 64M -o bytes.rules demo.prof
  kmemshim suggest: ranked by bytes (--by bytes): the largest peaks leave DRAM first
  $ kmemshim suggest --dram-budget 64M -o access.rules demo.prof
  kmemshim suggest: ranked by access density: the callsites touched most per byte stay in DRAM
  $ sed -n '6,8p;11p' access.rules
  # callsite                                           peak  access rate  density  route
  # make_index\+0x[0-9a-f]+ +64\.0 MiB +[0-9.]+ (KiB|MiB) +[0-9.]+  dram (re)
  # make_log\+0x[0-9a-f]+ +64\.0 MiB +[0-9.]+ (KiB|MiB) +[0-9.]+  kmem (re)
  # sampled accesses kept in DRAM: ([5-9][0-9]|100)\.[0-9]% by access, [0-9.]+% by bytes \(of the tracked callsites' touches\) (re)
  $ KMEM_ACCESS_COST=0 kmemshim run --nodes 0 --threshold 1T --profile prog.prof --access -- build/tests/preload/access_prog 3
  access_prog: done (0)
  $ kmemshim suggest --dram-budget 24M -o prog.rules prog.prof
  kmemshim suggest: ranked by access density: the callsites touched most per byte stay in DRAM
  $ sed -n '6,10p;13p' prog.rules
  # callsite                                           peak  access rate  density  route
  # (alloc_hot_large\+0x[0-9a-f]+ +20\.0|alloc_node\+0x[0-9a-f]+ +[0-9.]+) MiB +[0-9.]+ (KiB|MiB) +[0-9.]+  dram (re)
  # (alloc_hot_large\+0x[0-9a-f]+ +20\.0|alloc_node\+0x[0-9a-f]+ +[0-9.]+) MiB +[0-9.]+ (KiB|MiB) +[0-9.]+  dram (re)
  # alloc_medium\+0x[0-9a-f]+ +4\.0 MiB +[0-9.]+ (KiB|MiB) +[0-9.]+  kmem (re)
  # alloc_cold_large\+0x[0-9a-f]+ +16\.0 MiB +[0-9.]+ (KiB|MiB) +[0-9.]+  kmem (re)
  # sampled accesses kept in DRAM: ([5-9][0-9]|100)\.[0-9]% by access, [0-9.]+% by bytes \(of the tracked callsites' touches\) (re)
