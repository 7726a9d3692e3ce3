/* SPDX-License-Identifier: MIT */
/* The one path of every exported allocation symbol: decide the route, allocate
 * from its heap, count the request (KMEM_STATS / KMEM_PROFILE). The symbols in
 * malloc.c and cxx_new.c only check their arguments, take their caller's
 * address and call these; the C++ forms add the new-handler loop. */
#ifndef KMS_PRELOAD_ENTRY_H
#define KMS_PRELOAD_ENTRY_H
#include "core/access.h"
#include "core/engine.h"
#include "core/site_heap.h"
#include "core/stats.h"
#include "policy/route.h"

#include <stdbool.h>
#include <stddef.h>

/* A request already routed to target: allocate, and count route_size bytes. */
static inline __attribute__((always_inline)) void *kms_entry_alloc_to(int target, size_t route_size,
                                                                      size_t size, size_t align,
                                                                      bool zero, const void *caller)
{
    if (__builtin_expect(kms_stats_on, 0)) {
        /* Access mode: tracked callsites' own arenas. */
        void *p = kms_access_on ? kms_access_alloc(target, size, align, zero, caller)
                                : kms_alloc(target, size, align, zero);
        if (p) kms_stats_note(p, route_size, target, caller);
        return p;
    }
    /* Runtime tiering without statistics. */
    if (__builtin_expect(kms_access_on, 0))
        return kms_access_alloc(target, size, align, zero, caller);
    return kms_alloc(target, size, align, zero);
}

/* A request of size bytes routed as a request of route_size bytes would be
 * (pvalloc rounds its size up, but is routed and counted by what was asked). */
static inline __attribute__((always_inline)) void *
kms_entry_alloc_as(size_t route_size, size_t size, size_t align, bool zero, const void *caller)
{
    return kms_entry_alloc_to(kms_route_decide(route_size, caller), route_size, size, align, zero,
                              caller);
}

static inline __attribute__((always_inline)) void *kms_entry_alloc(size_t size, size_t align,
                                                                   bool zero, const void *caller)
{
    return kms_entry_alloc_as(size, size, align, zero, caller);
}

/* malloc, calloc and unaligned operator new after the first try missed:
 * the full path, which then lets the thread's fast (or counted) pointer for
 * that side of the threshold learn the route's heap. */
void *kms_entry_malloc_full(size_t size, const void *caller);
void *kms_entry_calloc_full(size_t size, const void *caller);

/* The full path for a request whose memo heap failed (its class is full):
 * the caller is kms_site_memo.serving. */
void *kms_entry_site_failed(size_t size) __attribute__((visibility("hidden")));
/* The same for calloc. */
void *kms_entry_site_failed_zero(size_t size) __attribute__((visibility("hidden")));

/* When the thread's fast pointer is NULL (malloc; zeroed: calloc): with
 * statistics on, the inline counted path; a callsite that caller rules
 * decided before takes its heap from the thread's memo (core/site_heap.h),
 * in the entry point's own frame; anything else takes the full path. The
 * counted pointer is set only without rules, and the memo is taught only
 * without statistics, so at most one of the two can serve; the counted
 * pointer's test comes first because it is also the only test statistics
 * need, and the memo needs none of its own (a probe of an empty memo
 * misses). zero and small (size is below kms_fast_small_end) are constants
 * at every call, so each entry point keeps its own mimalloc calls and its own
 * out-of-line fallbacks. */
static inline __attribute__((always_inline)) void *
kms_entry_alloc_miss(size_t size, unsigned side, bool small, bool zero, const void *caller)
{
    mi_heap_t *h = kms_stats_counted_heap(size, side);
    if (h != NULL) {
        void *p = kms_heap_alloc_unaligned(h, size, small, zero);
        if (__builtin_expect(p != NULL, 1)) return p;
        return kms_stats_counted_failed(size, side, zero);
    }
    h = kms_site_heap_of(size, caller);
    if (h != NULL) {
        kms_site_memo.serving = caller;
        void *p = kms_heap_alloc_unaligned(h, size, small, zero);
        if (__builtin_expect(p != NULL, 1)) return p;
        return zero ? kms_entry_site_failed_zero(size) : kms_entry_site_failed(size);
    }
    return zero ? kms_entry_calloc_full(size, caller) : kms_entry_malloc_full(size, caller);
}

/* malloc and unaligned operator new for one side of the threshold, or for
 * a request below kms_fast_small_end (small, side 0): the thread's fast pointer, NULL whenever
 * anything but mimalloc's call has to happen (statistics on, rules, per-CPU routes, the shim's own
 * work, a thread's first request), so nothing else is tested before the call, and no register but
 * the size is kept across it. Should the heap fail (its class is full), the full path: a fast
 * pointer means no rules, hence no memo, and no statistics. */
static inline __attribute__((always_inline)) void *
kms_entry_malloc_side(size_t size, unsigned side, bool small, const void *caller)
{
    mi_heap_t *h = kms_self.fast[small ? KMS_FAST_SMALL : side];
    if (__builtin_expect(h == NULL, 0))
        return kms_entry_alloc_miss(size, side, small, false, caller);
    void *p = kms_heap_alloc_unaligned(h, size, small, false);
    if (__builtin_expect(p != NULL, 1)) return p;
    return kms_entry_malloc_full(size, caller);
}

/* Branches on the sizes, not an index computed from a compare: one
 * instruction less, well predicted (most programs' requests are mostly small,
 * and mostly on one side; with one route for all sizes, always), and each
 * side's counters are at fixed offsets. Small requests, the most frequent,
 * are tested first. */
static inline __attribute__((always_inline)) void *kms_entry_malloc(size_t size, const void *caller)
{
    if (size < kms_fast_small_end) return kms_entry_malloc_side(size, 0, true, caller);
    if (size < kms_fast_threshold) return kms_entry_malloc_side(size, 0, false, caller);
    return kms_entry_malloc_side(size, 1, false, caller);
}

static inline __attribute__((always_inline)) void kms_entry_free(void *p)
{
    const uint8_t *filter = kms_stats_filter;
    if (__builtin_expect(filter != NULL, 0) && kms_sampled_maybe_in(filter, p))
        kms_stats_free(p);
    else
        mi_free(p);
}

/* realloc's semantics (glibc's, which programs rely on): NULL allocates, size
 * 0 frees and returns NULL; a block moves when its new size routes elsewhere. */
void *kms_entry_realloc(void *p, size_t size, const void *caller);

#endif
