/* SPDX-License-Identifier: MIT */
/* The allocation engine: per-thread mimalloc heaps over the arenas of each
 * class, the route-to-class table, and the fallbacks when a class is full. */
#ifndef KMS_CORE_ENGINE_H
#define KMS_CORE_ENGINE_H
#include "core/arena.h"
#include "core/check.h"
#include "core/placement.h"
#include "core/stats_thread.h"
#include "core/target.h"

#include <limits.h>
#include <mimalloc.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum kms_state {
    KMS_STATE_EARLY = 0, /* before start-up: everything goes to the plain heap */
    KMS_STATE_STARTING,  /* start-up running: nested requests go to the plain heap */
    KMS_STATE_READY,
};

#define KMS_FAST_SMALL 2

struct kms_thread {
    /* malloc's heap for requests below / at or above kms_fast_threshold, set
     * after a first request when the route depends on the size alone; NULL:
     * take the full path (rules, statistics, per-CPU routes, exhaustion).
     * fast[KMS_FAST_SMALL] is fast[0], set and emptied with it: the heap of
     * the requests below kms_fast_small_end. */
    mi_heap_t *fast[3];
    /* The same while statistics are on (fast[] then stays NULL): malloc's
     * inline counted path (core/stats.h, kms_stats_counted_heap) allocates from it and
     * counts. Set only while this thread's statistics state is ACTIVE and it is
     * outside a foreign call (kms_bypass_enter), cleared when either
     * ends, so that the inline path needs no state or bypass test. */
    mi_heap_t *counted[2];
    mi_heap_t *cur[KMS_MAX_CLASSES]; /* heap the thread allocates from, per class */
    mi_heap_t *heap[KMS_MAX_ARENAS]; /* heap per arena, made on first use */
    /* Why this thread's requests go to the plain heap, unrouted and uncounted. bypass: how
     * deep it is in the named foreign calls the shim makes (fopen, opendir, dlopen, qsort,
     * libelf, libdw, libunwind: they allocate through the exported malloc, and those requests
     * are the shim's, kms_bypass_enter); exiting: its thread-exit hook ran, mimalloc deletes
     * its heaps next (the program's requests still come). plain_only is both at once: the one
     * word the hot paths test. */
    union {
        struct {
            uint16_t bypass;
            uint16_t exiting;
        };
        uint32_t plain_only;
    };
    bool exit_hook;
    struct kms_stats_thread stats; /* KMEM_STATS / KMEM_PROFILE counting (core/stats.h) */
};

/* Enters a foreign call (bypass > 0: the requests it makes go to the plain heap,
 * uncounted). The fast and counted pointers are emptied, so the inline paths,
 * which test nothing else, send every request made inside it to the full
 * path: a pointer set implies bypass == 0, because kms_fast_learn sets none
 * while bypass is set. They are learnt again after the section, at the cost
 * of one request's full path. */
static inline void kms_bypass_enter(struct kms_thread *self)
{
    self->bypass++;
    self->fast[0] = self->fast[1] = self->fast[KMS_FAST_SMALL] = NULL;
    self->counted[0] = self->counted[1] = NULL;
}

/* The thread's invariant: a fast or counted pointer is set only while its
 * requests may be routed (plain_only is 0), so that the inline paths need test
 * nothing else. */
static inline void kms_thread_check(const struct kms_thread *self)
{
    (void)self;
    kms_assert(!self->plain_only ||
               !(self->fast[0] || self->fast[1] || self->fast[KMS_FAST_SMALL] || self->counted[0] ||
                 self->counted[1]));
}

static inline void kms_bypass_leave(struct kms_thread *self)
{
    /* Leaves only what it entered. bypass read as its half of plain_only: GCC 12's UBSan
     * reports a member of the anonymous struct, read here, as a null pointer's. */
    kms_assert((self->plain_only & 0xffffu) != 0);
    kms_thread_check(self);
    self->bypass--;
}

/* Whether the thread's requests go to the plain heap: inside a foreign call
 * or exiting. One compare in memory on the hot paths. */
static inline bool kms_bypassed(const struct kms_thread *self) { return self->plain_only != 0; }

extern __thread struct kms_thread kms_self __attribute__((tls_model("initial-exec")));
extern int kms_state;
/* The class of each target: KMS_CLASS_PLAIN for the plain heap (also before start-up has
 * finished, so the hot path needs no state check), KMS_CLASS_BY_CPU when it
 * depends on the CPU the thread runs on. */
#define KMS_CLASS_BY_CPU 127
extern int8_t kms_target_class[KMS_TARGET_COUNT];
/* The class of each target as seen from each node's CPUs, node by node: a machine's nodes
 * take the table's first bytes, one page for up to 512 nodes, which start-up writes. */
extern int8_t kms_node_class[KMS_MAX_NODES][KMS_TARGET_COUNT];
extern int16_t kms_cpu_node[KMS_MAX_CPUS];

/* Sets up classes and the target-to-class tables from a plan; the tables go live last. */
void kms_engine_setup(const struct kms_topology *topo, const struct kms_plan *plan,
                      uint64_t arena_chunk);

/* The classes a target's requests can land in, used[c] for c < KMS_MAX_CLASSES: its one
 * class, or, when the CPU's node decides, the class of each node of the machine. None when
 * the target is the plain heap or the engine is not set up. */
void kms_target_classes(int target, bool used[KMS_MAX_CLASSES]);

extern uint64_t kms_fast_threshold __attribute__((visibility("hidden")));
/* Requests below kms_fast_small_end are at most MI_SMALL_SIZE_MAX bytes and
 * below the threshold: malloc serves them from fast[KMS_FAST_SMALL] with
 * mi_heap_malloc_small, which skips the size test mi_heap_malloc makes (and
 * must never see a larger size). */
extern uint64_t kms_fast_small_end __attribute__((visibility("hidden")));
extern bool kms_fast_ok;
/* Statistics are on: kms_fast_learn fills counted[], not fast[]. */
extern bool kms_fast_counted __attribute__((visibility("hidden")));
/* The target of each side of the threshold, for the statistics. */
extern int kms_fast_target[2] __attribute__((visibility("hidden")));
/* Whether the fast pointers may be used at all: no rules, and both sides of
 * the threshold routed the same from every CPU; counted: statistics are on,
 * and every request of recorded_from bytes or more is recorded (it always
 * takes the full path). Counted, the side below the threshold is cut at
 * recorded_from, so that the inline path below it needs no size test; the
 * side above then gets no counted pointer, its requests being on both
 * routes' sides or recorded. recorded_from 0 (every block recorded) cuts
 * nothing: the countdown, negative for good, sends every request on. */
void kms_fast_enable(bool ok, bool counted, uint64_t recorded_from, uint64_t threshold, int below,
                     int above);
/* After a request of size took the full path to target: remember its heap. */
void kms_fast_learn(size_t size, int target);

/* Every aligned / zeroed / plain request of the engine is made here: the
 * one place that knows which mimalloc call serves which. _at(..., 0), not
 * mi_heap_malloc_aligned: mimalloc 2.0.9's fast path there returns
 * misaligned blocks for sizes 256..1024 (mimalloc #700). */
static inline void *kms_heap_alloc(mi_heap_t *h, size_t size, size_t align, bool zero)
{
    return align  ? mi_heap_malloc_aligned_at(h, size, align, 0)
           : zero ? mi_heap_zalloc(h, size)
                  : mi_heap_malloc(h, size);
}

/* kms_heap_alloc of an unaligned request; small: it is below
 * kms_fast_small_end, and mi_heap_malloc_small may serve it. */
static inline void *kms_heap_alloc_unaligned(mi_heap_t *h, size_t size, bool small, bool zero)
{
    return small && !zero ? mi_heap_malloc_small(h, size) : kms_heap_alloc(h, size, 0, zero);
}

/* This thread's heap in arena a, made on first use (NULL if mimalloc cannot). */
mi_heap_t *kms_heap_for_arena(int a);

void *kms_alloc_slow(int cls, size_t size, size_t align, bool zero);
void *kms_plain_alloc(size_t size, size_t align, bool zero);
void *kms_realloc_routed(void *p, size_t size, int target);
int kms_class_by_cpu(int target);

static inline int kms_class_of_target(int target)
{
    int cls = kms_target_class[target];
    if (__builtin_expect(cls == KMS_CLASS_BY_CPU, 0)) cls = kms_class_by_cpu(target);
    return cls;
}

/* The whole hot path: a class lookup, one thread-local read, mimalloc. */
static inline void *kms_alloc(int target, size_t size, size_t align, bool zero)
{
    int cls = kms_class_of_target(target);
    struct kms_thread *self = &kms_self;
    if (__builtin_expect(cls >= 0 && !kms_bypassed(self), 1)) {
        mi_heap_t *h = self->cur[cls];
        if (__builtin_expect(h != NULL, 1)) {
            void *p = kms_heap_alloc(h, size, align, zero);
            if (__builtin_expect(p != NULL, 1)) return p;
        }
        return kms_alloc_slow(cls, size, align, zero);
    }
    /* mimalloc's own NULL for an impossible size leaves errno alone. */
    if (__builtin_expect(size <= PTRDIFF_MAX && !align, 1))
        return zero ? mi_zalloc(size) : mi_malloc(size);
    return kms_plain_alloc(size, align, zero);
}

#endif
