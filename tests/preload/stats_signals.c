/* Allocations from a signal handler that interrupts allocations (and so,
 * sometimes, the statistics' locked part): no deadlock, and every block freed
 * means nothing live at exit. Neither glibc's malloc nor mimalloc is
 * async-signal-safe (POSIX does not ask them to be): a handler's request that
 * interrupts one on the same heap can corrupt its free lists, under mimalloc
 * with or without the shim. The handler therefore asks for sizes the main loop
 * never uses (8 to 12 KiB against 16 to 3015 bytes), which the test routes to
 * another heap (KMEM_THRESHOLD=4K), so that what is tested is the shim's own
 * locking, not mimalloc's. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static volatile sig_atomic_t handled;

static void on_alarm(int sig)
{
    (void)sig;
    void *p = malloc(8192 + (size_t)(handled % 4096));
    if (p) memset(p, 0, 16);
    free(p);
    handled++;
}

int main(void)
{
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
    printf("ok %d signals\n", handled > 0);
    return 0;
}
