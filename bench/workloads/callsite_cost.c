/* SPDX-License-Identifier: MIT */
/* The malloc-heavy workload of callsite_cost.sh: malloc/free of mixed small
 * sizes from a handful of callsites, a window of live blocks per callsite.
 * Each callsite is used once before the timed loop (its decision is made
 * then), so the loop measures the steady state.
 * usage: callsite_cost ITERATIONS   prints the loop's wall time and the
 * thread's CPU time in ns */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WINDOW 64

#if defined(__clang__)
#define KEEP __attribute__((noinline))
#else
#define KEEP __attribute__((noinline, noipa))
#endif

static void *live[8][WINDOW];

/* Eight callsites, each its own function (and return address). */
#define SITE(k)                                                                                    \
    KEEP void site##k(unsigned i, size_t n)                                                        \
    {                                                                                              \
        void **slot = &live[k][i % WINDOW];                                                        \
        free(*slot);                                                                               \
        *slot = malloc(n);                                                                         \
        *(volatile char *)*slot = (char)i;                                                         \
    }
SITE(0)
SITE(1)
SITE(2)
SITE(3)
SITE(4)
SITE(5)
SITE(6)
SITE(7)

typedef void (*site_fn)(unsigned, size_t);
static const site_fn sites[8] = {site0, site1, site2, site3, site4, site5, site6, site7};

KEEP void workload(unsigned long iters)
{
    uint32_t x = 2463534242u;
    for (unsigned long i = 0; i < iters; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        size_t n = 8 + (x & 0x3ff) % 504; /* 8..511 bytes */
        sites[i & 7]((unsigned)(i >> 3), n);
    }
}

static long long ns(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return (long long)t.tv_sec * 1000000000ll + t.tv_nsec;
}

int main(int argc, char **argv)
{
    unsigned long iters = argc > 1 ? strtoul(argv[1], NULL, 0) : 10000000ul;
    for (unsigned k = 0; k < 8; k++)
        sites[k](WINDOW - 1, 16);
    long long w0 = ns(CLOCK_MONOTONIC), c0 = ns(CLOCK_THREAD_CPUTIME_ID);
    workload(iters);
    long long w1 = ns(CLOCK_MONOTONIC), c1 = ns(CLOCK_THREAD_CPUTIME_ID);
    for (int k = 0; k < 8; k++)
        for (int j = 0; j < WINDOW; j++)
            free(live[k][j]);
    printf("%lld %lld\n", w1 - w0, c1 - c0);
    return 0;
}
