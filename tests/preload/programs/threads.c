/* SPDX-License-Identifier: MIT */
/* Eight threads pass blocks to each other through a shared queue; each block
 * is checked and freed by a thread other than the one that allocated it. Then
 * thousands of short-lived threads allocate and exit. The output is the same
 * with and without the shim. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { THREADS = 8, PER_THREAD = 5000, QCAP = 4096 };

struct block {
    size_t size;
    int owner;
    unsigned char data[];
};

/* One queue per thread: thread i hands every block it makes to thread i + 1. */
static struct queue {
    struct block *slot[QCAP];
    int head, tail, count;
    pthread_mutex_t lock;
} queues[THREADS];
static long bad_blocks, foreign_frees;

static void push(int to, struct block *b)
{
    struct queue *q = &queues[to];
    pthread_mutex_lock(&q->lock);
    if (q->count == QCAP) { /* full: the receiver is behind; free it here instead */
        pthread_mutex_unlock(&q->lock);
        free(b);
        return;
    }
    q->slot[q->tail] = b;
    q->tail = (q->tail + 1) % QCAP;
    q->count++;
    pthread_mutex_unlock(&q->lock);
}

static struct block *pop(int me)
{
    struct queue *q = &queues[me];
    struct block *b = NULL;
    pthread_mutex_lock(&q->lock);
    if (q->count) {
        b = q->slot[q->head];
        q->head = (q->head + 1) % QCAP;
        q->count--;
    }
    pthread_mutex_unlock(&q->lock);
    return b;
}

static unsigned char pattern(const struct block *b, size_t i)
{
    return (unsigned char)(((uintptr_t)b >> 4) + i * 31 + (size_t)b->owner);
}

static void check_and_free(struct block *b, int me)
{
    for (size_t i = 0; i < b->size; i += 61)
        if (b->data[i] != pattern(b, i)) {
            fprintf(stderr, "block %p of %zu: byte %zu changed\n", (void *)b, b->size, i);
            __atomic_add_fetch(&bad_blocks, 1, __ATOMIC_RELAXED);
            break;
        }
    if (b->owner != me) __atomic_add_fetch(&foreign_frees, 1, __ATOMIC_RELAXED);
    free(b);
}

static void *worker(void *arg)
{
    int me = (int)(intptr_t)arg;
    unsigned seed = (unsigned)me * 2654435761u;
    for (int i = 0; i < PER_THREAD; i++) {
        seed = seed * 1103515245u + 12345u;
        size_t size = (seed >> 8) % ((seed & 0x100) ? 300 : 70000) + 1;
        if (i % 997 == 0) size = (size_t)(4 + me) << 20; /* a few large blocks too */
        struct block *b = malloc(sizeof(*b) + size);
        if (!b) {
            fprintf(stderr, "malloc(%zu) failed\n", sizeof(*b) + size);
            __atomic_add_fetch(&bad_blocks, 1, __ATOMIC_RELAXED);
            continue;
        }
        b->size = size;
        b->owner = me;
        for (size_t j = 0; j < size; j += 61)
            b->data[j] = pattern(b, j);
        push((me + 1) % THREADS, b);
        struct block *other = pop(me);
        if (other) check_and_free(other, me);
    }
    return NULL;
}

static void *short_lived(void *arg)
{
    size_t n = (size_t)(intptr_t)arg;
    char *p = malloc(n);
    memset(p, 1, n);
    char *q = realloc(p, n * 2 + 1);
    free(q);
    return NULL;
}

int main(void)
{
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_mutex_init(&queues[i].lock, NULL);
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    struct block *b;
    for (int i = 0; i < THREADS; i++)
        while ((b = pop(i)))
            check_and_free(b, -1);
    for (int round = 0; round < 500; round++) {
        pthread_t s[4];
        for (int i = 0; i < 4; i++)
            pthread_create(&s[i], NULL, short_lived, (void *)(intptr_t)(100 + round * 37 + i));
        for (int i = 0; i < 4; i++)
            pthread_join(s[i], NULL);
    }
    printf("threads: %d x %d blocks, corrupted %ld, freed by another thread: %s, 2000 "
           "short-lived threads done\n",
           THREADS, PER_THREAD, bad_blocks, foreign_frees > 0 ? "yes" : "no");
    return bad_blocks ? 1 : 0;
}
