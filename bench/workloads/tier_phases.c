/* SPDX-License-Identifier: MIT */
/* A workload whose heat moves: three structures, each from a callsite of its
 * own (alloc_index_a, alloc_index_b, alloc_log), or all three through one
 * wrapper (my_xmalloc) called from those three places (--wrapper). The log is
 * written once and never read. Odd phases read index A at random, a 64-byte
 * line at a time (xorshift), even phases index B; with --equal every phase
 * reads A and B alternately.
 *
 * At the end of each phase it prints, per structure, the share of its pages
 * on the DRAM node set (move_pages(2) in query mode), the pages per node and
 * the kernel policies of the mappings that hold it (/proc/self/numa_maps), and
 * the phase's reads per second, one line each:
 *
 *   phase 1 A dram_share 0.9876 pages 12288 absent 0 nodes 0=12000,2=288 policy bind:0-1
 *   phase 1 reads 123456789 reads_per_s 24691357
 *
 * (dram_share is "-" without --dram-nodes; several policies are joined by '+'.)
 * With --swap-time, a second thread polls the pages of the structure a phase
 * reads (A in phase 1, B in phase 2) every 50 ms from the start of the phase
 * and prints, as soon as 90% of them are on the DRAM nodes, the time it took
 * (at the end of the phase, "none" and the largest share seen if never):
 *
 *   swap B dram90_s 1.234            or   swap B dram90_s none max_share 0.42
 *
 * Its own bookkeeping never goes through malloc: page lists and move_pages'
 * status arrays are mmap-ed, /proc files are read into static buffers.
 *
 * usage: tier_phases [--size MIB] [--b-size MIB] [--log-size MIB] [--phase SECONDS] [--phases N]
 *                    [--dram-nodes LIST] [--wrapper] [--equal] [--only-a] [--swap-time]
 * --size is A's size and, by default, B's and the log's (48 MiB). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_NODES 64
#define LINE 64

struct structure {
    const char *name;
    char *p;
    size_t len, npages;
    void **pages; /* mmap-ed: the page addresses for move_pages */
    int *status;  /* mmap-ed: move_pages' answer */
};

static bool use_wrapper;
static uint64_t dram_mask; /* bit per DRAM node; 0: no --dram-nodes */
static long page_size;
static char stdout_buf[1 << 16];

static void die(const char *what)
{
    fprintf(stderr, "tier_phases: %s\n", what);
    exit(2);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The wrapper of --wrapper: the call is not a tail call (the result is used), so
 * the return address malloc sees is always the same one, inside this function. */
__attribute__((noipa)) static void *my_xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) die("out of memory");
    return p;
}

/* Out of line, never merged or cloned (noipa): each structure's callsite is a
 * return address of its own. */
__attribute__((noipa)) static char *alloc_index_a(size_t n)
{
    char *p = use_wrapper ? my_xmalloc(n) : malloc(n);
    if (p) memset(p, 'a', n);
    return p;
}
__attribute__((noipa)) static char *alloc_index_b(size_t n)
{
    char *p = use_wrapper ? my_xmalloc(n) : malloc(n);
    if (p) memset(p, 'b', n);
    return p;
}
__attribute__((noipa)) static char *alloc_log(size_t n)
{
    char *p = use_wrapper ? my_xmalloc(n) : malloc(n);
    if (p) memset(p, 'l', n);
    return p;
}

static void *map_anon(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) die("mmap failed");
    return p;
}

static void setup_pages(struct structure *s)
{
    s->npages = s->len / (size_t)page_size;
    s->pages = map_anon(s->npages * sizeof(void *) + 1);
    s->status = map_anon(s->npages * sizeof(int) + 1);
    for (size_t i = 0; i < s->npages; i++)
        s->pages[i] = s->p + i * (size_t)page_size;
}

/* "0-1,3" into a bit mask of nodes below 64. */
static uint64_t parse_nodes(const char *s)
{
    uint64_t m = 0;
    while (*s) {
        char *end;
        long a = strtol(s, &end, 10), b = a;
        if (end == s) die("--dram-nodes: expected a node list such as 0,1 or 0-1");
        if (*end == '-') b = strtol(end + 1, &end, 10);
        if (a < 0 || b >= MAX_NODES || b < a) die("--dram-nodes: nodes 0 to 63");
        for (long i = a; i <= b; i++)
            m |= 1ull << i;
        if (*end && *end != ',') die("--dram-nodes: expected a node list such as 0,1 or 0-1");
        s = *end ? end + 1 : end;
    }
    return m;
}

/* Where the pages of s are: per node counts in count[], absent pages in *absent.
 * Returns -1 when move_pages fails. */
static int query(struct structure *s, int *status, size_t count[MAX_NODES], size_t *absent)
{
    memset(count, 0, MAX_NODES * sizeof(size_t));
    *absent = 0;
    if (syscall(SYS_move_pages, 0, s->npages, s->pages, NULL, status, 0) != 0) return -1;
    for (size_t i = 0; i < s->npages; i++) {
        if (status[i] >= 0 && status[i] < MAX_NODES)
            count[status[i]]++;
        else
            ++*absent;
    }
    return 0;
}

static double dram_share(const struct structure *s, const size_t count[MAX_NODES])
{
    size_t on = 0;
    for (int n = 0; n < MAX_NODES; n++)
        if (dram_mask >> n & 1) on += count[n];
    return s->npages ? (double)on / (double)s->npages : 0;
}

/* The whole of a /proc file into buf (NUL-terminated); its length or -1. */
static char maps_buf[1 << 20], numa_buf[4 << 20];
static ssize_t slurp(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, buf + len, size - 1 - len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        len += (size_t)r;
        if (len == size - 1) break;
    }
    close(fd);
    buf[len] = 0;
    return (ssize_t)len;
}

/* The kernel policies of the mappings that overlap s, distinct ones joined by '+'. */
static void policies(const struct structure *s, char *out, size_t outlen)
{
    uintptr_t a = (uintptr_t)s->p, e = a + s->len, starts[256];
    size_t nstarts = 0, used = 0;
    snprintf(out, outlen, "?");
    if (slurp("/proc/self/maps", maps_buf, sizeof(maps_buf)) < 0) return;
    for (char *l = maps_buf; *l;) {
        unsigned long vs, ve;
        if (sscanf(l, "%lx-%lx", &vs, &ve) == 2 && vs < e && ve > a && nstarts < 256)
            starts[nstarts++] = vs;
        char *nl = strchr(l, '\n');
        if (!nl) break;
        l = nl + 1;
    }
    if (slurp("/proc/self/numa_maps", numa_buf, sizeof(numa_buf)) < 0) return;
    out[0] = 0;
    for (char *l = numa_buf; *l;) {
        unsigned long vs;
        char pol[128];
        if (sscanf(l, "%lx %127s", &vs, pol) == 2) {
            for (size_t i = 0; i < nstarts; i++) {
                if (starts[i] != vs) continue;
                /* Distinct policies only. */
                bool seen = false;
                for (const char *q = out; (q = strstr(q, pol)) != NULL; q += strlen(pol)) {
                    char after = q[strlen(pol)];
                    if ((q == out || q[-1] == '+') && (after == 0 || after == '+')) seen = true;
                }
                if (!seen && used + strlen(pol) + 2 < outlen)
                    used +=
                        (size_t)snprintf(out + used, outlen - used, "%s%s", used ? "+" : "", pol);
            }
        }
        char *nl = strchr(l, '\n');
        if (!nl) break;
        l = nl + 1;
    }
    if (!out[0]) snprintf(out, outlen, "?");
}

static void report(int phase, struct structure *s)
{
    size_t count[MAX_NODES], absent;
    char pol[512], nodes[512], share[32];
    if (query(s, s->status, count, &absent) != 0) {
        printf("phase %d %s move_pages failed: %s\n", phase, s->name, strerror(errno));
        return;
    }
    size_t used = 0;
    nodes[0] = 0;
    for (int n = 0; n < MAX_NODES; n++)
        if (count[n] && used < sizeof(nodes) - 32)
            used += (size_t)snprintf(nodes + used, sizeof(nodes) - used, "%s%d=%zu",
                                     used ? "," : "", n, count[n]);
    if (!used) snprintf(nodes, sizeof(nodes), "-");
    if (dram_mask)
        snprintf(share, sizeof(share), "%.4f", dram_share(s, count));
    else
        snprintf(share, sizeof(share), "-");
    policies(s, pol, sizeof(pol));
    printf("phase %d %s dram_share %s pages %zu absent %zu nodes %s policy %s\n", phase, s->name,
           share, s->npages, absent, nodes, pol);
}

static inline uint64_t xorshift(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Random 64-byte-line reads of a (and b, alternately, when b is not NULL) for
 * secs seconds; the number of reads in *reads, the time taken in *took. */
static uint64_t read_phase(const char *a, size_t lines_a, const char *b, size_t lines_b,
                           double secs, uint64_t *seed, uint64_t *reads, double *took)
{
    uint64_t sum = 0, n = 0;
    double t0 = now(), t;
    do {
        for (int i = 0; i < 4096; i++) {
            size_t idx = (size_t)(((unsigned __int128)xorshift(seed) * lines_a) >> 64);
            sum += *(const volatile uint64_t *)(a + idx * LINE);
            if (b) {
                idx = (size_t)(((unsigned __int128)xorshift(seed) * lines_b) >> 64);
                sum += *(const volatile uint64_t *)(b + idx * LINE);
            }
        }
        n += b ? 8192 : 4096;
        t = now();
    } while (t - t0 < secs);
    *reads = n;
    *took = t - t0;
    return sum;
}

/* --swap-time: polls the structure a phase reads (A in phase 1, B in phase 2)
 * every 50 ms until 90% of its pages are on the DRAM nodes, and says so then. */
static struct {
    struct structure *b;
    int *status;
    double t0, reached, max_share;
    atomic_bool stop;
} poll_state;

static void *poll_b(void *arg)
{
    (void)arg;
    size_t count[MAX_NODES], absent;
    while (!atomic_load(&poll_state.stop)) {
        if (query(poll_state.b, poll_state.status, count, &absent) == 0) {
            double share = dram_share(poll_state.b, count);
            if (share > poll_state.max_share) poll_state.max_share = share;
            if (share >= 0.9) {
                poll_state.reached = now() - poll_state.t0;
                printf("swap %s dram90_s %.3f\n", poll_state.b->name, poll_state.reached);
                return NULL;
            }
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: tier_phases [--size MIB] [--b-size MIB] [--log-size MIB] [--phase SECONDS]\n"
            "                   [--phases N] [--dram-nodes LIST] [--wrapper] [--equal] [--only-a]"
            " [--swap-time]\n");
    exit(2);
}

static double number(const char *opt, const char *v, double min, double max)
{
    char *end;
    errno = 0;
    double d = v ? strtod(v, &end) : 0;
    if (!v || errno || end == v || *end || d < min || d > max) {
        fprintf(stderr, "tier_phases: %s '%s': expected a number from %g to %g\n", opt, v ? v : "",
                min, max);
        exit(2);
    }
    return d;
}

int main(int argc, char **argv)
{
    double size_mib = 48, b_mib = -1, log_mib = -1, phase_s = 5;
    int phases = 2;
    bool equal = false, only_a = false, swap_time = false;
    setvbuf(stdout, stdout_buf, _IOLBF, sizeof(stdout_buf));
    page_size = sysconf(_SC_PAGESIZE);
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "--size")) {
            size_mib = number(o, v, 1, 1 << 20);
            i++;
        } else if (!strcmp(o, "--b-size")) {
            b_mib = number(o, v, 1, 1 << 20);
            i++;
        } else if (!strcmp(o, "--log-size")) {
            log_mib = number(o, v, 0, 1 << 20);
            i++;
        } else if (!strcmp(o, "--phase")) {
            phase_s = number(o, v, 0, 1e6);
            i++;
        } else if (!strcmp(o, "--phases")) {
            phases = (int)number(o, v, 1, 1000);
            i++;
        } else if (!strcmp(o, "--dram-nodes")) {
            if (!v) usage();
            dram_mask = parse_nodes(v);
            i++;
        } else if (!strcmp(o, "--wrapper")) {
            use_wrapper = true;
        } else if (!strcmp(o, "--equal")) {
            equal = true;
        } else if (!strcmp(o, "--only-a")) {
            only_a = true;
        } else if (!strcmp(o, "--swap-time")) {
            swap_time = true;
        } else {
            usage();
        }
    }
    if (swap_time && (!dram_mask || phases < 2 || only_a || equal))
        die("--swap-time needs --dram-nodes and a phase 2 that reads B (not --only-a or --equal)");
    size_t len = (size_t)(size_mib * (1 << 20)) / (size_t)page_size * (size_t)page_size;
    size_t log_len =
        log_mib < 0 ? len : (size_t)(log_mib * (1 << 20)) / (size_t)page_size * (size_t)page_size;
    size_t b_len =
        b_mib < 0 ? len : (size_t)(b_mib * (1 << 20)) / (size_t)page_size * (size_t)page_size;
    struct structure st[3] = {{.name = "A", .len = len},
                              {.name = "B", .len = only_a ? 0 : b_len},
                              {.name = "log", .len = log_len}};
    st[0].p = alloc_index_a(st[0].len);
    if (st[1].len) st[1].p = alloc_index_b(st[1].len);
    if (st[2].len) st[2].p = alloc_log(st[2].len);
    if (!st[0].p || (st[1].len && !st[1].p) || (st[2].len && !st[2].p)) die("out of memory");
    int nst = 0;
    struct structure *live[3];
    for (int i = 0; i < 3; i++) {
        if (!st[i].len) continue;
        setup_pages(&st[i]);
        live[nst++] = &st[i];
    }
    printf("tier_phases: pid %d size_mib %g b_mib %g log_mib %g phase_s %g phases %d wrapper %d "
           "pattern %s\n",
           (int)getpid(), (double)len / (1 << 20), (double)st[1].len / (1 << 20),
           (double)log_len / (1 << 20), phase_s, phases, use_wrapper,
           equal    ? "equal"
           : only_a ? "only-a"
                    : "phased");
    uint64_t seed = 0x9e3779b97f4a7c15ull, sum = 0;
    pthread_t poller;
    bool polling = false;
    for (int ph = 1; ph <= phases; ph++) {
        bool read_b = !only_a && (ph % 2 == 0 || equal);
        const char *first = equal || ph % 2 || only_a ? st[0].p : st[1].p;
        printf("phase %d start reads %s\n", ph, equal ? "A+B" : first == st[0].p ? "A" : "B");
        if (swap_time && ph <= 2) {
            poll_state.b = ph == 1 ? &st[0] : &st[1];
            if (!poll_state.status)
                poll_state.status = map_anon(
                    (st[0].npages > st[1].npages ? st[0].npages : st[1].npages) * sizeof(int) + 1);
            atomic_store(&poll_state.stop, false);
            poll_state.t0 = now();
            poll_state.reached = -1;
            poll_state.max_share = 0;
            if (pthread_create(&poller, NULL, poll_b, NULL) != 0) die("pthread_create failed");
            polling = true;
        }
        uint64_t reads;
        double took;
        sum += read_phase(first, (first == st[0].p ? st[0].len : st[1].len) / LINE,
                          equal && read_b ? st[1].p : NULL, st[1].len / LINE, phase_s, &seed,
                          &reads, &took);
        if (polling) {
            atomic_store(&poll_state.stop, true);
            pthread_join(poller, NULL);
            polling = false;
            if (poll_state.reached < 0)
                printf("swap %s dram90_s none max_share %.4f\n", poll_state.b->name,
                       poll_state.max_share);
        }
        for (int i = 0; i < nst; i++)
            report(ph, live[i]);
        printf("phase %d reads %llu reads_per_s %.0f\n", ph, (unsigned long long)reads,
               took > 0 ? (double)reads / took : 0);
    }
    printf("tier_phases: done (%llu)\n", (unsigned long long)(sum & 0xff));
    fflush(stdout);
    return 0;
}
