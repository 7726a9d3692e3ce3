/* SPDX-License-Identifier: MIT */
/* Route targets: the memkind KMEM DAX policies, plain DRAM and the "kmem" alias. */
#ifndef KMS_CORE_TARGET_H
#define KMS_CORE_TARGET_H
#include <stddef.h>

enum kms_target {
    KMS_TARGET_DRAM = 0,
    KMS_TARGET_DAX_KMEM,
    KMS_TARGET_KMEM_ALL,
    KMS_TARGET_PREFERRED,
    KMS_TARGET_INTERLEAVE,              /* MPOL_INTERLEAVE over the KMEM nodes */
    KMS_TARGET_INTERLEAVE_ALL,          /* MPOL_INTERLEAVE over DRAM and KMEM nodes */
    KMS_TARGET_WEIGHTED_INTERLEAVE,     /* MPOL_WEIGHTED_INTERLEAVE over the KMEM nodes */
    KMS_TARGET_WEIGHTED_INTERLEAVE_ALL, /* ... over DRAM and KMEM nodes */
    KMS_TARGET_COUNT,
    KMS_TARGET_KMEM = KMS_TARGET_COUNT, /* alias, resolved to the chosen KMEM_POLICY */
    KMS_TARGET_INVALID = -1,
};

/* "dram", "dax_kmem", "kmem_all", "preferred", "kmem" (and memkind's names
 * MEMKIND_DAX_KMEM, MEMKIND_DAX_KMEM_ALL, MEMKIND_DAX_KMEM_PREFERRED,
 * MEMKIND_REGULAR, case-insensitive for those). Returns KMS_TARGET_INVALID. */
int kms_target_parse(const char *s, size_t len);
/* Only the targets whose node set is the KMEM nodes are valid as KMEM_POLICY /
 * "policy": the three memkind policies, interleave and weighted_interleave. */
int kms_policy_parse(const char *s, size_t len);
const char *kms_target_name(int target);

#define KMS_TARGET_WORDS                                                                           \
    "dram, kmem, dax_kmem, kmem_all, preferred, interleave, interleave_all, weighted_interleave, " \
    "weighted_interleave_all"
#define KMS_POLICY_WORDS                                                                           \
    "dax_kmem, kmem_all, preferred, interleave, weighted_interleave (or memkind's "                \
    "MEMKIND_DAX_KMEM, MEMKIND_DAX_KMEM_ALL, MEMKIND_DAX_KMEM_PREFERRED)"

#endif
