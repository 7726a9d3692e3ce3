/* SPDX-License-Identifier: MIT */
/* A node list as a 64-bit mask, for the VM programs, with the shim's own
 * parser (core/nodeset.c, compiled into them). */
#ifndef KMS_TESTS_VM_NODEMASK_H
#define KMS_TESTS_VM_NODEMASK_H
#include "core/nodeset.h"

#include <stdint.h>
#include <stdio.h>

/* Parses s[0..len) into *mask; -1 with a reason in why[]. */
static inline int kms_nodemask_parse(const char *s, size_t len, uint64_t *mask, char *why,
                                     size_t whylen)
{
    struct kms_nodeset ns;
    *mask = 0;
    if (kms_nodeset_parse_n(s, len, &ns, NULL, why, whylen) < 0) return -1;
    for (int n = 0; n < KMS_MAX_NODES; n++) {
        if (!kms_nodeset_has(&ns, n)) continue;
        if (n >= 64) {
            snprintf(why, whylen, "node %d: the test programs handle nodes 0-63", n);
            return -1;
        }
        *mask |= 1ull << n;
    }
    return 0;
}

#endif
