/* SPDX-License-Identifier: MIT */
/* One thread's counting state for KMEM_STATS and KMEM_PROFILE (core/stats.h).
 * It is a member of the engine's per-thread block (kms_self.stats, core/engine.h),
 * so that malloc's inline counted path reads the thread's heap pointer, its
 * bypass count and these counters from one thread-local base. */
#ifndef KMS_CORE_STATS_THREAD_H
#define KMS_CORE_STATS_THREAD_H
#include "core/target.h"

#include <stdint.h>

/* Frees from a signal handler while its thread holds the statistics' lock. */
#define KMS_STATS_PENDING 64

enum { KMS_STATS_NONE = 0, KMS_STATS_ACTIVE, KMS_STATS_STARTING, KMS_STATS_EXITED };

struct kms_stats_thread {
    int state;
    int in_lock;  /* > 0: inside the locked part (a signal handler may interrupt it) */
    int64_t left; /* bytes until the next sampled block */
    uint64_t count[KMS_TARGET_COUNT], bytes[KMS_TARGET_COUNT];
    /* Requests counted by the inline path (kms_stats_counted_heap), per side of
     * kms_fast_threshold: their route is kms_fast_target[side]. Kept apart
     * from count[] so that the inline path adds at a fixed offset. */
    uint64_t side_count[2], side_bytes[2];
    uint64_t rng;
    /* The caller of the wrapper whose request is being counted, when access
     * mode grouped it by that caller (core/access.c); 0 otherwise. Set by
     * every access-mode request, taken and cleared by the block's record, so
     * that the profile's rows are access mode's groups. */
    uintptr_t parent;
    struct kms_stats_thread *next, *prev; /* every active thread, for the report */
    int npending;
    void *pending[KMS_STATS_PENDING];
};

#endif
