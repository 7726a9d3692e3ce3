/* SPDX-License-Identifier: MIT */
/* What the shim holds, for glibc's malloc introspection API: committed and
 * resident bytes per class (measured with mincore), and giving free memory back. */
#ifndef KMS_CORE_USAGE_H
#define KMS_CORE_USAGE_H
#include <stddef.h>
#include <stdint.h>

struct kms_usage {
    uint64_t arenas_resident;  /* resident bytes in every routed arena */
    uint64_t arenas_reserved;  /* address space reserved for them */
    uint64_t process_resident; /* the process's RSS (/proc/self/statm), 0 if unknown */
    int nclasses;
    struct {
        uint64_t reserved, resident;
        int narenas;
        char what[96]; /* "bind 2-3" */
    } cls[32];
};

void kms_usage_read(struct kms_usage *u);
/* Returns free memory of the calling thread's heaps (all routes) and of
 * abandoned heaps to the kernel. Returns 1 if the resident size went down. */
int kms_usage_trim(void);

#endif
