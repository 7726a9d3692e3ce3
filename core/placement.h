/* SPDX-License-Identifier: MIT */
/* Node sets per policy and CPU node: the design's policy table as a pure
 * function of a topology and the set of KMEM nodes. */
#ifndef KMS_CORE_PLACEMENT_H
#define KMS_CORE_PLACEMENT_H
#include "core/nodeset.h"
#include "core/tiers.h"
#include "core/topology.h"
#include "core/target.h"

#include <stdbool.h>

enum kms_mode {
    KMS_MODE_DEFAULT = 0,        /* no mbind: the process's own policy */
    KMS_MODE_BIND = 2,           /* MPOL_BIND */
    KMS_MODE_PREFERRED = 1,      /* MPOL_PREFERRED */
    KMS_MODE_PREFERRED_MANY = 5, /* MPOL_PREFERRED_MANY, Linux 5.15+ */
    KMS_MODE_INTERLEAVE = 3,     /* MPOL_INTERLEAVE */
    KMS_MODE_WEIGHTED = 6,       /* MPOL_WEIGHTED_INTERLEAVE, Linux 6.9+ */
};

/* MPOL_F_NUMA_BALANCING (Linux 5.12+, MPOL_BIND only on 6.1): the kernel's
 * NUMA balancing may move the pages of the range to the node of the CPU that
 * touches them, if that node is in the set. */
#define KMS_MPOL_F_NUMA_BALANCING (1 << 13)

struct kms_placement {
    struct kms_nodeset set;
    int mode;  /* enum kms_mode; the values are the kernel's MPOL_* numbers */
    int flags; /* mode flags given with it: KMS_MPOL_F_NUMA_BALANCING or 0 */
    int home;  /* set_mempolicy_home_node (Linux 5.17+): first touches start on this
                  node of the set; -1 = none (the kernel starts at the CPU's node) */
};

/* What the kernel accepts, and what the configuration asks for, besides the
 * topology and the KMEM nodes. */
struct kms_plan_opts {
    bool have_preferred_many; /* MPOL_PREFERRED_MANY (5.15+) */
    bool have_weighted;       /* MPOL_WEIGHTED_INTERLEAVE (6.9+); else plain interleave */
    /* KMEM_MOVABLE=1: the KMEM targets (dax_kmem, kmem_all, preferred) become
     * MPOL_BIND|MPOL_F_NUMA_BALANCING over their nodes and the DRAM nodes, with
     * the home node on their nearest KMEM node: first touches land there, and
     * the kernel's tiering (numa_balancing=2) promotes hot pages to DRAM. */
    bool movable;
    const struct kms_tiers *perf; /* HMAT figures for tie-breaking, or NULL */
    /* The kernel takes no NUMA policy (no NUMA, or mbind() denied): every target
     * is the process's own policy, the interleaves included. */
    bool no_policy;
};

struct kms_plan {
    int max_node;
    /* [target][node]: valid for every node; a node without CPUs gets the
     * placement of the first CPU node, for threads whose node is unknown. */
    struct kms_placement *at[KMS_TARGET_COUNT];
    /* Non-empty when `preferred` has a tie that the kernel cannot express;
     * the configuration turns it into a start-up error if preferred is used. */
    char preferred_tie[512];
    /* Non-empty when HMAT figures broke a tie of SLIT distances: which, and how
     * (the first such tie; `kmemshim nodes` shows it). */
    char hmat_tie[512];
    /* Whether a target's placement is the same from every CPU node, so the
     * allocator can skip looking up the CPU for it. */
    bool uniform[KMS_TARGET_COUNT];
};

/* Computes the plan. kmem must be a subset of the nodes with memory (else -1
 * with a message naming the node). */
int kms_plan_compute(const struct kms_topology *t, const struct kms_nodeset *kmem,
                     const struct kms_plan_opts *opts, struct kms_plan *plan, char *err,
                     size_t errlen);
static inline bool kms_placement_equal(const struct kms_placement *a, const struct kms_placement *b)
{
    return a->mode == b->mode && a->flags == b->flags && a->home == b->home &&
           kms_nodeset_equal(&a->set, &b->set);
}
/* "bind", "interleave", ... and "bind+balancing(home N)" for a movable placement. */
void kms_placement_mode_name(const struct kms_placement *pl, char *buf, size_t len);
void kms_plan_free(struct kms_plan *plan);
const char *kms_mode_name(int mode);

#endif
