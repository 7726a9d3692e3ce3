/* SPDX-License-Identifier: MIT */
/* The running machine's topology, read from sysfs (what libnuma reads, without
 * loading libnuma: its constructor alone costs every process under the shim
 * about 150,000 instructions, a fifth of /bin/true's start-up). */
#include "core/topology.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NODE_DIR "/sys/devices/system/node"

/* Reads a small sysfs file into buf (NUL-terminated). Returns its length or -1.
 * sysfs gives an attribute whole (at most a page) to one read(): a read that
 * fills less than asked is the end, and asking again would only cost every
 * process a system call per file. */
static ssize_t slurp(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t got = 0;
    while (got + 1 < len) {
        size_t want = len - 1 - got;
        ssize_t k = read(fd, buf + got, want);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        got += (size_t)k;
        if ((size_t)k < want) break;
    }
    close(fd);
    buf[got] = '\0';
    return (ssize_t)got;
}

/* Calls fn(i, arg) for each number of a sysfs list ("0-3,8,10-11\n"). */
static void each_in_list(const char *s, void (*fn)(long, void *), void *arg)
{
    while (*s) {
        char *end;
        long lo = strtol(s, &end, 10), hi = lo;
        if (end == s) break;
        s = end;
        if (*s == '-') {
            hi = strtol(s + 1, &end, 10);
            if (end == s + 1) break;
            s = end;
        }
        for (long i = lo; i <= hi && i >= 0; i++)
            fn(i, arg);
        if (*s != ',') break;
        s++;
    }
}

static void add_node(long n, void *arg)
{
    if (n < KMS_MAX_NODES) kms_nodeset_add(arg, (int)n);
}

struct cpus_of {
    struct kms_topology *t;
    int node;
    int used; /* highest CPU seen + 1 */
    bool oom;
};

/* The CPU table grows to the highest CPU the nodes list: sizing it from
 * sysconf(_SC_NPROCESSORS_CONF) would read cpu/possible, one more sysfs file
 * per process, for CPUs that no node holds now and that map to no node either.
 * Makes room for CPU c (entries -1 until a node lists them); false on ENOMEM. */
static bool cpu_room(struct kms_topology *t, long c)
{
    if (c < t->ncpus) return true;
    int want = t->ncpus ? t->ncpus : 64;
    while (want <= c)
        want *= 2;
    if (want > KMS_MAX_CPUS) want = KMS_MAX_CPUS;
    int16_t *grown = realloc(t->cpu_node, sizeof(*grown) * (size_t)want);
    if (!grown) return false;
    for (int i = t->ncpus; i < want; i++)
        grown[i] = -1;
    t->cpu_node = grown;
    t->ncpus = want;
    return true;
}

static void add_cpu(long c, void *arg)
{
    struct cpus_of *x = arg;
    if (c >= KMS_MAX_CPUS || x->oom) return;
    if (!cpu_room(x->t, c)) {
        x->oom = true;
        return;
    }
    x->t->cpu_node[c] = (int16_t)x->node;
    if (c + 1 > x->used) x->used = (int)c + 1;
    kms_nodeset_add(&x->t->with_cpus, x->node);
}

/* "Node 1 MemTotal:  8388608 kB" */
static uint64_t mem_total(const char *meminfo)
{
    const char *p = strstr(meminfo, "MemTotal:");
    if (!p) return 0;
    return strtoull(p + strlen("MemTotal:"), NULL, 10) * 1024;
}

static int read_live(struct kms_topology *t, bool sets_only, char *err, size_t errlen)
{
    static char buf[16384];
    char path[96];
    memset(t, 0, sizeof(*t));
    t->max_node = -1;
    /* As libnuma's numa_available(): only a kernel without NUMA (ENOSYS) means
     * no NUMA. A seccomp filter's EPERM does not: the mbind() probe at
     * start-up names it. */
    if (syscall(SYS_get_mempolicy, NULL, NULL, 0UL, NULL, 0UL) < 0 && errno == ENOSYS) {
        snprintf(err, errlen, "NUMA unavailable (get_mempolicy: %s: no NUMA support in the kernel)",
                 strerror(errno));
        return -1;
    }
    if (slurp(NODE_DIR "/online", buf, sizeof(buf)) <= 0) {
        snprintf(err, errlen, "cannot read %s/online: %s", NODE_DIR, strerror(errno));
        return -1;
    }
    each_in_list(buf, add_node, &t->present);
    int max = kms_nodeset_last(&t->present);
    if (max < 0) {
        snprintf(err, errlen, "%s/online names no node: '%s'", NODE_DIR, buf);
        return -1;
    }
    int nn = max + 1;
    bool alone = kms_nodeset_count(&t->present) == 1;
    t->max_node = max;
    t->size = calloc((size_t)nn, sizeof(*t->size));
    t->distance = calloc((size_t)nn * (size_t)nn, sizeof(*t->distance));
    struct cpus_of x = {.t = t, .used = 1}; /* one entry at least */
    if (!t->size || !t->distance || !cpu_room(t, 0)) goto oom;
    for (int n = 0; n <= max; n++) {
        for (int m = 0; m <= max; m++)
            t->distance[n * nn + m] = n == m ? 10 : 20;
        if (sets_only || !kms_nodeset_has(&t->present, n)) continue;
        snprintf(path, sizeof(path), NODE_DIR "/node%d/meminfo", n);
        if (slurp(path, buf, sizeof(buf)) > 0) t->size[n] = mem_total(buf);
        if (t->size[n] > 0) kms_nodeset_add(&t->with_memory, n);
        snprintf(path, sizeof(path), NODE_DIR "/node%d/cpulist", n);
        x.node = n;
        if (slurp(path, buf, sizeof(buf)) > 0) each_in_list(buf, add_cpu, &x);
        if (x.oom) goto oom;
        /* One distance per online node, in node order; a node alone has only its own,
         * which the kernel gives as 10. */
        snprintf(path, sizeof(path), NODE_DIR "/node%d/distance", n);
        if (!alone && slurp(path, buf, sizeof(buf)) > 0) {
            const char *s = buf;
            for (int m = 0; m <= max; m++) {
                if (!kms_nodeset_has(&t->present, m)) continue;
                char *end;
                long d = strtol(s, &end, 10);
                if (end == s) break;
                if (d > 0) t->distance[n * nn + m] = (int)d;
                s = end;
            }
        }
    }
    t->ncpus = x.used;
    if (sets_only) {
        /* The kernel's own node states, one list each whatever the number of nodes. */
        static const char *const list[2] = {NODE_DIR "/has_cpu", NODE_DIR "/has_memory"};
        struct kms_nodeset *set[2] = {&t->with_cpus, &t->with_memory};
        for (int i = 0; i < 2; i++) {
            if (slurp(list[i], buf, sizeof(buf)) < 0) {
                snprintf(err, errlen, "cannot read %s: %s", list[i], strerror(errno));
                kms_topology_free(t);
                return -1;
            }
            each_in_list(buf, add_node, set[i]);
            for (size_t w = 0; w < KMS_MAX_NODES / 64; w++)
                set[i]->w[w] &= t->present.w[w];
        }
    }
    return 0;
oom:
    kms_topology_free(t);
    snprintf(err, errlen, "out of memory reading the topology");
    return -1;
}

int kms_topology_read_live(struct kms_topology *t, char *err, size_t errlen)
{
    return read_live(t, false, err, errlen);
}

int kms_topology_read_live_sets(struct kms_topology *t, char *err, size_t errlen)
{
    return read_live(t, true, err, errlen);
}
