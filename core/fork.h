/* SPDX-License-Identifier: MIT */
/* The shim's locks, and fork().
 *
 * The mutexes, always taken in this order, never the other way round:
 *   1. the statistics' lock (core/stats.c): recorded blocks, sites, threads;
 *   2. the callsite table's lock (core/callsite.c): loaded modules, symbols;
 *   3. access mode's tracked callsites' table (core/access.c);
 *   4. access mode's figures (core/access_sampler.c, kms_access_lock);
 *   5. the arenas' lock (core/arena.c): adding an arena to a class or to a
 *      tracked callsite (taken under the tracked callsites' lock);
 *   6. the kept pages' lock (core/decommit.c): taken inside mimalloc's
 *      madvise and mprotect calls, so under any of the others; nothing but
 *      (7) is taken under it;
 *   7. the shim's records' lock (core/meta.c): any of the others may be held
 *      when a record is made or freed; nothing is taken under it.
 * At run time a thread holds two of them only when it gives a tracked
 * callsite its arena, (3) then (5), or when mimalloc commits or decommits
 * under one of them, (6) last; otherwise one at a time: the report copies
 * under (1) and names callsites under (2) after letting (1) go; the shim's own
 * work under (2) (reading symbol tables) allocates from the plain heap, which
 * takes neither (1) nor (5), and its frees skip (1) (core/stats.c, own_work).
 * fork() takes them in this order before the child is made, so the child
 * finds each in a known state (the parent lets them go; the child makes new
 * ones), whatever the other threads held; it skips those no thread can hold
 * (kms_fork_handlers_register). mimalloc's own state needs nothing
 * from us: a child's heaps are its thread's, as in the parent.
 * Before all six, fork() waits for the stack walks under way (depth rules,
 * core/stackwalk.c): libunwind's own locks are then free in the child. A walk
 * holds none of the six, but its own requests may take (1), so the walks
 * come first. */
#ifndef KMS_CORE_FORK_H
#define KMS_CORE_FORK_H

#include "core/check.h"

#include <stdbool.h>

/* The ranks of the order above. Where KMS_ASSERT is on, each thread keeps the
 * ranks it holds, and taking a lock while one of the same or a later rank is
 * held breaks the order: kms_assert says so. */
enum kms_lock_rank {
    KMS_LOCK_STATS = 1,
    KMS_LOCK_CALLSITES = 2,
    KMS_LOCK_ACCESS_UNITS = 3,
    KMS_LOCK_ACCESS_FIGURES = 4,
    KMS_LOCK_ARENAS = 5,
    KMS_LOCK_DECOMMIT = 6,
    KMS_LOCK_META = 7,
};

#if KMS_ASSERT
extern __thread unsigned kms_locks_held __attribute__((tls_model("initial-exec")));
/* Before taking the lock of rank r. */
static inline void kms_lock_order_take(enum kms_lock_rank r)
{
    kms_assert((kms_locks_held >> r) == 0); /* nothing of rank r or later held */
    kms_locks_held |= 1u << r;
}
/* After letting it go (or, in a fork child, making it anew). */
static inline void kms_lock_order_drop(enum kms_lock_rank r)
{
    kms_assert(kms_locks_held & (1u << r));
    kms_locks_held &= ~(1u << r);
}
#else
static inline void kms_lock_order_take(enum kms_lock_rank r) { (void)r; }
static inline void kms_lock_order_drop(enum kms_lock_rank r) { (void)r; }
#endif

/* Registers the fork handlers; once, at start-up, after the engine. callers:
 * the configuration can take locks (1) to (4) and walk stacks (rules that look
 * at callers, statistics, profiles, access mode). Without, nothing but (5) to (7) is
 * ever taken, and fork() holds only those: each lock held costs the parent and
 * the child a copy of its page (written on both sides of the fork), which a
 * shell pays for every command it runs. */
void kms_fork_handlers_register(bool callers);

#endif
