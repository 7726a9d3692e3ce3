/* SPDX-License-Identifier: MIT */
/* The running machine's topology, read from sysfs: what libnuma reads,
 * without loading libnuma, whose constructor every process under the shim
 * would pay for (bench/analysis.md). */
#include "core/topology.h"

#include "core/fileread.h"
#include "core/meta.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NODE_DIR "/sys/devices/system/node"

/* Calls fn(i, arg) for each CPU of a sysfs CPU list ("0-3,8,10-11\n"); node
 * lists go to kms_nodeset_parse. */
static void each_cpu(const char *s, void (*fn)(long, void *), void *arg)
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
    int16_t *grown = kms_meta_realloc(t->cpu_node, sizeof(*grown) * (size_t)want);
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

/* As libnuma's numa_available(): only a kernel without NUMA (ENOSYS) means
 * no NUMA. A seccomp filter's EPERM does not: the mbind() probe at start-up
 * names it. */
static int numa_check(char *err, size_t errlen)
{
    if (syscall(SYS_get_mempolicy, NULL, NULL, 0UL, NULL, 0UL) < 0 && errno == ENOSYS) {
        snprintf(err, errlen, "NUMA unavailable (get_mempolicy: %s: no NUMA support in the kernel)",
                 strerror(errno));
        return -1;
    }
    return 0;
}

static int read_sysfs(const char *root, struct kms_topology *t, bool sets_only, char *err,
                      size_t errlen);

int kms_topology_read_live(struct kms_topology *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    t->max_node = -1;
    if (numa_check(err, errlen) < 0) return -1;
    return read_sysfs("", t, false, err, errlen);
}

int kms_topology_read_live_sets(struct kms_topology *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    t->max_node = -1;
    if (numa_check(err, errlen) < 0) return -1;
    return read_sysfs("", t, true, err, errlen);
}

int kms_topology_read_sysfs(const char *root, struct kms_topology *t, char *err, size_t errlen)
{
    return read_sysfs(root, t, false, err, errlen);
}

static int read_sysfs(const char *root, struct kms_topology *t, bool sets_only, char *err,
                      size_t errlen)
{
    static char buf[16384];
    char path[96], why[96];
    memset(t, 0, sizeof(*t));
    t->max_node = -1;
    if (kms_read_small_trim(root, NODE_DIR "/online", buf, sizeof(buf)) < 0) {
        snprintf(err, errlen, "cannot read %s%s/online: %s", root, NODE_DIR, strerror(errno));
        return -1;
    }
    if (kms_nodeset_parse(buf, &t->present, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "%s%s/online: '%.40s': %s", root, NODE_DIR, buf, why);
        return -1;
    }
    int max = kms_nodeset_last(&t->present);
    int nn = max + 1;
    bool alone = kms_nodeset_count(&t->present) == 1;
    t->max_node = max;
    t->size = kms_meta_calloc((size_t)nn, sizeof(*t->size));
    t->distance = kms_meta_calloc((size_t)nn * (size_t)nn, sizeof(*t->distance));
    struct cpus_of x = {.t = t, .used = 1}; /* one entry at least */
    if (!t->size || !t->distance || !cpu_room(t, 0)) goto oom;
    for (int n = 0; n <= max; n++) {
        for (int m = 0; m <= max; m++)
            t->distance[n * nn + m] = n == m ? 10 : 20;
        if (sets_only || !kms_nodeset_has(&t->present, n)) continue;
        snprintf(path, sizeof(path), NODE_DIR "/node%d/meminfo", n);
        if (kms_read_small(root, path, buf, sizeof(buf)) > 0) t->size[n] = mem_total(buf);
        if (t->size[n] > 0) kms_nodeset_add(&t->with_memory, n);
        snprintf(path, sizeof(path), NODE_DIR "/node%d/cpulist", n);
        x.node = n;
        if (kms_read_small(root, path, buf, sizeof(buf)) > 0) each_cpu(buf, add_cpu, &x);
        if (x.oom) goto oom;
        /* One distance per online node, in node order; a node alone has only its own,
         * which the kernel gives as 10. */
        snprintf(path, sizeof(path), NODE_DIR "/node%d/distance", n);
        if (!alone && kms_read_small(root, path, buf, sizeof(buf)) > 0) {
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
        /* The kernel's own node states, one list each whatever the number of nodes
         * (an empty list: no such node). */
        static const char *const list[2] = {NODE_DIR "/has_cpu", NODE_DIR "/has_memory"};
        struct kms_nodeset *set[2] = {&t->with_cpus, &t->with_memory};
        for (int i = 0; i < 2; i++) {
            if (kms_read_small_trim(root, list[i], buf, sizeof(buf)) < 0) {
                snprintf(err, errlen, "cannot read %s%s: %s", root, list[i], strerror(errno));
                kms_topology_free(t);
                return -1;
            }
            if (buf[0] && kms_nodeset_parse(buf, set[i], why, sizeof(why)) < 0) {
                snprintf(err, errlen, "%s%s: '%.40s': %s", root, list[i], buf, why);
                kms_topology_free(t);
                return -1;
            }
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
