/* SPDX-License-Identifier: MIT */
#include "policy/setup_reads.h"

#include "core/target.h"
#include "core/tiers.h"

/* Nodes some detection source could claim: present, with memory, without CPUs. */
bool kms_setup_reads_candidates(const struct kms_topology *t)
{
    for (int n = 0; n <= t->max_node && n < KMS_MAX_NODES; n++)
        if (kms_nodeset_has(&t->with_memory, n) && !kms_nodeset_has(&t->with_cpus, n)) return true;
    return false;
}

struct kms_setup_reads kms_setup_reads(const struct kms_config *c, const struct kms_topology *t,
                                       bool live, enum kms_setup_detail detail)
{
    struct kms_setup_reads r = {0};
    /* Where no node can be claimed, detection finds nothing without asking; asked all the
     * same when that outcome is said (KMEM_STRICT=1 makes it an error) with its reasons. */
    bool candidate = kms_setup_reads_candidates(t);
    r.consult = !c->nodes_set && (detail != KMS_SETUP_QUIET || c->strict || candidate);
    r.daxctl = r.consult && live && (c->detect & KMS_DETECT_DAXCTL);
    /* With no node to claim, libdaxctl's answer only words the message, and where sysfs
     * lists no dax device that answer is "none" without opening it (libdaxctl, libkmod and
     * theirs: about 5 M instructions). `kmemshim nodes` still says whether it can be opened. */
    r.daxctl_if_listed = r.daxctl && !candidate && detail != KMS_SETUP_EXPLAIN;
    if (detail == KMS_SETUP_EXPLAIN) {
        r.sysfs = KMS_SYSFS_ALL;
        r.judge = true;
    } else if (r.consult) {
        if (c->detect & KMS_DETECT_TIERS) r.sysfs |= KMS_SYSFS_TIERS;
        if (c->detect & KMS_DETECT_HMAT) r.sysfs |= KMS_SYSFS_HMAT;
    }
    return r;
}

bool kms_setup_reads_tie_break(const struct kms_nodeset *kmem)
{
    return kms_nodeset_count(kmem) > 1;
}

bool kms_setup_reads_brief(const struct kms_config *c, const bool *uses,
                           enum kms_setup_detail detail)
{
    /* Configured nodes need their sizes and distances; a said or strict "no KMEM nodes"
     * names every source's reason; the _all interleaves bind every node with memory,
     * sized. */
    return !c->nodes_set && !c->strict && detail == KMS_SETUP_QUIET && uses &&
           !uses[KMS_TARGET_INTERLEAVE_ALL] && !uses[KMS_TARGET_WEIGHTED_INTERLEAVE_ALL];
}
