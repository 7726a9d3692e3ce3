/* SPDX-License-Identifier: MIT */
/* Allocations from a signal handler that interrupts allocations (and so,
 * sometimes, the statistics' locked part): no deadlock, and every block freed
 * means nothing live at exit. Neither glibc's malloc nor mimalloc is
 * async-signal-safe (POSIX does not ask them to be): a handler's request that
 * interrupts one can corrupt mimalloc's state, under mimalloc with or without
 * the shim. What is tested here is the shim's own locking, so the handler
 * stays off every state the main loop changes:
 * - its blocks (8 KiB) go to another heap than the main loop's (16 to 3015
 *   bytes): the test routes 4 KiB and more elsewhere (KMEM_THRESHOLD=4K);
 * - and they never make that heap take a new page or give one back, which
 *   would go through the thread's segment lists, shared by all its heaps: the
 *   page of 8 KiB blocks is made before the timer starts and always holds a
 *   live block (warm, and the handler's last one), and at most three of its
 *   eight blocks are ever in use. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static volatile sig_atomic_t handled;
static void *held; /* the handler's last block */

static void on_alarm(int sig)
{
    (void)sig;
    void *p = malloc(8192);
    if (p) memset(p, 0, 16);
    free(held);
    held = p;
    handled++;
}

int main(void)
{
    void *warm = malloc(8192);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGPROF, &sa, NULL);
    struct itimerval it = {{0, 200}, {0, 200}};
    setitimer(ITIMER_PROF, &it, NULL);
    static void *keep[4096];
    for (long i = 0; i < 3000000; i++) {
        unsigned k = (unsigned)(i * 2654435761u) % 4096;
        free(keep[k]);
        keep[k] = malloc(16 + (size_t)(i % 3000));
        if (!keep[k]) return 1;
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_PROF, &off, NULL);
    for (int k = 0; k < 4096; k++)
        free(keep[k]);
    free(held);
    free(warm);
    printf("ok %d signals\n", handled > 0);
    return 0;
}
