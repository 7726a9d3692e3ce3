/* SPDX-License-Identifier: MIT */
/* kms_probe: allocates blocks with malloc (so that, under LD_PRELOAD=libkmemshim.so, they take the
 * shim's routes), touches every page, and reports with move_pages(2) on which NUMA node each page
 * landed. It is the measuring instrument of the VM tests (tests/vm/README.md).
 *
 * Usage: kms_probe STEP...   Steps run in order, in a worker thread (not the main thread):
 *
 *   label=TEXT        name printed in front of the following reports
 *   cpu=N             pin the thread to CPU N (and wait until it runs there)
 *   alloc=SIZE[xN]    a new group of N blocks (default 1) of SIZE bytes (K, M, G suffixes);
 *                     a NULL from malloc is an error
 *   fill=SIZE:MAX     a new group: SIZE blocks until malloc returns NULL or MAX bytes are held
 *   grab=SIZE:MAX     like fill, but the probe writes nothing into the blocks, so that this
 *                     exhausts the allocator's address space rather than the node's memory (the
 *                     allocator's own header words still fault pages in: 2 MiB each with THP)
 *   ended=null|max    the last fill/grab stopped at a NULL from malloc with errno ENOMEM / at MAX
 *   expect=SET        every page of the group is on a node of SET; prints the per-node counts and
 *                     the fraction on SET; fails below 100%
 *   require=SET       each node of SET holds at least one page of the group
 *   require-any=SET   some node of SET holds at least one page of the group
 *   full=NODE         the node has less than 12.5% of its memory free (read while the blocks are
 *                     held; the kernel moves on at its low watermark, 5-7% free was seen here)
 *   share=NODE:PCT:TOL  the node holds PCT% of the group's pages, give or take TOL% (interleave)
 *   hot=SET:PCT:SECS  touches every page of the group again and again, and every half second asks
 *                     where they are; passes as soon as PCT% of them are on SET, fails after SECS
 *                     seconds (the kernel's NUMA-balancing promotion; the times are printed)
 *   touch=SECS        touches every page of the group again and again for SECS seconds
 *   vma=TEXT          the numa_maps line of the mapping that holds the group's first block
 *                     contains TEXT (the kernel's name of its policy, e.g. "bind:2" or
 *                     "prefer (many):2-3"); the line is printed
 *   show              print the per-node counts of the group
 *   verify            every block allocated so far still holds the pattern written into it
 *   free              free every block allocated so far
 *   thread            join the worker; the remaining steps run in a new thread
 *
 * SET is a node list such as 2 or 2,3 or 0-1. Blocks are freed by the main thread at exit (frees
 * from another thread). The probe's own bookkeeping uses mmap, never malloc, so that the test
 * blocks are almost all that goes through the allocator under test (stdio and libnuma make a few
 * small requests).
 *
 * Exit status: 0 every check passed, 1 a check failed, 2 bad usage, 3 malloc failed in alloc=.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "nodemask.h"

#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAX_NODES 64
#define MAX_BLOCKS (1u << 16)
#define CHUNK 16384 /* pages per move_pages call */

struct block {
    char *p;
    size_t size;
    int touched; /* holds the pattern */
};

static struct block *blocks; /* mmap'ed, MAX_BLOCKS entries */
static unsigned nblocks;     /* blocks allocated so far, in all groups */
static unsigned group_first; /* first block of the current group */
static int fill_ended_null = -1;
static int fill_errno;
static long page_size;
static int max_node;
static int failures;
static char label[128] = "probe";
static char **steps;
static int nsteps;

static void *xmmap(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("kms_probe: mmap");
        exit(3);
    }
    return p;
}

static void usage(const char *msg, const char *arg)
{
    fprintf(stderr, "kms_probe: %s: '%s' (see the comment at the top of kms_probe.c)\n", msg, arg);
    exit(2);
}

static size_t parse_size(const char *s, const char *arg)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno) usage("bad size", arg);
    unsigned shift = 0;
    switch (*end) {
    case 'K':
        shift = 10;
        end++;
        break;
    case 'M':
        shift = 20;
        end++;
        break;
    case 'G':
        shift = 30;
        end++;
        break;
    default: break;
    }
    if (*end != '\0' && *end != 'x' && *end != ':') usage("bad size", arg);
    return (size_t)(v << shift);
}

/* A node set as a bit mask; "2", "2,3", "0-1" (the shim's own parser). */
static uint64_t parse_set(const char *s, const char *arg)
{
    uint64_t set;
    char why[96];
    if (kms_nodemask_parse(s, strlen(s), &set, why, sizeof(why)) < 0) usage(why, arg);
    return set;
}

static void set_str(uint64_t set, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    o += (size_t)snprintf(buf + o, len - o, "{");
    for (int n = 0; n < MAX_NODES && o < len; n++)
        if (set & (1ull << n))
            o += (size_t)snprintf(buf + o, len - o, "%s%d", buf[o - 1] == '{' ? "" : ",", n);
    if (o < len) snprintf(buf + o, len - o, "}");
}

static uint64_t pattern(unsigned b, size_t page)
{
    return ((uint64_t)b << 40) ^ (uint64_t)page ^ 0x6b6d656d7368696dull;
}

/* Writes the pattern at the start of each page of the block (at the block start for the first). */
static void touch(unsigned b)
{
    char *p = blocks[b].p, *end = p + blocks[b].size;
    uintptr_t first = (uintptr_t)p & ~(uintptr_t)(page_size - 1);
    size_t i = 0;
    for (uintptr_t pg = first; pg < (uintptr_t)end; pg += (uintptr_t)page_size, i++) {
        char *a = (char *)pg < p ? p : (char *)pg;
        uint64_t v = pattern(b, i);
        if (a + sizeof v <= end)
            memcpy(a, &v, sizeof v);
        else
            *a = (char)v;
    }
}

static size_t check_pattern(unsigned b)
{
    char *p = blocks[b].p, *end = p + blocks[b].size;
    uintptr_t first = (uintptr_t)p & ~(uintptr_t)(page_size - 1);
    size_t i = 0, bad = 0;
    for (uintptr_t pg = first; pg < (uintptr_t)end; pg += (uintptr_t)page_size, i++) {
        char *a = (char *)pg < p ? p : (char *)pg;
        uint64_t v = pattern(b, i), w = 0;
        if (a + sizeof v <= end) {
            memcpy(&w, a, sizeof w);
            bad += w != v;
        } else {
            bad += *a != (char)v;
        }
    }
    return bad;
}

/* Asks the kernel where pages[0..n) are; adds them to counts. A page the kernel's NUMA balancing
 * has just made PROT_NONE to sample accesses is "not present" to move_pages (-ENOENT on 6.1): it is
 * read, which takes the hinting fault and maps it again, and asked about once more. */
static void flush_pages(void **pages, int *status, size_t n, size_t counts[MAX_NODES + 1])
{
    if (n == 0) return;
    if (move_pages(0, n, pages, NULL, status, 0) != 0) {
        perror("kms_probe: move_pages");
        exit(3);
    }
    for (size_t i = 0; i < n; i++) {
        for (int retry = 0; retry < 8 && (status[i] == -ENOENT || status[i] == -EFAULT); retry++) {
            (void)*(volatile char *)pages[i];
            if (move_pages(0, 1, &pages[i], NULL, &status[i], 0) != 0) status[i] = -errno;
        }
        if (status[i] >= 0 && status[i] < MAX_NODES)
            counts[status[i]]++;
        else
            counts[MAX_NODES]++;
    }
}

/* Per-node page counts of the current group; counts[MAX_NODES] = pages move_pages could not place.
 */
static size_t count_pages(size_t counts[MAX_NODES + 1])
{
    static void *pages[CHUNK];
    static int status[CHUNK];
    size_t total = 0, n = 0;
    memset(counts, 0, sizeof(size_t) * (MAX_NODES + 1));

    for (unsigned b = group_first; b < nblocks; b++) {
        uintptr_t pg = (uintptr_t)blocks[b].p & ~(uintptr_t)(page_size - 1);
        uintptr_t end = (uintptr_t)blocks[b].p + blocks[b].size;
        for (; pg < end; pg += (uintptr_t)page_size) {
            pages[n++] = (void *)pg;
            total++;
            if (n == CHUNK) {
                flush_pages(pages, status, n, counts);
                n = 0;
            }
        }
    }
    flush_pages(pages, status, n, counts);
    return total;
}

static void print_counts(const size_t counts[MAX_NODES + 1])
{
    for (int n = 0; n <= max_node && n < MAX_NODES; n++)
        printf(" N%d=%zu", n, counts[n]);
    if (counts[MAX_NODES]) printf(" unplaced=%zu", counts[MAX_NODES]);
}

static size_t group_bytes(void)
{
    size_t sum = 0;
    for (unsigned b = group_first; b < nblocks; b++)
        sum += blocks[b].size;
    return sum;
}

static int current_node(void)
{
    int cpu = sched_getcpu();
    return cpu < 0 ? -1 : numa_node_of_cpu(cpu);
}

static void report_head(void)
{
    printf("kms_probe: [%s] cpu %d (node %d): %u block(s), %.1f MiB:", label, sched_getcpu(),
           current_node(), nblocks - group_first, (double)group_bytes() / (1 << 20));
}

static void check(int ok, const char *what)
{
    printf(" -> %s %s\n", what, ok ? "ok" : "FAILED");
    if (!ok) failures++;
    fflush(stdout);
}

static void step_expect(uint64_t set)
{
    size_t counts[MAX_NODES + 1], on = 0;
    size_t total = count_pages(counts);
    char s[256], what[320];
    for (int n = 0; n < MAX_NODES; n++)
        if (set & (1ull << n)) on += counts[n];
    set_str(set, s, sizeof s);
    report_head();
    print_counts(counts);
    snprintf(what, sizeof what, "placement %zu/%zu pages on %s = %.2f%%", on, total, s,
             total ? 100.0 * (double)on / (double)total : 0.0);
    check(total > 0 && on == total, what);
}

static void step_share(int node, double pct, double tol)
{
    size_t counts[MAX_NODES + 1];
    size_t total = count_pages(counts);
    double got =
        total && node >= 0 && node < MAX_NODES ? 100.0 * (double)counts[node] / (double)total : 0.0;
    char what[160];
    report_head();
    print_counts(counts);
    snprintf(what, sizeof what, "node %d holds %.2f%% of %zu pages (want %.0f%% +- %.0f%%)", node,
             got, total, pct, tol);
    check(total > 0 && got >= pct - tol && got <= pct + tol, what);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One pass over the group: read and write every page. */
static void touch_group(void)
{
    for (unsigned b = group_first; b < nblocks; b++) {
        volatile char *p = blocks[b].p;
        for (size_t o = 0; o < blocks[b].size; o += (size_t)page_size)
            p[o] = (char)(p[o] + 0); /* keeps the pattern */
    }
}

/* hot= (want_pct >= 0) or touch= (want_pct < 0). */
static void step_hot(uint64_t set, double want_pct, double secs)
{
    size_t counts[MAX_NODES + 1];
    double start = now(), next = start + 0.5, pct = 0;
    char s[256], what[320];
    set_str(set, s, sizeof s);
    for (;;) {
        touch_group();
        double t = now();
        if (t < next) continue;
        next = t + 0.5;
        if (want_pct >= 0) {
            size_t on = 0, total = count_pages(counts);
            for (int n = 0; n < MAX_NODES; n++)
                if (set & (1ull << n)) on += counts[n];
            pct = total ? 100.0 * (double)on / (double)total : 0;
            if ((int)(t - start) != (int)(t - start - 0.5) || pct >= want_pct) {
                printf("kms_probe: [%s] after %.1f s:", label, t - start);
                print_counts(counts);
                printf(" (%.1f%% on %s)\n", pct, s);
            }
            if (pct >= want_pct) break;
        }
        if (t - start >= secs) break;
    }
    if (want_pct < 0) {
        printf("kms_probe: [%s] touched every page for %.1f s\n", label, now() - start);
        return;
    }
    report_head();
    snprintf(what, sizeof what, "%.1f%% of the pages moved to %s within %.0f s (want %.0f%%)", pct,
             s, secs, want_pct);
    check(pct >= want_pct, what);
}

static void step_require(uint64_t set, int any)
{
    size_t counts[MAX_NODES + 1];
    int ok = !any, hit;
    char s[256], what[320];
    count_pages(counts);
    for (int n = 0; n < MAX_NODES; n++) {
        if (!(set & (1ull << n))) continue;
        hit = counts[n] > 0;
        ok = any ? ok || hit : ok && hit;
    }
    set_str(set, s, sizeof s);
    report_head();
    print_counts(counts);
    snprintf(what, sizeof what, "%s node of %s holds pages:", any ? "some" : "every", s);
    check(ok, what);
}

static void step_full(int node)
{
    char path[96], line[256];
    long long total = -1, free_kb = -1;
    snprintf(path, sizeof path, "/sys/devices/system/node/node%d/meminfo", node);
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        failures++;
        return;
    }
    while (fgets(line, sizeof line, f)) {
        char *p;
        if ((p = strstr(line, "MemTotal:")))
            total = atoll(p + 9);
        else if ((p = strstr(line, "MemFree:")))
            free_kb = atoll(p + 8);
    }
    fclose(f);
    printf("kms_probe: [%s] node %d: MemFree %lld of %lld kB (%.1f%%)", label, node, free_kb, total,
           total > 0 ? 100.0 * (double)free_kb / (double)total : 0.0);
    check(total > 0 && free_kb >= 0 && free_kb * 8 < total, "node full (< 12.5% free)");
}

/* fill: 0 = alloc= (count blocks), 1 = fill= (up to max bytes), 2 = grab= (same, untouched) */
static void step_vma(const char *text)
{
    char line[1024], found[1024] = "";
    uintptr_t addr, best = 0;
    if (group_first >= nblocks) {
        fprintf(stderr, "kms_probe: vma= needs a group of blocks\n");
        exit(2);
    }
    addr = (uintptr_t)blocks[group_first].p;
    FILE *f = fopen("/proc/self/numa_maps", "r");
    if (!f) {
        perror("kms_probe: /proc/self/numa_maps");
        exit(3);
    }
    /* Lines start with the mapping's start address, in increasing order: the mapping holding addr
     * is the last one starting at or below it. */
    while (fgets(line, sizeof line, f)) {
        uintptr_t start = (uintptr_t)strtoull(line, NULL, 16);
        if (start <= addr && start >= best) {
            best = start;
            snprintf(found, sizeof found, "%s", line);
        }
    }
    fclose(f);
    found[strcspn(found, "\n")] = '\0';
    printf("kms_probe: [%s] numa_maps of the block at %p: %s", label, (void *)addr, found);
    char what[300];
    snprintf(what, sizeof what, "mapping policy contains '%s'", text);
    check(strstr(found, text) != NULL, what);
}

static void step_alloc(size_t size, size_t count, size_t max, int fill)
{
    group_first = nblocks;
    size_t held = 0;
    for (size_t i = 0; fill ? held + size <= max : i < count; i++) {
        if (nblocks == MAX_BLOCKS) {
            fprintf(stderr, "kms_probe: more than %u blocks\n", MAX_BLOCKS);
            exit(2);
        }
        errno = 0;
        char *p = malloc(size);
        if (!p) {
            if (fill) {
                fill_ended_null = 1;
                fill_errno = errno;
                printf(
                    "kms_probe: [%s] %s: malloc(%zu) returned NULL (errno %d %s) after %.1f MiB\n",
                    label, fill == 2 ? "grab" : "fill", size, fill_errno, strerror(fill_errno),
                    (double)held / (1 << 20));
                fflush(stdout);
                return;
            }
            fprintf(stderr, "kms_probe: [%s] malloc(%zu) returned NULL (errno %d %s)\n", label,
                    size, errno, strerror(errno));
            exit(3);
        }
        blocks[nblocks].p = p;
        blocks[nblocks].size = size;
        blocks[nblocks].touched = fill != 2;
        if (fill != 2) touch(nblocks);
        nblocks++;
        held += size;
    }
    if (fill) {
        fill_ended_null = 0;
        printf("kms_probe: [%s] %s: reached %.1f MiB without a NULL\n", label,
               fill == 2 ? "grab" : "fill", (double)held / (1 << 20));
        fflush(stdout);
    }
}

static void step_verify(void)
{
    size_t bad = 0;
    unsigned checked = 0;
    for (unsigned b = 0; b < nblocks; b++)
        if (blocks[b].p && blocks[b].touched) {
            bad += check_pattern(b);
            checked++;
        }
    printf("kms_probe: [%s] verify: %u block(s), %zu corrupted page(s)", label, checked, bad);
    check(bad == 0, "data intact");
}

static void step_free(void)
{
    for (unsigned b = 0; b < nblocks; b++) {
        free(blocks[b].p);
        blocks[b].p = NULL;
    }
    group_first = nblocks;
}

static void step_cpu(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
        fprintf(stderr, "kms_probe: sched_setaffinity(cpu %d): %s\n", cpu, strerror(errno));
        exit(2);
    }
    for (int i = 0; i < 1000 && sched_getcpu() != cpu; i++)
        sched_yield();
    if (sched_getcpu() != cpu) {
        fprintf(stderr, "kms_probe: still on cpu %d after pinning to %d\n", sched_getcpu(), cpu);
        exit(2);
    }
}

/* Runs steps [*pos, next "thread" step). */
static void *worker(void *arg)
{
    int *pos = arg;
    for (; *pos < nsteps; ++*pos) {
        const char *a = steps[*pos];
        const char *eq = strchr(a, '=');
        const char *v = eq ? eq + 1 : "";
        size_t klen = eq ? (size_t)(eq - a) : strlen(a);
#define KEY(k) (klen == sizeof(k) - 1 && strncmp(a, k, klen) == 0)
        if (KEY("thread")) {
            ++*pos;
            break;
        } else if (KEY("label")) {
            snprintf(label, sizeof label, "%s", v);
        } else if (KEY("cpu")) {
            step_cpu(atoi(v));
        } else if (KEY("alloc")) {
            const char *x = strchr(v, 'x');
            step_alloc(parse_size(v, a), x ? parse_size(x + 1, a) : 1, 0, 0);
        } else if (KEY("fill") || KEY("grab")) {
            const char *c = strchr(v, ':');
            if (!c) usage("fill and grab need SIZE:MAX", a);
            step_alloc(parse_size(v, a), 0, parse_size(c + 1, a), KEY("fill") ? 1 : 2);
        } else if (KEY("ended")) {
            int want_null = strcmp(v, "null") == 0;
            if (!want_null && strcmp(v, "max") != 0) usage("ended= takes null or max", a);
            printf("kms_probe: [%s] last fill ended %s", label,
                   fill_ended_null < 0 ? "(no fill)"
                   : fill_ended_null   ? "with NULL"
                                       : "at its maximum");
            if (want_null) printf(", errno %d", fill_errno);
            check(want_null ? fill_ended_null == 1 && fill_errno == ENOMEM : fill_ended_null == 0,
                  want_null ? "expected NULL with ENOMEM" : "expected no NULL");
        } else if (KEY("expect")) {
            step_expect(parse_set(v, a));
        } else if (KEY("require")) {
            step_require(parse_set(v, a), 0);
        } else if (KEY("require-any")) {
            step_require(parse_set(v, a), 1);
        } else if (KEY("full")) {
            step_full(atoi(v));
        } else if (KEY("share")) {
            int node;
            double pct, tol;
            if (sscanf(v, "%d:%lf:%lf", &node, &pct, &tol) != 3) usage("share=NODE:PCT:TOL", a);
            step_share(node, pct, tol);
        } else if (KEY("hot")) {
            const char *c = strchr(v, ':');
            double pct, secs;
            char setbuf[128];
            if (!c || (size_t)(c - v) >= sizeof setbuf ||
                sscanf(c + 1, "%lf:%lf", &pct, &secs) != 2)
                usage("hot=SET:PCT:SECS", a);
            snprintf(setbuf, sizeof setbuf, "%.*s", (int)(c - v), v);
            step_hot(parse_set(setbuf, a), pct, secs);
        } else if (KEY("touch")) {
            step_hot(1, -1, atof(v));
        } else if (KEY("vma")) {
            step_vma(v);
        } else if (KEY("show")) {
            size_t counts[MAX_NODES + 1];
            count_pages(counts);
            report_head();
            print_counts(counts);
            printf("\n");
        } else if (KEY("verify")) {
            step_verify();
        } else if (KEY("free")) {
            step_free();
        } else {
            usage("unknown step", a);
        }
#undef KEY
    }
    return NULL;
}

/* Whether a file with the basename of path (the first of a LD_PRELOAD list) is mapped. */
static int mapped(const char *path)
{
    char want[256], line[1024];
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(want, sizeof want, "/%.*s", (int)strcspn(base, " :"), base);
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return 0;
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        size_t n = strlen(line), w = strlen(want);
        found = n >= w && strcmp(line + n - w, want) == 0;
    }
    fclose(f);
    return found;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) usage("no steps", "");
    if (numa_available() < 0) {
        fprintf(stderr, "kms_probe: no NUMA support in this kernel\n");
        return 2;
    }
    page_size = sysconf(_SC_PAGESIZE);
    max_node = numa_max_node();
    blocks = xmmap(sizeof(struct block) * MAX_BLOCKS);
    steps = argv + 1;
    nsteps = argc - 1;

    const char *pre = getenv("LD_PRELOAD");
    printf("kms_probe: pid %d, LD_PRELOAD=%s KMEM_POLICY=%s KMEM_NODES=%s\n", (int)getpid(),
           pre ? pre : "", getenv("KMEM_POLICY") ? getenv("KMEM_POLICY") : "",
           getenv("KMEM_NODES") ? getenv("KMEM_NODES") : "");
    /* The dynamic loader only warns when it cannot preload a library: make sure it is mapped, or
     * the checks below would measure glibc's malloc. */
    if (pre && *pre && !mapped(pre)) {
        fprintf(stderr, "kms_probe: LD_PRELOAD=%s is not loaded into this process\n", pre);
        return 2;
    }

    int pos = 0;
    while (pos < nsteps) {
        pthread_t t;
        if (pthread_create(&t, NULL, worker, &pos) != 0) {
            fprintf(stderr, "kms_probe: pthread_create failed\n");
            return 3;
        }
        pthread_join(t, NULL);
    }
    step_free(); /* from the main thread: frees of blocks another thread allocated */
    printf("kms_probe: [%s] %s\n", label, failures ? "FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
