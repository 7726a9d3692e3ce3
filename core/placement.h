/* Node sets per policy and CPU node: the design's policy table as a pure
 * function of a topology and the set of KMEM nodes. */
#ifndef KMS_CORE_PLACEMENT_H
#define KMS_CORE_PLACEMENT_H
#include "core/nodeset.h"
#include "core/topology.h"
#include "core/target.h"

#include <stdbool.h>

enum kms_mode {
    KMS_MODE_DEFAULT = 0,        /* no mbind: the process's own policy */
    KMS_MODE_BIND = 2,           /* MPOL_BIND */
    KMS_MODE_PREFERRED = 1,      /* MPOL_PREFERRED */
    KMS_MODE_PREFERRED_MANY = 5, /* MPOL_PREFERRED_MANY, Linux 5.15+ */
};

struct kms_placement {
    struct kms_nodeset set;
    int mode; /* enum kms_mode; the values are the kernel's MPOL_* numbers */
};

struct kms_plan {
    int max_node;
    /* [target][node]: valid for every node; a node without CPUs gets the
     * placement of the first CPU node, for threads whose node is unknown. */
    struct kms_placement *at[KMS_TARGET_COUNT];
    /* Non-empty when `preferred` has a tie that the kernel cannot express;
     * the configuration turns it into a start-up error if preferred is used. */
    char preferred_tie[512];
    /* Whether a target's placement is the same from every CPU node, so the
     * allocator can skip looking up the CPU for it. */
    bool uniform[KMS_TARGET_COUNT];
};

/* Computes the plan. kmem must be a subset of the nodes with memory (else -1
 * with a message naming the node). have_preferred_many: the kernel accepts
 * MPOL_PREFERRED_MANY. */
int kms_plan_compute(const struct kms_topology *t, const struct kms_nodeset *kmem,
                     bool have_preferred_many, struct kms_plan *plan, char *err, size_t errlen);
void kms_plan_free(struct kms_plan *plan);
const char *kms_mode_name(int mode);

#endif
