/* SPDX-License-Identifier: MIT */
/* Arenas: reserved address ranges with one NUMA policy each, handed to
 * mimalloc as exclusive arenas. A class is one distinct (node set, mode); it
 * owns one or more arenas (it grows by adding arenas when one is full). */
#ifndef KMS_CORE_ARENA_H
#define KMS_CORE_ARENA_H
#include "core/placement.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* mimalloc 2.0.9 allows 64 arenas per process; leave some to it. */
#define KMS_MAX_ARENAS 56
#define KMS_MAX_CLASSES 32
#define KMS_ARENA_ALIGN (32ull << 20) /* mimalloc's arena block (segment) size */
#define KMS_ARENA_MIN (64ull << 20)
#define KMS_ARENA_MAX_ALIGN (16ull << 20) /* largest alignment mimalloc gives inside an arena */

/* The address space a bound class may reserve: its nodes' capacity, plus one
 * mimalloc segment for each of 2 threads per CPU (at least 16). Every thread
 * that allocates from an arena holds at least one 32 MiB segment of it, mostly
 * empty: without the headroom a 256 MiB node served 8 threads and failed the
 * ninth with ENOMEM while nearly all of its memory was free. Address space is
 * not memory: pages still come only from the class's nodes, and touching more
 * than they hold meets the kernel's limit as under memkind. */
uint64_t kms_bind_reservation(uint64_t capacity, int ncpus);

struct kms_arena {
    uintptr_t start, end;
    int mi_id; /* mi_arena_id_t */
    int cls;
    bool own; /* a tracked callsite's (kms_arena_add_own): not in its class's list */
};

struct kms_class {
    struct kms_placement pl;
    uint64_t reserve_cap;    /* the address space the class may reserve in all (not memory) */
    uint64_t reserved_bytes; /* what it has reserved */
    int narenas;
    int arenas[KMS_MAX_ARENAS];
    int fallback; /* class used when this one is exhausted, KMS_CLASS_PLAIN, or
                     KMS_FALLBACK_NONE */
};

/* A class number that is no class: the plain heap (a target's class, a fallback). */
#define KMS_CLASS_PLAIN (-1)
/* A fallback that is none: the request fails with ENOMEM (bound classes). */
#define KMS_FALLBACK_NONE (-2)

extern struct kms_arena kms_arenas[KMS_MAX_ARENAS];
extern int kms_narenas; /* arenas in use; read with __atomic_load_n (acquire) */
extern struct kms_class kms_classes[KMS_MAX_CLASSES];
extern int kms_nclasses;

/* Cap on one reservation (KMEM_ARENA_SIZE); 0 = the class's whole target. */
extern uint64_t kms_arena_chunk;

/* Adds an arena of at least min_bytes to class cls. Thread-safe. Returns the
 * arena index, or -1 with errno (ENOMEM: no address space, or the arena limit). */
int kms_arena_grow(int cls, size_t min_bytes);

/* An arena of its own for one tracked callsite (access profiling): reserved
 * like a class's, bound with class cls's placement (cls -1: the process's own
 * policy, as the plain heap), but never added to the class, so that only the
 * heaps made for that callsite allocate from it. Reserves up to want bytes,
 * halving under address-space limits down to KMS_ARENA_MIN. huge: ask for
 * transparent huge pages (MADV_HUGEPAGE; not for a movable placement, which
 * needs base pages). Returns the arena index, or -1 with errno. */
int kms_arena_add_own(int cls, uint64_t want, bool huge);

static inline bool kms_arena_is_own(int a) { return kms_arenas[a].own; }

/* The arena holding p, or -1 (the plain heap or memory that is not ours). */
static inline int kms_arena_of(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    int n = __atomic_load_n(&kms_narenas, __ATOMIC_ACQUIRE);
    for (int i = 0; i < n; i++)
        if (a - kms_arenas[i].start < kms_arenas[i].end - kms_arenas[i].start) return i;
    return -1;
}

/* Whether [start, end) meets any arena. */
static inline bool kms_arena_meets(uintptr_t start, uintptr_t end)
{
    int n = __atomic_load_n(&kms_narenas, __ATOMIC_ACQUIRE);
    for (int i = 0; i < n; i++)
        if (start < kms_arenas[i].end && end > kms_arenas[i].start) return true;
    return false;
}

/* The arenas' lock across fork(), so a child never sees a half-added arena
 * (core/fork.h). */
void kms_arena_fork_prepare(void);
void kms_arena_fork_parent(void);
void kms_arena_fork_child(void);

/* mbind() with a placement on [start, start+len). Returns 0 or -errno. */
int kms_mbind(void *start, size_t len, const struct kms_placement *pl);

#endif
