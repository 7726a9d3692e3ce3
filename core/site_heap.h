/* SPDX-License-Identifier: MIT */
/* Per thread, a direct-mapped memo from a caller's return address to the
 * heaps its requests go to: what rules decided for that callsite (one size
 * bound, a target on each side), resolved to this thread's heaps. malloc's
 * full path probes it first, so a callsite seen before costs a few loads and
 * a compare instead of the route cache, the target's class and its heap.
 *
 * An entry holds only what stays true while the thread lives: the callsite's
 * decision never changes (the route cache never forgets one, see
 * policy/route.c), and only targets whose class does not depend on the CPU
 * are kept. A heap that cannot serve (its class is full) makes the probe's
 * caller take the full path, which falls back as its policy says and teaches
 * the memo again. Thread exit empties it (core/engine.c), before mimalloc
 * deletes the heaps it names. */
#ifndef KMS_CORE_SITE_HEAP_H
#define KMS_CORE_SITE_HEAP_H
#include "core/engine.h"

#include <mimalloc.h>
#include <stddef.h>
#include <stdint.h>

#define KMS_SITE_HEAP_BITS 6 /* 64 callsites per thread, 2 KiB */

struct kms_site_heap {
    uintptr_t caller;   /* 0: empty (no return address is 0) */
    uint64_t bound;     /* requests below it take heap[0], the others heap[1] */
    mi_heap_t *heap[2]; /* NULL: that side takes the full path */
};

extern __thread struct kms_site_heap kms_site_heaps[1u << KMS_SITE_HEAP_BITS]
    __attribute__((tls_model("initial-exec")));

/* The same Fibonacci hashing as the route cache's (policy/route.h says why
 * not the low bits). */
static inline size_t kms_site_heap_slot(uintptr_t caller)
{
    return (size_t)(((uint32_t)caller * 0x9E3779B1u) >> (32 - KMS_SITE_HEAP_BITS));
}

/* The heap for a request of size from caller, or NULL: not known, or the
 * thread is inside the shim's own work or exiting (bypass: plain heap). */
static inline mi_heap_t *kms_site_heap_of(size_t size, const void *caller)
{
    const struct kms_site_heap *e = &kms_site_heaps[kms_site_heap_slot((uintptr_t)caller)];
    if (__builtin_expect(e->caller != (uintptr_t)caller || kms_self.bypass != 0, 0)) return NULL;
    return e->heap[size >= e->bound];
}

/* Remembers caller's decision (size < bound -> below, else above): each
 * side's heap as kms_alloc would pick it now. Nothing for per-CPU targets,
 * inside the shim's own work, or a thread that is exiting. Replaces whatever
 * the slot held. */
void kms_site_heap_learn(uintptr_t caller, uint64_t bound, int below, int above);

/* Empties the thread's memo. */
void kms_site_heap_forget(void);

#endif
