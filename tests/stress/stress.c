/* SPDX-License-Identifier: MIT */
/* kms_stress: a long, many-threaded workout of every allocation entry point,
 * meant to run under the shim (LD_PRELOAD=libkmemshim.so, KMEMRC=stress.kmemrc).
 *
 * - worker threads (--threads, default 8) allocate through malloc, calloc,
 *   realloc(NULL), reallocarray, posix_memalign, aligned_alloc, memalign,
 *   valloc, pvalloc and C++ new (every variant, freed with the matching
 *   delete, sized or not), with sizes drawn across every size class from 1
 *   byte to 64 MiB; each block is filled with a pattern derived from its
 *   address and checked before it is freed (calloc blocks are checked for
 *   zeros first, aligned ones for their alignment);
 * - blocks are handed to other workers, which check and free them;
 * - realloc/reallocarray chains grow and shrink blocks, checking that the
 *   contents moved with them;
 * - worker 0 forks now and then; the child checks worker 0's blocks,
 *   allocates through every entry point, starts a thread, and exits;
 * - a thread dlopen-s and dlclose-s a library that allocates (constructor,
 *   dynamic TLS, blocks freed by the program after dlclose);
 * - two spawners keep short-lived threads coming and going (each allocates,
 *   hands some blocks to the workers and exits), 10,000+ per 30 s run, so
 *   per-thread heaps are created and reclaimed all the time;
 * - the main thread samples RSS (/proc/self/statm) and watches every
 *   thread's progress.
 *
 * It fails (exit status 1, one line on stderr saying why) on: a changed byte,
 * a NULL from an allocation the test keeps within the memory budget, a bad
 * alignment, a calloc block that is not zero, a forked child that fails or
 * hangs, a thread that makes no progress for --watchdog seconds (deadlock),
 * and RSS growth: after the warm-up (the first third of the run, at most 10 s)
 * RSS must stay below --rss-factor (default 2) times the largest RSS seen
 * during the warm-up, plus 64 MiB. The live data is bounded (at most
 * --budget bytes in blocks over 1 MiB, a fixed number of slots per thread),
 * so a steady allocator stays flat; a heap kept per exited thread, or freed
 * memory that is never reused, grows past it.
 *
 * --budget MIB: bytes in big blocks alive at once (default 384); --churn N: short-lived
 * threads each of the two spawners keeps alive (default 8); --allow-enomem 1: a NULL with ENOMEM is
 * counted, not a failure (a bound KMEM route on a small node, e.g. the VM's 256 MiB ones, can fill
 * up: each thread takes whole 32 MiB mimalloc segments from it).
 * --min-lifetimes N: short-lived threads that must come and go; the run is extended (up to
 * 4 x --seconds) until they have, and fails if they have not.
 * --expect-policies N: at the end, the blocks still held must lie in mappings
 * of at least N distinct NUMA policies (/proc/self/numa_maps: "default",
 * "bind:0", "prefer:0"...), i.e. the rules file spread them over the routes.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef KMS_STRESS_DL
#define KMS_STRESS_DL "libkms_stress_dl.so"
#endif

/* C++ new/delete (stress_cxx.cc). */
void *stress_cxx_new(size_t n, int variant, size_t align);
void stress_cxx_delete(void *p, size_t n, int variant, size_t align, int sized);
enum { CXX_VARIANTS = 6, CXX_ALIGNED_FIRST = 3 };

enum {
    SLOTS = 128,    /* blocks each worker holds */
    BIG_SLOTS = 2,  /* of which big (1..64 MiB): slots 0 and 1 */
    BIG_EVERY = 96, /* one operation in BIG_EVERY is on a big slot */
    MAILBOX = 512,  /* blocks waiting to be freed by a worker */
    MAX_THREADS = 64,
    MAX_CHURN = 16,          /* short-lived threads per spawner alive at once: --churn, default 8 */
    FORK_INTERVAL_MS = 1500, /* worker 0 forks this often */
};
#define BIG (1ull << 20) /* blocks above this count against the budget */
#define MAX_SIZE (64ull << 20)

/* How a block was made, so it is freed the matching way. */
enum entry {
    E_MALLOC,
    E_CALLOC,
    E_REALLOC_NULL,
    E_REALLOCARRAY_NULL,
    E_POSIX_MEMALIGN,
    E_ALIGNED_ALLOC,
    E_MEMALIGN,
    E_VALLOC,
    E_PVALLOC,
    E_CXX, /* + variant */
    E_COUNT = E_CXX + CXX_VARIANTS,
};
static const char *const entry_name[E_COUNT] = {
    "malloc",
    "calloc",
    "realloc(NULL)",
    "reallocarray(NULL)",
    "posix_memalign",
    "aligned_alloc",
    "memalign",
    "valloc",
    "pvalloc",
    "new",
    "new[]",
    "new(nothrow)",
    "new(align)",
    "new[](align)",
    "new(align,nothrow)",
};

struct blk {
    unsigned char *p;
    size_t size;
    uint32_t align;
    uint8_t entry;
    uint8_t used;
};

struct mailbox {
    pthread_mutex_t lock;
    struct blk q[MAILBOX];
    unsigned head, n;
};

struct worker {
    pthread_t tid;
    int id;
    uint64_t rng;
    struct blk slot[SLOTS];
    struct mailbox mb;
    _Atomic unsigned long beat; /* progress counter the watchdog reads */
    unsigned long ops, frees, reallocs, handoffs, forks;
};

static struct {
    int threads;
    double seconds;
    double rss_factor;
    int watchdog;
    int expect_policies;
    const char *dl_path;
    unsigned long min_lifetimes;
    int verbose;
    uint64_t budget; /* bytes in big blocks alive at once */
    int churn;
    int allow_enomem;
} opt = {8, 30, 2.0, 60, 0, NULL, 0, 0, 384ull << 20, 8, 0};

static struct worker workers[MAX_THREADS];
static _Atomic int stop;
static _Atomic uint64_t big_live;
static _Atomic unsigned long churn_lifetimes, churn_ops, dl_cycles, enomem;
static _Atomic unsigned long spawner_beat[2], dl_beat; /* two spawners */
static long page_size;

/* ---- failing --------------------------------------------------------------- */

/* Prints one line with write(2) (no allocation: the allocator may be what broke) and exits. */
static __attribute__((noreturn, format(printf, 1, 2))) void fail(const char *fmt, ...)
{
    char buf[512];
    int n = snprintf(buf, sizeof(buf), "kms_stress: FAIL: ");
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(buf) - 2) n = (int)sizeof(buf) - 2;
    buf[n++] = '\n';
    ssize_t rc = write(STDERR_FILENO, buf, (size_t)n);
    (void)rc;
    _exit(1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rnd(uint64_t *s)
{
    /* xorshift64* */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* ---- the pattern ------------------------------------------------------------ */

static inline uint64_t pat(uintptr_t base, size_t i)
{
    uint64_t x = ((uint64_t)base ^ 0x5bd1e9955bd1e995ull) * 0x9E3779B97F4A7C15ull +
                 (uint64_t)i * 0xD6E8FEB86659FD93ull;
    return x ^ (x >> 29);
}

/* Byte j of the pattern, the same whatever the block's size (x86-64 is little-endian), so a
 * prefix can be checked after realloc. */
static inline unsigned char pat_byte(uintptr_t base, size_t j)
{
    return (unsigned char)(pat(base, j / 8) >> (8 * (j % 8)));
}

/* Fills [0, size) of p with the pattern of address base. */
static void fill(unsigned char *p, size_t size, uintptr_t base)
{
    size_t words = size / 8;
    uint64_t *w = (uint64_t *)(void *)p; /* every block is at least 8-aligned */
    for (size_t i = 0; i < words; i++)
        w[i] = pat(base, i);
    for (size_t j = words * 8; j < size; j++)
        p[j] = pat_byte(base, j);
}

/* Offset of the first byte of [0, size) that is not base's pattern, or SIZE_MAX. */
static size_t check(const unsigned char *p, size_t size, uintptr_t base)
{
    size_t words = size / 8;
    const uint64_t *w = (const uint64_t *)(const void *)p;
    for (size_t i = 0; i < words; i++) {
        uint64_t want = pat(base, i);
        if (w[i] != want) {
            unsigned char got_b[8], want_b[8];
            memcpy(got_b, &w[i], 8);
            memcpy(want_b, &want, 8);
            for (size_t j = 0; j < 8; j++)
                if (got_b[j] != want_b[j]) return i * 8 + j;
        }
    }
    for (size_t j = words * 8; j < size; j++)
        if (p[j] != pat_byte(base, j)) return j;
    return SIZE_MAX;
}

static void check_block(const struct blk *b, const char *who)
{
    size_t off = check(b->p, b->size, (uintptr_t)b->p);
    if (off != SIZE_MAX)
        fail("%s: block %p of %zu bytes from %s: byte %zu is 0x%02x, expected the pattern", who,
             (void *)b->p, b->size, entry_name[b->entry], off, b->p[off]);
}

/* ---- sizes ------------------------------------------------------------------ */

/* Mostly small, some medium: every mimalloc small size class (8 B .. 1 KiB), the medium and
 * large ones up to 1 MiB; 0..7 bytes too. */
static size_t pick_size(uint64_t *rng)
{
    uint64_t r = rnd(rng);
    unsigned k, band = (unsigned)(r % 1000);
    r >>= 10;
    if (band < 920)
        k = (unsigned)(r % 14); /* up to 16 KiB */
    else
        k = 14 + (unsigned)(r % 6); /* up to 1 MiB */
    r >>= 8;
    size_t lo = (size_t)1 << k, size = lo + (size_t)(r % lo); /* [2^k, 2^(k+1)) */
    if (size < 8 && (r & 0x100)) size = (size_t)(r % 8);      /* 0..7 too, 0 included */
    return size;
}

/* The big slots' sizes: 1 MiB .. 64 MiB, as many of each power of two (huge objects,
 * several arena blocks). */
static size_t pick_big_size(uint64_t *rng)
{
    uint64_t r = rnd(rng);
    unsigned k = 20 + (unsigned)(r % 6);
    size_t lo = (size_t)1 << k, size = lo + (size_t)((r >> 8) % lo);
    return size > MAX_SIZE ? MAX_SIZE : size;
}

/* Reserves budget for a block of size; returns a smaller size if there is none left. */
static size_t budget_take(size_t size)
{
    if (size <= BIG) return size;
    uint64_t have = atomic_load_explicit(&big_live, memory_order_relaxed);
    do {
        if (have + size > opt.budget) return size % 4096;
    } while (!atomic_compare_exchange_weak(&big_live, &have, have + size));
    return size;
}

static void budget_give(size_t size)
{
    if (size > BIG) atomic_fetch_sub(&big_live, size);
}

/* ---- allocating through one entry point --------------------------------------- */

static size_t pick_align(uint64_t *rng)
{
    /* 8 .. 64 KiB, and a page often */
    unsigned k = 3 + (unsigned)(rnd(rng) % 14);
    return (size_t)1 << k;
}

/* The calls themselves. Three copies, each its own function, so the rules file
 * can route by caller (stress.kmemrc names them). */
#define ALLOC_BODY                                                                                 \
    switch (e) {                                                                                   \
    case E_MALLOC: return malloc(size);                                                            \
    case E_CALLOC:                                                                                 \
        return (size & 1) ? calloc(size, 1)                                                        \
                          : calloc(size / 2 ? 2 : 1, size / 2 ? size / 2 : size);                  \
    case E_REALLOC_NULL: return realloc(NULL, size);                                               \
    case E_REALLOCARRAY_NULL: return reallocarray(NULL, size ? 1 : 0, size);                       \
    case E_POSIX_MEMALIGN: {                                                                       \
        void *p = NULL;                                                                            \
        int rc = posix_memalign(&p, align, size);                                                  \
        if (rc) errno = rc;                                                                        \
        return rc ? NULL : p;                                                                      \
    }                                                                                              \
    case E_ALIGNED_ALLOC: return aligned_alloc(align, (size + align - 1) & ~(align - 1));          \
    case E_MEMALIGN: return memalign(align, size);                                                 \
    case E_VALLOC: return valloc(size);                                                            \
    case E_PVALLOC: return pvalloc(size);                                                          \
    default: return stress_cxx_new(size, e - E_CXX, align);                                        \
    }

__attribute__((noinline)) static void *alloc_plain(int e, size_t size, size_t align) { ALLOC_BODY }
__attribute__((noinline)) void *stress_alloc_dram(int e, size_t size, size_t align) { ALLOC_BODY }
__attribute__((noinline)) void *stress_alloc_preferred(int e, size_t size, size_t align)
{
    ALLOC_BODY
}

/* What an entry point promises about alignment, and the size it really gives. */
static size_t entry_align(int e, size_t align)
{
    switch (e) {
    case E_POSIX_MEMALIGN:
    case E_ALIGNED_ALLOC:
    case E_MEMALIGN: return align;
    case E_VALLOC:
    case E_PVALLOC: return (size_t)page_size;
    default: return e >= E_CXX + CXX_ALIGNED_FIRST ? align : 16;
    }
}

/* Makes a block of about size bytes through entry point e (random if < 0). */
static int make_block(uint64_t *rng, struct blk *b, size_t size, int e, const char *who)
{
    if (e < 0) e = (int)(rnd(rng) % E_COUNT);
    size_t align = pick_align(rng);
    if (e == E_PVALLOC) /* pvalloc rounds up to pages: count that against the budget */
        size = size > BIG ? size : size % (64 * 1024);
    uint64_t site = rnd(rng) % 3;
    errno = 0;
    unsigned char *p = site == 0   ? alloc_plain(e, size, align)
                       : site == 1 ? stress_alloc_dram(e, size, align)
                                   : stress_alloc_preferred(e, size, align);
    if (!p) {
        if (size == 0 && (e == E_REALLOC_NULL || e == E_REALLOCARRAY_NULL || e == E_CALLOC))
            return -1; /* allowed */
        if (opt.allow_enomem && errno == ENOMEM) {
            atomic_fetch_add_explicit(&enomem, 1, memory_order_relaxed);
            budget_give(size);
            return -1;
        }
        fail("%s: %s(%zu, align %zu) returned NULL (errno %d)", who, entry_name[e], size, align,
             errno);
    }
    size_t want_align = entry_align(e, align);
    if (size >= 16 && ((uintptr_t)p & (want_align - 1)) != 0)
        fail("%s: %s(%zu, align %zu) returned %p, not aligned to %zu", who, entry_name[e], size,
             align, (void *)p, want_align);
    if (((uintptr_t)p & 7) != 0)
        fail("%s: %s(%zu) returned %p, not 8-aligned", who, entry_name[e], size, (void *)p);
    size_t usable = malloc_usable_size(p);
    if (usable < size)
        fail("%s: %s(%zu) returned %p with malloc_usable_size %zu", who, entry_name[e], size,
             (void *)p, usable);
    if (e == E_CALLOC) {
        /* every byte up to 256 KiB, then the first and last page and one word per page */
        size_t full = size < (256u << 10) ? size : 4096;
        for (size_t i = 0; i < full; i++)
            if (p[i])
                fail("%s: calloc(%zu) = %p: byte %zu is 0x%02x", who, size, (void *)p, i, p[i]);
        for (size_t i = full; i < size; i += 4096)
            if (p[i] || p[size - 1 - (i - full) % 4096])
                fail("%s: calloc(%zu) = %p: not zero near byte %zu", who, size, (void *)p, i);
    }
    fill(p, size, (uintptr_t)p);
    b->p = p;
    b->size = size;
    b->align = (uint32_t)align;
    b->entry = (uint8_t)e;
    b->used = 1;
    return 0;
}

static void free_block(struct blk *b, uint64_t *rng, const char *who)
{
    check_block(b, who);
    budget_give(b->size);
    if (b->entry >= E_CXX)
        stress_cxx_delete(b->p, b->size, b->entry - E_CXX, b->align, (int)(rnd(rng) & 1));
    else
        free(b->p);
    b->used = 0;
}

/* A chain of realloc/reallocarray steps, growing and shrinking. */
static void realloc_chain(struct blk *b, size_t max, uint64_t *rng, const char *who,
                          unsigned long *steps)
{
    if (b->entry >= E_CXX) return; /* not realloc-able */
    unsigned n = 1 + (unsigned)(rnd(rng) % 6);
    for (unsigned i = 0; i < n; i++) {
        check_block(b, who);
        size_t old = b->size, size;
        uint64_t r = rnd(rng);
        if (r & 1)
            size = old * 2 + (r >> 8) % 4096; /* grow */
        else
            size = old / (2 + (r >> 8) % 4); /* shrink */
        if (size == 0) size = 1 + (r >> 16) % 64;
        if (size > max) size = old / 3 + 1;
        if (size > BIG || old > BIG) {
            budget_give(old);
            size = budget_take(size);
            if (size == 0) size = 1;
        }
        uintptr_t was = (uintptr_t)b->p;
        unsigned char *q = (r & 2) ? realloc(b->p, size) : reallocarray(b->p, 1, size);
        if (!q && opt.allow_enomem && errno == ENOMEM) {
            atomic_fetch_add_explicit(&enomem, 1, memory_order_relaxed);
            budget_give(size);
            (void)budget_take(old); /* the block keeps its old size */
            return;
        }
        if (!q)
            fail("%s: realloc(%p, %zu) returned NULL (errno %d)", who, (void *)was, size, errno);
        size_t keep = old < size ? old : size;
        size_t off = check(q, keep, was);
        if (off != SIZE_MAX)
            fail("%s: realloc(%p of %zu, %zu) = %p: byte %zu did not move with the block", who,
                 (void *)was, old, size, (void *)q, off);
        if (malloc_usable_size(q) < size)
            fail("%s: realloc(%zu) = %p: malloc_usable_size %zu", who, size, (void *)q,
                 malloc_usable_size(q));
        fill(q, size, (uintptr_t)q);
        b->p = q;
        b->size = size;
        if (b->entry != E_CALLOC)
            b->entry = E_MALLOC; /* freed with free(); keeps its name for messages otherwise */
        (*steps)++;
    }
}

/* ---- handing blocks between threads --------------------------------------------- */

static int post(int to, const struct blk *b)
{
    struct mailbox *mb = &workers[to].mb;
    pthread_mutex_lock(&mb->lock);
    if (mb->n == MAILBOX) {
        pthread_mutex_unlock(&mb->lock);
        return -1;
    }
    mb->q[(mb->head + mb->n++) % MAILBOX] = *b;
    pthread_mutex_unlock(&mb->lock);
    return 0;
}

static void drain(struct worker *w, const char *who)
{
    struct blk got[64];
    for (;;) {
        unsigned n = 0;
        pthread_mutex_lock(&w->mb.lock);
        while (w->mb.n && n < 64) {
            got[n++] = w->mb.q[w->mb.head];
            w->mb.head = (w->mb.head + 1) % MAILBOX;
            w->mb.n--;
        }
        pthread_mutex_unlock(&w->mb.lock);
        for (unsigned i = 0; i < n; i++) {
            free_block(&got[i], &w->rng, who);
            w->frees++;
        }
        if (n < 64) return;
    }
}

/* Gives b to some worker (or frees it here if every mailbox tried is full). */
static void hand_off(struct blk *b, uint64_t *rng, int not_to, const char *who)
{
    for (int tries = 0; tries < 3; tries++) {
        int to = (int)(rnd(rng) % (uint64_t)opt.threads);
        if (to == not_to && opt.threads > 1) continue;
        if (post(to, b) == 0) {
            b->used = 0;
            return;
        }
    }
    free_block(b, rng, who);
}

/* ---- fork ------------------------------------------------------------------------- */

/* The forked child's progress, in memory shared with the parent: a child that stops moving
 * is a deadlock, one that moves slowly (a loaded machine) is not. */
static struct child_progress {
    _Atomic unsigned long ops;
    _Atomic int stage;
} * child_progress;

static void *child_thread(void *arg)
{
    uint64_t rng = (uintptr_t)arg | 1;
    child_progress->stage = 5;
    for (int i = 0; i < 200; i++) {
        child_progress->ops++;
        struct blk b;
        if (make_block(&rng, &b, pick_size(&rng) % (1 << 20), -1, "child thread") == 0)
            free_block(&b, &rng, "child thread");
    }
    return (void *)1;
}

/* In the child: worker 0's blocks are intact, every entry point works, threads start. */
static __attribute__((noreturn)) void child_main(struct worker *w)
{
    alarm(10u * (unsigned)opt.watchdog); /* behind the parent's watch */
    child_progress->stage = 1;
    for (int i = 0; i < SLOTS; i++) {
        child_progress->ops++;
        if (w->slot[i].used) check_block(&w->slot[i], "forked child");
    }
    uint64_t rng = w->rng ^ 0xabcdef;
    child_progress->stage = 2;
    for (int e = 0; e < E_COUNT; e++)
        for (int k = 0; k < 10; k++) {
            child_progress->ops++;
            struct blk b;
            if (make_block(&rng, &b, ((size_t)1 << (2 * k)) - (size_t)k, e, "forked child") == 0)
                free_block(&b, &rng, "forked child");
        }
    /* free some of the parent's blocks in the child, realloc others */
    unsigned long steps = 0;
    child_progress->stage = 3;
    for (int i = 0; i < SLOTS; i++) {
        child_progress->ops++;
        if (w->slot[i].used) {
            if (i % 3 == 0)
                free_block(&w->slot[i], &rng, "forked child");
            else if (i % 3 == 1)
                realloc_chain(&w->slot[i], BIG, &rng, "forked child", &steps);
        }
    }
    child_progress->stage = 4;
    pthread_t t;
    void *ret = NULL;
    if (pthread_create(&t, NULL, child_thread, (void *)(uintptr_t)rng) != 0)
        fail("forked child: pthread_create failed");
    pthread_join(t, &ret);
    _exit(ret == (void *)1 ? 0 : 3);
}

/* What the kernel says a stuck child is doing: state, wait channel and system call of each
 * of its threads ("S futex_wait_queue 202 ..." is a lock never released). */
static void describe_child(pid_t pid, char *out, size_t len)
{
    static const char *const files[] = {"stat", "wchan", "syscall"};
    size_t used = 0;
    out[0] = '\0';
    for (int f = 0; f < 3 && used + 1 < len; f++) {
        char path[64], buf[256];
        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, files[f]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
        if (fd >= 0) close(fd);
        buf[n > 0 ? n : 0] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        const char *v = buf;
        if (f == 0) { /* "pid (comm) S ...": the state letter */
            const char *rp = strrchr(buf, ')');
            v = rp && rp[1] ? rp + 2 : buf;
            buf[sizeof(buf) - 1] = '\0';
            if (v != buf && strlen(v) > 1) ((char *)v)[1] = '\0';
        }
        int w = snprintf(out + used, len - used, "%s%s=%s", f ? ", " : "", files[f], v);
        if (w > 0) used += (size_t)w < len - used ? (size_t)w : len - used - 1;
    }
}

static void do_fork(struct worker *w)
{
    child_progress->ops = 0;
    child_progress->stage = 0;
    pid_t pid = fork();
    if (pid < 0) return; /* out of processes: not the shim's fault */
    if (pid == 0) child_main(w);
    double t0 = now();
    unsigned long seen = 0;
    int status;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) fail("waitpid: %s", strerror(errno));
        unsigned long ops = child_progress->ops;
        if (ops != seen) {
            seen = ops;
            t0 = now();
        } else if (now() - t0 > opt.watchdog) {
            char what[512];
            describe_child(pid, what, sizeof(what));
            kill(pid, SIGKILL);
            fail("forked child %d made no progress for %d s in stage %d after %lu steps "
                 "(deadlock after fork?): %s",
                 (int)pid, opt.watchdog, child_progress->stage, ops, what);
        }
        atomic_fetch_add_explicit(&w->beat, 1, memory_order_relaxed);
        usleep(2000);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (WIFSIGNALED(status)) fail("forked child died of signal %d", WTERMSIG(status));
        fail("forked child exited with status %d", WEXITSTATUS(status));
    }
    w->forks++;
}

/* ---- worker threads ------------------------------------------------------------- */

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    char who[32];
    snprintf(who, sizeof(who), "worker %d", w->id);
    double next_fork = now() + FORK_INTERVAL_MS / 1000.0;
    /* The big slots are filled first, so the warm-up already holds a full budget. */
    for (int i = 0; i < BIG_SLOTS; i++)
        make_block(&w->rng, &w->slot[i], budget_take(pick_big_size(&w->rng)), -1, who);
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        uint64_t r = rnd(&w->rng);
        bool big = r % BIG_EVERY == 0;
        r /= BIG_EVERY;
        struct blk *b = &w->slot[big ? r % BIG_SLOTS : BIG_SLOTS + r % (SLOTS - BIG_SLOTS)];
        unsigned op = (unsigned)(rnd(&w->rng) % 100);
        if (b->used && op < 15) {
            realloc_chain(b, big ? MAX_SIZE : BIG, &w->rng, who, &w->reallocs);
        } else if (b->used && op < 30) {
            hand_off(b, &w->rng, w->id, who);
            w->handoffs++;
        } else {
            if (b->used) {
                free_block(b, &w->rng, who);
                w->frees++;
            }
            size_t size = big ? budget_take(pick_big_size(&w->rng)) : pick_size(&w->rng);
            make_block(&w->rng, b, size, -1, who);
        }
        w->ops++;
        if ((w->ops & 15) == 0) drain(w, who);
        atomic_fetch_add_explicit(&w->beat, 1, memory_order_relaxed);
        if (w->id == 0 && (w->ops & 15) == 0 && now() >= next_fork) {
            do_fork(w);
            next_fork = now() + FORK_INTERVAL_MS / 1000.0;
        }
    }
    return NULL;
}

/* ---- short-lived threads ---------------------------------------------------------- */

__attribute__((noinline)) static void churn_work(uint64_t seed)
{
    uint64_t rng = seed | 1;
    struct blk keep[16];
    unsigned n = 4 + (unsigned)(rnd(&rng) % 9), done = 0;
    for (unsigned i = 0; i < n; i++) {
        size_t size = pick_size(&rng);
        if (size > (64u << 10)) size %= 64u << 10; /* large ones come from the workers */
        keep[i].used = 0;
        if (make_block(&rng, &keep[i], size, -1, "short-lived thread") == 0) done++;
    }
    /* Some blocks outlive the thread: the workers free them after it exited. */
    for (unsigned i = 0; i < n; i++) {
        if (!keep[i].used) continue;
        if (rnd(&rng) % 4 == 0)
            hand_off(&keep[i], &rng, -1, "short-lived thread");
        else
            free_block(&keep[i], &rng, "short-lived thread");
    }
    atomic_fetch_add_explicit(&churn_ops, done, memory_order_relaxed);
}

static void *churn_thread(void *arg)
{
    churn_work((uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ull);
    atomic_fetch_add_explicit(&churn_lifetimes, 1, memory_order_relaxed);
    return NULL;
}

static void *spawner_main(void *arg)
{
    int me = (int)(intptr_t)arg;
    pthread_t t[MAX_CHURN];
    uint64_t seq = 1;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 << 10);
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        int started = 0;
        for (int i = 0; i < opt.churn; i++, started++)
            if (pthread_create(&t[i], &attr, churn_thread, (void *)(uintptr_t)seq++) != 0) break;
        for (int i = 0; i < started; i++)
            pthread_join(t[i], NULL);
        atomic_fetch_add_explicit(&spawner_beat[me], 1, memory_order_relaxed);
        if (!started) usleep(1000);
    }
    pthread_attr_destroy(&attr);
    return NULL;
}

/* ---- dlopen / dlclose ----------------------------------------------------------------- */

static void *dl_main(void *arg)
{
    (void)arg;
    uint64_t rng = 0x1234567;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        void *h = dlopen(opt.dl_path, RTLD_NOW | RTLD_LOCAL);
        if (!h) fail("dlopen(%s): %s", opt.dl_path, dlerror());
        void *(*dl_alloc)(size_t) = (void *(*)(size_t))dlsym(h, "stress_dl_alloc");
        void *(*dl_realloc)(void *, size_t) =
            (void *(*)(void *, size_t))dlsym(h, "stress_dl_realloc");
        if (!dl_alloc || !dl_realloc) fail("dlsym in %s: %s", opt.dl_path, dlerror());
        struct blk got[8];
        for (int i = 0; i < 8; i++) {
            size_t size = pick_size(&rng) % (256u << 10) + 1;
            unsigned char *p = dl_alloc(size);
            if (!p) fail("the dlopen-ed library's malloc(%zu) returned NULL", size);
            if (size & 1)
                for (size_t j = 0; j < size; j++)
                    if (p[j])
                        fail("the dlopen-ed library's calloc(%zu): byte %zu not zero", size, j);
            fill(p, size, (uintptr_t)p);
            if (i & 1) {
                size_t ns = size * 3 + 5;
                unsigned char *q = dl_realloc(p, ns);
                if (!q) fail("the dlopen-ed library's realloc(%zu) returned NULL", ns);
                size_t off = check(q, size, (uintptr_t)p);
                if (off != SIZE_MAX)
                    fail("realloc in the dlopen-ed library: byte %zu did not move", off);
                fill(q, ns, (uintptr_t)q);
                p = q;
                size = ns;
            }
            got[i] = (struct blk){.p = p, .size = size, .entry = E_MALLOC, .used = 1};
        }
        if (dlclose(h) != 0) fail("dlclose: %s", dlerror());
        /* Freed after the library is gone, here or by a worker. */
        for (int i = 0; i < 8; i++) {
            if (i & 2)
                hand_off(&got[i], &rng, -1, "dlopen thread");
            else
                free_block(&got[i], &rng, "dlopen thread");
        }
        atomic_fetch_add_explicit(&dl_cycles, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&dl_beat, 1, memory_order_relaxed);
        usleep(500);
    }
    return NULL;
}

/* ---- RSS ------------------------------------------------------------------------------ */

/* Resident bytes from /proc/self/statm, without allocating. */
static uint64_t rss_now(void)
{
    char buf[128];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    unsigned long size, resident;
    if (sscanf(buf, "%lu %lu", &size, &resident) != 2) return 0;
    return (uint64_t)resident * (uint64_t)page_size;
}

#define MIB(x) ((double)(x) / (1024.0 * 1024.0))

/* ---- the policies of the blocks still held ---------------------------------------------- */

struct vma {
    uintptr_t start, end;
    char pol[32];
};

static int check_policies(void)
{
    FILE *f = fopen("/proc/self/numa_maps", "r");
    if (!f) {
        fprintf(stderr, "kms_stress: /proc/self/numa_maps: %s\n", strerror(errno));
        return opt.expect_policies ? -1 : 0;
    }
    struct vma *v = NULL;
    size_t n = 0, cap = 0;
    char line[4096];
    while (fgets(line, sizeof(line), f)) {
        unsigned long s;
        char pol[32];
        if (sscanf(line, "%lx %31s", &s, pol) != 2) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            v = realloc(v, cap * sizeof(*v));
            if (!v) fail("out of memory reading numa_maps");
        }
        v[n].start = s;
        snprintf(v[n].pol, sizeof(v[n].pol), "%s", pol);
        n++;
    }
    fclose(f);
    /* ends from /proc/self/maps (numa_maps has starts only) */
    f = fopen("/proc/self/maps", "r");
    if (f) {
        while (fgets(line, sizeof(line), f)) {
            unsigned long s, e;
            if (sscanf(line, "%lx-%lx", &s, &e) == 2)
                for (size_t i = 0; i < n; i++)
                    if (v[i].start == s) v[i].end = e;
        }
        fclose(f);
    }
    char seen[16][32];
    unsigned long count[16] = {0};
    int nseen = 0;
    for (int t = 0; t < opt.threads; t++)
        for (int i = 0; i < SLOTS; i++) {
            const struct blk *b = &workers[t].slot[i];
            if (!b->used) continue;
            uintptr_t a = (uintptr_t)b->p;
            for (size_t k = 0; k < n; k++) {
                if (a < v[k].start || a >= v[k].end) continue;
                int j = 0;
                while (j < nseen && strcmp(seen[j], v[k].pol) != 0)
                    j++;
                if (j == nseen && nseen < 16)
                    snprintf(seen[nseen++], sizeof(seen[0]), "%s", v[k].pol);
                if (j < 16) count[j]++;
                break;
            }
        }
    free(v);
    printf("kms_stress: blocks held at the end, by mapping policy:");
    for (int j = 0; j < nseen; j++)
        printf(" %s=%lu", seen[j], count[j]);
    printf("\n");
    if (nseen < opt.expect_policies) {
        fprintf(stderr,
                "kms_stress: FAIL: the blocks lie in mappings of %d policies, expected at least "
                "%d (is the shim preloaded with the rules file?)\n",
                nseen, opt.expect_policies);
        return -1;
    }
    return 0;
}

/* ---- main ------------------------------------------------------------------------------ */

static void usage(void)
{
    fprintf(
        stderr,
        "usage: kms_stress [--seconds N] [--threads N] [--rss-factor F] [--watchdog S]\n"
        "                  [--expect-policies N] [--min-lifetimes N] [--budget MIB] [--churn N]\n"
        "                  [--allow-enomem 1] [--dl PATH] [--verbose]\n");
    exit(2);
}

static const char *default_dl_path(void)
{
    if (access(KMS_STRESS_DL, R_OK) == 0) return KMS_STRESS_DL;
    /* next to the executable (a copy of the build, e.g. in the VM) */
    static char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 64);
    if (n > 0) {
        path[n] = '\0';
        char *slash = strrchr(path, '/');
        if (slash) {
            strcpy(slash + 1, "libkms_stress_dl.so");
            return path;
        }
    }
    return "libkms_stress_dl.so";
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--verbose")) {
            opt.verbose = 1;
            continue;
        }
        if (!v) usage();
        if (!strcmp(a, "--seconds"))
            opt.seconds = atof(v);
        else if (!strcmp(a, "--threads"))
            opt.threads = atoi(v);
        else if (!strcmp(a, "--rss-factor"))
            opt.rss_factor = atof(v);
        else if (!strcmp(a, "--watchdog"))
            opt.watchdog = atoi(v);
        else if (!strcmp(a, "--expect-policies"))
            opt.expect_policies = atoi(v);
        else if (!strcmp(a, "--min-lifetimes"))
            opt.min_lifetimes = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--budget"))
            opt.budget = strtoull(v, NULL, 10) << 20;
        else if (!strcmp(a, "--churn"))
            opt.churn = atoi(v);
        else if (!strcmp(a, "--allow-enomem"))
            opt.allow_enomem = atoi(v);
        else if (!strcmp(a, "--dl"))
            opt.dl_path = v;
        else
            usage();
        i++;
    }
    if (opt.threads < 1 || opt.threads > MAX_THREADS || opt.seconds <= 0 || opt.watchdog < 1 ||
        opt.rss_factor < 1 || opt.churn < 1 || opt.churn > MAX_CHURN)
        usage();
    if (!opt.dl_path) opt.dl_path = default_dl_path();
    page_size = sysconf(_SC_PAGESIZE);
    child_progress = mmap(NULL, sizeof(*child_progress), PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (child_progress == MAP_FAILED) fail("mmap: %s", strerror(errno));
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* A hard limit behind the watchdog: SIGALRM's default action ends the process. */
    alarm((unsigned)opt.seconds + 10u * (unsigned)opt.watchdog);

    uint64_t rss_start = rss_now();
    double t0 = now();
    for (int i = 0; i < opt.threads; i++) {
        struct worker *w = &workers[i];
        w->id = i;
        w->rng = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1) ^ (uint64_t)t0;
        pthread_mutex_init(&w->mb.lock, NULL);
    }
    for (int i = 0; i < opt.threads; i++)
        if (pthread_create(&workers[i].tid, NULL, worker_main, &workers[i]) != 0)
            fail("pthread_create: %s", strerror(errno));
    pthread_t spawner[2], dl;
    if (pthread_create(&spawner[0], NULL, spawner_main, (void *)0) != 0 ||
        pthread_create(&spawner[1], NULL, spawner_main, (void *)1) != 0 ||
        pthread_create(&dl, NULL, dl_main, NULL) != 0)
        fail("pthread_create failed");

    double warm = opt.seconds / 3 < 10 ? opt.seconds / 3 : 10;
    uint64_t warm_peak = 0, after_peak = 0, rss = 0, limit = 0;
    unsigned long last_beat[MAX_THREADS + 3] = {0};
    double last_change[MAX_THREADS + 3];
    for (int i = 0; i < MAX_THREADS + 3; i++)
        last_change[i] = t0;
    double next_report = t0 + 60;
    for (;;) {
        usleep(200 * 1000);
        double t = now();
        rss = rss_now();
        if (t - t0 < warm) {
            if (rss > warm_peak) warm_peak = rss;
        } else {
            if (!limit) limit = (uint64_t)((double)warm_peak * opt.rss_factor) + (64ull << 20);
            if (rss > after_peak) after_peak = rss;
            if (rss > limit)
                fail("RSS grew to %.1f MiB after the warm-up, above %.1f x the warm-up's peak "
                     "(%.1f MiB) + 64 MiB",
                     MIB(rss), opt.rss_factor, MIB(warm_peak));
        }
        /* watchdog: every long-lived thread must make progress */
        for (int i = 0; i < opt.threads + 3; i++) {
            unsigned long b = i < opt.threads
                                  ? atomic_load_explicit(&workers[i].beat, memory_order_relaxed)
                              : i < opt.threads + 2 ? atomic_load(&spawner_beat[i - opt.threads])
                                                    : atomic_load(&dl_beat);
            if (b != last_beat[i]) {
                last_beat[i] = b;
                last_change[i] = t;
            } else if (t - last_change[i] > opt.watchdog) {
                char name[32];
                if (i < opt.threads)
                    snprintf(name, sizeof(name), "worker %d", i);
                else
                    snprintf(name, sizeof(name), "%s",
                             i < opt.threads + 2 ? "a thread spawner" : "the dlopen thread");
                fail("%s made no progress for %d s (deadlock?)", name, opt.watchdog);
            }
        }
        if (opt.verbose || t >= next_report) {
            unsigned long ops = 0;
            for (int i = 0; i < opt.threads; i++)
                ops += atomic_load_explicit(&workers[i].beat, memory_order_relaxed);
            printf("kms_stress: %6.0f s: %lu worker ops, %lu thread lifetimes, %lu dlopen cycles, "
                   "RSS %.1f MiB\n",
                   t - t0, ops, atomic_load(&churn_lifetimes), atomic_load(&dl_cycles), MIB(rss));
            next_report = t + 60;
        }
        /* On a loaded machine thread creation is slow: the run goes on (up to 4 times as
         * long) until --min-lifetimes threads have come and gone. */
        if (t - t0 >= opt.seconds &&
            (atomic_load(&churn_lifetimes) >= opt.min_lifetimes || t - t0 >= 4 * opt.seconds))
            break;
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < opt.threads; i++)
        pthread_join(workers[i].tid, NULL);
    pthread_join(spawner[0], NULL);
    pthread_join(spawner[1], NULL);
    pthread_join(dl, NULL);
    double elapsed = now() - t0;
    uint64_t rss_end = rss_now();

    int rc = 0;
    if (check_policies() < 0) rc = 1;
    unsigned long ops = 0, frees = 0, reallocs = 0, handoffs = 0, forks = 0;
    for (int i = 0; i < opt.threads; i++) {
        struct worker *w = &workers[i];
        drain(w, "main");
        for (int k = 0; k < SLOTS; k++)
            if (w->slot[k].used) free_block(&w->slot[k], &w->rng, "main");
        ops += w->ops;
        frees += w->frees;
        reallocs += w->reallocs;
        handoffs += w->handoffs;
        forks += w->forks;
    }
    unsigned long lifetimes = atomic_load(&churn_lifetimes);
    printf("kms_stress: %.0f s, %d workers: %lu operations (%lu worker ops, %lu realloc steps, %lu "
           "handed off, %lu cross-thread/mailbox frees), %lu short-lived threads (%lu blocks), %lu "
           "forks, %lu dlopen/dlclose cycles\n",
           elapsed, opt.threads, ops + reallocs + atomic_load(&churn_ops), ops, reallocs, handoffs,
           frees, lifetimes, atomic_load(&churn_ops), forks, atomic_load(&dl_cycles));
    if (opt.allow_enomem)
        printf("kms_stress: %lu requests failed with ENOMEM (allowed by --allow-enomem)\n",
               atomic_load(&enomem));
    printf("kms_stress: RSS start %.1f MiB, warm-up peak %.1f MiB (first %.0f s), peak after %.1f "
           "MiB (limit %.1f MiB), end %.1f MiB, after freeing everything %.1f MiB\n",
           MIB(rss_start), MIB(warm_peak), warm, MIB(after_peak), MIB(limit), MIB(rss_end),
           MIB(rss_now()));
    if (lifetimes < opt.min_lifetimes) {
        fprintf(stderr, "kms_stress: FAIL: only %lu thread lifetimes in %.0f s, expected %lu\n",
                lifetimes, elapsed, opt.min_lifetimes);
        rc = 1;
    }
    if (!rc) printf("kms_stress: PASS\n");
    return rc;
}
