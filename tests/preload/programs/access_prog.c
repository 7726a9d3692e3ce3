/* SPDX-License-Identifier: MIT */
/* Four structures with known access patterns, each from its own callsite,
 * for the access profiler (tests/preload/access.sh, tests/vm/guest/access.sh):
 *
 *   hot_large   20 MiB, one block, re-read all the time
 *   cold_large  16 MiB, one block, written once and never read again
 *   hot_nodes    2 MiB of 64-byte nodes in a list, walked all the time
 *   medium       4 MiB, one block, read about once a second
 *
 * usage: access_prog SECONDS [DRAM_NODES KMEM_NODES | fork]
 * With node lists (such as 0-1 and 2), it then checks with move_pages(2) that
 * every page of hot_large and hot_nodes is on DRAM_NODES and every page of
 * cold_large on KMEM_NODES, prints a line per structure and exits 1 if not.
 * With "fork", a child made after the allocations runs the loop too. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HOT_LARGE (20u << 20)
#define COLD_LARGE (16u << 20)
#define MEDIUM (4u << 20)
#define NODES ((2u << 20) / 64)

struct node {
    struct node *next;
    uint64_t v[7];
};

/* Out of line: each structure's callsite is a return address of its own. */
__attribute__((noinline)) static char *alloc_hot_large(void)
{
    char *p = malloc(HOT_LARGE);
    if (p) memset(p, 1, HOT_LARGE);
    return p;
}
__attribute__((noinline)) static char *alloc_cold_large(void)
{
    char *p = malloc(COLD_LARGE);
    if (p) memset(p, 2, COLD_LARGE);
    return p;
}
__attribute__((noinline)) static char *alloc_medium(void)
{
    char *p = malloc(MEDIUM);
    if (p) memset(p, 3, MEDIUM);
    return p;
}
__attribute__((noinline)) static struct node *alloc_node(struct node *next)
{
    struct node *n = malloc(sizeof(*n));
    if (n) {
        n->next = next;
        n->v[0] = 1;
    }
    return n;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t read_all(const char *p, size_t len)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < len; i += 256)
        sum += (unsigned char)p[i];
    return sum;
}

/* "0-1,3" into a bit mask of nodes below 64. */
static uint64_t parse_nodes(const char *s)
{
    uint64_t m = 0;
    while (*s) {
        char *end;
        long a = strtol(s, &end, 10), b = a;
        if (*end == '-') b = strtol(end + 1, &end, 10);
        for (long i = a; i <= b && i < 64; i++)
            m |= 1ull << i;
        s = *end == ',' ? end + 1 : end + strlen(end);
    }
    return m;
}

/* Pages of [p, p+len) on nodes in want, out of all its pages; prints a line. */
static int check(const char *name, void *const *pages, size_t n, uint64_t want)
{
    int *status = malloc(n * sizeof(int));
    size_t ok = 0;
    if (!status || syscall(SYS_move_pages, 0, n, pages, NULL, status, 0) != 0) {
        perror("move_pages");
        return 1;
    }
    int other = -1;
    for (size_t i = 0; i < n; i++) {
        if (status[i] >= 0 && status[i] < 64 && (want >> status[i] & 1))
            ok++;
        else if (other < 0)
            other = status[i];
    }
    printf("access_prog: %s placement %zu/%zu pages on the expected nodes%s", name, ok, n,
           ok == n ? "\n" : "");
    if (ok != n) printf(" (first other: %d)\n", other);
    free(status);
    return ok == n ? 0 : 1;
}

static void **pages_of(char *p, size_t len, size_t *n)
{
    long pg = sysconf(_SC_PAGESIZE);
    *n = len / (size_t)pg;
    void **v = malloc(*n * sizeof(void *));
    for (size_t i = 0; v && i < *n; i++)
        v[i] = p + i * (size_t)pg;
    return v;
}

int main(int argc, char **argv)
{
    bool forks = argc == 3 && strcmp(argv[2], "fork") == 0;
    if (argc != 2 && argc != 4 && !forks) {
        fprintf(stderr, "usage: access_prog SECONDS [DRAM_NODES KMEM_NODES | fork]\n");
        return 2;
    }
    double seconds = atof(argv[1]);
    char *hot = alloc_hot_large(), *cold = alloc_cold_large(), *medium = alloc_medium();
    struct node *list = NULL;
    for (unsigned i = 0; i < NODES; i++)
        list = alloc_node(list);
    if (!hot || !cold || !medium || !list) {
        fprintf(stderr, "access_prog: out of memory\n");
        return 1;
    }
    pid_t child = forks ? fork() : 0;
    uint64_t sum = 0;
    double start = now(), last_medium = start;
    while (now() - start < seconds) {
        sum += read_all(hot, HOT_LARGE);
        for (struct node *n = list; n; n = n->next)
            sum += n->v[0];
        if (now() - last_medium >= 1.0) {
            sum += read_all(medium, MEDIUM);
            last_medium = now();
        }
    }
    if (forks && child > 0) {
        int st;
        if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return 1;
    }
    printf("access_prog: %s (%llu)\n", forks && child == 0 ? "child done" : "done",
           (unsigned long long)(sum & 0xff));
    if (argc != 4) return 0;

    uint64_t dram = parse_nodes(argv[2]), kmem = parse_nodes(argv[3]);
    int bad = 0;
    size_t n;
    void **v = pages_of(hot, HOT_LARGE, &n);
    bad |= check("hot_large", v, n, dram);
    free(v);
    v = pages_of(cold, COLD_LARGE, &n);
    bad |= check("cold_large", v, n, kmem);
    free(v);
    v = malloc(NODES * sizeof(void *));
    n = 0;
    for (struct node *x = list; x && v; x = x->next)
        v[n++] = x;
    bad |= check("hot_nodes", v, n, dram);
    free(v);
    return bad;
}
