/* SPDX-License-Identifier: MIT */
/* Counting for KMEM_STATS and KMEM_PROFILE: counters per route and per
 * callsite on the allocation path, and a snapshot of them for the report
 * writers (core/report.h).
 *
 * Off (the default), malloc's fast path tests nothing (its fast pointers
 * stand for every condition) and free() tests one pointer, kms_stats_filter.
 * On, every allocation adds to per-thread
 * counters of requests and bytes per route (exact), and counts its size down
 * a per-thread budget drawn from an exponential distribution with a mean of
 * KMEM_STATS_SAMPLE bytes: the block that crosses zero is sampled, with a
 * weight that makes the estimates unbiased (each byte is sampled with the
 * same probability, as in tcmalloc's and jemalloc's heap profilers). Blocks
 * of KMEM_STATS_SAMPLE bytes or more are always recorded, with weight one, so
 * the large blocks that decide placement are counted exactly;
 * KMEM_STATS_SAMPLE=0 records every block. Recorded blocks go into one map
 * (core/sampled.h) under one lock; free() looks a block up only when the
 * map's filter says it may be there. Live and peak live bytes, and every
 * per-callsite figure, come from the recorded blocks. */
#ifndef KMS_CORE_STATS_H
#define KMS_CORE_STATS_H
#include "core/engine.h"
#include "core/sampled.h"
#include "core/stats_thread.h"
#include "core/target.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Default KMEM_STATS_SAMPLE. */
#define KMS_STATS_SAMPLE_DEFAULT (256u << 10)
/* Distinct callsites tracked; later ones are counted together as "other". */
#define KMS_STATS_SITES 16384u
/* Size histogram buckets: <=16, <=64, <=256, ... (powers of 4) <=256M, then more. */
#define KMS_STATS_HIST 14
extern bool kms_stats_on __attribute__((visibility("hidden")));
/* kms_sampled_filter once statistics are on, NULL while off: free() loads
 * this one pointer both to learn whether they are on and to reach the filter
 * (in a shared object the filter's own address takes an instruction more). */
extern const uint8_t *kms_stats_filter __attribute__((visibility("hidden")));
/* Mean bytes between sampled blocks, and the size from which every block is
 * recorded; 0: every block. */
extern uint64_t kms_stats_period __attribute__((visibility("hidden")));

/* Turns counting on, with one block recorded per period bytes on average
 * (0: every block). From start-up, after the engine is set up. */
void kms_stats_start(uint64_t period);
/* The statistics' lock across fork() (core/fork.h). */
void kms_stats_fork_prepare(void);
void kms_stats_fork_parent(void);
void kms_stats_fork_child(void);

void kms_stats_note_slow(void *p, size_t size, int target, const void *caller);
void kms_stats_sample(void *p, size_t size, int target, const void *caller);

/* After the allocation of p (size bytes requested, for route) succeeded. */
static inline __attribute__((always_inline)) void kms_stats_note(void *p, size_t size, int route,
                                                                 const void *caller)
{
    struct kms_stats_thread *s = &kms_self.stats;
    if (__builtin_expect((s->state != KMS_STATS_ACTIVE) | kms_bypassed(&kms_self), 0)) {
        kms_stats_note_slow(p, size, route, caller);
        return;
    }
    /* Only this thread writes them. The report reads them from another
     * thread while they may change: aligned 64-bit stores are not torn on the
     * machines mimalloc runs on, and a count a few requests old is right for
     * a report; an atomic store here costs three instructions more. */
    s->count[route]++;
    s->bytes[route] += size;
    if (__builtin_expect(size >= kms_stats_period || (s->left -= (int64_t)size) < 0, 0))
        kms_stats_sample(p, size, route, caller);
}

/* The inline counted path: with statistics on, a request below the
 * threshold (side 0) or at or above it (side 1) is counted here, without a
 * call of the shim's own, and the heap to allocate it from is returned: the
 * thread's counted pointer. NULL: the full path serves and counts it (no
 * counted pointer, or a block to be recorded). The counted pointer stands
 * for the state and bypass tests (it is NULL inside a foreign call:
 * core/engine.h) and side 0 for the size test (kms_fast_enable). The
 * request is counted before the heap's call, so that nothing but the size is
 * kept across it; should the call fail, kms_stats_counted_failed serves it.
 * A report made meanwhile (another thread, or a signal handler) may count it
 * a request early, as it may read any count a few requests old. */
static inline __attribute__((always_inline)) mi_heap_t *kms_stats_counted_heap(size_t size,
                                                                               unsigned side)
{
    struct kms_thread *self = &kms_self;
    mi_heap_t *h = self->counted[side];
    if (__builtin_expect(h == NULL, 0)) return NULL;
    if (side == 1 && __builtin_expect(size >= kms_stats_period, 0)) return NULL;
    struct kms_stats_thread *s = &self->stats;
    if (__builtin_expect((s->left -= (int64_t)size) < 0, 0)) {
        /* To be recorded: the full path counts it down again. Read anew: a
         * signal handler may have drawn a new countdown meanwhile (which then
         * only moves the next sample by size bytes); and so the compiler
         * subtracts in memory instead of keeping the old value. */
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        s->left += (int64_t)size;
        return NULL;
    }
    s->side_count[side]++;
    s->side_bytes[side] += size;
    return h;
}

/* The counted heap could not serve a request kms_stats_counted_heap counted
 * (its arena is full): the rest of the full path, which needs neither the
 * caller nor a route decision (without rules the side's target is the
 * route) nor the sampling (decided: not recorded). NULL, with errno set and
 * the count taken back, when no memory can be had. */
void *kms_stats_counted_failed(size_t size, unsigned side, bool zero);

/* free() of a block kms_sampled_maybe() says may be recorded: forgets it
 * and frees it. */
void kms_stats_free(void *p);

/* realloc moves blocks: p's record is taken out before the move (once
 * mimalloc moves a block, its old address may be handed out, and recorded,
 * by another thread at once), and put back if the move fails. Returns
 * whether p had a record, in *r. */
bool kms_stats_realloc_begin(void *p, struct kms_sampled_rec *r);
void kms_stats_realloc_failed(const struct kms_sampled_rec *r);

/* What the statistics hold at one moment, for the report writers. */
struct kms_stats_site {
    uintptr_t addr;   /* return address; slot 0 is "other callsites" */
    uintptr_t parent; /* a wrapper's caller (access mode's context groups); 0: none */
    uint16_t routes;  /* bit per route (target) the site's requests went to */
    _Static_assert(KMS_TARGET_COUNT <= 16, "one bit of routes per target");
    double count, bytes;
    int64_t live, peak;
    double hist[KMS_STATS_HIST];
};

struct kms_stats_site_copy {
    uint32_t id; /* the site's slot; 0: "other callsites" */
    struct kms_stats_site s;
};

struct kms_stats_route {
    uint64_t count, bytes; /* exact: every request */
    int64_t live, peak;    /* from the recorded blocks */
};

struct kms_stats_snapshot {
    struct kms_stats_route route[KMS_TARGET_COUNT];
    int64_t live, peak;
    uint64_t period;  /* kms_stats_period */
    uint64_t dropped; /* blocks that could not be recorded (the map could not grow) */
    double seconds;   /* since start-up (or the fork that made this process) */
    size_t nsites;
    struct kms_stats_site_copy *sites; /* the sites with requests, unsorted */
};

/* Copies the statistics. Running threads' counters are read as they are.
 * The sites array is malloc-ed (NULL and nsites 0 when out of memory); free
 * it with kms_stats_snapshot_free. False from a signal handler that
 * interrupted this thread's locked part: nothing is copied. */
bool kms_stats_snapshot(struct kms_stats_snapshot *out);
void kms_stats_snapshot_free(struct kms_stats_snapshot *snap);

/* Histogram bucket of a request size, and the upper bound of a bucket
 * (UINT64_MAX for the last). */
int kms_stats_bucket(uint64_t size);
uint64_t kms_stats_bucket_limit(int bucket);

/* The weight of a sampled block of size bytes when one byte in period is
 * sampled: how many blocks of that size it stands for (1 at or above the
 * period, and for period 0). */
double kms_stats_weight(uint64_t size, uint64_t period);
/* The next countdown: exponentially distributed with mean period, from a
 * xorshift state. */
int64_t kms_stats_draw(uint64_t *rng, uint64_t period);

#endif
