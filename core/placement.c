#include "core/placement.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *kms_mode_name(int mode)
{
    switch (mode) {
    case KMS_MODE_BIND: return "bind";
    case KMS_MODE_PREFERRED: return "preferred";
    case KMS_MODE_PREFERRED_MANY: return "preferred_many";
    default: return "default";
    }
}

void kms_plan_free(struct kms_plan *plan)
{
    for (int t = 0; t < KMS_TARGET_COUNT; t++) {
        free(plan->at[t]);
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
                     bool have_preferred_many, struct kms_plan *plan, char *err, size_t errlen)
{
    memset(plan, 0, sizeof(*plan));
    plan->max_node = t->max_node;
    for (int n = 0; n < KMS_MAX_NODES; n++) {
        if (!kms_nodeset_has(kmem, n)) continue;
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
        plan->at[tg] = calloc((size_t)nn, sizeof(struct kms_placement));
        if (!plan->at[tg]) {
            kms_plan_free(plan);
            snprintf(err, errlen, "out of memory computing node sets");
            return -1;
        }
    }

    struct kms_nodeset dram;
    kms_nodeset_clear(&dram);
    for (int n = 0; n <= t->max_node; n++)
        if (kms_nodeset_has(&t->with_memory, n) && !kms_nodeset_has(kmem, n))
            kms_nodeset_add(&dram, n);
    bool have_kmem = !kms_nodeset_empty(kmem);
    /* DRAM is bound only when there is something to keep it away from, and
     * something left to bind to. */
    struct kms_placement dram_pl = {.set = dram, .mode = KMS_MODE_BIND};
    if (!have_kmem || kms_nodeset_empty(&dram)) dram_pl.mode = KMS_MODE_DEFAULT;

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
        if (!have_kmem) {
            /* No KMEM route exists: every route is DRAM. */
            *dk = *all = *pref = dram_pl;
            continue;
        }
        struct kms_nodeset near;
        int dist = closest_kmem(t, kmem, from, &near);
        dk->set = near;
        dk->mode = KMS_MODE_BIND;
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
    }
    for (int tg = 0; tg < KMS_TARGET_COUNT; tg++) {
        plan->uniform[tg] = true;
        for (int c = 1; c < nn; c++) {
            const struct kms_placement *a = &plan->at[tg][0], *b = &plan->at[tg][c];
            if (a->mode != b->mode || !kms_nodeset_equal(&a->set, &b->set))
                plan->uniform[tg] = false;
        }
    }
    return 0;
}
