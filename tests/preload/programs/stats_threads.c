/* SPDX-License-Identifier: MIT */
/* Counters under threads: 8 threads each allocate 200 blocks of 100000 bytes
 * and 2000 of 40 bytes and hand them to the main thread, which frees them
 * after the threads have exited (cross-thread frees, counters flushed at
 * thread exit). The exit report must then be exact: see stats.sh. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NT 8
#define NBIG 200
#define NSMALL 2000

static void *blocks[NT][NBIG + NSMALL];

__attribute__((noinline)) static void *thread_alloc(size_t n)
{
    void *p = malloc(n);
    if (!p) abort();
    memset(p, 1, n);
    return p;
}

static void *worker(void *arg)
{
    void **mine = arg;
    for (int i = 0; i < NBIG + NSMALL; i++)
        mine[i] = thread_alloc(i < NBIG ? 100000 : 40);
    return NULL;
}

int main(void)
{
    pthread_t t[NT];
    for (int i = 0; i < NT; i++)
        if (pthread_create(&t[i], NULL, worker, blocks[i]) != 0) return 1;
    for (int i = 0; i < NT; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < NT; i++)
        for (int k = 0; k < NBIG + NSMALL; k++)
            free(blocks[i][k]);
    printf("ok\n");
    return 0;
}
