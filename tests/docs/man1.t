kmemshim(1)'s EXAMPLES on ./app, node 0 standing in for a KMEM node: profile with everything in
DRAM, suggest rules for a 16 MiB DRAM budget, check them and run with them (the 20 blocks of
1 MiB move to the KMEM route, bind:0); the same by access.

  $ . "$TESTDIR/setup.sh"
  $ export KMEM_NODES=0
  $ kmemshim run --threshold 1T --profile app.prof -- ./app
  app: 100000 blocks of 48 bytes: default; 20 blocks of 1 MiB: default
  $ kmemshim suggest --dram-budget 16M -o app.rules app.prof
  kmemshim suggest: ranked by bytes: the profile has no access figures (profiled without --access); the largest peaks leave DRAM first
  $ kmemshim check app.rules
  app.rules: ok: 1 route (1 by caller); default dram
  app.rules: where no route matches: dram (the default line)
  $ kmemshim run --rules app.rules --stats -- ./app
  app: 100000 blocks of 48 bytes: default; 20 blocks of 1 MiB: bind:0
  kmemshim stats: pid [0-9]+, \./app, [0-9]+\.[0-9]{3} s (re)
  live bytes and callsites estimated from sampled blocks: one per 256.0 KiB allocated on average, and every block of 256.0 KiB or more (KMEM_STATS_SAMPLE)
  route       allocations      requested           live      peak live
  dram             100000        4.6 MiB            0 B      256.0 KiB
      no arena: mimalloc's plain heap, the process's own NUMA policy
  dax_kmem             20       20.0 MiB            0 B       20.0 MiB
      arena bind 0 \([0-9.]+ [GT]iB reserved\): resident node 0 20\.[0-9] MiB (re)
  total                                             0 B       20.0 MiB
  resident bytes measured with move_pages(2)
  freed arena pages kept for reuse: [0-9.]+ (B|KiB|MiB|GiB), reused [0-9.]+ (B|KiB|MiB|GiB), returned to the kernel later [0-9.]+ (B|KiB|MiB|GiB), kept now [0-9.]+ (B|KiB|MiB|GiB) (re)
  top 2 callsites by bytes requested:
         requested      count      peak live  route         callsite
          20.0 MiB         20       20.0 MiB  dax_kmem      app\+0x[0-9a-f]+ load\+0x[0-9a-f]+ (re)
           4.0 MiB      87389      256.0 KiB  dram          app\+0x[0-9a-f]+ parse\+0x[0-9a-f]+ (re)
  $ kmemshim run --threshold 1T --profile app.prof --access -- ./app
  app: 100000 blocks of 48 bytes: default; 20 blocks of 1 MiB: default
  $ kmemshim suggest --dram-budget 16M -o app.rules app.prof
  kmemshim suggest: ranked by access density: the callsites touched most per byte stay in DRAM
  $ grep '^route' app.rules
  route kmem caller app\+0x[0-9a-f]+ (re)
  $ kmemshim run --rules app.rules --stats --access -- ./app
  app: 100000 blocks of 48 bytes: default; 20 blocks of 1 MiB: bind:0
  kmemshim stats: pid [0-9]+, \./app, [0-9]+\.[0-9]{3} s (re)
  live bytes and callsites estimated from sampled blocks: one per 256.0 KiB allocated on average, and every block of 256.0 KiB or more (KMEM_STATS_SAMPLE)
  route       allocations      requested           live      peak live
  dram             100000        4.6 MiB            0 B      256.0 KiB
      no arena: mimalloc's plain heap, the process's own NUMA policy
  dax_kmem             20       20.0 MiB            0 B       20.0 MiB
      arena bind 0 \([0-9.]+ [KMGT]?i?B reserved\): resident node 0 20\.[0-9] MiB (re)
  total                                             0 B       20.0 MiB
  resident bytes measured with move_pages(2)
  freed arena pages kept for reuse: [0-9.]+ (B|KiB|MiB|GiB), reused [0-9.]+ (B|KiB|MiB|GiB), returned to the kernel later [0-9.]+ (B|KiB|MiB|GiB), kept now [0-9.]+ (B|KiB|MiB|GiB) (re)
  top 2 callsites by bytes requested:
         requested      count      peak live  route         callsite
          20.0 MiB         20       20.0 MiB  dax_kmem      app\+0x[0-9a-f]+ load\+0x[0-9a-f]+ (re)
           4.0 MiB      87389      256.0 KiB  dram          app\+0x[0-9a-f]+ parse\+0x[0-9a-f]+ (re)
  accesses \(KMEM_ACCESS\): [0-9]+ intervals? of 100 ms( \(lengthened to [0-9]+ ms by KMEM_ACCESS_COST\))?, 2 callsites tracked; writes (n/a \(no soft-dirty bits in this kernel\)|.*) (re)
  route        share of touches share of resident peak
  dram +[0-9.]+% +[0-9.]+% (re)
  dax_kmem +[0-9.]+% +[0-9.]+% (re)
