/* SPDX-License-Identifier: MIT */
/* The blocks KMEM_STATS and KMEM_PROFILE follow: a map from a block's address
 * to what it counts for, and a filter that free() reads first, so that a block
 * that was not sampled costs one byte load and no lock.
 *
 * The filter holds, per address window, how many recorded blocks start there;
 * neighbouring blocks share a window, which keeps the byte free() reads in
 * the cache lines it has just touched. A count that reaches 255 stays there
 * (its window then always takes the map lookup). The map is open-addressed
 * with linear probing, grows by doubling in memory from mmap (never malloc),
 * and deletes by shifting entries back, so it needs no tombstones.
 *
 * Not thread-safe: callers hold one lock, except for kms_sampled_maybe(). */
#ifndef KMS_CORE_SAMPLED_H
#define KMS_CORE_SAMPLED_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KMS_SAMPLED_FILTER_BITS 17
#define KMS_SAMPLED_FILTER_SHIFT 6

struct kms_sampled_rec {
    uintptr_t addr;
    int64_t bytes;  /* estimated bytes the block stands for (its size if every block is kept) */
    uint32_t site;  /* callsite id */
    uint8_t route;  /* route (target) it was allocated for */
    uint8_t bucket; /* size histogram bucket of its requested size */
    uint16_t pad;
};

struct kms_sampled {
    struct kms_sampled_rec *slots;
    size_t cap; /* a power of two, or 0 before the first put */
    size_t n;
};

extern uint8_t kms_sampled_filter[1u << KMS_SAMPLED_FILTER_BITS];

/* False: p is certainly not in the map. True: it may be. filter is
 * kms_sampled_filter, passed by a caller that has its address in a register. */
static inline bool kms_sampled_maybe_in(const uint8_t *filter, const void *p)
{
    size_t i = ((uintptr_t)p >> KMS_SAMPLED_FILTER_SHIFT) & ((1u << KMS_SAMPLED_FILTER_BITS) - 1);
#if (defined(__x86_64__) || defined(__i386__)) && !defined(__SANITIZE_THREAD__)
    /* A byte load is atomic in hardware: a plain one lets the compare take
     * it as its operand (an __atomic load stays a separate instruction).
     * ThreadSanitizer, which cannot know that, gets the __atomic load. */
    return filter[i] != 0;
#else
    return __atomic_load_n(&filter[i], __ATOMIC_RELAXED) != 0;
#endif
}

static inline bool kms_sampled_maybe(const void *p)
{
    return kms_sampled_maybe_in(kms_sampled_filter, p);
}

/* Records r. Returns 0, or 1 when a record for the same address was still
 * there (a free the statistics missed) and has been replaced: *old gets it.
 * -1 when the map cannot grow (mmap failed): nothing is recorded. */
int kms_sampled_put(struct kms_sampled *t, const struct kms_sampled_rec *r,
                    struct kms_sampled_rec *old);

/* Removes the record of addr into *out; false when there is none. */
bool kms_sampled_take(struct kms_sampled *t, uintptr_t addr, struct kms_sampled_rec *out);

/* Forgets every record and clears the filter; frees the map's memory. */
void kms_sampled_clear(struct kms_sampled *t);

#endif
