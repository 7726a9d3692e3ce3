/* KMEM_STATS and KMEM_PROFILE: counters per route and per callsite, and the
 * reports written at exit.
 *
 * Off (the default), the only cost is one predictable branch per entry point
 * on kms_stats_on. On, every block the shim hands out carries a 16-byte tag
 * at the end of its usable space (requested size, callsite, route), so a free
 * from any thread knows what to subtract without a shared table. Counters are
 * per thread and flushed into the global totals under one mutex every
 * KMS_STATS_FLUSH_BYTES of allocation and free on that thread, when its
 * callsite table fills, at thread exit and at the report: no atomic
 * read-modify-write per allocation. Peak live bytes are sampled at each flush
 * (see kmemshim(7) for the accuracy this gives). */
#ifndef KMS_CORE_STATS_H
#define KMS_CORE_STATS_H
#include "policy/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Churn (bytes allocated plus bytes freed) after which a thread flushes. */
#define KMS_STATS_FLUSH_BYTES (256u << 10)
/* Operations after which a thread flushes, whatever their size. */
#define KMS_STATS_FLUSH_OPS 65536u
/* Distinct callsites tracked; later ones are counted together as "other". */
#define KMS_STATS_SITES 16384u
/* Size histogram buckets: <=16, <=64, <=256, ... (powers of 4) <=256M, then more. */
#define KMS_STATS_HIST 14
/* Bytes added to each block for its tag. */
#define KMS_STATS_TAG 16u

extern int kms_stats_on;

/* From start-up, after the engine is set up: turns stats on when c->stats or
 * c->profile is set, registers the exit report and the fork handlers. */
void kms_stats_init(const struct kms_config *c);

/* The entry points' slow twins, used only when kms_stats_on. */
void *kms_stats_alloc(size_t size, size_t align, bool zero, const void *caller);
void *kms_stats_alloc_page(size_t size, size_t rounded, size_t page, const void *caller);
void *kms_stats_realloc(void *p, size_t size, const void *caller);
void kms_stats_free(void *p);
size_t kms_stats_usable_size(void *p);

/* Flushes this thread's counters and writes the reports now (also at exit). */
void kms_stats_report(void);

/* Histogram bucket of a request size, and the upper bound of a bucket
 * (UINT64_MAX for the last). */
int kms_stats_bucket(uint64_t size);
uint64_t kms_stats_bucket_limit(int bucket);

/* "PATH" with every %p replaced by pid (and %% by %). Returns snprintf's. */
int kms_stats_expand_path(const char *pattern, long pid, char *out, size_t outlen);

#endif
