#include "core/topology.h"

#include <numa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kms_topology_read_live(struct kms_topology *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    t->max_node = -1;
    if (numa_available() < 0) {
        snprintf(err, errlen,
                 "libnuma reports NUMA unavailable (get_mempolicy failed: no NUMA "
                 "support, or denied by a seccomp filter as in containers)");
        return -1;
    }
    int max = numa_max_node();
    if (max < 0 || max >= KMS_MAX_NODES) {
        snprintf(err, errlen, "libnuma reports %d as the highest node", max);
        return -1;
    }
    int nn = max + 1;
    int ncpus = numa_num_configured_cpus();
    if (ncpus <= 0) ncpus = 1;
    if (ncpus > KMS_MAX_CPUS) ncpus = KMS_MAX_CPUS;
    t->max_node = max;
    t->ncpus = ncpus;
    t->size = calloc((size_t)nn, sizeof(*t->size));
    t->distance = calloc((size_t)nn * (size_t)nn, sizeof(*t->distance));
    t->cpu_node = malloc(sizeof(*t->cpu_node) * (size_t)ncpus);
    struct bitmask *cpus = numa_allocate_cpumask();
    if (!t->size || !t->distance || !t->cpu_node || !cpus) {
        if (cpus) numa_free_cpumask(cpus);
        kms_topology_free(t);
        snprintf(err, errlen, "out of memory reading the topology");
        return -1;
    }
    for (int c = 0; c < ncpus; c++)
        t->cpu_node[c] = -1;
    for (int n = 0; n <= max; n++) {
        if (!numa_bitmask_isbitset(numa_nodes_ptr, (unsigned)n)) continue;
        kms_nodeset_add(&t->present, n);
        long long sz = numa_node_size64(n, NULL);
        if (sz > 0) {
            t->size[n] = (uint64_t)sz;
            kms_nodeset_add(&t->with_memory, n);
        }
        if (numa_node_to_cpus(n, cpus) == 0) {
            for (int c = 0; c < ncpus; c++) {
                if (numa_bitmask_isbitset(cpus, (unsigned)c)) {
                    t->cpu_node[c] = (int16_t)n;
                    kms_nodeset_add(&t->with_cpus, n);
                }
            }
        }
        for (int m = 0; m <= max; m++) {
            int d = numa_distance(n, m);
            t->distance[n * nn + m] = d > 0 ? d : (n == m ? 10 : 20);
        }
    }
    numa_free_cpumask(cpus);
    return 0;
}
