/* SPDX-License-Identifier: MIT */
/* The KMEM verdicts: which CPU-less nodes are slow memory, by the sources
 * KMEM_DETECT names (dax devices, memory tiers, HMAT latencies), and why,
 * from what core/tiers.c and core/kmem_detect.c read. */
#include "core/tiers.h"

#include <stdio.h>

/* The DRAM latency a CPU-less node is compared with: that of the memory local
 * to its nearest initiator, or the best of the CPU nodes' when the initiator's
 * own memory has no figure. 0 when nothing is known. */
static uint32_t dram_latency(const struct kms_topology *t, const struct kms_tiers *tr, int node,
                             int *from)
{
    const struct kms_hmat *h = &tr->perf[node];
    for (int i = 0; i <= t->max_node; i++) {
        if (!kms_nodeset_has(&h->initiators, i) || !kms_nodeset_has(&t->with_memory, i)) continue;
        if (tr->perf[i].read_latency) {
            *from = i;
            return tr->perf[i].read_latency;
        }
    }
    uint32_t best = 0;
    for (int i = 0; i <= t->max_node; i++) {
        uint32_t l = tr->perf[i].read_latency;
        if (!kms_nodeset_has(&t->with_cpus, i) || !l) continue;
        if (!best || l < best) {
            best = l;
            *from = i;
        }
    }
    return best;
}

void kms_tiers_detect(const struct kms_topology *t, const struct kms_tiers *tr,
                      const struct kms_nodeset *dax, unsigned sources, struct kms_nodeset *out,
                      struct kms_node_verdict *verdicts)
{
    /* The slowest tier that holds a CPU node's memory: DRAM's. */
    int cpu_tier = -1;
    for (int n = 0; n <= t->max_node; n++)
        if (kms_nodeset_has(&t->with_cpus, n) && kms_nodeset_has(&t->with_memory, n) &&
            tr->tier[n] > cpu_tier)
            cpu_tier = tr->tier[n];
    for (int n = 0; n <= t->max_node; n++) {
        struct kms_node_verdict v = {0};
        char *w = v.why;
        size_t left = sizeof(v.why);
#define SAY(...)                                                                                   \
    do {                                                                                           \
        int k_ = snprintf(w, left, __VA_ARGS__);                                                   \
        if (k_ > 0 && (size_t)k_ < left) w += k_, left -= (size_t)k_;                              \
    } while (0)
        if (!kms_nodeset_has(&t->present, n)) continue;
        if (kms_nodeset_has(&t->with_cpus, n)) {
            SAY("has CPUs");
        } else if (!kms_nodeset_has(&t->with_memory, n)) {
            SAY("no memory");
        } else {
            if ((sources & KMS_DETECT_DAXCTL) && dax && kms_nodeset_has(dax, n)) {
                v.slow = true;
                v.by = KMS_DETECT_DAXCTL;
                SAY("dax device in system-ram mode");
            } else if ((sources & KMS_DETECT_DAXCTL) && dax) {
                SAY("no dax device");
            }
            if (sources & KMS_DETECT_TIERS) {
                if (tr->tier[n] < 0 || cpu_tier < 0) {
                    SAY("%sno memory tier", w == v.why ? "" : "; ");
                } else if (tr->tier[n] > cpu_tier) {
                    SAY("%smemory tier %d, below the CPU nodes' tier %d", w == v.why ? "" : "; ",
                        tr->tier[n], cpu_tier);
                    if (!v.slow) v.by = KMS_DETECT_TIERS;
                    v.slow = true;
                } else {
                    SAY("%smemory tier %d as the CPU nodes", w == v.why ? "" : "; ", tr->tier[n]);
                }
            }
            if (sources & KMS_DETECT_HMAT) {
                const struct kms_hmat *h = &tr->perf[n];
                int from = -1;
                uint32_t ref = h->read_latency ? dram_latency(t, tr, n, &from) : 0;
                if (!h->read_latency) {
                    SAY("%sno HMAT latency", w == v.why ? "" : "; ");
                } else if (!ref) {
                    SAY("%sHMAT latency %u ns, no DRAM figure to compare", w == v.why ? "" : "; ",
                        h->read_latency);
                } else {
                    bool slower =
                        (uint64_t)h->read_latency * 10 >= (uint64_t)ref * KMS_HMAT_SLOW_TENTHS;
                    uint32_t ref_bw = tr->perf[from].read_bandwidth;
                    bool wider = h->read_bandwidth && ref_bw && h->read_bandwidth > ref_bw;
                    SAY("%sHMAT latency %u ns vs %u ns of node %d's DRAM", w == v.why ? "" : "; ",
                        h->read_latency, ref, from);
                    if (slower && wider)
                        SAY(" but more bandwidth (%u > %u MB/s): not slow memory",
                            h->read_bandwidth, ref_bw);
                    else if (slower) {
                        SAY(" (>= %d.%dx)", KMS_HMAT_SLOW_TENTHS / 10, KMS_HMAT_SLOW_TENTHS % 10);
                        if (!v.slow) v.by = KMS_DETECT_HMAT;
                        v.slow = true;
                    } else {
                        SAY(" (< %d.%dx): as fast as DRAM", KMS_HMAT_SLOW_TENTHS / 10,
                            KMS_HMAT_SLOW_TENTHS % 10);
                    }
                }
            }
        }
#undef SAY
        if (v.slow) kms_nodeset_add(out, n);
        if (verdicts) verdicts[n] = v;
    }
}
