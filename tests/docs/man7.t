kmemshim(7)'s examples of a statistics report and of a profile: ./app, every block recorded,
node 0 standing in for a KMEM node; and the profile example as man renders it, its tab-separated
fields in columns.

  $ . "$TESTDIR/setup.sh"
  $ KMEM_NODES=0 KMEM_THRESHOLD=1M KMEM_STATS_SAMPLE=0 KMEM_STATS=stderr KMEM_PROFILE=app.prof LD_PRELOAD=libkmemshim.so ./app
  app: 100000 blocks of 48 bytes: default; 20 blocks of 1 MiB: bind:0
  kmemshim stats: pid [0-9]+, \./app, [0-9]+\.[0-9]{3} s (re)
  every block recorded (KMEM_STATS_SAMPLE=0)
  route       allocations      requested           live      peak live
  dram             100000        4.6 MiB            0 B           48 B
      no arena: mimalloc's plain heap, the process's own NUMA policy
  dax_kmem             20       20.0 MiB            0 B       20.0 MiB
      arena bind 0 \([0-9.]+ [GT]iB reserved\): resident node 0 20\.[0-9] MiB (re)
  total                                             0 B       20.0 MiB
  resident bytes measured with move_pages(2)
  freed arena pages kept for reuse: [0-9.]+ (B|KiB|MiB|GiB), reused [0-9.]+ (B|KiB|MiB|GiB), returned to the kernel later [0-9.]+ (B|KiB|MiB|GiB), kept now [0-9.]+ (B|KiB|MiB|GiB) (re)
  top 2 callsites by bytes requested:
         requested      count      peak live  route         callsite
          20.0 MiB         20       20.0 MiB  dax_kmem      app\+0x[0-9a-f]+ load\+0x[0-9a-f]+ (re)
           4.6 MiB     100000           48 B  dram          app\+0x[0-9a-f]+ parse\+0x[0-9a-f]+ (re)
  $ cat app.prof
  # kmemshim profile 1
  # pid [0-9]+ program \./app (re)
  # total peak_live 20971568 live_at_exit 0
  # sample_period 0
  # peak_live\tcount\tbytes\tlive_at_exit\troutes\tcallsite\tsymbol\tsource\tsizes (esc)
  20971520\\t20\\t20971520\\t0\\tdax_kmem\\tapp\+0x[0-9a-f]+\\tload\+0x[0-9a-f]+\\t\S*app\.c:[0-9]+\\t1048576:20 \(esc\) (re)
  48\\t100000\\t4800000\\t0\\tdram\\tapp\+0x[0-9a-f]+\\tparse\+0x[0-9a-f]+\\t\S*app\.c:[0-9]+\\t64:100000 \(esc\) (re)
  $ groff -t -man -Tutf8 -P-cbou "$src/man/kmemshim.7" 2>/dev/null | sed -n '/^ *# kmemshim profile 1/,/^ *48 /p'
         # kmemshim profile 1
         # pid 2778 program ./app
         # total peak_live 20971568 live_at_exit 0
         # sample_period 0
         # peak_live count  bytes    live_at_exit routes   callsite   symbol     source   sizes
         20971520    20     20971520 0            dax_kmem app+0x132e load+0xe   app.c:40 1048576:20
         48          100000 4800000  0            dram     app+0x12ea parse+0x1a app.c:26 64:100000
