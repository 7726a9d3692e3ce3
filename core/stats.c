/* SPDX-License-Identifier: MIT */
#include "core/stats.h"

#include "core/cold.h"
#include "core/engine.h"
#include "core/expmath.h"
#include "core/fork.h"
#include "core/meta.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool kms_stats_on;
const uint8_t *kms_stats_filter;
uint64_t kms_stats_period = KMS_STATS_SAMPLE_DEFAULT;

static struct timespec started;

int kms_stats_bucket(uint64_t size)
{
    if (size <= 16) return 0;
    /* Bits needed for size - 1, from 5 (17..32) up: two per bucket. */
    int bits = 64 - __builtin_clzll(size - 1);
    int b = (bits - 3) / 2;
    return b < KMS_STATS_HIST - 1 ? b : KMS_STATS_HIST - 1;
}

uint64_t kms_stats_bucket_limit(int bucket)
{
    return bucket >= KMS_STATS_HIST - 1 ? UINT64_MAX : 16ull << (2 * bucket);
}

/* ---- sampling -------------------------------------------------------------- */

double kms_stats_weight(uint64_t size, uint64_t period)
{
    if (period == 0 || size >= period) return 1.0;
    if (size == 0) size = 1; /* malloc(0) hands out a block too */
    /* A block of size bytes holds at least one of the sampled bytes with
     * probability 1 - e^(-size/period). */
    return 1.0 / kms_one_minus_exp_neg((double)size / (double)period);
}

int64_t kms_stats_draw(uint64_t *rng, uint64_t period)
{
    uint64_t x = *rng;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    *rng = x;
    /* u in (0, 1]: 53 random bits, never 0. */
    double u = (double)((x >> 11) + 1) * 0x1.0p-53;
    return (int64_t)(kms_neg_log(u) * (double)period) + 1;
}

/* ---- global totals --------------------------------------------------------- */

/* One lock for the map of recorded blocks, the sites, the live bytes and the
 * list of threads. It is taken once per recorded block, not per request.
 * Its place in the order of the shim's locks: core/fork.h. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct kms_sampled recorded;
static struct kms_stats_site sites[KMS_STATS_SITES] KMS_COLD;
static struct kms_stats_route routes[KMS_TARGET_COUNT];
static int64_t total_live, total_peak;
static uint64_t dropped; /* blocks that could not be recorded (the map could not grow) */
static struct kms_stats_thread *threads;
static uint64_t thread_seq;

/* The id of a callsite, or of a wrapper's callsite with one caller of it
 * (parent): its slot in the open-addressed table (lock held). */
static uint32_t site_id(uintptr_t addr, uintptr_t parent)
{
    uint64_t h =
        ((uint64_t)addr ^ (uint64_t)parent * 0xC2B2AE3D27D4EB4Full) * 0x9E3779B97F4A7C15ull;
    uint32_t i = (uint32_t)(h >> 40) & (KMS_STATS_SITES - 1);
    for (int probe = 0; probe < 64; probe++) {
        if (i == 0) i = 1;
        if (sites[i].addr == addr && sites[i].parent == parent) return i;
        if (sites[i].addr == 0) {
            sites[i].addr = addr;
            sites[i].parent = parent;
            return i;
        }
        i = (i + 1) & (KMS_STATS_SITES - 1);
    }
    return 0;
}

/* Adds (sign 1) or removes (sign -1) a recorded block's live bytes (lock held). */
static void live_add(const struct kms_sampled_rec *r, int sign)
{
    int64_t b = sign * r->bytes;
    routes[r->route].live += b;
    sites[r->site].live += b;
    total_live += b;
    if (sign > 0) {
        if (routes[r->route].live > routes[r->route].peak)
            routes[r->route].peak = routes[r->route].live;
        if (sites[r->site].live > sites[r->site].peak) sites[r->site].peak = sites[r->site].live;
        if (total_live > total_peak) total_peak = total_live;
    }
}

/* ---- per-thread state ------------------------------------------------------ */

extern void *__dso_handle __attribute__((weak));
extern int __cxa_thread_atexit_impl(void (*fn)(void *), void *obj, void *dso);

/* Lock held: a thread's counters go into the totals and it leaves the list. */
static void retire_locked(struct kms_stats_thread *s)
{
    for (int r = 0; r < KMS_TARGET_COUNT; r++) {
        __atomic_fetch_add(&routes[r].count, s->count[r], __ATOMIC_RELAXED);
        __atomic_fetch_add(&routes[r].bytes, s->bytes[r], __ATOMIC_RELAXED);
        s->count[r] = s->bytes[r] = 0;
    }
    for (int side = 0; side < 2; side++) {
        int r = kms_fast_target[side];
        __atomic_fetch_add(&routes[r].count, s->side_count[side], __ATOMIC_RELAXED);
        __atomic_fetch_add(&routes[r].bytes, s->side_bytes[side], __ATOMIC_RELAXED);
        s->side_count[side] = s->side_bytes[side] = 0;
    }
    if (s->prev)
        s->prev->next = s->next;
    else if (threads == s)
        threads = s->next;
    if (s->next) s->next->prev = s->prev;
    s->next = s->prev = NULL;
}

static void lock_self(struct kms_stats_thread *s)
{
    s->in_lock++;
    kms_lock_order_take(KMS_LOCK_STATS);
    pthread_mutex_lock(&lock);
}

static void drain_pending(struct kms_stats_thread *s);

static void unlock_self(struct kms_stats_thread *s)
{
    pthread_mutex_unlock(&lock);
    kms_lock_order_drop(KMS_LOCK_STATS);
    s->in_lock--;
    if (s->npending && !s->in_lock) drain_pending(s);
}

static void thread_exit(void *arg)
{
    (void)arg;
    struct kms_stats_thread *s = &kms_self.stats;
    /* Out of ACTIVE before the counters are folded: a signal handler's
     * request from here on goes straight into the totals, none into counters
     * already folded; the inline path ends with ACTIVE (core/engine.h). */
    s->state = KMS_STATS_EXITED;
    kms_self.counted[0] = kms_self.counted[1] = NULL;
    lock_self(s);
    retire_locked(s);
    unlock_self(s);
}

static void activate(struct kms_stats_thread *s)
{
    s->state = KMS_STATS_STARTING;
    lock_self(s);
    uint64_t seq = ++thread_seq;
    s->next = threads;
    s->prev = NULL;
    if (threads) threads->prev = s;
    threads = s;
    unlock_self(s);
    /* splitmix64 of the thread's ordinal: a fixed sequence of samples per
     * thread, so one program's reports repeat from run to run. */
    uint64_t z = seq * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    s->rng = (z ^ (z >> 31)) | 1;
    /* Period 0: every block is recorded. A countdown that stays negative (it is
     * drawn again only below the period) sends every request, malloc(0)
     * included, past the inline path (kms_stats_counted_heap) to be recorded. */
    s->left = kms_stats_period ? kms_stats_draw(&s->rng, kms_stats_period) : -1;
    /* glibc allocates the destructor's record: that request must not come back here. */
    kms_bypass_enter(&kms_self);
    __cxa_thread_atexit_impl(thread_exit, NULL, &__dso_handle);
    kms_bypass_leave(&kms_self);
    s->state = KMS_STATS_ACTIVE;
}

void kms_stats_note_slow(void *p, size_t size, int route, const void *caller)
{
    struct kms_stats_thread *s = &kms_self.stats;
    if (kms_bypassed(&kms_self)) return; /* a foreign call's requests are the shim's: not counted */
    if (s->state == KMS_STATS_NONE) activate(s);
    switch (s->state) {
    case KMS_STATS_ACTIVE: kms_stats_note(p, size, route, caller); return;
    case KMS_STATS_STARTING:
        /* A signal handler while this thread registers: counted once it is. */
        s->count[route]++;
        s->bytes[route] += size;
        return;
    default:
        /* Exited (its destructors still allocate): straight into the totals. */
        __atomic_fetch_add(&routes[route].count, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&routes[route].bytes, size, __ATOMIC_RELAXED);
        if (size >= kms_stats_period || (s->left -= (int64_t)size) < 0)
            kms_stats_sample(p, size, route, caller);
    }
}

void kms_stats_sample(void *p, size_t size, int route, const void *caller)
{
    struct kms_stats_thread *s = &kms_self.stats;
    double w = kms_stats_weight(size, kms_stats_period);
    uintptr_t parent = s->parent;
    s->parent = 0;
    if (size < kms_stats_period) s->left = kms_stats_draw(&s->rng, kms_stats_period);
    /* A signal handler that interrupted this thread's locked part: its block
     * is counted above but not recorded. */
    if (s->in_lock) return;
    lock_self(s);
    struct kms_sampled_rec r = {
        .addr = (uintptr_t)p,
        .bytes = kms_round((double)size * w),
        .site = site_id((uintptr_t)caller, parent),
        .route = (uint8_t)route,
        .bucket = (uint8_t)kms_stats_bucket(size),
    };
    struct kms_sampled_rec old;
    int put = kms_sampled_put(&recorded, &r, &old);
    if (put == 1) live_add(&old, -1); /* its free went unseen (see kms_stats_free) */
    if (put >= 0) {
        struct kms_stats_site *g = &sites[r.site];
        g->routes |= (uint16_t)(1u << route);
        g->count += w;
        g->bytes += (double)size * w;
        g->hist[r.bucket] += w;
        live_add(&r, 1);
    } else {
        dropped++;
    }
    unlock_self(s);
}

void *kms_stats_counted_failed(size_t size, unsigned side, bool zero)
{
    int target = kms_fast_target[side];
    void *p = kms_alloc(target, size, 0, zero);
    if (p) {
        kms_fast_learn(size, target); /* the heap that served, for the next request */
        return p;
    }
    struct kms_stats_thread *s = &kms_self.stats;
    s->side_count[side]--;
    s->side_bytes[side] -= size;
    s->left += (int64_t)size;
    return NULL;
}

/* Inside a foreign call, not a thread's exit (whose frees are the program's). */
static inline bool own_work(void) { return kms_self.bypass != 0 && !kms_self.exiting; }

/* Lock held: forgets p's record, if it has one. */
static bool forget_locked(void *p, struct kms_sampled_rec *r)
{
    if (!kms_sampled_take(&recorded, (uintptr_t)p, r)) return false;
    live_add(r, -1);
    return true;
}

void kms_stats_free(void *p)
{
    struct kms_stats_thread *s = &kms_self.stats;
    if (!p) return;
    if (own_work()) {
        /* A foreign call's blocks are never recorded, and a foreign call
         * (libelf reading symbol tables, with the callsite table's lock held)
         * must not wait for this lock: a thread holding it may wait for that one. */
        mi_free(p);
        return;
    }
    if (s->in_lock) {
        /* A signal handler interrupted this thread holding the lock. The block
         * is freed once the lock is let go: freed now, its address could be
         * handed out and recorded again before its record is forgotten. */
        if (s->npending < KMS_STATS_PENDING) {
            s->pending[s->npending++] = p;
            return;
        }
        /* Out of room: freed now; the stale record is replaced when the
         * address is recorded again. */
        mi_free(p);
        return;
    }
    struct kms_sampled_rec r;
    lock_self(s);
    forget_locked(p, &r);
    unlock_self(s);
    mi_free(p);
}

static void drain_pending(struct kms_stats_thread *s)
{
    while (s->npending > 0 && !s->in_lock) {
        void *p = s->pending[--s->npending];
        kms_stats_free(p);
    }
}

bool kms_stats_realloc_begin(void *p, struct kms_sampled_rec *r)
{
    struct kms_stats_thread *s = &kms_self.stats;
    if (s->in_lock || own_work() || !kms_sampled_maybe(p)) return false;
    lock_self(s);
    bool had = forget_locked(p, r);
    unlock_self(s);
    return had;
}

void kms_stats_realloc_failed(const struct kms_sampled_rec *r)
{
    struct kms_stats_thread *s = &kms_self.stats;
    struct kms_sampled_rec old;
    lock_self(s);
    if (kms_sampled_put(&recorded, r, &old) >= 0) live_add(r, 1);
    unlock_self(s);
}

/* ---- snapshot ------------------------------------------------------------ */

bool kms_stats_snapshot(struct kms_stats_snapshot *out)
{
    struct kms_stats_thread *s = &kms_self.stats;
    memset(out, 0, sizeof(*out));
    if (s->in_lock) return false;
    /* Room for every site (only the used part is touched), taken before the lock. */
    struct kms_stats_site_copy *buf = kms_meta_malloc(KMS_STATS_SITES * sizeof(*buf));
    lock_self(s);
    for (int r = 0; r < KMS_TARGET_COUNT; r++) {
        out->route[r] = routes[r];
        for (struct kms_stats_thread *t = threads; t; t = t->next) {
            out->route[r].count += __atomic_load_n(&t->count[r], __ATOMIC_RELAXED);
            out->route[r].bytes += __atomic_load_n(&t->bytes[r], __ATOMIC_RELAXED);
        }
    }
    for (int side = 0; side < 2; side++) {
        struct kms_stats_route *to = &out->route[kms_fast_target[side]];
        for (struct kms_stats_thread *t = threads; t; t = t->next) {
            to->count += __atomic_load_n(&t->side_count[side], __ATOMIC_RELAXED);
            to->bytes += __atomic_load_n(&t->side_bytes[side], __ATOMIC_RELAXED);
        }
    }
    out->live = total_live;
    out->peak = total_peak;
    out->dropped = dropped;
    for (uint32_t i = 0; buf && i < KMS_STATS_SITES; i++)
        if (sites[i].count > 0) buf[out->nsites++] = (struct kms_stats_site_copy){i, sites[i]};
    unlock_self(s);
    out->sites = buf;
    out->period = kms_stats_period;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    out->seconds =
        (double)(now.tv_sec - started.tv_sec) + (double)(now.tv_nsec - started.tv_nsec) / 1e9;
    return true;
}

void kms_stats_snapshot_free(struct kms_stats_snapshot *snap)
{
    kms_meta_free(snap->sites);
    snap->sites = NULL;
    snap->nsites = 0;
}

/* ---- start-up and fork ----------------------------------------------------- */

void kms_stats_fork_prepare(void) { lock_self(&kms_self.stats); }
void kms_stats_fork_parent(void) { unlock_self(&kms_self.stats); }
void kms_stats_fork_child(void)
{
    pthread_mutex_init(&lock, NULL);
    kms_lock_order_drop(KMS_LOCK_STATS);
    kms_self.stats.in_lock--;
    /* The other threads are gone; their blocks stay, and so do their counts. */
    struct kms_stats_thread *self = &kms_self.stats, *next;
    for (struct kms_stats_thread *t = threads; t; t = next) {
        next = t->next;
        if (t != self) retire_locked(t);
    }
    clock_gettime(CLOCK_MONOTONIC, &started);
}

void kms_stats_start(uint64_t period)
{
    kms_stats_period = period;
    clock_gettime(CLOCK_MONOTONIC, &started);
    __atomic_store_n(&kms_stats_filter, kms_sampled_filter, __ATOMIC_RELEASE);
    __atomic_store_n(&kms_stats_on, true, __ATOMIC_RELEASE);
}
