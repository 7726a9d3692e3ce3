/* SPDX-License-Identifier: MIT */
/* A set of NUMA node ids, sized for Linux's largest configuration (NODES_SHIFT 10). */
#ifndef KMS_CORE_NODESET_H
#define KMS_CORE_NODESET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define KMS_MAX_NODES 1024

struct kms_nodeset {
    uint64_t w[KMS_MAX_NODES / 64];
};

static inline void kms_nodeset_clear(struct kms_nodeset *s) { memset(s, 0, sizeof(*s)); }
static inline void kms_nodeset_add(struct kms_nodeset *s, int n)
{
    if (n >= 0 && n < KMS_MAX_NODES) s->w[n / 64] |= 1ull << (n % 64);
}
static inline bool kms_nodeset_has(const struct kms_nodeset *s, int n)
{
    return n >= 0 && n < KMS_MAX_NODES && (s->w[n / 64] >> (n % 64)) & 1;
}
static inline bool kms_nodeset_equal(const struct kms_nodeset *a, const struct kms_nodeset *b)
{
    return memcmp(a, b, sizeof(*a)) == 0;
}
int kms_nodeset_count(const struct kms_nodeset *s);
bool kms_nodeset_empty(const struct kms_nodeset *s);
/* Lowest member, or -1. */
int kms_nodeset_first(const struct kms_nodeset *s);
/* Lowest member above n, or -1: with kms_nodeset_first, a walk over the members
 * that costs a word per 64 nodes, not a test per possible node. */
int kms_nodeset_next(const struct kms_nodeset *s, int n);
/* Highest member, or -1. */
int kms_nodeset_last(const struct kms_nodeset *s);
/* The one parser of node lists ("2,3" / "2-5" / "0,4-7"), for KMEM_NODES, the
 * rules file's "nodes" and the tests' programs. Parses exactly s[0..len);
 * returns -1 with a reason in why[] and, in *bad_at (may be NULL), the
 * offset the reason is about. */
int kms_nodeset_parse_n(const char *s, size_t len, struct kms_nodeset *out, size_t *bad_at,
                        char *why, size_t whylen);
/* The same for a NUL-terminated list. */
int kms_nodeset_parse(const char *s, struct kms_nodeset *out, char *why, size_t whylen);
/* Compact list form "0,2-5"; "(none)" when empty. */
void kms_nodeset_format(const struct kms_nodeset *s, char *buf, size_t len);

#endif
