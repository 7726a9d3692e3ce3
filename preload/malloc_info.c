/* SPDX-License-Identifier: MIT */
/* The rest of glibc's malloc API, answered for the shim's heaps: without it
 * these calls would describe glibc's own heap, which is empty under the shim. */
#include "core/usage.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>

#define EXPORT __attribute__((visibility("default")))

EXPORT int malloc_trim(size_t pad)
{
    (void)pad; /* mimalloc keeps no top chunk to pad */
    return kms_usage_trim();
}

/* mimalloc (release builds) does not count bytes in use, so the numbers are
 * the kernel's: what the routed arenas hold resident, and the process's RSS. */
static struct mallinfo2 info2(void)
{
    static uint64_t peak;
    struct kms_usage u;
    kms_usage_read(&u);
    uint64_t held = u.arenas_resident > u.process_resident ? u.arenas_resident : u.process_resident;
    if (held > peak) peak = held;
    struct mallinfo2 mi = {0};
    mi.arena = held;                 /* memory the heaps hold */
    mi.ordblks = (size_t)u.nclasses; /* one "arena" per node set and policy */
    mi.hblkhd = u.arenas_reserved;   /* address space reserved for routed arenas */
    mi.usmblks = peak;
    mi.uordblks = held;
    mi.fordblks = 0;
    return mi;
}

EXPORT struct mallinfo2 mallinfo2(void) { return info2(); }

static int clamp(size_t v) { return v > (size_t)__INT_MAX__ ? __INT_MAX__ : (int)v; }

EXPORT struct mallinfo mallinfo(void)
{
    struct mallinfo2 m2 = info2();
    struct mallinfo m = {
        .arena = clamp(m2.arena),
        .ordblks = clamp(m2.ordblks),
        .hblkhd = clamp(m2.hblkhd),
        .usmblks = clamp(m2.usmblks),
        .uordblks = clamp(m2.uordblks),
        .fordblks = clamp(m2.fordblks),
    };
    return m;
}

EXPORT void malloc_stats(void)
{
    struct kms_usage u;
    kms_usage_read(&u);
    fprintf(stderr, "kmemshim: process resident = %llu, arenas resident = %llu, reserved = %llu\n",
            (unsigned long long)u.process_resident, (unsigned long long)u.arenas_resident,
            (unsigned long long)u.arenas_reserved);
    for (int c = 0; c < u.nclasses; c++)
        fprintf(stderr,
                "kmemshim: arena class %d (%s): %d arena(s), reserved = %llu, resident = %llu\n", c,
                u.cls[c].what, u.cls[c].narenas, (unsigned long long)u.cls[c].reserved,
                (unsigned long long)u.cls[c].resident);
}

EXPORT int malloc_info(int options, FILE *fp)
{
    if (options != 0 || !fp) {
        errno = EINVAL;
        return -1;
    }
    struct kms_usage u;
    kms_usage_read(&u);
    fprintf(fp, "<malloc version=\"kmemshim-1\">\n");
    for (int c = 0; c < u.nclasses; c++)
        fprintf(fp,
                "<heap nr=\"%d\" policy=\"%s\">\n<aspace type=\"total\" size=\"%llu\"/>\n"
                "<system type=\"current\" size=\"%llu\"/>\n</heap>\n",
                c, u.cls[c].what, (unsigned long long)u.cls[c].reserved,
                (unsigned long long)u.cls[c].resident);
    fprintf(fp,
            "<aspace type=\"total\" size=\"%llu\"/>\n<system type=\"current\" size=\"%llu\"/>\n"
            "<total type=\"rss\" size=\"%llu\"/>\n</malloc>\n",
            (unsigned long long)u.arenas_reserved, (unsigned long long)u.arenas_resident,
            (unsigned long long)u.process_resident);
    return 0;
}

/* glibc's tuning parameters. mimalloc sizes and returns memory on its own
 * schedule, so none of them changes anything; known ones are accepted (1) so
 * programs that set them run unchanged, unknown ones fail (0) as in glibc. */
EXPORT int mallopt(int param, int value)
{
    (void)value;
    switch (param) {
    case M_MXFAST:
    case M_TRIM_THRESHOLD:
    case M_TOP_PAD:
    case M_MMAP_THRESHOLD:
    case M_MMAP_MAX:
    case M_CHECK_ACTION:
    case M_PERTURB:
    case M_ARENA_TEST:
    case M_ARENA_MAX: return 1;
    default: return 0;
    }
}
