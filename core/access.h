/* SPDX-License-Identifier: MIT */
/* Access profiling (KMEM_ACCESS): how much of each callsite's memory the
 * program touches per sampling interval, without privileges or hardware
 * counters.
 *
 * The kernel counts accesses per mapping only: writing 1 to
 * /proc/self/clear_refs clears the accessed bits of every page, and
 * /proc/self/smaps then says per mapping how much was touched since
 * (Referenced:). So the memory of each tracked callsite lives in an address
 * range of its own: an arena per (callsite, route), bound like the route's
 * class, in which each thread gets a heap of its own for that callsite. A
 * callsite's blocks then share pages only with each other, and summing
 * Rss/Referenced over every mapping inside its range (committing splits an
 * arena into several) gives its resident and touched bytes.
 *
 * Tracked are the first KMS_ACCESS_UNITS (callsite, route) pairs whose
 * requests add up to KMS_ACCESS_MIN_BYTES, while mimalloc has arenas to spare
 * (it allows 64; the classes may need up to KMS_MAX_ARENAS). Everything else
 * is counted per class ("other"), and the plain heap's share as every
 * anonymous mapping outside the arenas.
 *
 * clear_refs 1 alone flushes no TLB, so 4 (clear soft-dirty bits) follows: it
 * ends with a TLB flush on every kernel. Where soft-dirty bits exist (VmFlags
 * "sd" in smaps), bit 55 of /proc/self/pagemap then also gives the pages
 * written per interval; otherwise writes are "n/a".
 *
 * The sampler is a thread of the process, started on the first tracked
 * callsite, so that the environment variable works without `kmemshim run`; a
 * last sample is taken when the reports are written, so a program that exits
 * before the first interval still has its figures. The backend is the
 * portable one; a hardware one (perf_event_open with PEBS or IBS) would fill
 * the same figures per range (kms_access_figures), from sampled addresses. */
#ifndef KMS_CORE_ACCESS_H
#define KMS_CORE_ACCESS_H
#include "core/engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define KMS_ACCESS_UNITS 24
#define KMS_ACCESS_MIN_BYTES (64u << 10)
/* Address space per tracked callsite (not memory: pages come only as touched). */
#define KMS_ACCESS_ARENA (16ull << 30)
/* Arenas always left to the classes and to mimalloc. */
#define KMS_ACCESS_SPARE_ARENAS 16

/* Wrappers (core/access.c): requests of at least this size from a callsite
 * that more than one caller calls are grouped by that caller, under runtime
 * tiering; a callsite walked this many times with one caller is no wrapper. */
#define KMS_ACCESS_WRAP_MIN 1024
#define KMS_ACCESS_WRAP_PROBES 64

extern int kms_access_on;
/* Whether access mode groups a wrapper's requests by their caller (runtime
 * tiering sets it, with libunwind loaded). */
extern int kms_access_contexts;
/* Whether access mode may teach the thread's memo (core/site_heap.h) the heap
 * of a decided callsite: statistics off (the memo's path counts nothing) and
 * one route for every size (the memo keeps one size bound, the wrappers'). */
extern int kms_access_memo;
/* Whether tracked callsites' ranges ask for transparent huge pages (runtime
 * tiering sets it: a huge page has one accessed bit to set again after a
 * clear, not 512, and one TLB entry; profiles keep base pages, whose
 * figures are per 4 KiB). */
extern int kms_access_huge;

struct kms_access_figures {
    uint64_t resident_peak; /* bytes, the largest of the samples */
    double touched_avg;     /* bytes referenced per interval, averaged over the intervals */
    uint64_t touched_peak;  /* bytes referenced in the busiest interval */
    double touched_sum;     /* bytes referenced, summed over every interval */
    double written_avg;     /* bytes written per interval; only if kms_access_soft_dirty */
    uint64_t samples;       /* intervals seen */
};

struct kms_access_info {
    unsigned interval_ms;     /* configured */
    unsigned interval_now_ms; /* in use now: lengthened by the cost bounds */
    bool blind;               /* the accessed bits could not be cleared: no figures */
    const char *blind_why;
    double rewalk_us; /* a page touched again after a clear costs the program this */
    uint64_t samples;
    bool soft_dirty;
    unsigned tracked;      /* (callsite, route) pairs with an arena of their own */
    unsigned untracked;    /* pairs that passed the size but found no room */
    double sample_seconds; /* time spent sampling, in all */
};

/* Turns access mode on with the interval; from the statistics' start-up.
 * cost_pct: the share of one core the sampler's CPU time, and the share of
 * the program's time its re-walks of the pages it touches, may reach before
 * the interval is lengthened (0: the interval never changes).
 * Returns false, with the reason in *why, when the accessed bits cannot be
 * cleared (a read-only /proc): access mode then takes no figure at all, the
 * reports say so, and nothing may be placed by access. */
bool kms_access_init(unsigned interval_ms, unsigned cost_pct, const char **why);

/* The allocation of access mode: a tracked callsite's block from its own
 * arena, anything else as kms_alloc would. */
void *kms_access_alloc(int target, size_t size, size_t align, bool zero, const void *caller);
void *kms_access_realloc(void *p, size_t size, int target, const void *caller);

/* Held across fork() in the order core/fork.h gives. */
void kms_access_fork_prepare(void);
void kms_access_fork_parent(void);
void kms_access_fork_child(void);

/* In a forked child, after every fork handler: the child profiles its own
 * run, so it gets a sampler of its own if callsites are tracked (it may
 * never allocate again, which would otherwise start one). */
void kms_access_child_resume(void);
/* Whether a forked child starts a sampler thread at all (true). Off only
 * where no thread may be started after a multi-threaded fork: under the
 * sanitizers, whose runtimes' locks a parent thread can leave held in the
 * child (tests/sanitize/engine_driver.c). The child then takes only the last
 * sample, at its reports. */
extern bool kms_access_child_sampler;

/* Takes the last sample and stops the sampler: before the reports. */
void kms_access_finish(void);

void kms_access_get_info(struct kms_access_info *out);
/* The figures of a group (summed over its routes): a callsite's (parent 0),
 * or a wrapper's callsite's with one caller of it; false if untracked. */
bool kms_access_site(uintptr_t caller, uintptr_t parent, struct kms_access_figures *out);
/* Route r's memory: every tracked callsite on it, and its untracked rest. */
void kms_access_route(int r, struct kms_access_figures *all, struct kms_access_figures *other);

/* The reports' access parts (core/access_report.c). The profile's extra
 * columns follow its nine old ones, so that older readers still read it. */
void kms_access_profile_header(FILE *f);
void kms_access_profile_columns(FILE *f, uintptr_t caller, uintptr_t parent);
void kms_access_stats_text(FILE *f);
void kms_access_stats_json(FILE *f);

#endif
