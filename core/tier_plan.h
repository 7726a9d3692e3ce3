/* SPDX-License-Identifier: MIT */
/* Runtime tiering's decision: which groups keep their pages in DRAM. A pure
 * function of the groups' figures and the budget (no state, no system call),
 * so that every rule below is tested on fixtures (tests/unit/test_tier_plan.c).
 *
 * Contract of kms_tier_plan:
 * - Pinned groups (a rule names their callsite) are left where they are: out
 *   is their current tier, and they take no part in the ranking. The caller
 *   subtracts from the budget what they and the untracked memory hold in DRAM.
 * - The other groups are ranked by score, highest first: the smoothed density
 *   (touched bytes per resident byte and interval), multiplied by
 *   KMS_TIER_STAY for a group whose pages are in DRAM now. That factor is the
 *   hysteresis: a group displaces another only when it is KMS_TIER_STAY times
 *   as dense, so two groups of similar density never swap back and forth.
 *   Equal scores keep the lower index (the older group) first.
 * - In that order a group goes to DRAM when its resident bytes fit in what
 *   the groups before it left of the budget; one that does not fit is passed
 *   over, and smaller ones after it may still fit. A group with nothing
 *   resident always fits: new groups start in DRAM while the budget has room.
 * - A budget of 0 sends every group with resident bytes to KMEM.
 * Returns the number of groups whose tier changes. */
#ifndef KMS_CORE_TIER_PLAN_H
#define KMS_CORE_TIER_PLAN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KMS_TIER_STAY 1.5
/* Intervals a group stays where a move took it (core/tier.c passes it to
 * the plan as pinned meanwhile). */
#define KMS_TIER_DWELL 3
/* Weight of the newest interval in the smoothed density (an exponential
 * moving average: about 1 / KMS_TIER_SMOOTH intervals of memory). */
#define KMS_TIER_SMOOTH 0.4

enum kms_tier { KMS_TIER_DRAM = 0, KMS_TIER_KMEM = 1 };

struct kms_tier_group {
    uint64_t resident; /* bytes resident in the last sample */
    double density;    /* smoothed touched bytes per resident byte and interval, 0..1 */
    int tier;          /* enum kms_tier: where its range's policy points now */
    bool pinned;       /* a rule names its callsite: never moved */
};

/* out[i]: the tier group i should be in. At most KMS_TIER_PLAN_MAX groups. */
#define KMS_TIER_PLAN_MAX 64
size_t kms_tier_plan(const struct kms_tier_group *g, size_t n, uint64_t budget, int *out);

/* The smoothed density after one more interval: touched of resident bytes
 * (0 when nothing is resident); first: no earlier interval. */
double kms_tier_smooth(double prev, uint64_t touched, uint64_t resident, bool first);

#endif
