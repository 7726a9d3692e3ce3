/* SPDX-License-Identifier: MIT */
/* From configuration to a plan: reads the topology, finds the KMEM nodes
 * (configured, or detected by the KMEM_DETECT sources: libdaxctl, memory tiers, HMAT),
 * checks which policies the kernel accepts
 * and computes the node sets. Shared by the preloaded start-up and the command. */
#ifndef KMS_POLICY_SETUP_H
#define KMS_POLICY_SETUP_H
#include "core/placement.h"
#include "core/tiers.h"
#include "core/topology.h"
#include "policy/config.h"
#include "policy/setup_reads.h"

struct kms_setup {
    struct kms_topology topo;
    struct kms_plan plan;
    struct kms_nodeset kmem;
    int kmem_source; /* enum kms_nodes_source */
    bool numa_ok;    /* topology read, mbind permitted */
    bool have_preferred_many;
    bool have_weighted; /* MPOL_WEIGHTED_INTERLEAVE (6.9+) */
    bool movable;       /* KMEM_MOVABLE=1 and the kernel takes it */
    /* What the kernel says about each node (sysfs; empty for a text topology
     * without a sysfs root), and the detection's verdict per node. */
    struct kms_tiers tiers;
    struct kms_node_verdict *verdicts; /* [topo.max_node + 1], or NULL */
    struct kms_nodeset dax;            /* nodes of dax devices in system-ram mode */
    char dax_error[256];               /* why libdaxctl could not look, or empty */
    char source_desc[640];             /* where the KMEM nodes came from, one line */
    char warning[1536]; /* lines (no final newline), or empty: what the shim does instead */
    char error[1024];   /* one line: the program must stop */
};

/* uses: [KMS_TARGET_COUNT], the targets some request can reach, or NULL for
 * none in particular (a `preferred` tie the kernel cannot express, or weighted
 * interleave on a kernel without it, matter only to a configuration that uses
 * them). detail: what the caller shows of the outcome; beyond it only what can
 * change the plan is read (policy/setup_reads.h), and a warning nobody is shown
 * may say less. Returns 0, or -1 with s->error. */
int kms_setup_run(const struct kms_config *c, const bool *uses, enum kms_setup_detail detail,
                  struct kms_setup *s);
/* Same, with a topology given as `numactl -H` text instead of the live one, and
 * sysfs files (memory tiers, HMAT, weights) under sysfs_root, or none if NULL.
 * The kernel is taken to have every policy; libdaxctl is not asked. */
int kms_setup_run_text(const struct kms_config *c, const bool *uses, const char *topo_text,
                       const char *sysfs_root, enum kms_setup_detail detail, struct kms_setup *s);
/* The weighted-interleave fallback: when the configuration uses a weighted
 * target and the kernel lacks the policy, a warning (plain interleave is used)
 * or, under KMEM_STRICT=1, an error. Returns -1 when it is an error. */
int kms_setup_weighted_fallback(const struct kms_config *c, const bool *uses, bool have_weighted,
                                char *warning, size_t wlen, char *error, size_t elen);
void kms_setup_free(struct kms_setup *s);

#endif
