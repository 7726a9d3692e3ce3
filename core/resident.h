/* SPDX-License-Identifier: MIT */
/* Where the routed arenas' pages are: resident bytes per class and node, from
 * the kernel (move_pages(2), or /proc/self/numa_maps where that is denied). */
#ifndef KMS_CORE_RESIDENT_H
#define KMS_CORE_RESIDENT_H
#include <stdint.h>

struct kms_resident {
    uint64_t *bytes; /* [class * (max_node + 1) + node]; NULL when out of memory */
    int max_node;
    const char *method; /* "move_pages(2)", "/proc/self/numa_maps", "unavailable" or "none" */
};

/* Measures every arena now. Free with kms_resident_free. */
void kms_resident_measure(struct kms_resident *res);
void kms_resident_free(struct kms_resident *res);

#endif
