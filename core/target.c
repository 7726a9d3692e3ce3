/* SPDX-License-Identifier: MIT */
#include "core/target.h"

#include <string.h>
#include <strings.h>

static const struct {
    const char *word;
    size_t len; /* of word: most lookups are rejected by it alone */
    int target;
    int exact; /* our own words are lower case, as the grammar says */
} names[] = {
#define W(word) word, sizeof(word) - 1
    {W("kmem"), KMS_TARGET_KMEM, 1}, /* first: the common words first */
    {W("dram"), KMS_TARGET_DRAM, 1},
    {W("dax_kmem"), KMS_TARGET_DAX_KMEM, 1},
    {W("kmem_all"), KMS_TARGET_KMEM_ALL, 1},
    {W("preferred"), KMS_TARGET_PREFERRED, 1},
    {W("interleave"), KMS_TARGET_INTERLEAVE, 1},
    {W("interleave_all"), KMS_TARGET_INTERLEAVE_ALL, 1},
    {W("weighted_interleave"), KMS_TARGET_WEIGHTED_INTERLEAVE, 1},
    {W("weighted_interleave_all"), KMS_TARGET_WEIGHTED_INTERLEAVE_ALL, 1},
    {W("MEMKIND_REGULAR"), KMS_TARGET_DRAM, 0},
    {W("MEMKIND_DAX_KMEM"), KMS_TARGET_DAX_KMEM, 0},
    {W("MEMKIND_DAX_KMEM_ALL"), KMS_TARGET_KMEM_ALL, 0},
    {W("MEMKIND_DAX_KMEM_PREFERRED"), KMS_TARGET_PREFERRED, 0},
#undef W
};

int kms_target_parse(const char *s, size_t len)
{
    /* The words of most rules, compared inline. */
    if (len == 4 && memcmp(s, "kmem", 4) == 0) return KMS_TARGET_KMEM;
    if (len == 4 && memcmp(s, "dram", 4) == 0) return KMS_TARGET_DRAM;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (names[i].len != len) continue;
        if (names[i].exact ? memcmp(names[i].word, s, len) == 0
                           : strncasecmp(names[i].word, s, len) == 0)
            return names[i].target;
    }
    return KMS_TARGET_INVALID;
}

int kms_policy_parse(const char *s, size_t len)
{
    int t = kms_target_parse(s, len);
    if (t == KMS_TARGET_DAX_KMEM || t == KMS_TARGET_KMEM_ALL || t == KMS_TARGET_PREFERRED ||
        t == KMS_TARGET_INTERLEAVE || t == KMS_TARGET_WEIGHTED_INTERLEAVE)
        return t;
    return KMS_TARGET_INVALID;
}

const char *kms_target_name(int target)
{
    switch (target) {
    case KMS_TARGET_DRAM: return "dram";
    case KMS_TARGET_DAX_KMEM: return "dax_kmem";
    case KMS_TARGET_KMEM_ALL: return "kmem_all";
    case KMS_TARGET_PREFERRED: return "preferred";
    case KMS_TARGET_INTERLEAVE: return "interleave";
    case KMS_TARGET_INTERLEAVE_ALL: return "interleave_all";
    case KMS_TARGET_WEIGHTED_INTERLEAVE: return "weighted_interleave";
    case KMS_TARGET_WEIGHTED_INTERLEAVE_ALL: return "weighted_interleave_all";
    case KMS_TARGET_KMEM: return "kmem";
    default: return "?";
    }
}
