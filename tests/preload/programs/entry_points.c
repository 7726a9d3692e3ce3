/* SPDX-License-Identifier: MIT */
/* Under the shim: every allocation entry point, with sizes on both sides of
 * KMEM_THRESHOLD, must return memory in a mapping whose kernel policy is the
 * one its route asks for.
 * usage: entry_points THRESHOLD BELOW_POLICY ABOVE_POLICY   (e.g. 65536 default bind:0) */
#include "vma_policy.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures, checks;

static void check(const char *what, size_t size, void *p, const char *want)
{
    char got[256];
    checks++;
    if (!p) {
        printf("FAIL %-26s size %8zu: NULL\n", what, size);
        failures++;
        return;
    }
    memset(p, 0xa5, size ? size : 1);
    if (vma_policy(p, got, sizeof(got)) < 0) {
        printf("FAIL %-26s size %8zu: no mapping for %p\n", what, size, p);
        failures++;
        return;
    }
    int ok = strcmp(got, want) == 0;
    printf("%s %-26s size %8zu: %-12s (want %s)\n", ok ? "ok  " : "FAIL", what, size, got, want);
    if (!ok) failures++;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: entry_points THRESHOLD BELOW_POLICY ABOVE_POLICY\n");
        return 2;
    }
    size_t t = strtoull(argv[1], NULL, 0);
    const char *pol[2] = {argv[2], argv[3]};
    size_t sizes[2][2] = {{t > 64 ? 64 : 1, t - 1}, {t, t * 3}};
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *keep[64];
    int nkeep = 0;
    for (int side = 0; side < 2; side++) {
        for (int k = 0; k < 2; k++) {
            size_t n = sizes[side][k];
            const char *want = pol[side];
            void *p;
            p = malloc(n);
            check("malloc", n, p, want);
            keep[nkeep++] = p;
            p = calloc(1, n);
            check("calloc", n, p, want);
            keep[nkeep++] = p;
            p = realloc(NULL, n);
            check("realloc(NULL)", n, p, want);
            keep[nkeep++] = p;
            p = reallocarray(NULL, n, 1);
            check("reallocarray", n, p, want);
            keep[nkeep++] = p;
            p = NULL;
            if (posix_memalign(&p, 64, n) != 0) p = NULL;
            check("posix_memalign(64)", n, p, want);
            keep[nkeep++] = p;
            p = aligned_alloc(4096, n);
            check("aligned_alloc(4096)", n, p, want);
            keep[nkeep++] = p;
            p = memalign(256, n);
            check("memalign(256)", n, p, want);
            keep[nkeep++] = p;
            p = valloc(n);
            check("valloc", n, p, want);
            keep[nkeep++] = p;
            p = pvalloc(n);
            check("pvalloc", n, p, want);
            if (p && ((uintptr_t)p % page != 0 || malloc_usable_size(p) < page)) {
                printf("FAIL pvalloc not page-rounded\n");
                failures++;
            }
            keep[nkeep++] = p;
        }
    }
    /* realloc decides by the new size: blocks cross routes both ways, keeping data. */
    char *grow = malloc(16);
    strcpy(grow, "kmemshim-small");
    grow = realloc(grow, t * 2);
    check("realloc small->large", t * 2, grow, pol[1]);
    /* check() overwrote the block; put a marker back to follow it down. */
    memcpy(grow, "kmemshim-large", 15);
    grow = realloc(grow, 32);
    if (!grow || strcmp(grow, "kmemshim-large") != 0) {
        printf("FAIL realloc lost data\n");
        failures++;
    }
    check("realloc large->small", 32, grow, pol[t > 32 ? 0 : 1]);
    free(grow);
    for (int i = 0; i < nkeep; i++)
        free(keep[i]);
    printf("%d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
