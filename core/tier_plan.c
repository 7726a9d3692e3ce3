/* SPDX-License-Identifier: MIT */
#include "core/tier_plan.h"

static double score(const struct kms_tier_group *g)
{
    return g->tier == KMS_TIER_DRAM ? g->density * KMS_TIER_STAY : g->density;
}

size_t kms_tier_plan(const struct kms_tier_group *g, size_t n, uint64_t budget, int *out)
{
    if (n > KMS_TIER_PLAN_MAX) n = KMS_TIER_PLAN_MAX;
    unsigned order[KMS_TIER_PLAN_MAX];
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        out[i] = g[i].tier;
        if (g[i].pinned) continue;
        /* Insertion by score, stable: equal scores keep index order. */
        size_t at = m;
        while (at > 0 && score(&g[order[at - 1]]) < score(&g[i])) {
            order[at] = order[at - 1];
            at--;
        }
        order[at] = (unsigned)i;
        m++;
    }
    uint64_t left = budget;
    size_t changes = 0;
    for (size_t k = 0; k < m; k++) {
        unsigned i = order[k];
        int want = KMS_TIER_KMEM;
        if (g[i].resident <= left) {
            want = KMS_TIER_DRAM;
            left -= g[i].resident;
        }
        if (want != g[i].tier) changes++;
        out[i] = want;
    }
    return changes;
}

double kms_tier_smooth(double prev, uint64_t touched, uint64_t resident, bool first)
{
    double now = resident ? (double)touched / (double)resident : 0.0;
    if (now > 1.0) now = 1.0;
    return first ? now : prev + KMS_TIER_SMOOTH * (now - prev);
}
