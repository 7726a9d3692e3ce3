README's configuration reference: a bad value stops the program before main, exit status 1.

  $ . "$TESTDIR/setup.sh"
  $ KMEM_THRESHOLD=12Q LD_PRELOAD=libkmemshim.so /bin/true
  kmemshim: error: KMEM_THRESHOLD='12Q': unknown suffix (expected K, M, G or T); expected a size such as 4096, 64K, 1M, 2G or 1T
  [1]
