/* SPDX-License-Identifier: MIT */
#include "core/resident.h"

#include "core/arena.h"
#include "core/meta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* move_pages(2) with no target nodes reports the node of each page; mincore
 * first, so that only pages that exist are asked about. */
static int resident_move_pages(struct kms_resident *res)
{
    long pagesz = sysconf(_SC_PAGESIZE);
    const size_t chunk_pages = 1u << 18, batch = 1024;
    unsigned char *vec =
        mmap(NULL, chunk_pages, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (vec == MAP_FAILED) return -1;
    void *pages[1024];
    int status[1024];
    int rc = 0;
    int n = __atomic_load_n(&kms_narenas, __ATOMIC_ACQUIRE);
    for (int a = 0; a < n && rc == 0; a++) {
        if (kms_arenas[a].cls < 0)
            continue; /* a tracked callsite's, with the plain heap's policy */
        uintptr_t start = kms_arenas[a].start, end = kms_arenas[a].end;
        for (uintptr_t c = start; c < end && rc == 0; c += chunk_pages * (uintptr_t)pagesz) {
            size_t np = (end - c) / (uintptr_t)pagesz;
            if (np > chunk_pages) np = chunk_pages;
            if (mincore((void *)c, np * (size_t)pagesz, vec) < 0) continue;
            size_t k = 0;
            for (size_t i = 0; i <= np && rc == 0; i++) {
                /* Arenas are mostly untouched: skip 8 absent pages at a time. */
                uint64_t word;
                if (i % 8 == 0 && i + 8 <= np && (memcpy(&word, vec + i, 8), word == 0)) {
                    i += 7;
                    continue;
                }
                if (i < np && (vec[i] & 1)) pages[k++] = (void *)(c + i * (uintptr_t)pagesz);
                if (k == batch || (i == np && k)) {
                    long r = syscall(SYS_move_pages, 0, (unsigned long)k, pages, NULL, status, 0);
                    if (r < 0) {
                        rc = -1;
                        break;
                    }
                    for (size_t j = 0; j < k; j++)
                        if (status[j] >= 0 && status[j] <= res->max_node)
                            res->bytes[kms_arenas[a].cls * (res->max_node + 1) + status[j]] +=
                                (uint64_t)pagesz;
                    k = 0;
                }
            }
        }
    }
    munmap(vec, chunk_pages);
    res->method = "move_pages(2)";
    return rc;
}

/* /proc/self/numa_maps: per mapping, N<node>=<pages>; the arenas' mappings are
 * the lines whose start lies in an arena. */
static int resident_numa_maps(struct kms_resident *res)
{
    FILE *f = fopen("/proc/self/numa_maps", "r");
    if (!f) return -1;
    char line[4096];
    int n = __atomic_load_n(&kms_narenas, __ATOMIC_ACQUIRE);
    while (fgets(line, sizeof(line), f)) {
        uintptr_t addr = (uintptr_t)strtoull(line, NULL, 16);
        int cls = -1;
        for (int a = 0; a < n; a++)
            if (addr >= kms_arenas[a].start && addr < kms_arenas[a].end) cls = kms_arenas[a].cls;
        if (cls < 0) continue;
        uint64_t kb = 4;
        char *k = strstr(line, "kernelpagesize_kB=");
        if (k) kb = strtoull(k + 18, NULL, 10);
        for (char *t = strtok(line, " \n"); t; t = strtok(NULL, " \n")) {
            char *end;
            if (t[0] != 'N' || t[1] < '0' || t[1] > '9') continue;
            long node = strtol(t + 1, &end, 10);
            if (*end != '=' || node > res->max_node) continue;
            res->bytes[cls * (res->max_node + 1) + node] += strtoull(end + 1, NULL, 10) * kb * 1024;
        }
    }
    fclose(f);
    res->method = "/proc/self/numa_maps";
    return 0;
}

void kms_resident_measure(struct kms_resident *res)
{
    res->max_node = 0;
    for (int c = 0; c < kms_nclasses; c++)
        for (int nd = 0; nd < KMS_MAX_NODES; nd++)
            if (kms_nodeset_has(&kms_classes[c].pl.set, nd) && nd > res->max_node)
                res->max_node = nd;
    /* Preferred and bound sets spill or fall back only within what the kernel
     * knows: count every node up to the highest with memory. */
    if (res->max_node < 63) res->max_node = 63;
    size_t cells = (size_t)(kms_nclasses ? kms_nclasses : 1) * (size_t)(res->max_node + 1);
    res->bytes = kms_meta_calloc(cells, sizeof(uint64_t));
    res->method = "none";
    if (!res->bytes) return;
    if (resident_move_pages(res) < 0) {
        /* Denied (seccomp) or unsupported: the kernel's per-mapping summary instead. */
        memset(res->bytes, 0, cells * sizeof(uint64_t));
        if (resident_numa_maps(res) < 0) res->method = "unavailable";
    }
}

void kms_resident_free(struct kms_resident *res)
{
    kms_meta_free(res->bytes);
    res->bytes = NULL;
}
