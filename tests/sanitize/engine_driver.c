/* SPDX-License-Identifier: MIT */
/* engine_driver: the engine without LD_PRELOAD, for the sanitizer builds.
 *
 * AddressSanitizer and ThreadSanitizer replace malloc themselves, so they
 * cannot run under the preloaded shim. This program links kmemshim_core and
 * does what preload/startup.c and preload/malloc.c do: configuration from an
 * environment array (KMEM_NODES, KMEM_RULES with size and caller rules),
 * kms_setup_run (live) or kms_setup_run_text (the design's 4-node machine),
 * kms_engine_setup, the fork handlers; then threads allocate through
 * kms_route_decide + kms_alloc, kms_realloc_routed and mi_free, crossing
 * routes, handing blocks to each other, coming and going, and forking.
 *
 *   engine_driver live     [--seconds N] [--threads N]   KMEM_NODES=0 on this machine
 *   engine_driver fournode [--seconds N] [--threads N]   4-node topology, KMEM nodes 2,3
 *   engine_driver tier     [--seconds N] [--threads N]   live, with runtime tiering
 *
 * In tier mode the requests go through access mode (kms_access_alloc and
 * kms_access_realloc, as preload/entry.h sends them with statistics on) under
 * a DRAM budget of 1 MiB, sampled every 10 ms with no cost bound and no rate
 * limit to speak of: the sampler thread changes the tracked groups' policies
 * and moves their pages every interval while the workers allocate, free,
 * realloc and fork in them. A tracked block lives in its group's arena, not
 * its route's class, so only untracked blocks have their class checked.
 *
 * In fournode mode the kernel is asked to mbind() nodes that this machine does
 * not have; the program is linked with -Wl,--wrap=syscall and its
 * __wrap_syscall turns every mbind() node mask into node 0 (keeping the mode),
 * so each class keeps its own arenas and threads switch classes with the CPU
 * they run on (node 0 = CPU 0, node 1 = CPU 1).
 *
 * ThreadSanitizer cannot see the synchronisation inside mimalloc (it is not
 * instrumented): a block freed by one thread and handed out again to another
 * would look like a race on its contents. The driver tells it what mimalloc
 * guarantees: each free releases, and each allocation acquires, the 64 KiB
 * granules the block covers. Both are made where mimalloc is called (the
 * program is linked with -Wl,--wrap for mi_free and for every mimalloc
 * allocation call the engine makes), so they also hold inside the engine:
 * kms_realloc_routed writes the new block (memcpy from the old one) before it
 * returns, and reads the old block before its own mi_free. See tsan.supp for
 * what is left.
 *
 * Checks: alignment, calloc zeroes, a pattern derived from each block's
 * address before every free and after every realloc, the arena of each block
 * against its route's class, and forked children's exit status. Any failure
 * exits 1; sanitizer reports make the sanitizer fail the run. */
#include "core/access.h"
#include "core/arena.h"
#include "core/engine.h"
#include "core/fork.h"
#include "core/stats.h"
#include "core/tier.h"
#include "policy/setup.h"
#include "policy/config.h"
#include "policy/route.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_THREAD__)
#define KMS_TSAN 1
#include <sanitizer/tsan_interface.h>
#else
#define KMS_TSAN 0
#endif
/* KMS_ASAN: core/check.h. */

/* A function that stays itself: not inlined, cloned or folded with a look-alike (gcc's ICF
 * would merge the four identical sites). */
#ifdef __clang__
#define KMS_SITE __attribute__((noinline))
#else
#define KMS_SITE __attribute__((noipa))
#endif

enum { MAX_WORKERS = 16, SLOTS = 64, MAILBOX = 256, CHURN_AT_ONCE = 4 };

static const char four_node[] = "available: 4 nodes (0-3)\n"
                                "node 0 cpus: 0\n"
                                "node 0 size: 4096 MB\n"
                                "node 1 cpus: 1\n"
                                "node 1 size: 4096 MB\n"
                                "node 2 cpus:\n"
                                "node 2 size: 4096 MB\n"
                                "node 3 cpus:\n"
                                "node 3 size: 4096 MB\n"
                                "node distances:\n"
                                "node   0   1   2   3\n"
                                "  0:  10  21  17  28\n"
                                "  1:  21  10  28  17\n"
                                "  2:  17  28  10  28\n"
                                "  3:  28  17  28  10\n";

/* Size rules, caller rules (site_*), a depth rule: every target is reachable. */
static const char rules[] = "route preferred caller *:site_b; "
                            "route kmem_all caller *:site_c size >= 4K; "
                            "route dram caller *:site_d depth 3; "
                            "route dax_kmem size 1K..64K; "
                            "route preferred size < 64; "
                            "route kmem_all size > 1M";

static int fournode;
static int tiering;
static double seconds = 5;
static int nworkers = 4;
static _Atomic int stop;
static unsigned long enomem_count;

static __attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "engine_driver: FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    _exit(1);
}

/* ---- mbind onto node 0 (fournode mode) ---------------------------------------- */

long __real_syscall(long nr, ...);
long __wrap_syscall(long nr, ...)
{
    va_list ap;
    long a[6];
    va_start(ap, nr);
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    if (nr == SYS_mbind && fournode) {
        static const unsigned long node0 = 1;
        return __real_syscall(nr, a[0], a[1], a[2], &node0, 2L, a[5]);
    }
    return __real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* ---- ThreadSanitizer annotations -------------------------------------------------- */

#define GRANULE (64u << 10)
#if KMS_TSAN
static void tsan_free(const void *p)
{
    uintptr_t a = (uintptr_t)p, end = a + mi_usable_size(p);
    for (uintptr_t g = a & ~(uintptr_t)(GRANULE - 1); g < end; g += GRANULE)
        __tsan_release((void *)g);
}
static void *tsan_alloc(void *p)
{
    if (!p) return NULL;
    uintptr_t a = (uintptr_t)p, end = a + mi_usable_size(p);
    for (uintptr_t g = a & ~(uintptr_t)(GRANULE - 1); g < end; g += GRANULE)
        __tsan_acquire((void *)g);
    return p;
}
#else
static void tsan_free(const void *p) { (void)p; }
static void *tsan_alloc(void *p) { return p; }
#endif

/* Every mi_free of the program, the engine's included: the release comes after the last
 * access. */
void __real_mi_free(void *p);
void __wrap_mi_free(void *p);
void __wrap_mi_free(void *p)
{
    if (!p) return;
    tsan_free(p);
    __real_mi_free(p);
}

/* Every mimalloc allocation the engine makes: the acquire comes before the first access,
 * the engine's own included. A realloc releases the old block first (mimalloc may free it). */
#define WRAP(ret, name, params, args)                                                              \
    ret __real_##name params;                                                                      \
    ret __wrap_##name params;                                                                      \
    ret __wrap_##name params { return tsan_alloc(__real_##name args); }
WRAP(void *, mi_malloc, (size_t n), (n))
WRAP(void *, mi_zalloc, (size_t n), (n))
WRAP(void *, mi_heap_malloc, (mi_heap_t * h, size_t n), (h, n))
WRAP(void *, mi_heap_malloc_small, (mi_heap_t * h, size_t n), (h, n))
WRAP(void *, mi_heap_zalloc, (mi_heap_t * h, size_t n), (h, n))
WRAP(void *, mi_heap_malloc_aligned_at, (mi_heap_t * h, size_t n, size_t al, size_t off),
     (h, n, al, off))
#undef WRAP
void *__real_mi_realloc(void *p, size_t n);
void *__wrap_mi_realloc(void *p, size_t n);
void *__wrap_mi_realloc(void *p, size_t n)
{
    if (p) tsan_free(p);
    return tsan_alloc(__real_mi_realloc(p, n));
}
void *__real_mi_heap_realloc(mi_heap_t *h, void *p, size_t n);
void *__wrap_mi_heap_realloc(mi_heap_t *h, void *p, size_t n);
void *__wrap_mi_heap_realloc(mi_heap_t *h, void *p, size_t n)
{
    if (p) tsan_free(p);
    return tsan_alloc(__real_mi_heap_realloc(h, p, n));
}

/* ---- the preloaded entry points' logic ---------------------------------------------- */

/* malloc/calloc/aligned: the route of the caller's callsite, then the engine. */
KMS_SITE static void *drv_alloc(size_t size, size_t align, bool zero, int *target)
{
    const void *caller = __builtin_return_address(0);
    *target = kms_route_decide(size, caller);
    void *p = tiering ? kms_access_alloc(*target, size, align, zero, caller)
                      : kms_alloc(*target, size, align, zero);
    return p;
}

KMS_SITE static void *drv_realloc(void *p, size_t size, int *target)
{
    const void *caller = __builtin_return_address(0);
    *target = kms_route_decide(size, caller);
    void *q = tiering ? kms_access_realloc(p, size, *target, caller)
                      : kms_realloc_routed(p, size, *target);
    return q;
}

/* mi_free, in the driver and in the engine (linked with -Wl,--wrap=mi_free). */
static void drv_free(void *p) { mi_free(p); }

/* Four callsites the rules tell apart. */
#define SITE(name)                                                                                 \
    KMS_SITE static void *name(size_t size, size_t align, bool zero, int *target)                  \
    {                                                                                              \
        void *p = drv_alloc(size, align, zero, target);                                            \
        __asm__ volatile("" ::: "memory"); /* no tail call: the return address stays here */       \
        return p;                                                                                  \
    }                                                                                              \
    KMS_SITE static void *name##_realloc(void *p, size_t size, int *target)                        \
    {                                                                                              \
        void *q = drv_realloc(p, size, target);                                                    \
        __asm__ volatile("" ::: "memory");                                                         \
        return q;                                                                                  \
    }
SITE(site_a)
SITE(site_b)
SITE(site_c)
SITE(site_d)

/* ---- blocks --------------------------------------------------------------------------- */

struct blk {
    unsigned char *p;
    size_t size;
};

static inline unsigned char pat(uintptr_t base, size_t i)
{
    return (unsigned char)((base >> 4) * 31 + i * 131 + (i >> 8));
}

static void fill(unsigned char *p, size_t size)
{
    for (size_t i = 0; i < size; i++)
        p[i] = pat((uintptr_t)p, i);
}

static void check(const unsigned char *p, size_t size, uintptr_t base, const char *what)
{
    for (size_t i = 0; i < size; i++)
        if (p[i] != pat(base, i))
            die("%s: block %p of %zu: byte %zu changed", what, (const void *)p, size, i);
}

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static size_t pick_size(uint64_t *rng)
{
    uint64_t r = rnd(rng);
    unsigned k = (r % 100) < 90 ? (unsigned)((r >> 8) % 13) : 13 + (unsigned)((r >> 8) % 7);
    size_t lo = (size_t)1 << k;
    return lo + (size_t)((r >> 16) % lo); /* up to 1 MiB */
}

/* The block of a uniform, non-fallback route must be in the route's class. */
static void check_class(const void *p, int target, const char *what)
{
    int want = kms_target_class[target];
    if (want == KMS_CLASS_BY_CPU) return; /* depends on the CPU at the time of the call */
    int a = kms_arena_of(p);
    if (tiering && a >= 0 && kms_arena_is_own(a)) return; /* a tracked group's arena */
    int have = a < 0 ? -1 : kms_arenas[a].cls;
    /* preferred falls back to DRAM when its class is full; not here, memory is plentiful */
    if (have != want)
        die("%s: block %p of target %s is in class %d, the route's class is %d", what, p,
            kms_target_name(target), have, want);
}

/* One allocation through a random site, with random alignment and zeroing. */
static bool make(uint64_t *rng, struct blk *b, const char *what)
{
    size_t size = pick_size(rng);
    uint64_t r = rnd(rng);
    size_t align = (r & 3) == 0 ? (size_t)8 << ((r >> 2) % 10) : 0; /* 8 .. 4 KiB */
    bool zero = !align && (r & 0x30) == 0;
    int target;
    void *(*site)(size_t, size_t, bool, int *) = (r >> 8) % 4 == 0   ? site_a
                                                 : (r >> 8) % 4 == 1 ? site_b
                                                 : (r >> 8) % 4 == 2 ? site_c
                                                                     : site_d;
    errno = 0;
    unsigned char *p = site(size, align, zero, &target);
    if (!p) {
        /* a bound KMEM class can fill up (each thread holds its own 32 MiB segments) */
        if (errno == ENOMEM && target != KMS_TARGET_DRAM && target != KMS_TARGET_PREFERRED) {
            __atomic_add_fetch(&enomem_count, 1, __ATOMIC_RELAXED);
            return false;
        }
        die("%s: allocation of %zu (align %zu) for target %s failed: %s", what, size, align,
            kms_target_name(target), strerror(errno));
    }
    if (align && ((uintptr_t)p & (align - 1)))
        die("%s: %zu bytes aligned to %zu: got %p", what, size, align, (void *)p);
    if (mi_usable_size(p) < size)
        die("%s: %p: usable size %zu < %zu", what, (void *)p, mi_usable_size(p), size);
    if (zero)
        for (size_t i = 0; i < size; i++)
            if (p[i])
                die("%s: zeroed block %p of %zu: byte %zu is %d", what, (void *)p, size, i, p[i]);
    check_class(p, target, what);
    fill(p, size);
    b->p = p;
    b->size = size;
    return true;
}

static void drop(struct blk *b, const char *what)
{
    check(b->p, b->size, (uintptr_t)b->p, what);
    drv_free(b->p);
    b->p = NULL;
}

static void grow_or_shrink(uint64_t *rng, struct blk *b, const char *what)
{
    uint64_t r = rnd(rng);
    size_t size = (r & 1) ? b->size * 2 + (r >> 4) % 100 : b->size / 3 + 1;
    if (size > (8u << 20)) size = b->size / 2 + 1;
    uintptr_t was = (uintptr_t)b->p;
    size_t old = b->size;
    int target;
    void *(*site)(void *, size_t, int *) = (r >> 1) % 4 == 0   ? site_a_realloc
                                           : (r >> 1) % 4 == 1 ? site_b_realloc
                                           : (r >> 1) % 4 == 2 ? site_c_realloc
                                                               : site_d_realloc;
    unsigned char *q = site(b->p, size, &target);
    if (!q) {
        if (errno == ENOMEM && target != KMS_TARGET_DRAM && target != KMS_TARGET_PREFERRED) {
            __atomic_add_fetch(&enomem_count, 1, __ATOMIC_RELAXED);
            return; /* the old block is still valid */
        }
        die("%s: realloc to %zu failed: %s", what, size, strerror(errno));
    }
    check(q, old < size ? old : size, was, what);
    fill(q, size);
    b->p = q;
    b->size = size;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- workers, mailboxes ---------------------------------------------------------------- */

struct worker {
    pthread_t tid;
    int id;
    uint64_t rng;
    struct blk slot[SLOTS];
    pthread_mutex_t lock;
    struct blk box[MAILBOX];
    unsigned nbox;
    unsigned long ops, forks;
};
static struct worker workers[MAX_WORKERS];

static bool post(int to, struct blk *b)
{
    struct worker *w = &workers[to];
    bool ok = false;
    pthread_mutex_lock(&w->lock);
    if (w->nbox < MAILBOX) {
        w->box[w->nbox++] = *b;
        ok = true;
    }
    pthread_mutex_unlock(&w->lock);
    if (ok) b->p = NULL;
    return ok;
}

static void drain(struct worker *w, const char *what)
{
    struct blk got[MAILBOX];
    pthread_mutex_lock(&w->lock);
    unsigned n = w->nbox;
    memcpy(got, w->box, n * sizeof(got[0]));
    w->nbox = 0;
    pthread_mutex_unlock(&w->lock);
    for (unsigned i = 0; i < n; i++)
        drop(&got[i], what);
}

static void *child_thread(void *arg)
{
    uint64_t rng = (uintptr_t)arg | 1;
    for (int i = 0; i < 50; i++) {
        struct blk b;
        if (make(&rng, &b, "forked child's thread")) drop(&b, "forked child's thread");
    }
    return NULL;
}

/* The child worker 0 waits for, for the watchdog: 0 when none. */
static volatile pid_t waiting_for;

/* A run that has not ended long after its time says what it waits for, and
 * ends, instead of leaving ctest to kill it without a word. */
static void watchdog(int sig)
{
    (void)sig;
    char msg[160];
    pid_t c = waiting_for;
    int n = c ? snprintf(msg, sizeof(msg),
                         "engine_driver: hung: worker 0 waits for its forked child %d, which has "
                         "not ended (stuck in a fork handler?)\n",
                         (int)c)
              : snprintf(msg, sizeof(msg),
                         "engine_driver: hung: the run has not ended 120 s after its time\n");
    if (n > 0) {
        ssize_t rc = write(STDERR_FILENO, msg, (size_t)n);
        (void)rc;
    }
    if (c) kill(c, SIGKILL);
    _exit(1);
}

static void fork_once(struct worker *w)
{
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    waiting_for = pid;
    if (pid == 0) {
        signal(SIGALRM, SIG_DFL);
        alarm(60);
        for (int i = 0; i < SLOTS; i++)
            if (w->slot[i].p)
                check(w->slot[i].p, w->slot[i].size, (uintptr_t)w->slot[i].p, "forked child");
        for (int i = 0; i < SLOTS; i += 2)
            if (w->slot[i].p) grow_or_shrink(&w->rng, &w->slot[i], "forked child");
        for (int t = 0; t < KMS_TARGET_COUNT; t++) {
            void *p = kms_alloc(t, 100000, 0, false);
            if (!p) _exit(3);
            memset(p, 1, 100000);
            mi_free(p);
        }
        /* ThreadSanitizer does not support threads started after a multi-threaded fork,
         * and AddressSanitizer's thread registry can be left locked by a parent thread
         * in the child (half of the children hung in pthread_create). The preloaded
         * fork tests start threads in forked children without sanitizers. */
        if (!KMS_TSAN && !KMS_ASAN) {
            pthread_t t;
            if (pthread_create(&t, NULL, child_thread, (void *)(uintptr_t)w->rng) != 0) _exit(4);
            pthread_join(t, NULL);
        }
        _exit(0);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid) die("waitpid: %s", strerror(errno));
    waiting_for = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("forked child: status 0x%x", status);
    w->forks++;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    char what[32];
    snprintf(what, sizeof(what), "worker %d", w->id);
    double next_fork = now() + 0.5;
    while (!stop) {
        struct blk *b = &w->slot[rnd(&w->rng) % SLOTS];
        unsigned op = (unsigned)(rnd(&w->rng) % 100);
        if (b->p && op < 20)
            grow_or_shrink(&w->rng, b, what);
        else if (b->p && op < 35 && nworkers > 1)
            post((w->id + 1 + (int)(rnd(&w->rng) % (uint64_t)(nworkers - 1))) % nworkers, b);
        else {
            if (b->p) drop(b, what);
            make(&w->rng, b, what);
        }
        if ((++w->ops & 31) == 0) drain(w, what);
        if (w->id == 0 && (w->ops & 15) == 0 && now() >= next_fork) {
            fork_once(w);
            next_fork = now() + 1;
        }
    }
    drain(w, what);
    return NULL;
}

/* Short-lived threads: allocate, hand some blocks over, exit (the engine's thread-exit path). */
static unsigned long lifetimes;
static void *churn_thread(void *arg)
{
    uint64_t rng = (uintptr_t)arg * 0x9E3779B97F4A7C15ull | 1;
    struct blk b[8];
    for (int i = 0; i < 8; i++)
        if (!make(&rng, &b[i], "short-lived thread")) b[i].p = NULL;
    for (int i = 0; i < 8; i++)
        if (b[i].p && !(i & 1 && post((int)(rnd(&rng) % (uint64_t)nworkers), &b[i])))
            drop(&b[i], "short-lived thread");
    __atomic_add_fetch(&lifetimes, 1, __ATOMIC_RELAXED);
    return NULL;
}

static void *spawner_main(void *arg)
{
    (void)arg;
    uintptr_t seq = 1;
    while (!stop) {
        pthread_t t[CHURN_AT_ONCE];
        for (int i = 0; i < CHURN_AT_ONCE; i++)
            if (pthread_create(&t[i], NULL, churn_thread, (void *)seq++) != 0)
                die("pthread_create: %s", strerror(errno));
        for (int i = 0; i < CHURN_AT_ONCE; i++)
            pthread_join(t[i], NULL);
    }
    return NULL;
}

/* ---- start-up, as preload/startup.c does it ---------------------------------------------- */

static void start_engine(void)
{
    static struct kms_config config;
    static struct kms_setup setup;
    static char env_rules[sizeof(rules) + 16];
    char err[4096], warn[1024];
    snprintf(env_rules, sizeof(env_rules), "KMEM_RULES=%s", rules);
    char *env_live[] = {"KMEM_NODES=0", env_rules, NULL};
    char *env_four[] = {"KMEM_NODES=2,3", env_rules, "KMEM_ARENA_SIZE=256M", NULL};
    char *env_tier[] = {"KMEM_NODES=0",
                        env_rules,
                        "KMEM_DRAM_BUDGET=1M",
                        "KMEM_ACCESS=10",
                        "KMEM_ACCESS_COST=0",
                        "KMEM_TIER_RATE=64G",
                        NULL};
    kms_state = KMS_STATE_STARTING;
    kms_self.bypass++;
    if (kms_config_from_env(fournode  ? env_four
                            : tiering ? env_tier
                                      : env_live,
                            &config, err, sizeof(err), warn, sizeof(warn)) < 0)
        die("configuration: %s", err);
    if (kms_routes_build(&config, err, sizeof(err)) < 0) die("rules: %s", err);
    static bool uses[KMS_TARGET_COUNT] = {[KMS_TARGET_PREFERRED] = true};
    int rc = fournode ? kms_setup_run_text(&config, uses, four_node, NULL, KMS_SETUP_TELL, &setup)
                      : kms_setup_run(&config, uses, KMS_SETUP_TELL, &setup);
    if (rc < 0) die("setup: %s", setup.error);
    if (setup.warning[0]) fprintf(stderr, "engine_driver: warning: %s\n", setup.warning);
    kms_engine_setup(&setup.topo, &setup.plan, config.arena_size);
    kms_fork_handlers_register(true);
    if (tiering) {
        const char *why = NULL;
        /* The shim's own thread in a forked child hangs as the driver's would (fork_once). */
        kms_access_child_sampler = !KMS_TSAN && !KMS_ASAN;
        kms_stats_start(KMS_STATS_SAMPLE_DEFAULT);
        if (!kms_access_init(config.access_ms, config.access_cost, &why))
            die("access mode: %s", why);
        struct kms_tier_setup t = {.budget = config.dram_budget,
                                   .rate = config.tier_rate,
                                   .kmem_target = config.kmem_policy};
        if (kms_tier_init(&t) < 0) die("tiering: %s", strerror(errno));
    }
    kms_self.bypass--;
    __atomic_store_n(&kms_state, KMS_STATE_READY, __ATOMIC_RELEASE);
    printf("engine_driver: %s: %d classes;", fournode ? "fournode" : "live", kms_nclasses);
    for (int t = 0; t < KMS_TARGET_COUNT; t++)
        printf(" %s->%d", kms_target_name(t), kms_target_class[t]);
    printf("\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "live") != 0 && strcmp(argv[1], "fournode") != 0 &&
                     strcmp(argv[1], "tier") != 0)) {
        fprintf(stderr, "usage: engine_driver live|fournode|tier [--seconds N] [--threads N]\n");
        return 2;
    }
    fournode = strcmp(argv[1], "fournode") == 0;
    tiering = strcmp(argv[1], "tier") == 0;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--seconds"))
            seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads"))
            nworkers = atoi(argv[i + 1]);
        else
            die("unknown option %s", argv[i]);
    }
    if (nworkers < 1 || nworkers > MAX_WORKERS) die("--threads: 1..%d", MAX_WORKERS);
    start_engine();
    signal(SIGALRM, watchdog);
    alarm((unsigned)seconds + 120);

    /* The preload tests' mimalloc #700 case, directly: sizes 256..1024 aligned to themselves. */
    for (int t = 0; t < KMS_TARGET_COUNT; t++)
        for (size_t a = 256; a <= 1024; a *= 2)
            for (int i = 0; i < 64; i++) {
                void *p = kms_alloc(t, a, a, false);
                if (!p || ((uintptr_t)p & (a - 1)))
                    die("kms_alloc(%s, %zu, align %zu) = %p: not aligned", kms_target_name(t), a, a,
                        p);
                mi_free(p);
            }

    double t0 = now();
    for (int i = 0; i < nworkers; i++) {
        workers[i].id = i;
        workers[i].rng = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 7);
        pthread_mutex_init(&workers[i].lock, NULL);
    }
    for (int i = 0; i < nworkers; i++)
        if (pthread_create(&workers[i].tid, NULL, worker_main, &workers[i]) != 0)
            die("pthread_create");
    pthread_t spawner;
    if (pthread_create(&spawner, NULL, spawner_main, NULL) != 0) die("pthread_create");
    while (now() - t0 < seconds)
        usleep(50 * 1000);
    stop = 1;
    pthread_join(spawner, NULL);
    for (int i = 0; i < nworkers; i++)
        pthread_join(workers[i].tid, NULL);
    unsigned long ops = 0, forks = 0;
    for (int i = 0; i < nworkers; i++) {
        drain(&workers[i], "main");
        for (int k = 0; k < SLOTS; k++)
            if (workers[i].slot[k].p) drop(&workers[i].slot[k], "main");
        ops += workers[i].ops;
        forks += workers[i].forks;
    }
    printf("engine_driver: %.1f s, %d workers: %lu operations, %lu short-lived threads, %lu "
           "forks, %d arenas, %lu ENOMEM from bound classes\n",
           now() - t0, nworkers, ops, lifetimes, forks, (int)kms_narenas, enomem_count);
    if (tiering) {
        kms_access_finish();
        kms_tier_stats_text(stdout);
        struct kms_access_info in;
        kms_access_get_info(&in);
        if (in.tracked == 0 || in.samples < 10)
            die("tiering: %u groups, %llu samples", in.tracked, (unsigned long long)in.samples);
    }
    printf("engine_driver: PASS\n");
    return 0;
}
