/* SPDX-License-Identifier: MIT */
#include "core/placement.h"

#include "core/meta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *kms_mode_name(int mode)
{
    switch (mode) {
    case KMS_MODE_BIND: return "bind";
    case KMS_MODE_PREFERRED: return "preferred";
    case KMS_MODE_PREFERRED_MANY: return "preferred_many";
    case KMS_MODE_INTERLEAVE: return "interleave";
    case KMS_MODE_WEIGHTED: return "weighted_interleave";
    default: return "default";
    }
}

void kms_placement_mode_name(const struct kms_placement *pl, char *buf, size_t len)
{
    if (pl->flags & KMS_MPOL_F_NUMA_BALANCING)
        snprintf(buf, len, "%s+balancing(home %d)", kms_mode_name(pl->mode), pl->home);
    else
        snprintf(buf, len, "%s", kms_mode_name(pl->mode));
}

void kms_plan_free(struct kms_plan *plan)
{
    for (int t = 0; t < KMS_TARGET_COUNT; t++) {
        kms_meta_free(plan->at[t]);
        plan->at[t] = NULL;
    }
}

/* The KMEM nodes at the smallest distance from node c. */
static int closest_kmem(const struct kms_topology *t, const struct kms_nodeset *kmem, int c,
                        struct kms_nodeset *out)
{
    int best = -1;
    kms_nodeset_clear(out);
    for (int n = 0; n <= t->max_node; n++) {
        if (!kms_nodeset_has(kmem, n)) continue;
        int d = kms_topology_distance(t, c, n);
        if (best < 0 || d < best) {
            best = d;
            kms_nodeset_clear(out);
        }
        if (d == best) kms_nodeset_add(out, n);
    }
    return best;
}

int kms_plan_compute(const struct kms_topology *t, const struct kms_nodeset *kmem,
                     const struct kms_plan_opts *opts, struct kms_plan *plan, char *err,
                     size_t errlen)
{
    bool have_preferred_many = opts->have_preferred_many;
    memset(plan, 0, sizeof(*plan));
    plan->max_node = t->max_node;
    for (int n = kms_nodeset_first(kmem); n >= 0; n = kms_nodeset_next(kmem, n)) {
        if (!kms_nodeset_has(&t->present, n)) {
            char have[256];
            kms_nodeset_format(&t->present, have, sizeof(have));
            snprintf(err, errlen, "KMEM node %d does not exist (this machine has nodes %s)", n,
                     have);
            return -1;
        }
        if (!kms_nodeset_has(&t->with_memory, n)) {
            snprintf(err, errlen, "KMEM node %d has no memory", n);
            return -1;
        }
    }
    int nn = t->max_node + 1;
    for (int tg = 0; tg < KMS_TARGET_COUNT; tg++) {
        plan->at[tg] = kms_meta_calloc((size_t)nn, sizeof(struct kms_placement));
        if (!plan->at[tg]) {
            kms_plan_free(plan);
            snprintf(err, errlen, "out of memory computing node sets");
            return -1;
        }
    }

    if (opts->no_policy) {
        for (int tg = 0; tg < KMS_TARGET_COUNT; tg++) {
            for (int c = 0; c < nn; c++)
                plan->at[tg][c] = (struct kms_placement){.mode = KMS_MODE_DEFAULT, .home = -1};
            plan->uniform[tg] = true;
        }
        return 0;
    }

    struct kms_nodeset dram;
    kms_nodeset_clear(&dram);
    for (int n = 0; n <= t->max_node; n++)
        if (kms_nodeset_has(&t->with_memory, n) && !kms_nodeset_has(kmem, n))
            kms_nodeset_add(&dram, n);
    bool have_kmem = !kms_nodeset_empty(kmem);
    /* DRAM is bound only when there is something to keep it away from, and
     * something left to bind to. */
    struct kms_placement dram_pl = {.set = dram, .mode = KMS_MODE_BIND, .home = -1};
    if (!have_kmem || kms_nodeset_empty(&dram)) dram_pl.mode = KMS_MODE_DEFAULT;
    /* Interleave targets spread pages over every node of their set, whatever
     * CPU the thread runs on; without weighted interleave in the kernel the
     * weighted ones are plain interleave (the set-up warns). */
    int weighted = opts->have_weighted ? KMS_MODE_WEIGHTED : KMS_MODE_INTERLEAVE;
    struct kms_placement il_all = {.set = t->with_memory, .mode = KMS_MODE_INTERLEAVE, .home = -1};
    struct kms_placement wil_all = il_all;
    wil_all.mode = weighted;
    struct kms_placement il_kmem = {.set = *kmem, .mode = KMS_MODE_INTERLEAVE, .home = -1};
    struct kms_placement wil_kmem = il_kmem;
    wil_kmem.mode = weighted;

    int first_cpu_node = kms_nodeset_first(&t->with_cpus);
    if (first_cpu_node < 0) first_cpu_node = kms_nodeset_first(&t->present);
    if (first_cpu_node < 0) first_cpu_node = 0;

    for (int c = 0; c < nn; c++) {
        /* Nodes without CPUs never host a thread; they mirror the first CPU node. */
        int from = kms_nodeset_has(&t->with_cpus, c) ? c : first_cpu_node;
        struct kms_placement *dk = &plan->at[KMS_TARGET_DAX_KMEM][c];
        struct kms_placement *all = &plan->at[KMS_TARGET_KMEM_ALL][c];
        struct kms_placement *pref = &plan->at[KMS_TARGET_PREFERRED][c];
        plan->at[KMS_TARGET_DRAM][c] = dram_pl;
        plan->at[KMS_TARGET_INTERLEAVE_ALL][c] = il_all;
        plan->at[KMS_TARGET_WEIGHTED_INTERLEAVE_ALL][c] = wil_all;
        if (!have_kmem) {
            /* No KMEM route exists: every KMEM route is DRAM. */
            *dk = *all = *pref = dram_pl;
            plan->at[KMS_TARGET_INTERLEAVE][c] = plan->at[KMS_TARGET_WEIGHTED_INTERLEAVE][c] =
                dram_pl;
            continue;
        }
        plan->at[KMS_TARGET_INTERLEAVE][c] = il_kmem;
        plan->at[KMS_TARGET_WEIGHTED_INTERLEAVE][c] = wil_kmem;
        struct kms_nodeset near;
        int dist = closest_kmem(t, kmem, from, &near);
        /* Equal SLIT distances: the HMAT figures decide, as memkind's
         * bandwidth kinds did; without figures the tie stands. */
        struct kms_nodeset tied = near;
        if (kms_tiers_break_tie(opts->perf, &near) && !plan->hmat_tie[0] &&
            kms_nodeset_has(&t->with_cpus, c)) {
            char a[96], b[96];
            kms_nodeset_format(&tied, a, sizeof(a));
            kms_nodeset_format(&near, b, sizeof(b));
            snprintf(plan->hmat_tie, sizeof(plan->hmat_tie),
                     "KMEM nodes %s are equally close to CPU node %d (distance %d); HMAT picks %s "
                     "(lowest read latency, then highest read bandwidth)",
                     a, c, dist, b);
        }
        dk->set = near;
        dk->mode = KMS_MODE_BIND;
        dk->home = all->home = pref->home = -1;
        all->set = *kmem;
        all->mode = KMS_MODE_BIND;
        pref->set = near;
        if (kms_nodeset_count(&near) == 1) {
            pref->mode = KMS_MODE_PREFERRED;
        } else if (have_preferred_many) {
            pref->mode = KMS_MODE_PREFERRED_MANY;
        } else {
            /* Recorded, not fatal: only a configuration that uses preferred fails. */
            pref->mode = KMS_MODE_PREFERRED;
            pref->set = near;
            if (!plan->preferred_tie[0]) {
                char list[128];
                kms_nodeset_format(&near, list, sizeof(list));
                snprintf(plan->preferred_tie, sizeof(plan->preferred_tie),
                         "policy preferred: KMEM nodes %s are equally close to CPU node %d "
                         "(distance %d) and this kernel has no MPOL_PREFERRED_MANY (Linux 5.15+); "
                         "use dax_kmem or kmem_all, or name one node in KMEM_NODES",
                         list, from, dist);
            }
            struct kms_nodeset one;
            kms_nodeset_clear(&one);
            kms_nodeset_add(&one, kms_nodeset_first(&near));
            pref->set = one;
        }
        if (opts->movable) {
            /* Bound to the target's nodes and DRAM, first touches on the
             * nearest target node, NUMA balancing allowed to move pages to
             * the toucher's node: the only combination a 6.1 kernel honours
             * for promotion out of slow memory (see kmemshim(7)). */
            struct kms_placement *mv[] = {dk, all, pref};
            for (int i = 0; i < 3; i++) {
                for (int n = 0; n <= t->max_node; n++)
                    if (kms_nodeset_has(&dram, n)) kms_nodeset_add(&mv[i]->set, n);
                mv[i]->mode = KMS_MODE_BIND;
                mv[i]->flags = KMS_MPOL_F_NUMA_BALANCING;
                mv[i]->home = kms_nodeset_first(&near);
            }
        }
    }
    for (int tg = 0; tg < KMS_TARGET_COUNT; tg++) {
        plan->uniform[tg] = true;
        for (int c = 1; c < nn; c++) {
            const struct kms_placement *a = &plan->at[tg][0], *b = &plan->at[tg][c];
            if (!kms_placement_equal(a, b)) plan->uniform[tg] = false;
        }
    }
    return 0;
}
