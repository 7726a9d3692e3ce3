/* SPDX-License-Identifier: MIT */
/* Exact per-route counts while most requests take the inline counted path
 * (sampled statistics, the default): malloc and calloc below the threshold
 * (100 and 200 bytes) and above it (100000 bytes), in the main thread and in
 * threads that exit, with enough above it (120,000,000 bytes live at once)
 * that the dax_kmem arena (KMEM_ARENA_SIZE=64M) fills under the thread's
 * counted pointer and grows. calloc's blocks reuse malloc's, filled first:
 * they must come back zeroed. Everything is freed. stats.sh compares the
 * report with the totals below.
 * usage: stats_inline */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NT 4
#define NPAIRS 100000 /* main: malloc(100) and calloc(2, 100) each */
#define NTPAIRS 10000 /* each thread: malloc(100) and calloc(1, 100) each */
#define NBIG 600      /* main: malloc(100000) and calloc(1, 100000) each, live at once */
#define NTBIG 50      /* each thread: malloc(100000), live until it ends */

static void fail(const char *what)
{
    fprintf(stderr, "stats_inline: %s\n", what);
    exit(1);
}

static void check_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) fail("calloc returned a block that is not zeroed");
}

static void small_pairs(int n, size_t nmemb)
{
    for (int i = 0; i < n; i++) {
        unsigned char *p = malloc(100 * nmemb);
        if (!p) fail("malloc");
        memset(p, 0xff, 100 * nmemb);
        free(p);
        unsigned char *q = calloc(nmemb, 100);
        if (!q) fail("calloc");
        check_zero(q, 100 * nmemb);
        free(q);
    }
}

static void *worker(void *arg)
{
    (void)arg;
    void *big[NTBIG];
    small_pairs(NTPAIRS, 1);
    for (int i = 0; i < NTBIG; i++)
        if (!(big[i] = malloc(100000))) fail("malloc in a thread");
    for (int i = 0; i < NTBIG; i++)
        free(big[i]);
    return NULL;
}

int main(void)
{
    static void *big[2 * NBIG];
    small_pairs(NPAIRS, 2);
    for (int i = 0; i < NBIG; i++) {
        if (!(big[2 * i] = malloc(100000))) fail("big malloc");
        memset(big[2 * i], 0xff, 100000);
        if (!(big[2 * i + 1] = calloc(1, 100000))) fail("big calloc");
        check_zero(big[2 * i + 1], 100000);
    }
    for (int i = 0; i < 2 * NBIG; i++)
        free(big[i]);
    pthread_t t[NT];
    for (int i = 0; i < NT; i++)
        if (pthread_create(&t[i], NULL, worker, NULL) != 0) fail("pthread_create");
    for (int i = 0; i < NT; i++)
        pthread_join(t[i], NULL);
    printf("ok\n");
    return 0;
}
