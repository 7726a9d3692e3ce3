/* SPDX-License-Identifier: MIT */
/* What a set-up reads before it can plan. Opening libdaxctl and reading sysfs
 * are most of what the shim adds to a short process's start-up, and most of it
 * cannot change the plan: every KMEM_DETECT source only ever claims a CPU-less
 * node with memory, the plan uses HMAT figures only to break a tie between
 * KMEM nodes, and interleave weights are the kernel's to apply (the shim only
 * shows them). What a caller shows is read in full: `kmemshim nodes` explains
 * everything, and a warning or KMEM_STRICT=1 error that says detection found
 * nothing names every source KMEM_DETECT asked. */
#ifndef KMS_POLICY_SETUP_READS_H
#define KMS_POLICY_SETUP_READS_H
#include "core/nodeset.h"
#include "core/topology.h"
#include "policy/config.h"

#include <stdbool.h>

struct kms_setup_reads {
    bool consult;          /* the KMEM_DETECT sources are asked at all */
    bool daxctl;           /* libdaxctl is opened and asked for dax devices */
    bool daxctl_if_listed; /* ... only if sysfs lists a dax device (kms_kmem_dax_listed) */
    unsigned sysfs;        /* enum kms_sysfs_part read before detection */
    bool judge;            /* a verdict per node and a source line, for a caller that explains */
};

/* How much of its reasoning the caller of a set-up shows. */
enum kms_setup_detail {
    KMS_SETUP_QUIET,   /* nothing: only the plan and a KMEM_STRICT=1 error matter */
    KMS_SETUP_TELL,    /* the warning: detection that finds nothing names each source's reason */
    KMS_SETUP_EXPLAIN, /* everything: every node judged, every sysfs part read, every policy
                        * probed (`kmemshim nodes`) */
};

/* live: t is this machine's (libdaxctl can be asked). */
struct kms_setup_reads kms_setup_reads(const struct kms_config *c, const struct kms_topology *t,
                                       bool live, enum kms_setup_detail detail);

/* Whether t has a node some KMEM_DETECT source could claim: present, with memory,
 * without CPUs. */
bool kms_setup_reads_candidates(const struct kms_topology *t);

/* Whether a live set-up may first read only the node states
 * (kms_topology_read_live_sets) and stop there when they show no candidate: no
 * configured KMEM nodes, nothing said or KMEM_STRICT=1 about their absence, and no
 * request that can reach an _all interleave (uses: as kms_setup_run's). */
bool kms_setup_reads_brief(const struct kms_config *c, const bool *uses,
                           enum kms_setup_detail detail);

/* Whether the plan may need HMAT figures for kmem: two KMEM nodes can be
 * equally close to a CPU node only when there are two. */
bool kms_setup_reads_tie_break(const struct kms_nodeset *kmem);

#endif
