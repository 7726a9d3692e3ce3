README's first block: ./app under the shim, configured four ways. This machine may have no KMEM
node: node 0 stands in for one (KMEM_NODES=0), as everywhere in the examples.

  $ . "$TESTDIR/setup.sh"
  $ export KMEM_NODES=0
  $ LD_PRELOAD=libkmemshim.so ./app                                  # everything to KMEM
  app: 100000 blocks of 48 bytes: bind:0; 20 blocks of 1 MiB: bind:0
  $ KMEM_POLICY=preferred KMEM_THRESHOLD=1M LD_PRELOAD=libkmemshim.so ./app   # 1 MiB and more to KMEM
  app: 100000 blocks of 48 bytes: default; 20 blocks of 1 MiB: prefer:0
  $ kmemshim run --policy preferred --threshold 1M -- ./app         # the same, the library found for you
  app: 100000 blocks of 48 bytes: default; 20 blocks of 1 MiB: prefer:0
  $ KMEMRC=./kmemrc LD_PRELOAD=libkmemshim.so ./app                  # by the rules of a file
  app: 100000 blocks of 48 bytes: default; 20 blocks of 1 MiB: bind:0
