/* SPDX-License-Identifier: MIT */
/* Access mode's allocation side: which callsites are tracked, their arenas
 * and heaps, and the figures the reports read (the mechanism is described in
 * access.h). */
#include "core/access.h"

#include "core/access_units.h"
#include "core/cold.h"
#include "core/site_heap.h"
#include "core/stackwalk.h"
#include "core/tier.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

int kms_access_on;
bool kms_access_child_sampler = true;
struct kms_access_unit kms_access_units[KMS_ACCESS_UNITS];
unsigned kms_access_nunits;
struct kms_access_acc kms_access_other[KMS_MAX_CLASSES + 1];
unsigned kms_access_interval_ms = 100; /* set by kms_access_init */
bool kms_access_soft_dirty;

/* Every (callsite, route) pair seen, with the bytes it requested until it was
 * tracked. Open addressing, entries never removed; a pair that finds no slot
 * is simply not tracked. */
#define CANDS 4096u
#define CAND_PROBES 32
enum { UNIT_NONE = 0, UNIT_NO_ROOM = -1 };
struct cand {
    uintptr_t key; /* callsite << 2 | route, or a context's hash << 2 | route; 0 = free */
    uint64_t bytes;
    int unit;         /* the unit + 1, UNIT_NONE (not yet), or UNIT_NO_ROOM */
    uintptr_t parent; /* a context's: the wrapper's caller; 0 for a callsite */
    /* A callsite's: whether it is a wrapper (enum wrap), the caller of its
     * first walked request, and how many requests were walked to tell. */
    int wrap;
    uintptr_t first_parent;
    unsigned probes;
};

/* Wrappers (xmalloc, zmalloc, g_malloc): a callsite whose requests come from
 * more than one caller of it. Under runtime tiering its requests of
 * KMS_ACCESS_WRAP_MIN bytes or more are grouped by (callsite, its caller), a
 * stack walk each (libunwind's cached walk, core/stackwalk.h), so that the
 * structures its callers make are groups of their own; smaller ones stay with
 * the callsite's group and pay no walk. Its first caller's requests stay in
 * the callsite's own group, where they went while it was not known to be a
 * wrapper. A callsite whose first KMS_ACCESS_WRAP_PROBES walked requests all
 * came from one caller is not a wrapper, and is never walked again. */
enum wrap { WRAP_UNKNOWN = 0, WRAP_YES = 1, WRAP_NO = -1 };
int kms_access_contexts;
static struct cand cands[CANDS] KMS_COLD;
static unsigned untracked; /* pairs that passed the size but found no room */
static pthread_mutex_t units_lock = PTHREAD_MUTEX_INITIALIZER;
static void units_take(void)
{
    kms_lock_order_take(KMS_LOCK_ACCESS_UNITS);
    pthread_mutex_lock(&units_lock);
}
static void units_drop(void)
{
    pthread_mutex_unlock(&units_lock);
    kms_lock_order_drop(KMS_LOCK_ACCESS_UNITS);
}

static struct cand *cand_at(uintptr_t key)
{
    unsigned i = (unsigned)(((uint64_t)key * 0x9E3779B97F4A7C15ull) >> 52) & (CANDS - 1);
    for (int probe = 0; probe < CAND_PROBES; probe++, i = (i + 1) & (CANDS - 1)) {
        uintptr_t k = __atomic_load_n(&cands[i].key, __ATOMIC_ACQUIRE);
        if (k == key) return &cands[i];
        if (k == 0) {
            struct cand *c = &cands[i];
            uintptr_t zero = 0;
            if (__atomic_compare_exchange_n(&c->key, &zero, key, false, __ATOMIC_ACQ_REL,
                                            __ATOMIC_ACQUIRE) ||
                zero == key)
                return c;
        }
    }
    return NULL;
}

static struct cand *cand_of(const void *caller, int route)
{
    return cand_at((uintptr_t)caller << 2 | (uintptr_t)route);
}

/* The context (caller, parent) on route: its own candidate, keyed by a hash
 * that a callsite's key is unlikely to equal (a collision merges two groups:
 * placement only). */
static struct cand *cand_of_context(const void *caller, uintptr_t parent, int route)
{
    uint64_t h = ((uint64_t)(uintptr_t)caller ^ (uint64_t)parent * 0x9E3779B97F4A7C15ull) | 1;
    struct cand *c = cand_at((uintptr_t)(h << 2) | (uintptr_t)route);
    if (c && !__atomic_load_n(&c->parent, __ATOMIC_RELAXED))
        __atomic_store_n(&c->parent, parent, __ATOMIC_RELAXED);
    return c;
}

/* The candidate a wrapper's request belongs to: c itself, or its caller's
 * context. Walks the stack only while c may be a wrapper. */
static struct cand *context_of(struct cand *c, const void *caller, int route)
{
    int w = __atomic_load_n(&c->wrap, __ATOMIC_RELAXED);
    if (w == WRAP_NO) return c;
    uintptr_t frames[2];
    struct kms_thread *self = &kms_self;
    kms_bypass_enter(self); /* libunwind may allocate on a thread's first walk */
    unsigned n = kms_stackwalk((uintptr_t)caller, frames, 2);
    kms_bypass_leave(self);
    uintptr_t parent = n > 1 ? frames[1] : 0;
    if (!parent) return c;
    if (w == WRAP_UNKNOWN) {
        uintptr_t zero = 0;
        if (!__atomic_compare_exchange_n(&c->first_parent, &zero, parent, false, __ATOMIC_RELAXED,
                                         __ATOMIC_RELAXED) &&
            zero != parent)
            __atomic_store_n(&c->wrap, WRAP_YES, __ATOMIC_RELAXED);
        else if (__atomic_add_fetch(&c->probes, 1, __ATOMIC_RELAXED) >= KMS_ACCESS_WRAP_PROBES)
            __atomic_store_n(&c->wrap, WRAP_NO, __ATOMIC_RELAXED);
        w = __atomic_load_n(&c->wrap, __ATOMIC_RELAXED);
    }
    if (w != WRAP_YES || parent == __atomic_load_n(&c->first_parent, __ATOMIC_RELAXED)) return c;
    struct cand *x = cand_of_context(caller, parent, route);
    return x ? x : c;
}

/* Gives the pair an arena of its own, if there is room. Returns its unit + 1 or UNIT_NO_ROOM. */
static int track(struct cand *c, int route, const void *caller, bool pinned)
{
    units_take();
    int u = __atomic_load_n(&c->unit, __ATOMIC_ACQUIRE);
    if (u != UNIT_NONE) {
        units_drop();
        return u;
    }
    unsigned n = __atomic_load_n(&kms_access_nunits, __ATOMIC_RELAXED);
    int arenas = __atomic_load_n(&kms_narenas, __ATOMIC_ACQUIRE);
    int a = -1;
    if (n < KMS_ACCESS_UNITS && arenas + KMS_ACCESS_SPARE_ARENAS < KMS_MAX_ARENAS) {
        int cls = kms_class_of_target(route);
        kms_tier_new_group(n, pinned, __atomic_load_n(&c->bytes, __ATOMIC_RELAXED), &cls);
        a = kms_arena_add_own(cls, KMS_ACCESS_ARENA, kms_access_huge);
    }
    if (a < 0) {
        untracked++;
        u = UNIT_NO_ROOM;
    } else {
        struct kms_access_unit *un = &kms_access_units[n];
        memset(un, 0, sizeof(*un));
        un->caller = (uintptr_t)caller;
        un->parent = __atomic_load_n(&c->parent, __ATOMIC_RELAXED);
        un->route = route;
        un->arena = a;
        un->start = kms_arenas[a].start;
        un->end = kms_arenas[a].end;
        __atomic_store_n(&kms_access_nunits, n + 1, __ATOMIC_RELEASE);
        u = (int)n + 1;
    }
    __atomic_store_n(&c->unit, u, __ATOMIC_RELEASE);
    units_drop();
    return u;
}

static void *heap_alloc(mi_heap_t *h, size_t size, size_t align, bool zero)
{
    /* _at(..., 0): see kms_alloc on mimalloc 2.0.9's aligned fast path. */
    return align  ? mi_heap_malloc_aligned_at(h, size, align, 0)
           : zero ? mi_heap_zalloc(h, size)
                  : mi_heap_malloc(h, size);
}

int kms_access_memo;
int kms_access_huge;

/* Once a callsite is decided (its group's heap, or its route's when it found
 * no room), the thread's memo (core/site_heap.h) serves its later requests in
 * malloc's own frame: a group's heap never changes, only its range's policy
 * does. A callsite that may be a wrapper is taught only below
 * KMS_ACCESS_WRAP_MIN, where requests are never walked. Candidates that are
 * contexts are never taught: their callsite's requests need the walk. */
static void teach(const void *caller, const struct cand *c, int target, mi_heap_t *h)
{
    if (!kms_access_memo || c->parent) return;
    bool walked = kms_access_contexts && __atomic_load_n(&c->wrap, __ATOMIC_RELAXED) != WRAP_NO;
    uint64_t bound = walked ? KMS_ACCESS_WRAP_MIN : UINT64_MAX;
    if (h)
        kms_site_heap_learn_heaps((uintptr_t)caller, bound, h, walked ? NULL : h);
    else
        kms_site_heap_learn((uintptr_t)caller, bound, target, walked ? -1 : target);
}

void *kms_access_alloc(int target, size_t size, size_t align, bool zero, const void *caller)
{
    struct kms_thread *self = &kms_self;
    struct cand *c;
    self->stats.parent = 0;
    if (kms_bypassed(self) || size > PTRDIFF_MAX || align > KMS_ARENA_MAX_ALIGN ||
        !(c = cand_of(caller, target)))
        return kms_alloc(target, size, align, zero);
    if (size >= KMS_ACCESS_WRAP_MIN && kms_access_contexts) {
        c = context_of(c, caller, target);
        /* The statistics count the request where its group is (their rows are
         * the groups the profile plans by). */
        self->stats.parent = __atomic_load_n(&c->parent, __ATOMIC_RELAXED);
    }
    int u = __atomic_load_n(&c->unit, __ATOMIC_ACQUIRE);
    if (u == UNIT_NONE &&
        __atomic_add_fetch(&c->bytes, size, __ATOMIC_RELAXED) >= KMS_ACCESS_MIN_BYTES) {
        kms_bypass_enter(self); /* reserving and registering the arena may allocate */
        /* Whether a rule pins it: asked before the units' lock, which comes
         * after the callsite table's (core/fork.h). */
        bool pinned =
            kms_tier_pinned((uintptr_t)caller, __atomic_load_n(&c->parent, __ATOMIC_RELAXED));
        u = track(c, target, caller, pinned);
        kms_bypass_leave(self);
    }
    if (u <= 0) {
        if (u == UNIT_NO_ROOM) teach(caller, c, target, NULL);
        return kms_alloc(target, size, align, zero);
    }
    if (__builtin_expect(!__atomic_load_n(&kms_access_started, __ATOMIC_RELAXED), 0))
        kms_access_sampler_start();
    kms_bypass_enter(self);
    mi_heap_t *h = kms_heap_for_arena(kms_access_units[u - 1].arena);
    void *p = h ? heap_alloc(h, size, align, zero) : NULL;
    kms_bypass_leave(self);
    if (p && !align) teach(caller, c, target, h);
    /* Its arena is full: the rest of the callsite counts with its route's other memory. */
    return p ? p : kms_alloc(target, size, align, zero);
}

void *kms_access_realloc(void *p, size_t size, int target, const void *caller)
{
    kms_self.stats.parent = 0;
    size_t have = mi_usable_size(p);
    /* Shrinking by up to half stays in place, as mimalloc's realloc would. */
    if (size <= have && size >= have / 2) return p;
    void *q = kms_access_alloc(target, size, 0, false, caller);
    if (!q) return NULL;
    memcpy(q, p, have < size ? have : size);
    mi_free(p);
    return q;
}

void kms_access_fork_prepare(void)
{
    units_take();
    kms_access_sampler_fork_prepare();
}
void kms_access_fork_parent(void)
{
    kms_access_sampler_fork_parent();
    units_drop();
}
void kms_access_fork_child(void)
{
    kms_access_sampler_fork_child();
    kms_tier_fork_child();
    pthread_mutex_init(&units_lock, NULL);
    kms_lock_order_drop(KMS_LOCK_ACCESS_UNITS);
}

void kms_access_child_resume(void)
{
    if (kms_access_on && __atomic_load_n(&kms_access_nunits, __ATOMIC_ACQUIRE))
        kms_access_sampler_start();
}

bool kms_access_init(unsigned interval_ms, unsigned cost_pct, const char **why)
{
    kms_access_interval_ms = interval_ms;
    kms_access_cost_share = cost_pct / 100.0;
    kms_access_soft_dirty = kms_access_detect_soft_dirty();
    bool ok = kms_access_sampler_init();
    if (!ok && why) *why = kms_access_blind_why;
    __atomic_store_n(&kms_access_on, 1, __ATOMIC_RELEASE);
    return ok;
}

void kms_access_get_info(struct kms_access_info *out)
{
    kms_access_figures_lock();
    out->interval_ms = kms_access_interval_ms;
    out->interval_now_ms = kms_access_interval_now_ms;
    out->blind = kms_access_blind;
    out->blind_why = kms_access_blind_why;
    out->rewalk_us = kms_access_rewalk_us;
    out->samples = kms_access_samples;
    out->soft_dirty = kms_access_soft_dirty;
    out->tracked = __atomic_load_n(&kms_access_nunits, __ATOMIC_ACQUIRE);
    out->untracked = __atomic_load_n(&untracked, __ATOMIC_RELAXED);
    out->sample_seconds = kms_access_seconds;
    kms_access_figures_unlock();
}

static void add(struct kms_access_figures *f, const struct kms_access_acc *a)
{
    f->resident_peak += a->resident_peak;
    f->touched_peak += a->touched_peak;
    f->touched_sum += a->touched_sum;
    if (a->samples) {
        f->touched_avg += a->touched_sum / (double)a->samples;
        f->written_avg += a->written_sum / (double)a->samples;
    }
    if (a->samples > f->samples) f->samples = a->samples;
}

bool kms_access_site(uintptr_t caller, uintptr_t parent, struct kms_access_figures *out)
{
    bool any = false;
    memset(out, 0, sizeof(*out));
    kms_access_figures_lock();
    unsigned n = __atomic_load_n(&kms_access_nunits, __ATOMIC_ACQUIRE);
    for (unsigned u = 0; u < n; u++) {
        if (kms_access_units[u].caller != caller || kms_access_units[u].parent != parent) continue;
        add(out, &kms_access_units[u].acc);
        any = true;
    }
    kms_access_figures_unlock();
    return any;
}

/* The route a class's (or the plain heap's) untracked memory is shown under:
 * the first route using it (from a node some CPU is on), so that no bucket
 * counts twice. */
static int route_of_bucket(int b, const bool *cpu_node)
{
    for (int r = 0; r < KMS_TARGET_COUNT; r++) {
        int c = kms_target_class[r];
        if (c != KMS_CLASS_BY_CPU) {
            if ((c < 0 ? KMS_ACCESS_PLAIN : c) == b) return r;
            continue;
        }
        for (int nd = 0; nd < KMS_MAX_NODES; nd++) {
            int rc = kms_node_class[nd][r];
            if (cpu_node[nd] && (rc < 0 ? KMS_ACCESS_PLAIN : rc) == b) return r;
        }
    }
    return b == KMS_ACCESS_PLAIN ? KMS_TARGET_DRAM : -1;
}

void kms_access_route(int r, struct kms_access_figures *all, struct kms_access_figures *other)
{
    memset(all, 0, sizeof(*all));
    memset(other, 0, sizeof(*other));
    kms_access_figures_lock();
    unsigned n = __atomic_load_n(&kms_access_nunits, __ATOMIC_ACQUIRE);
    for (unsigned u = 0; u < n; u++)
        if (kms_access_units[u].route == r) add(all, &kms_access_units[u].acc);
    bool cpu_node[KMS_MAX_NODES] = {false};
    for (int c = 0; c < KMS_MAX_CPUS; c++)
        if (kms_cpu_node[c] >= 0 && kms_cpu_node[c] < KMS_MAX_NODES)
            cpu_node[kms_cpu_node[c]] = true;
    for (int b = 0; b <= KMS_ACCESS_PLAIN; b++) {
        if ((b < kms_nclasses || b == KMS_ACCESS_PLAIN) && route_of_bucket(b, cpu_node) == r) {
            add(all, &kms_access_other[b]);
            add(other, &kms_access_other[b]);
        }
    }
    kms_access_figures_unlock();
}
