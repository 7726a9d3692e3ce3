/* SPDX-License-Identifier: MIT */
/* The "./app" of README's and the man pages' examples: parse() allocates
 * 100000 blocks of 48 bytes and frees each, load() keeps 20 blocks of 1 MiB.
 * It prints the kernel policy of the mappings its last small block and its
 * large blocks are in (from /proc/self/maps and /proc/self/numa_maps), so that
 * an example's comment ("everything to KMEM") is checked by its output. It
 * reads and writes with read(2) and write(2): no allocation but its own shows
 * in the examples' reports and profiles. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SMALL 48
#define NSMALL 100000
#define NLARGE 20

/* noinline, noclone: each is a callsite of its own in the profile and the report, under its
 * own name. */
__attribute__((noinline, noclone)) static char *parse(void)
{
    char *keep = NULL;
    for (int i = 0; i < NSMALL; i++) {
        char *p = malloc(SMALL);
        if (!p) return NULL;
        memset(p, i, SMALL);
        if (i + 1 == NSMALL) {
            keep = p;
            break;
        }
        free(p);
    }
    return keep;
}

__attribute__((noinline, noclone)) static char *load(size_t size)
{
    char *p = malloc(size);
    if (p) memset(p, 1, size);
    return p;
}

static char text[1 << 16];

/* The whole of a small /proc file in text, NUL-terminated; 0 or -1. */
static int slurp(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    size_t len = 0;
    ssize_t n;
    while (len + 1 < sizeof(text) && (n = read(fd, text + len, sizeof(text) - 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    text[len] = '\0';
    return 0;
}

/* The policy numa_maps gives the mapping that holds p ("default", "bind:0"). */
static int policy_of(const void *p, char *out, size_t outlen)
{
    unsigned long start = 0, s, e;
    if (slurp("/proc/self/maps") < 0) return -1;
    for (char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
        if (sscanf(l, "%lx-%lx", &s, &e) == 2 && (uintptr_t)p >= s && (uintptr_t)p < e) {
            start = s;
            break;
        }
    if (!start || slurp("/proc/self/numa_maps") < 0) return -1;
    for (char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        char pol[64];
        if (sscanf(l, "%lx %63s", &s, pol) == 2 && s == start) {
            snprintf(out, outlen, "%s", pol);
            return 0;
        }
    }
    return -1;
}

int main(void)
{
    char *small = parse();
    char *large[NLARGE];
    for (int i = 0; i < NLARGE; i++)
        if (!(large[i] = load(1 << 20))) return 1;
    char ps[64], pl[64], line[256];
    if (!small || policy_of(small, ps, sizeof(ps)) < 0 ||
        policy_of(large[NLARGE - 1], pl, sizeof(pl)) < 0)
        return 1;
    int n = snprintf(line, sizeof(line), "app: %d blocks of %d bytes: %s; %d blocks of 1 MiB: %s\n",
                     NSMALL, SMALL, ps, NLARGE, pl);
    if (write(STDOUT_FILENO, line, (size_t)n) != n) return 1;
    free(small);
    for (int i = 0; i < NLARGE; i++)
        free(large[i]);
    return 0;
}
