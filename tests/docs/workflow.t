README's everyday workflow on bench/demo.py, node 0 standing in for a KMEM node: see where the
memory goes, profile with everything in DRAM, plan for a 16 MiB DRAM budget, check, run with the
plan. python3's allocations vary a little from run to run (its reallocs, which the shim counts as
requests, depend on where blocks land): the figures that vary are masked, the ones that matter
(the 64 MiB of buffers, one rule, DRAM's peak under the budget) are checked. Masked as well:
process ids, times, the address space reserved (the machine's memory) and the offsets of
python3's callsites (they change with every build of python3).

  $ . "$TESTDIR/setup.sh"
  $ kmemshim run --nodes 0 --threshold 64K --stats=demo.stats -- /usr/bin/python3 bench/demo.py
  300000 67108864
  $ head -14 demo.stats
  kmemshim stats: pid [0-9]+, /usr/bin/python3, [0-9]+\.[0-9]{3} s (re)
  live bytes and callsites estimated from sampled blocks: one per 256.0 KiB allocated on average, and every block of 256.0 KiB or more (KMEM_STATS_SAMPLE)
  route       allocations      requested           live      peak live
  dram +[0-9]+ +[0-9.]+ (KiB|MiB) +[0-9.]+ (B|KiB|MiB) +[0-9.]+ (B|KiB|MiB) (re)
      no arena: mimalloc's plain heap, the process's own NUMA policy
  dax_kmem +[0-9]+ +(7[0-9]|8[0-9])\.[0-9] MiB +[0-9.]+ (B|KiB|MiB) +(6[4-9]|7[0-9])\.[0-9] MiB (re)
      arena bind 0 \([0-9.]+ [GT]iB reserved\): resident node 0 (6[4-9]|7[0-9])\.[0-9] MiB (re)
  total +[0-9.]+ (B|KiB|MiB) +(6[4-9]|7[0-9])\.[0-9] MiB (re)
  resident bytes measured with move_pages(2)
  freed arena pages kept for reuse: [0-9.]+ (B|KiB|MiB|GiB), reused [0-9.]+ (B|KiB|MiB|GiB), returned to the kernel later [0-9.]+ (B|KiB|MiB|GiB), kept now [0-9.]+ (B|KiB|MiB|GiB) (re)
  top [0-9]+ callsites by bytes requested: (re)
         requested      count      peak live  route         callsite
          64.0 MiB         64       64.0 MiB  dax_kmem      python3\.11\+0x[0-9a-f]+ (re)
   +[0-9.]+ MiB +[0-9]+ +[0-9.]+ MiB  dram,dax_kmem python3\.11\+0x[0-9a-f]+ (re)
  $ kmemshim run --nodes 0 --threshold 1T --profile demo.prof -- /usr/bin/python3 bench/demo.py
  300000 67108864
  $ head -6 demo.prof
  # kmemshim profile 1
  # pid [0-9]+ program /usr/bin/python3 (re)
  # total peak_live [0-9]+ live_at_exit [0-9]+ (re)
  # sample_period 262144
  # peak_live\tcount\tbytes\tlive_at_exit\troutes\tcallsite\tsymbol\tsource\tsizes (esc)
  67108928\\t[0-9]+\\t[0-9]+\\t0\\tdram\\tpython3\.11\+0x[0-9a-f]+\\t-\\t-\\t([0-9:,]+,)?4194304:64 \(esc\) (re)
  $ kmemshim suggest --dram-budget 16M -o demo.rules demo.prof
  kmemshim suggest: ranked by bytes: the profile has no access figures (profiled without --access); the largest peaks leave DRAM first
  $ tail -7 demo.rules
  default dram
  
  # 1: 64\.0 MiB live at peak \([0-9.]+% of all peaks\), [0-9]+ allocations, 64\.[0-9] MiB requested; routes seen: dram (re)
  #    python3\.11\+0x[0-9a-f]+ (re)
  route kmem caller python3\.11\+0x[0-9a-f]+ (re)
  
  # DRAM left at peak: ([0-9]|1[0-5])\.[0-9] MiB; 64\.0 MiB goes to kmem (re)
  $ kmemshim check demo.rules
  demo.rules: ok: 1 route (1 by caller); default dram
  demo.rules: where no route matches: dram (the default line)
  $ kmemshim run --nodes 0 --rules demo.rules --stats=after.stats -- /usr/bin/python3 bench/demo.py
  300000 67108864
  $ head -10 after.stats
  kmemshim stats: pid [0-9]+, /usr/bin/python3, [0-9]+\.[0-9]{3} s (re)
  live bytes and callsites estimated from sampled blocks: one per 256.0 KiB allocated on average, and every block of 256.0 KiB or more (KMEM_STATS_SAMPLE)
  route       allocations      requested           live      peak live
  dram +[0-9]+ +1[0-9]\.[0-9] MiB +[0-9.]+ (B|KiB|MiB) +([0-9]|1[0-5])\.[0-9] MiB (re)
      no arena: mimalloc's plain heap, the process's own NUMA policy
  dax_kmem +[0-9]+ +64\.[0-9] MiB +[0-9.]+ (B|KiB) +64\.[0-9] MiB (re)
      arena bind 0 \([0-9.]+ [GT]iB reserved\): resident node 0 6[4-9]\.[0-9] MiB (re)
  total +[0-9.]+ (B|KiB|MiB) +(6[4-9]|7[0-9])\.[0-9] MiB (re)
  resident bytes measured with move_pages(2)
  freed arena pages kept for reuse: [0-9.]+ (B|KiB|MiB|GiB), reused [0-9.]+ (B|KiB|MiB|GiB), returned to the kernel later [0-9.]+ (B|KiB|MiB|GiB), kept now [0-9.]+ (B|KiB|MiB|GiB) (re)
