/* SPDX-License-Identifier: MIT */
/* The cost of KMEM_STATS and KMEM_PROFILE: N malloc/free pairs of mixed sizes
 * (16..1024 bytes) with 1024 blocks live, from one callsite per size class.
 * Measured by README's recipe (callgrind instruction counts, and time).
 * usage: stats_cost N */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    static void *live[1024];
    unsigned x = 12345;
    unsigned long sum = 0;
    for (long i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        unsigned slot = (x >> 8) & 1023;
        size_t size = 16 + ((x >> 18) & 1023);
        free(live[slot]);
        live[slot] = (x & 1) ? malloc(size) : calloc(1, size);
        if (!live[slot]) return 1;
        ((char *)live[slot])[0] = (char)i;
        sum += (unsigned char)((char *)live[slot])[0];
    }
    for (int k = 0; k < 1024; k++)
        free(live[k]);
    printf("%lu\n", sum);
    return 0;
}
