/* SPDX-License-Identifier: MIT */
#include "core/usage.h"

#include "core/decommit.h"

#include "core/engine.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/* Resident bytes of [start, end), from the kernel's page tables. */
static uint64_t resident_bytes(uintptr_t start, uintptr_t end)
{
    unsigned char vec[4096];
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uint64_t pages = 0;
    for (uintptr_t a = start; a < end;) {
        size_t len = sizeof(vec) * page;
        if (len > end - a) len = end - a;
        if (mincore((void *)a, len, vec) == 0) {
            for (size_t i = 0; i < (len + page - 1) / page; i++)
                pages += vec[i] & 1;
        }
        a += len;
    }
    return pages * page;
}

/* mimalloc 2.0.9's own commit counters go wrong with exclusive arenas
 * (they underflow), so the kernel is asked instead. */
static uint64_t process_rss(void)
{
    unsigned long long size = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "re");
    if (!f) return 0;
    if (fscanf(f, "%llu %llu", &size, &rss) != 2) rss = 0;
    fclose(f);
    return rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

void kms_usage_read(struct kms_usage *u)
{
    u->process_resident = process_rss();
    u->arenas_resident = 0;
    u->arenas_reserved = 0;
    u->nclasses = kms_nclasses < 32 ? kms_nclasses : 32;
    for (int c = 0; c < u->nclasses; c++) {
        const struct kms_class *k = &kms_classes[c];
        char list[80];
        kms_nodeset_format(&k->pl.set, list, sizeof(list));
        snprintf(u->cls[c].what, sizeof(u->cls[c].what), "%s %s", kms_mode_name(k->pl.mode), list);
        int n = __atomic_load_n(&k->narenas, __ATOMIC_ACQUIRE);
        u->cls[c].narenas = n;
        u->cls[c].reserved = 0;
        u->cls[c].resident = 0;
        for (int i = 0; i < n; i++) {
            const struct kms_arena *a = &kms_arenas[k->arenas[i]];
            u->cls[c].reserved += a->end - a->start;
            u->cls[c].resident += resident_bytes(a->start, a->end);
        }
        u->arenas_resident += u->cls[c].resident;
        u->arenas_reserved += u->cls[c].reserved;
    }
}

int kms_usage_trim(void)
{
    uint64_t before = process_rss();
    struct kms_thread *self = &kms_self;
    for (int a = 0; a < KMS_MAX_ARENAS; a++)
        if (self->heap[a]) mi_heap_collect(self->heap[a], true);
    mi_collect(true);
    kms_decommit_poll(true);
    return process_rss() < before;
}
