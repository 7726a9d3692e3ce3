/* SPDX-License-Identifier: MIT */
/* Forks while other threads allocate, then allocates in the child (also from
 * a new thread there). A child that deadlocks is killed by alarm() and counts
 * as a failure. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int stop;

static void *churn(void *arg)
{
    size_t base = (size_t)arg;
    void *keep[64] = {0};
    unsigned i = 0;
    while (!stop) {
        unsigned k = i++ % 64;
        free(keep[k]);
        keep[k] = malloc(base + (i % 5000) * 16);
        if (i % 1000 == 0) {
            usleep(100); /* leave the CPU to the forked children now and then */
            free(keep[(k + 1) % 64]);
            keep[(k + 1) % 64] = malloc(3 << 20);
        }
    }
    for (int k = 0; k < 64; k++)
        free(keep[k]);
    return NULL;
}

static void *child_thread(void *arg)
{
    (void)arg;
    char *p = malloc(1 << 20);
    memset(p, 3, 1 << 20);
    free(p);
    return p ? (void *)1 : NULL;
}

static int child_work(void)
{
    alarm(120); /* a watchdog for deadlocks, not a time limit: loaded machines are slow */
    size_t sizes[] = {1, 100, 4096, 70000, 1 << 20, 8 << 20};
    for (int r = 0; r < 10; r++) {
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            unsigned char *p = malloc(sizes[i]);
            if (!p) return 3;
            memset(p, (int)i, sizes[i]);
            p = realloc(p, sizes[i] * 2);
            if (!p || p[sizes[i] - 1] != (unsigned char)i) return 4;
            free(p);
        }
    }
    pthread_t t;
    void *ok = NULL;
    if (pthread_create(&t, NULL, child_thread, NULL) != 0 || pthread_join(t, &ok) != 0 || !ok)
        return 5;
    return 0;
}

int main(void)
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, churn, (void *)(size_t)(16 + i * 1000));
    int failures = 0;
    for (int f = 0; f < 10; f++) {
        pid_t pid = fork();
        if (pid == 0) _exit(child_work());
        int st = 0;
        waitpid(pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "child %d: status %#x\n", f, st);
            failures++;
        }
        usleep(2000);
    }
    stop = 1;
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("fork_threads: 10 children, %d failed\n", failures);
    return failures ? 1 : 0;
}
