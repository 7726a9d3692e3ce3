/* SPDX-License-Identifier: MIT */
/* The README's access demo: two structures of the same size, 64 MiB each, one
 * read all the time (an index), one written once and kept (a log). By bytes
 * they are the same; by access one is everything and the other nothing.
 * usage: access_demo [SECONDS] (default 3) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIZE (64u << 20)

__attribute__((noinline)) static uint32_t *make_index(void)
{
    uint32_t *p = malloc(SIZE);
    for (size_t i = 0; p && i < SIZE / 4; i++)
        p[i] = (uint32_t)(i * 2654435761u);
    return p;
}

__attribute__((noinline)) static char *make_log(void)
{
    char *p = malloc(SIZE);
    if (p) memset(p, 'x', SIZE);
    return p;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 3;
    uint32_t *index = make_index();
    char *log = make_log();
    if (!index || !log) return 1;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t sum = 0, lookups = 0;
    do {
        for (size_t i = 0; i < SIZE / 4; i += 64, lookups++)
            sum += index[(i * 40503u) % (SIZE / 4)];
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 < seconds);
    printf("%llu lookups (%llu)\n", (unsigned long long)lookups, (unsigned long long)(sum & 0xff));
    return 0;
}
