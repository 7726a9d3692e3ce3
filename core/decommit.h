/* SPDX-License-Identifier: MIT */
/* Decommits held back.
 *
 * mimalloc 2.0.9 decommits at once (MADV_DONTNEED, its delay ignored) the free
 * spans of every abandoned segment a heap pops and cannot use, and a plain
 * heap can use no arena's segment: a new thread's first plain page drops the
 * dead threads' arena pages, and the thread's route heap faults them back a
 * moment later (bench/analysis.md, "mstress: the cause"). The library exports
 * madvise and mprotect (preload/vm_calls.c): a MADV_DONTNEED that mimalloc's
 * own code makes on arena memory is held here for mimalloc's decommit delay,
 * and made then, unless mimalloc commits the range again first (mprotect
 * read-write), which takes it out of the set: its pages are reused as they are.
 *
 * Why that is safe (mimalloc 2.0.9's os.c, segment.c, arena.c):
 *   - mimalloc touches a decommitted range only after committing it again, and
 *     a commit is mprotect(PROT_READ|PROT_WRITE) over it: the commit takes the
 *     range out of the set before mprotect returns, under the set's lock, so a
 *     held decommit is never made on memory in use;
 *   - mimalloc never assumes recommitted memory is zero (its commit reports
 *     is_zero false on Linux; an arena block is zero only when never used);
 *   - only mimalloc's calls are held (the call's return address is in its
 *     text): a program that drops a page of its own block reads zeros after;
 *   - only arena memory is held: arenas are never unmapped, so a held range
 *     can never be someone else's mapping when it is made;
 *   - MADV_FREE (mimalloc's page reset) and every other advice go through.
 * A held range keeps its pages on the node its arena's policy put them on.
 *
 * Lock: the set's, innermost (core/fork.h, rank 5): nothing is taken under it,
 * and its holders make only madvise system calls. */
#ifndef KMS_CORE_DECOMMIT_H
#define KMS_CORE_DECOMMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Held bytes past which the oldest held range is made at once. */
#define KMS_DECOMMIT_CAP (64u << 20)

/* How long a range is held, in units of mimalloc's decommit_delay. mimalloc
 * 2.1 waits purge_delay times arena_purge_mult (10 ms x 10) before it purges
 * arena memory, because a segment of an arena is reused later than a span of
 * a thread's own segment (it waits for a thread of that arena to reclaim or
 * pop it); 2.0.9's decommit_delay (25 ms) times 4 is the same 100 ms. */
#define KMS_DECOMMIT_HOLD_DELAYS 4

/* Turns holding on, for decommits whose return address is in mimalloc's
 * text, for KMS_DECOMMIT_HOLD_DELAYS times mimalloc's decommit_delay; off
 * when that delay is 0, when decommit is off, or when page reset is on (a
 * reset may fall back to MADV_DONTNEED on old kernels, and a reset page is
 * used without a commit).
 * Registers a mimalloc deferred-free hook that makes what fell due. Once, at
 * start-up, after the engine; before it nothing is held. */
void kms_decommit_setup(void);

/* madvise(addr, len, MADV_DONTNEED) as made by ret: true if it is held (the
 * call is then done), false if the caller must make it. */
bool kms_decommit_hold(void *addr, size_t len, const void *ret);

/* Before mprotect(addr, len, prot) by anyone, with prot other than PROT_NONE:
 * what the set holds of the range leaves it (a commit reuses those pages).
 * Takes the lock only for a range that meets an arena while something is held,
 * so a program's mprotect of its own memory, in a signal handler too, never
 * waits on it. */
void kms_decommit_release(void *addr, size_t len);

/* Makes the held decommits that fell due (all: every one). Cheap when nothing
 * is held. */
void kms_decommit_poll(bool all);

/* Figures, since start-up. */
struct kms_decommit_counts {
    bool on;                     /* holding is on (kms_decommit_setup) */
    uint64_t held, reused, made; /* bytes: held back, committed again while held, made later */
    size_t holding;              /* bytes held now */
};
void kms_decommit_counts(struct kms_decommit_counts *c);

/* The set's lock across fork() (core/fork.h). */
void kms_decommit_fork_prepare(void);
void kms_decommit_fork_parent(void);
void kms_decommit_fork_child(void);

#endif
