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
        /* Access mode (only with statistics): tracked callsites' own arenas. */
        void *p = kms_access_on ? kms_access_alloc(target, size, align, zero, caller)
                                : kms_alloc(target, size, align, zero);
        if (p) kms_stats_note(p, route_size, target, caller);
        return p;
    }
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

/* malloc and unaligned operator new after the fast pointers missed: the full
 * path, which then lets the thread's fast pointer for that side of the
 * threshold learn the route's heap. */
void *kms_entry_malloc_full(size_t size, const void *caller);

/* The full path for a request whose memo heap failed (its class is full):
 * the caller is kms_site_memo.serving. */
void *kms_entry_site_failed(size_t size) __attribute__((visibility("hidden")));

/* After the fast pointer missed: a callsite that caller rules decided before
 * takes its heap from the thread's memo (core/site_heap.h), in malloc's own
 * frame; anything else takes the full path. */
static inline __attribute__((always_inline)) void *kms_entry_malloc_miss(size_t size,
                                                                         const void *caller)
{
    if (kms_site_heap_on) {
        mi_heap_t *h = kms_site_heap_of(size, caller);
        if (__builtin_expect(h != NULL, 1)) {
            kms_site_memo.serving = caller;
            void *p = mi_heap_malloc(h, size);
            if (__builtin_expect(p != NULL, 1)) return p;
            return kms_entry_site_failed(size);
        }
    }
    return kms_entry_malloc_full(size, caller);
}

/* malloc and unaligned operator new: the thread's fast pointer first. It is
 * NULL whenever anything but mimalloc's call has to happen (statistics on,
 * rules, per-CPU routes, the shim's own work, a thread's first request), so
 * nothing else is tested before or after the call: no register has to be
 * kept across it, and the caller's address is read only on the full path. */
static inline __attribute__((always_inline)) void *kms_entry_malloc(size_t size, const void *caller)
{
    void *p = kms_fast_malloc(size);
    if (__builtin_expect(p != NULL, 1)) return p;
    return kms_entry_malloc_miss(size, caller);
}

static inline __attribute__((always_inline)) void kms_entry_free(void *p)
{
    if (__builtin_expect(kms_stats_on, 0) && kms_sampled_maybe(p))
        kms_stats_free(p);
    else
        mi_free(p);
}

/* realloc's semantics (glibc's, which programs rely on): NULL allocates, size
 * 0 frees and returns NULL; a block moves when its new size routes elsewhere. */
void *kms_entry_realloc(void *p, size_t size, const void *caller);

#endif
