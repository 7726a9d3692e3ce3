/* SPDX-License-Identifier: MIT */
/* What the access profiler shares between its allocation side (core/access.c)
 * and its sampler (core/access_sampler.c): the tracked ranges and the figures
 * accumulated for them. Units are only appended, and a unit's range is set
 * before kms_access_nunits counts it; the figures are written by the sampler
 * and read by the reports, both under kms_access_lock. */
#ifndef KMS_CORE_ACCESS_UNITS_H
#define KMS_CORE_ACCESS_UNITS_H
#include "core/access.h"
#include "core/arena.h"
#include "core/fork.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct kms_access_acc {
    uint64_t resident_peak;
    uint64_t touched_peak;
    double touched_sum;
    double written_sum;
    uint64_t samples;
    uint64_t last_rss, last_touched; /* the latest counted sample's */
};

struct kms_access_unit {
    uintptr_t caller;
    uintptr_t parent; /* a wrapper's caller, for a context's group; 0: the callsite's */
    int route;
    int arena;
    uintptr_t start, end;
    uintptr_t used_end; /* end of the highest mapping of the range with resident pages */
    struct kms_access_acc acc;
};

/* Buckets of untracked memory: per class, and the plain heap last. */
#define KMS_ACCESS_PLAIN KMS_MAX_CLASSES

extern struct kms_access_unit kms_access_units[KMS_ACCESS_UNITS];
extern unsigned kms_access_nunits; /* __atomic: release after the unit is filled in */
extern struct kms_access_acc kms_access_other[KMS_MAX_CLASSES + 1];
extern unsigned kms_access_interval_ms;
extern bool kms_access_soft_dirty;
extern uint64_t kms_access_samples;
extern double kms_access_seconds;
extern pthread_mutex_t kms_access_lock;
/* kms_access_lock, taken in core/fork.h's order (rank 4). */
static inline void kms_access_figures_lock(void)
{
    kms_lock_order_take(KMS_LOCK_ACCESS_FIGURES);
    pthread_mutex_lock(&kms_access_lock);
}
static inline void kms_access_figures_unlock(void)
{
    pthread_mutex_unlock(&kms_access_lock);
    kms_lock_order_drop(KMS_LOCK_ACCESS_FIGURES);
}
extern bool kms_access_started; /* the sampler runs (or is being started) */
/* The accessed bits cannot be cleared (clear_refs not writable): no figure
 * means anything, so none is taken and nothing is placed by them. */
extern bool kms_access_blind;
extern char kms_access_blind_why[128];
/* The interval the sampler uses now: the configured one, lengthened to keep
 * its own CPU time and the program's re-walks within their bounds. */
extern unsigned kms_access_interval_now_ms;
/* Microseconds one page costs the program to touch again after a clear and
 * TLB flush, measured at the sampler's start. */
extern double kms_access_rewalk_us;
/* Share of an interval the sampler's CPU time, and the program's re-walks,
 * may each take; 0: the interval never grows. */
extern double kms_access_cost_share;
/* The longest interval the bounds may lengthen it to. */
#define KMS_ACCESS_MS_LONGEST 60000

/* Whether the kernel keeps soft-dirty bits: smaps shows VmFlags "sd" on
 * mappings made since the last clear (so: before the first clear). */
bool kms_access_detect_soft_dirty(void);
/* Starts the sampling thread unless it runs. Called outside every lock. */
void kms_access_sampler_start(void);
/* One sample over every range; with kms_access_lock held. final: the last one,
 * counted only if it covers half an interval or is the only one. */
void kms_access_sample(bool final);
/* False when the accessed bits cannot be cleared (kms_access_blind). */
bool kms_access_sampler_init(void);
/* Fork: the child has no sampler and starts its figures afresh. */
void kms_access_sampler_fork_prepare(void);
void kms_access_sampler_fork_parent(void);
void kms_access_sampler_fork_child(void);

#endif
