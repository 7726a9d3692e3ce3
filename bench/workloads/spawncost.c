/* SPDX-License-Identifier: MIT */
/* spawncost: what each start of a short program costs, split into user and system time.
 *
 *   spawncost N COMMAND [ARG]...
 *
 * Starts COMMAND N times, one after the other (posix_spawn, stdout to /dev/null, the
 * environment passed on: LD_PRELOAD and KMEM_* included), and prints one line:
 *
 *   wall W user U sys S us/proc
 *
 * the microseconds of wall time, and of the children's user and system time
 * (getrusage(RUSAGE_CHILDREN)), per process. The system time is where a preloaded
 * library's page faults, mappings and page tables are paid (bench/analysis.md). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double us(struct timeval tv) { return (double)tv.tv_sec * 1e6 + (double)tv.tv_usec; }

int main(int argc, char **argv)
{
    char *end = NULL;
    long n = argc > 2 ? strtol(argv[1], &end, 10) : 0;
    if (argc < 3 || !end || *end || n < 1) {
        fprintf(stderr, "usage: spawncost N COMMAND [ARG]...\n");
        return 2;
    }
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0 ||
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0) != 0) {
        fprintf(stderr, "spawncost: cannot set up the children's stdout\n");
        return 1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; i++) {
        pid_t pid;
        int rc = posix_spawnp(&pid, argv[2], &fa, NULL, argv + 2, environ);
        if (rc != 0) {
            fprintf(stderr, "spawncost: cannot start %s: %s\n", argv[2], strerror(rc));
            return 1;
        }
        int status;
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "spawncost: run %ld of %s failed\n", i + 1, argv[2]);
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    double wall = (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
    printf("wall %.1f user %.1f sys %.1f us/proc\n", wall / (double)n, us(ru.ru_utime) / (double)n,
           us(ru.ru_stime) / (double)n);
    return 0;
}
