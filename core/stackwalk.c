/* SPDX-License-Identifier: MIT */
#include "core/stackwalk.h"

#include "core/engine.h"

#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <unwind.h>

#define LIBUNWIND_SONAME "libunwind.so.8"
#define LIBGCC_SONAME "libgcc_s.so.1"
/* The shim's own frames between the exported symbol and the walk: at most this many. */
#define OWN_FRAMES 16
#define WALK_MAX (OWN_FRAMES + 32)
/* How many of the shim's own frames the last walk found before the caller's:
 * each frame walked costs, so a walk asks for these and max more, and walks
 * again deeper only when the caller's frame was not among them (another
 * entry point, with more or fewer frames of its own). */
static unsigned own_frames = 6;

static int (*unw_backtrace_fn)(void **buffer, int size);
/* A thread's first walks take libgcc's unwinder even where libunwind is
 * loaded: libunwind sets up per thread (its frame cache is mapped on the
 * first walk and unmapped at exit, and the pages it reads are checked with
 * system calls until its cache knows them), which a thread that walks a few
 * times never earns back; for a short-lived thread it is most of what the
 * depth rule costs. After KMS_STACKWALK_COLD_WALKS walks a thread is taken to
 * walk often, and libunwind's cache pays. */
static __thread unsigned thread_walks __attribute__((tls_model("initial-exec")));
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
/* libunwind takes locks of its own (its caches, the loader's module list):
 * fork() must not copy one held by another thread into the child, where the
 * child's next walk would wait for it forever. So a fork waits until no walk
 * is under way, and no walk starts while a fork is being prepared: a
 * Dekker-style pair of counters (sequentially consistent, so a walker and a
 * fork cannot both miss each other), two atomic operations per walk where a
 * reader-writer lock costs about 80 instructions. */
static int walkers, forking;

static void walk_enter(void)
{
    for (;;) {
        __atomic_add_fetch(&walkers, 1, __ATOMIC_SEQ_CST);
        if (!__atomic_load_n(&forking, __ATOMIC_SEQ_CST)) return;
        __atomic_sub_fetch(&walkers, 1, __ATOMIC_SEQ_CST);
        while (__atomic_load_n(&forking, __ATOMIC_ACQUIRE))
            sched_yield();
    }
}

static void walk_exit(void) { __atomic_sub_fetch(&walkers, 1, __ATOMIC_RELEASE); }

/* libgcc's unwinder, without libunwind: also opened, not linked (libgcc_s is
 * one more library for every process to map and relocate at start-up). */
static _Unwind_Reason_Code (*gcc_backtrace)(_Unwind_Trace_Fn, void *);
static _Unwind_Ptr (*gcc_get_ip)(struct _Unwind_Context *);

static void load(void)
{
#if defined(__SANITIZE_THREAD__)
    /* ThreadSanitizer's mutex interceptor crashes in libunwind's per-thread
     * cache destructor, which runs after TSan has let the exiting thread go:
     * the TSan build walks with libgcc's unwinder only. */
    void *h = NULL;
#else
    /* RTLD_LOCAL: libunwind's _Unwind_* stay out of the program's namespace. */
    void *h = dlopen(LIBUNWIND_SONAME, RTLD_NOW | RTLD_LOCAL);
#endif
    void *fn = h ? dlsym(h, "unw_backtrace") : NULL;
    if (fn)
        __atomic_store_n(&unw_backtrace_fn, (int (*)(void **, int))fn, __ATOMIC_RELEASE);
    else if (h)
        dlclose(h);
    /* libgcc's too, for a forked child (kms_stackwalk_fork_child). */
    h = dlopen(LIBGCC_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) return;
    void *bt = dlsym(h, "_Unwind_Backtrace"), *ip = dlsym(h, "_Unwind_GetIP");
    if (!bt || !ip) {
        dlclose(h);
        return;
    }
    gcc_get_ip = (_Unwind_Ptr(*)(struct _Unwind_Context *))ip;
    __atomic_store_n(&gcc_backtrace, (_Unwind_Reason_Code(*)(_Unwind_Trace_Fn, void *))bt,
                     __ATOMIC_RELEASE);
}

bool kms_stackwalk_load(void)
{
    kms_bypass_enter(&kms_self); /* dlopen allocates through malloc */
    pthread_once(&load_once, load);
    kms_bypass_leave(&kms_self);
    return __atomic_load_n(&unw_backtrace_fn, __ATOMIC_ACQUIRE) != NULL;
}

bool kms_stackwalk_ready(void)
{
    return __atomic_load_n(&unw_backtrace_fn, __ATOMIC_ACQUIRE) != NULL ||
           __atomic_load_n(&gcc_backtrace, __ATOMIC_ACQUIRE) != NULL;
}

/* Copies the frames from the one equal to first, up to max; 0 if first is not among them. */
static unsigned from_first(void *const *all, unsigned n, uintptr_t first, uintptr_t *frames,
                           unsigned max)
{
    unsigned i = __atomic_load_n(&own_frames, __ATOMIC_RELAXED);
    if (i >= n || (uintptr_t)all[i] != first) {
        for (i = 0; i < n && i <= OWN_FRAMES && (uintptr_t)all[i] != first; i++)
            ;
        if (i == n || i > OWN_FRAMES) return 0;
        __atomic_store_n(&own_frames, i, __ATOMIC_RELAXED);
    }
    unsigned k = 0;
    for (; k < max && i + k < n; k++)
        frames[k] = (uintptr_t)all[i + k];
    return k;
}

struct gcc_walk {
    uintptr_t *frames;
    unsigned max, n;
    uintptr_t first;
    unsigned skipped;
};

static _Unwind_Reason_Code gcc_step(struct _Unwind_Context *ctx, void *arg)
{
    struct gcc_walk *s = arg;
    uintptr_t ip = gcc_get_ip(ctx);
    if (s->n == 0 && ip != s->first) {
        /* still inside the shim's own frames */
        if (++s->skipped > OWN_FRAMES) return _URC_END_OF_STACK;
        return _URC_NO_REASON;
    }
    s->frames[s->n++] = ip;
    return s->n == s->max ? _URC_END_OF_STACK : _URC_NO_REASON;
}

unsigned kms_stackwalk(uintptr_t first, uintptr_t *frames, unsigned max)
{
    unsigned n = 0;
    int (*bt)(void **, int) = __atomic_load_n(&unw_backtrace_fn, __ATOMIC_ACQUIRE);
    bool gcc = __atomic_load_n(&gcc_backtrace, __ATOMIC_ACQUIRE) != NULL;
    if (max > WALK_MAX - OWN_FRAMES) max = WALK_MAX - OWN_FRAMES;
    if (thread_walks < KMS_STACKWALK_COLD_WALKS) {
        thread_walks++;
        if (gcc) bt = NULL;
    }
    if (bt) {
        void *all[WALK_MAX];
        walk_enter();
        int want = (int)(max + __atomic_load_n(&own_frames, __ATOMIC_RELAXED));
        int got = bt(all, want);
        if (got > 0) n = from_first(all, (unsigned)got, first, frames, max);
        if (n == 0 && got == want && (got = bt(all, WALK_MAX)) > 0)
            n = from_first(all, (unsigned)got, first, frames, max);
        walk_exit();
    } else if (gcc) {
        struct gcc_walk s = {frames, max, 0, first, 0};
        gcc_backtrace(gcc_step, &s);
        n = s.n;
    }
    if (n == 0) {
        frames[0] = first;
        n = 1;
    }
    return n;
}

void kms_stackwalk_fork_prepare(void)
{
    __atomic_add_fetch(&forking, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&walkers, __ATOMIC_SEQ_CST))
        sched_yield();
}

void kms_stackwalk_fork_parent(void) { __atomic_sub_fetch(&forking, 1, __ATOMIC_RELEASE); }

void kms_stackwalk_fork_child(void)
{
    /* the child has this thread only, and it is in no walk */
    walkers = 0;
    forking = 0;
    /* libunwind finds the unwind tables of a stack it has not seen through
     * dl_iterate_phdr, which takes the loader's module-list lock; fork()
     * copies that lock held when another thread was in dlopen or dlclose, and
     * glibc does not reset it in the child. libgcc's unwinder finds them
     * without locks (_dl_find_object, glibc 2.35+): the child walks with it. */
    if (__atomic_load_n(&gcc_backtrace, __ATOMIC_ACQUIRE))
        __atomic_store_n(&unw_backtrace_fn, NULL, __ATOMIC_RELEASE);
}
