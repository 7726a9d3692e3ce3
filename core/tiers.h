/* SPDX-License-Identifier: MIT */
/* What the kernel says about the speed of each node, read from sysfs: its
 * memory tier (/sys/devices/virtual/memory_tiering), the ACPI HMAT figures of
 * its nearest initiator (/sys/devices/system/node/nodeN/access0|1) and its
 * weighted-interleave weight (/sys/kernel/mm/mempolicy/weighted_interleave).
 * Every reader takes a root directory ("" for the live system) so the unit
 * tests feed fixture trees. Absent files are "not given", never errors: most
 * machines have no HMAT and kernels before 6.1 no tiers; a file that exists but
 * does not hold a number is an error naming the file. */
#ifndef KMS_CORE_TIERS_H
#define KMS_CORE_TIERS_H
#include "core/nodeset.h"
#include "core/topology.h"

#include <stdbool.h>
#include <stdint.h>

/* HMAT figures of a node as memory target, from its best initiator(s). */
struct kms_hmat {
    bool have;                /* the firmware gave latency or bandwidth */
    uint32_t read_latency;    /* ns, 0 = not given */
    uint32_t write_latency;   /* ns */
    uint32_t read_bandwidth;  /* MB/s */
    uint32_t write_bandwidth; /* MB/s */
    struct kms_nodeset initiators;
};

struct kms_tiers {
    int max_node; /* entries of the arrays below: max_node + 1 */
    int *tier;    /* memory tier id (higher = slower), -1 when the kernel shows none */
    /* access1: nearest initiator with CPUs; access0: nearest initiator of any kind.
     * perf[] is access1 where given, else access0. */
    struct kms_hmat *perf;
    int *perf_class; /* 1 or 0: which access class perf[] came from, -1 = none */
    int *weight;     /* weighted-interleave weight, 0 = no file */
    bool have_tiers, have_hmat, have_weights;
    unsigned parts; /* enum kms_sysfs_part: what has been read; the rest reads as "not given" */
};

/* The parts of sysfs kms_tiers_read reads, each costing a process's start-up
 * a few system calls per node: read only those that can change the outcome. */
enum kms_sysfs_part {
    KMS_SYSFS_TIERS = 1 << 0,   /* memory_tiering */
    KMS_SYSFS_HMAT = 1 << 1,    /* nodeN/access1|0 */
    KMS_SYSFS_WEIGHTS = 1 << 2, /* weighted_interleave/nodeN */
    KMS_SYSFS_ALL = KMS_SYSFS_TIERS | KMS_SYSFS_HMAT | KMS_SYSFS_WEIGHTS,
};

/* Reads the parts of every node of t under root ("" = the live /sys) that out
 * does not hold yet; out is zeroed, or filled by an earlier call with the same
 * root and topology. Returns 0, or -1 with "FILE: what" in err for a malformed
 * file (out is then freed). */
int kms_tiers_read(const char *root, const struct kms_topology *t, unsigned parts,
                   struct kms_tiers *out, char *err, size_t errlen);
void kms_tiers_free(struct kms_tiers *tr);

/* The sources of KMEM detection (KMEM_DETECT). */
enum kms_detect_source {
    KMS_DETECT_DAXCTL = 1 << 0, /* dax devices in system-ram mode (libdaxctl) */
    KMS_DETECT_TIERS = 1 << 1,  /* a CPU-less node in a lower memory tier than every CPU node */
    KMS_DETECT_HMAT = 1 << 2,   /* a CPU-less node whose HMAT latency is clearly above DRAM's */
    KMS_DETECT_ALL = KMS_DETECT_DAXCTL | KMS_DETECT_TIERS | KMS_DETECT_HMAT,
};

/* A node is "clearly" slower by HMAT when its read latency is at least this
 * many tenths of local DRAM's (1.5x): CXL memory is 2-3x, remote-socket DRAM
 * has CPUs, and HBM's small latency penalty comes with more bandwidth. */
#define KMS_HMAT_SLOW_TENTHS 15

/* Why a node is or is not a slow-memory node, per source. */
struct kms_node_verdict {
    bool slow;
    int by; /* enum kms_detect_source that found it slow, 0 = none */
    char why[160];
};

/* Judges every node of t by the sources in `sources`; dax devices are looked up
 * by the caller: dax has the nodes libdaxctl found, NULL when it was not asked
 * (a topology that is not this machine's). Adds the
 * slow nodes to out; verdicts (may be NULL) gets [max_node + 1] explanations. */
void kms_tiers_detect(const struct kms_topology *t, const struct kms_tiers *tr,
                      const struct kms_nodeset *dax, unsigned sources, struct kms_nodeset *out,
                      struct kms_node_verdict *verdicts);

/* Among the nodes of set (all at the same SLIT distance), keeps those with the
 * lowest HMAT read latency, then among them the highest read bandwidth. Nodes
 * without figures make the tie stand (set unchanged): no guess either way.
 * Returns whether the set shrank. */
bool kms_tiers_break_tie(const struct kms_tiers *tr, struct kms_nodeset *set);

#endif
