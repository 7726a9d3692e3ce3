/* SPDX-License-Identifier: MIT */
/* Looks up the NUMA policy of the mapping that holds an address, as the kernel
 * shows it in /proc/self/numa_maps ("default", "bind:0", "prefer:0", ...). */
#ifndef KMS_TEST_VMA_POLICY_H
#define KMS_TEST_VMA_POLICY_H
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static inline int vma_policy(const void *p, char *out, size_t outlen)
{
    uintptr_t a = (uintptr_t)p, start = 0, end = 0, best = 0;
    char line[4096];
    int found = 0;
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps) return -1;
    while (fgets(line, sizeof(line), maps)) {
        unsigned long s, e;
        if (sscanf(line, "%lx-%lx", &s, &e) == 2 && a >= s && a < e) {
            start = s;
            end = e;
            found = 1;
            break;
        }
    }
    fclose(maps);
    if (!found) return -1;
    (void)end;
    FILE *nm = fopen("/proc/self/numa_maps", "r");
    if (!nm) return -1;
    found = 0;
    while (fgets(line, sizeof(line), nm)) {
        unsigned long s;
        char pol[256];
        if (sscanf(line, "%lx %255s", &s, pol) == 2 && s == start) {
            snprintf(out, outlen, "%s", pol);
            found = 1;
            best = s;
            break;
        }
    }
    fclose(nm);
    (void)best;
    return found ? 0 : -1;
}

#endif
