/* SPDX-License-Identifier: MIT */
/* Runtime tiering (KMEM_DRAM_BUDGET): the groups access mode tracks (a
 * callsite's memory in an address range of its own, core/access.h) are kept
 * in DRAM or on the KMEM route's nodes by their smoothed access density, and
 * moved between the two as it changes.
 *
 * A new group's range is bound to DRAM while the budget has room, else to
 * KMEM (kms_tier_new_group). After every sample the sampler thread calls
 * kms_tier_step: it smooths each group's density, asks kms_tier_plan
 * (core/tier_plan.h: ranking, budget, hysteresis) where each group belongs,
 * and moves the groups that change tier with mbind(MPOL_MF_MOVE): the
 * range's policy changes, so pages faulted in later land on the new tier, and
 * the resident pages move. A move goes through the range in pieces whose
 * resident bytes (mincore) fit the interval's share of KMEM_TIER_RATE; the
 * rest waits for the next interval. Pages that cannot move (EBUSY, a full
 * node) are counted and the piece is tried again on a later interval. Threads
 * keep running: the kernel migrates a page under its lock, and a thread that
 * touches it meanwhile waits for the copy; nothing here depends on timing.
 *
 * Everything here runs on the sampler thread (or at start-up and exit) with
 * kms_access_lock held, except kms_tier_new_group, which runs under access
 * mode's units lock on the allocating thread. */
#ifndef KMS_CORE_TIER_H
#define KMS_CORE_TIER_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct kms_tier_setup {
    uint64_t budget;      /* bytes of DRAM for the tracked groups and the untracked DRAM memory */
    uint64_t rate;        /* bytes moved per second at most */
    int kmem_target;      /* where demoted groups go: the target `kmem` names */
    const char *timeline; /* a row per interval and group, or NULL */
    /* Whether a rule names the callsite: such a group stays on its route. NULL: none does. */
    bool (*pinned)(uintptr_t caller);
};

extern int kms_tier_on;

/* Turns tiering on; after the engine's set-up, before access mode's. Opens
 * the timeline; returns -1 with errno when it cannot be created. */
int kms_tier_init(const struct kms_tier_setup *s);

/* Whether a rule names the callsite caller, or parent (a wrapper's caller,
 * 0 for none): the group stays on its route. Takes the callsite table's lock:
 * never under access mode's (core/fork.h). */
bool kms_tier_pinned(uintptr_t caller, uintptr_t parent);

/* A group is being made for unit, its callsite having requested bytes so
 * far: the class its range is bound to (-1: the process's own policy) in
 * *cls: DRAM when those bytes fit in what the budget has left (counting the
 * groups made since the last sample), else KMEM. Returns whether tiering
 * places it (not when pinned); false leaves *cls alone (the route's class). */
bool kms_tier_new_group(unsigned unit, bool pinned, uint64_t bytes, int *cls);

/* Names the groups that have no name yet; on the sampler's thread, outside
 * every lock of the shim's (naming takes the callsite table's lock, which
 * comes before access mode's, core/fork.h). */
void kms_tier_name_groups(void);

/* Writes the latest step's timeline rows; on the sampler's thread, after
 * kms_access_lock is let go (the rows name the groups). */
void kms_tier_flush_timeline(void);

/* After a sample (kms_access_lock held): smooth, plan, move, write the timeline. */
void kms_tier_step(double interval_s);

/* The reports' tiering parts. */
void kms_tier_stats_text(FILE *f);
void kms_tier_stats_json(FILE *f);

/* Fork: the child keeps the groups where they are, counts its own moves and
 * writes no timeline (the file is the parent's). */
void kms_tier_fork_child(void);

#endif
