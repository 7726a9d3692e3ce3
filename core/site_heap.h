/* SPDX-License-Identifier: MIT */
/* Per thread, a direct-mapped memo from a caller's return address to the
 * heaps its requests go to: what rules decided for that callsite (one size
 * bound, a target on each side), resolved to this thread's heaps; under
 * runtime tiering, the heap of the callsite's group (core/access.c). malloc's
 * full path probes it first, so a callsite seen before costs a few loads and
 * a compare instead of the route cache, the target's class and its heap.
 *
 * An entry holds only what stays true while the thread lives: the callsite's
 * decision never changes (the route cache never forgets one, see
 * policy/route.c; a group keeps its arena, tiering changes only the arena's
 * policy), and only targets whose class does not depend on the CPU are kept. A heap that cannot
 * serve (its class is full) makes the probe's caller take the full path, which falls back as its
 * policy says and teaches the memo again. Thread exit empties it (core/engine.c), before mimalloc
 * deletes the heaps it names. */
#ifndef KMS_CORE_SITE_HEAP_H
#define KMS_CORE_SITE_HEAP_H
#include "core/engine.h"

#include <mimalloc.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KMS_SITE_HEAP_BITS 6 /* 64 callsites per thread, 2 KiB */

struct kms_site_heap {
    uintptr_t caller;   /* 0: empty (no return address is 0) */
    uint64_t bound;     /* requests below it take heap[0], the others heap[1] */
    mi_heap_t *heap[2]; /* NULL: that side takes the full path */
};

struct kms_site_memo {
    struct kms_site_heap slot[1u << KMS_SITE_HEAP_BITS];
    /* The caller of the request being served from a memo heap, for the full
     * path should that heap fail: kept here, not in a register across the
     * heap call, so that malloc's frame stays the fast path's. (A signal
     * handler that allocates in between, which POSIX does not allow, could
     * leave its own caller here: that request would be routed as the
     * handler's, if the heap also failed.) */
    const void *serving;
};

extern __thread struct kms_site_memo kms_site_memo __attribute__((tls_model("initial-exec")));

/* The same Fibonacci hashing as the route cache's (policy/route.h says why
 * not the low bits). */
static inline size_t kms_site_heap_slot(uintptr_t caller)
{
    return (size_t)(((uint32_t)caller * 0x9E3779B1u) >> (32 - KMS_SITE_HEAP_BITS));
}

/* The heap for a request of size from caller, or NULL: not known.
 *
 * kms_bypassed is not tested, so that malloc's frame needs no register for
 * it: an exiting thread has an empty memo (emptied at exit, never taught
 * again), and the requests of the shim's foreign calls come from the foreign
 * code's callsites, which are only taught when they allocate outside a
 * foreign call. A library both the shim
 * and the program call (libc's fopen for a report) may serve the shim from
 * the heap the program's rules chose for it: placement only, no recursion
 * (the memo's path calls mimalloc and nothing of the shim). */
static inline mi_heap_t *kms_site_heap_of(size_t size, const void *caller)
{
    /* Indexed from the thread pointer each time, not through the slot's
     * address: one instruction less; the side by a conditional move. */
    size_t i = kms_site_heap_slot((uintptr_t)caller);
    if (__builtin_expect(kms_site_memo.slot[i].caller != (uintptr_t)caller, 0)) return NULL;
    mi_heap_t *below = kms_site_memo.slot[i].heap[0], *above = kms_site_memo.slot[i].heap[1];
    return size < kms_site_memo.slot[i].bound ? below : above;
}

/* Remembers caller's decision (size < bound -> below, else above): each
 * side's heap as kms_alloc would pick it now (a target of -1: none, that side
 * takes the full path). Nothing for per-CPU targets,
 * inside a foreign call (kms_bypass_enter), or a thread that is exiting. Replaces whatever
 * the slot held. */
void kms_site_heap_learn(uintptr_t caller, uint64_t bound, int below, int above);

/* The same with the heaps given (a tracked callsite's own, core/access.c);
 * NULL: that side takes the full path. */
void kms_site_heap_learn_heaps(uintptr_t caller, uint64_t bound, mi_heap_t *below,
                               mi_heap_t *above);

/* Empties the thread's memo. */
void kms_site_heap_forget(void);

#endif
