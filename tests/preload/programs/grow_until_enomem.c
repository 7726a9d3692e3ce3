/* SPDX-License-Identifier: MIT */
/* Allocates 64 MiB blocks until the shim says no, as it must under a small
 * address-space limit: NULL with ENOMEM, never a crash; the program then frees
 * everything and allocates again. It prints how many blocks landed under each
 * kernel policy (when /proc is there). usage: grow_until_enomem MAX_BLOCKS */
#include "vma_policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    int max = argc > 1 ? atoi(argv[1]) : 64;
    char *blocks[1024];
    int n = 0, err = 0;
    size_t sz = 64u << 20;
    while (n < max && n < 1024) {
        errno = 0;
        char *p = malloc(sz);
        if (!p) {
            err = errno;
            break;
        }
        memset(p, n, 4096);
        p[sz - 1] = (char)n;
        blocks[n++] = p;
    }
    int refused = n < max;
    char names[8][256];
    int counts[8] = {0}, kinds = 0;
    for (int i = 0; i < n; i++) {
        char pol[256];
        if (vma_policy(blocks[i], pol, sizeof(pol)) < 0) break;
        int k = 0;
        while (k < kinds && strcmp(names[k], pol) != 0)
            k++;
        if (k == kinds && kinds < 8) snprintf(names[kinds++], sizeof(names[0]), "%s", pol);
        if (k < 8) counts[k]++;
    }
    printf("policies:");
    for (int k = 0; k < kinds; k++)
        printf(" %s=%d", names[k], counts[k]);
    printf("\n");
    for (int i = 0; i < n; i++) {
        if (blocks[i][0] != (char)i || blocks[i][sz - 1] != (char)i) {
            printf("FAIL block %d corrupted\n", i);
            return 1;
        }
        free(blocks[i]);
    }
    char *again = malloc(sz / 2);
    char *small = malloc(100);
    if (!again || !small) {
        printf("FAIL nothing can be allocated after freeing\n");
        return 1;
    }
    free(again);
    free(small);
    if (refused && err != ENOMEM) {
        printf("FAIL refused with errno %d, not ENOMEM\n", err);
        return 1;
    }
    printf("grow_until_enomem: %d blocks of 64 MiB, then %s; allocating again works\n", n,
           refused ? "NULL with ENOMEM" : "the limit of the test");
    return 0;
}
