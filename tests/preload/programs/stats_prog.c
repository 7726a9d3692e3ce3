/* SPDX-License-Identifier: MIT */
/* A program with known callsites for the KMEM_STATS / KMEM_PROFILE tests:
 * big_buffers keeps 8 blocks of 1 MiB live at once, small_nodes churns
 * 48-byte blocks with at most 1000 live, and `fork` makes a child that
 * allocates 3 MiB of its own from child_work and exits normally.
 * usage: stats_prog [fork] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NBIG 8

__attribute__((noinline)) static void **big_buffers(void)
{
    void **v = calloc(NBIG, sizeof(void *)); /* the calloc of big_buffers: 64 bytes */
    for (int i = 0; i < NBIG; i++) {
        v[i] = malloc(1 << 20); /* big_buffers: 8 MiB live at peak */
        memset(v[i], i, 1 << 20);
        __asm__ volatile("" : : "r"(v[i]) : "memory");
    }
    return v;
}

__attribute__((noinline)) static void small_nodes(void)
{
    static void *keep[1000];
    for (int i = 0; i < 100000; i++) {
        void *p = malloc(48);
        if (!p) exit(1);
        if (i % 1000 == 999)
            for (int k = 0; k < 1000; k++)
                free(k == i % 1000 ? p : keep[k]);
        else
            keep[i % 1000] = p;
    }
}

__attribute__((noinline)) static void child_work(void)
{
    char *b = malloc(3 << 20);
    memset(b, 7, 3 << 20);
    /* Keeps the compiler from removing the malloc/free pair. */
    __asm__ volatile("" : : "r"(b) : "memory");
    free(b);
}

int main(int argc, char **argv)
{
    void **v = big_buffers();
    small_nodes();
    if (argc > 1 && strcmp(argv[1], "fork") == 0) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) return 1;
        if (pid == 0) {
            child_work();
            printf("child ok\n");
            exit(0); /* exit(), not _exit(): the child writes its report */
        }
        int st;
        if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return 1;
    }
    for (int i = 0; i < NBIG; i++)
        free(v[i]);
    free(v);
    printf("ok\n");
    return 0;
}
