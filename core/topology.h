/* SPDX-License-Identifier: MIT */
/* The machine's NUMA topology as a plain value: read live from sysfs, or
 * parsed from `numactl -H` text so node-set logic can be tested anywhere. */
#ifndef KMS_CORE_TOPOLOGY_H
#define KMS_CORE_TOPOLOGY_H
#include "core/nodeset.h"

#include <stdint.h>

#define KMS_MAX_CPUS 8192

struct kms_topology {
    int max_node;               /* highest node id present, -1 when none */
    struct kms_nodeset present; /* every node the kernel reports */
    struct kms_nodeset with_cpus;
    struct kms_nodeset with_memory;
    uint64_t *size;    /* bytes of memory per node, [max_node + 1] */
    int *distance;     /* SLIT distances, [(max_node + 1) * (max_node + 1)] */
    int ncpus;         /* entries of cpu_node */
    int16_t *cpu_node; /* node of each CPU, -1 when unknown */
};

static inline int kms_topology_distance(const struct kms_topology *t, int a, int b)
{
    return t->distance[a * (t->max_node + 1) + b];
}

/* Parses `numactl -H` output. Returns 0, or -1 with "line N: what" in err. */
int kms_topology_parse_text(const char *text, struct kms_topology *t, char *err, size_t errlen);
/* Reads the running machine from sysfs. Returns -1 with the reason in err
 * when NUMA is unavailable (a kernel without NUMA) or sysfs cannot be read. */
int kms_topology_read_live(struct kms_topology *t, char *err, size_t errlen);
/* The same from the sysfs tree under root ("" = the live /sys), without the
 * kernel's NUMA check: fixture trees in the tests. */
int kms_topology_read_sysfs(const char *root, struct kms_topology *t, char *err, size_t errlen);
/* Reads only which nodes are online, have CPUs and have memory (node/online,
 * has_cpu, has_memory: three sysfs lists whatever the number of nodes), enough
 * to tell whether any node is a CPU-less node with memory. Sizes read as 0,
 * distances as 10 and 20, and no CPU is mapped to a node. Returns -1 with the
 * reason in err where kms_topology_read_live would, or a list is unreadable. */
int kms_topology_read_live_sets(struct kms_topology *t, char *err, size_t errlen);
void kms_topology_free(struct kms_topology *t);
/* Total bytes of the nodes in s. */
uint64_t kms_topology_capacity(const struct kms_topology *t, const struct kms_nodeset *s);

#endif
