/* SPDX-License-Identifier: MIT */
#include "preload/entry.h"

/* KMEM_STATS / KMEM_PROFILE after the inline counted path: the blocks it
 * sends here to be recorded (with KMEM_STATS_SAMPLE=0 every one) from the
 * thread's counted pointer, then the count; else the route, access mode's
 * arenas, the count. */
static inline __attribute__((always_inline)) void *alloc_counted(size_t size, bool zero,
                                                                 const void *caller)
{
    if (kms_fast_counted) {
        unsigned side = size >= kms_fast_threshold;
        mi_heap_t *h = kms_self.counted[side];
        void *p;
        if (__builtin_expect(h != NULL, 1) &&
            __builtin_expect((p = kms_heap_alloc(h, size, 0, zero)) != NULL, 1)) {
            kms_stats_note(p, size, kms_fast_target[side], caller);
            return p;
        }
    }
    int target = kms_route_decide(size, caller);
    void *p = kms_entry_alloc_to(target, size, size, 0, zero, caller);
    if (p && kms_fast_ok) kms_fast_learn(size, target);
    return p;
}

static __attribute__((noinline)) void *malloc_counted(size_t size, const void *caller)
{
    return alloc_counted(size, false, caller);
}

/* The route decided for each request: rules, or a thread's first request
 * on each side of the threshold, or runtime tiering's callsites before the
 * memo knows them. Statistics are off (kms_entry_malloc_full). */
static inline __attribute__((always_inline)) void *alloc_routed(size_t size, bool zero,
                                                                const void *caller)
{
    int target = kms_route_decide(size, caller);
    /* Runtime tiering without statistics: access mode teaches the memo itself. */
    if (__builtin_expect(kms_access_on, 0)) return kms_access_alloc(target, size, 0, zero, caller);
    void *p = kms_alloc(target, size, 0, zero);
    if (__builtin_expect(p != NULL, 1)) {
        if (kms_fast_ok)
            kms_fast_learn(size, target);
        else if (kms_routes.by_caller)
            kms_route_site_learn(caller);
    }
    return p;
}

static __attribute__((noinline)) void *malloc_routed(size_t size, const void *caller)
{
    return alloc_routed(size, false, caller);
}

void *kms_entry_site_failed(size_t size) { return malloc_routed(size, kms_site_memo.serving); }

void *kms_entry_malloc_full(size_t size, const void *caller)
{
    /* Two tail calls, so that neither path pays the other's saved registers. */
    if (__builtin_expect(kms_stats_on, 0)) return malloc_counted(size, caller);
    return malloc_routed(size, caller);
}

static __attribute__((noinline)) void *calloc_counted(size_t size, const void *caller)
{
    return alloc_counted(size, true, caller);
}

static __attribute__((noinline)) void *calloc_routed(size_t size, const void *caller)
{
    return alloc_routed(size, true, caller);
}

void *kms_entry_site_failed_zero(size_t size) { return calloc_routed(size, kms_site_memo.serving); }

void *kms_entry_calloc_full(size_t size, const void *caller)
{
    /* As kms_entry_malloc_full: two tail calls. */
    if (__builtin_expect(kms_stats_on, 0)) return calloc_counted(size, caller);
    return calloc_routed(size, caller);
}

void *kms_entry_realloc(void *p, size_t size, const void *caller)
{
    if (!p) return kms_entry_alloc(size, 0, false, caller);
    if (size == 0) {
        kms_entry_free(p);
        return NULL;
    }
    int target = kms_route_decide(size, caller);
    if (__builtin_expect(!kms_stats_on, 1))
        return kms_access_on ? kms_access_realloc(p, size, target, caller)
                             : kms_realloc_routed(p, size, target);
    struct kms_sampled_rec r;
    bool had = kms_stats_realloc_begin(p, &r);
    void *q = kms_access_on ? kms_access_realloc(p, size, target, caller)
                            : kms_realloc_routed(p, size, target);
    if (!q) {
        if (had) kms_stats_realloc_failed(&r); /* p is still the caller's */
        return NULL;
    }
    kms_stats_note(q, size, target, caller);
    return q;
}
