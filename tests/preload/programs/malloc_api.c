/* SPDX-License-Identifier: MIT */
/* glibc's malloc introspection API under the shim: malloc_trim gives freed
 * memory of the routed heaps back, mallinfo2/malloc_info/malloc_stats describe
 * the shim's heaps, mallopt accepts glibc's parameters. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;
#define EXPECT(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("FAIL line %d: %s: ", __LINE__, #cond);                                         \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static long rss_mib(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
        fclose(f);
    }
    return rss * sysconf(_SC_PAGESIZE) / (1 << 20);
}

int main(int argc, char **argv)
{
    const char *want_policy = argc > 1 ? argv[1] : "bind 0";
    /* Small blocks: when they are freed, mimalloc keeps their pages in the
     * heap for reuse; malloc_trim must give them back. */
    enum { N = 256, PER_MIB = 1 << 14, SMALL = 64 };
    static char *blocks[N * PER_MIB];
    long rss0 = rss_mib();
    for (int i = 0; i < N * PER_MIB; i++) {
        blocks[i] = malloc(SMALL);
        memset(blocks[i], i, SMALL);
    }
    long rss_full = rss_mib();
    struct mallinfo2 full = mallinfo2();
    EXPECT(full.arena >= (size_t)N << 20, "mallinfo2.arena %zu after %d MiB", full.arena, N);
    EXPECT(full.uordblks >= (size_t)(N / 2) << 20, "mallinfo2.uordblks %zu", full.uordblks);
    EXPECT(full.hblkhd > 0, "reserved address space reported");
    for (int i = 0; i < N * PER_MIB; i += 2)
        free(blocks[i]);
    for (int i = 1; i < N * PER_MIB; i += 2)
        free(blocks[i]);
    long rss_freed = rss_mib();
    int trimmed = malloc_trim(0);
    long rss_trim = rss_mib();
    struct mallinfo2 after = mallinfo2();
    /* 1 when something went back; 0 is right only when free() already did it all. */
    EXPECT(trimmed == (rss_trim < rss_freed), "malloc_trim returned %d, RSS %ld -> %ld", trimmed,
           rss_freed, rss_trim);
    EXPECT(rss_full - rss_trim >= N / 2, "RSS %ld -> %ld -> %ld MiB", rss0, rss_full, rss_trim);
    EXPECT(after.uordblks < full.uordblks, "uordblks %zu -> %zu", full.uordblks, after.uordblks);
    struct mallinfo old = mallinfo();
    EXPECT(old.arena > 0, "mallinfo.arena %d", old.arena);

    EXPECT(mallopt(M_ARENA_MAX, 2) == 1, "M_ARENA_MAX accepted");
    EXPECT(mallopt(M_TRIM_THRESHOLD, 1 << 20) == 1, "M_TRIM_THRESHOLD accepted");
    EXPECT(mallopt(M_MMAP_THRESHOLD, 1 << 20) == 1, "M_MMAP_THRESHOLD accepted");
    EXPECT(mallopt(12345, 1) == 0, "unknown parameter refused");

    char *xml = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&xml, &len);
    EXPECT(malloc_info(0, mem) == 0, "malloc_info(0)");
    fclose(mem);
    EXPECT(xml && strstr(xml, "<malloc version=\"kmemshim-1\">"), "malloc_info XML: %s", xml);
    char want[128];
    snprintf(want, sizeof(want), "policy=\"%s\"", want_policy);
    EXPECT(xml && strstr(xml, want), "malloc_info names %s: %s", want, xml);
    free(xml);
    errno = 0;
    EXPECT(malloc_info(1, stderr) == -1 && errno == EINVAL, "malloc_info(1) is EINVAL");
    malloc_stats();
    printf("malloc_api: RSS %ld MiB, %ld MiB in use, %ld MiB freed, %ld MiB after malloc_trim "
           "(returned %d); %d failures\n",
           rss0, rss_full, rss_freed, rss_trim, trimmed, failures);
    return failures ? 1 : 0;
}
