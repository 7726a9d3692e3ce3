/* SPDX-License-Identifier: MIT */
#include "policy/route.h"

#include "core/cold.h"
#include "core/engine.h"
#include "core/meta.h"
#include "core/site_heap.h"
#include "core/size.h"
#include "core/stackwalk.h"
#include "policy/callsite_match.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct kms_routes kms_routes = {
    .threshold = 0,
    .above = KMS_TARGET_DRAM,
    .below = KMS_TARGET_DRAM,
    .max_frames = 1,
};

static int resolve(const struct kms_config *c, int target)
{
    return target == KMS_TARGET_KMEM ? c->kmem_policy : target;
}

static void join_errors(const struct kms_ruleset *rs, char *err, size_t errlen)
{
    size_t used = 0;
    err[0] = '\0';
    for (size_t i = 0; i < rs->nerrors && used + 1 < errlen; i++) {
        int w = snprintf(err + used, errlen - used, "%s%s", i ? "\n" : "", rs->errors[i]);
        if (w < 0) break;
        used += (size_t)w < errlen - used ? (size_t)w : errlen - used - 1;
    }
    if (rs->nerrors_total > rs->nerrors && used + 1 < errlen)
        snprintf(err + used, errlen - used, "\n... and %zu more errors",
                 rs->nerrors_total - rs->nerrors);
}

int kms_routes_build(struct kms_config *c, char *err, size_t errlen)
{
    struct kms_routes *r = &kms_routes;
    kms_ruleset_init(&r->rules);
    size_t nerr = 0;
    if (c->rules)
        nerr += kms_rules_parse(&r->rules, c->rules, strlen(c->rules), "KMEM_RULES", KMS_RULES_ENV);
    if (c->rcfile) nerr += kms_rules_load(&r->rules, c->rcfile);
    if (nerr || r->rules.oom) {
        join_errors(&r->rules, err, errlen);
        if (!err[0]) snprintf(err, errlen, "out of memory reading the rules");
        return -1;
    }
    kms_config_merge_rules(c, &r->rules);

    int deflt =
        r->rules.default_target >= 0 ? resolve(c, r->rules.default_target) : KMS_TARGET_DRAM;
    r->above = resolve(c, KMS_TARGET_KMEM);
    r->below = deflt;
    /* has_rules goes live last: compiling allocates, and a nested request
     * must not read a decision that is half built. */
    bool has_rules = r->rules.count > 0;
    r->has_rules = false;
    /* The default line decides what no route matches, routes or none; only
     * with no threshold, no route and no default does the whole heap go to
     * kmem. Under runtime tiering the default (dram) takes what is not
     * tracked, as the kernel's first touch would, and tiering the rest. */
    if (c->threshold_set)
        r->threshold = c->threshold;
    else if (has_rules || r->rules.default_target >= 0 || c->tier)
        r->threshold = UINT64_MAX; /* no threshold step: unmatched requests take the default */
    else
        r->threshold = 0;
    r->max_frames = 1;
    r->depth_lo = UINT64_MAX;
    r->depth_hi = 0;
    memset(r->uses, 0, sizeof(r->uses));
    if (r->threshold < UINT64_MAX) r->uses[r->above] = true;
    if (c->tier) r->uses[resolve(c, KMS_TARGET_KMEM)] = true; /* where tiering demotes */
    if (r->threshold > 0) r->uses[r->below] = true;
    for (size_t i = 0; i < r->rules.count; i++) {
        struct kms_rule *rule = &r->rules.rules[i];
        rule->target = resolve(c, rule->target);
        r->uses[rule->target] = true;
        if (rule->has_caller) r->by_caller = true;
        if (rule->has_caller && kms_rule_frames(rule) > 1) {
            if (kms_rule_frames(rule) > r->max_frames) r->max_frames = kms_rule_frames(rule);
            if (rule->size_lo < r->depth_lo) r->depth_lo = rule->size_lo;
            if (rule->size_hi > r->depth_hi) r->depth_hi = rule->size_hi;
        }
    }
    size_t words = (r->rules.count + 63) / 64;
    r->no_caller = words ? kms_meta_calloc(words, sizeof(*r->no_caller)) : NULL;
    for (size_t i = 0; r->no_caller && i < r->rules.count; i++)
        if (!r->rules.rules[i].has_caller) r->no_caller[i / 64] |= 1ull << (i % 64);
    /* Depth rules walk the stack on every request in their size range:
     * libunwind's cached walk, opened now rather than from an allocation. */
    if (r->max_frames > 1) kms_stackwalk_load();
    if (has_rules && !r->by_caller && kms_decision_compile(r, NULL, 0, true, &r->global) < 0) {
        snprintf(err, errlen, "out of memory compiling the rules");
        return -1;
    }
    /* Rules that look only at sizes and split them once (or not at all) are
     * a threshold: requests then take the threshold's path, and the
     * allocator's per-thread fast path with it. */
    if (has_rules && !r->by_caller && r->global.n <= 2) {
        r->below = r->global.target[0];
        r->above = r->global.target[r->global.n - 1];
        r->threshold = r->global.n == 2 ? r->global.bound[0] : 0;
        has_rules = false;
    }
    __atomic_store_n(&r->has_rules, has_rules, __ATOMIC_RELEASE);
    return 0;
}

/* ---- the per-callsite cache ---------------------------------------------- */

/* Open addressing, never shrinks, entries are never removed: a callsite is
 * decided once. A full table still decides correctly, just without caching.
 * Most callsites need at most one size bound, which lives in the slot itself;
 * others point to their compiled decision. The layout is in route.h: the
 * allocator's inline path reads a callsite's home slot. */
#define CACHE_SLOTS (1u << KMS_ROUTE_CACHE_BITS)
/* A callsite that finds no free slot in its window is decided again on every
 * request; the window's size is chosen in bench/analysis.md ("Figures behind
 * the code"). Lookups stop at the first empty slot. */
#define CACHE_PROBES 64
enum { SLOT_FILLING = 0, SLOT_SIMPLE, SLOT_COMPILED };
struct kms_route_slot kms_route_cache[CACHE_SLOTS] __attribute__((aligned(64))) KMS_COLD;

static inline size_t slot_of(uintptr_t key) { return kms_route_slot_of(key); }

static const struct kms_route_slot *cache_find(uintptr_t key, const uintptr_t *frames,
                                               unsigned nframes)
{
    size_t i = slot_of(key);
    for (unsigned probe = 0; probe < CACHE_PROBES; probe++, i = (i + 1) & (CACHE_SLOTS - 1)) {
        uintptr_t k = __atomic_load_n(&kms_route_cache[i].key, __ATOMIC_ACQUIRE);
        if (k == 0) return NULL;
        if (k != key) continue;
        uint8_t kind = __atomic_load_n(&kms_route_cache[i].kind, __ATOMIC_ACQUIRE);
        if (kind == SLOT_FILLING) return NULL; /* being filled in by another thread */
        /* Stack keys are hashes: the frames confirm them (and a stack's key
         * never stands for a plain address). */
        unsigned have = kind == SLOT_COMPILED ? kms_route_cache[i].d->nframes : 0;
        if (have != nframes || (nframes && memcmp(kms_route_cache[i].d->frames, frames,
                                                  nframes * sizeof(*frames)) != 0))
            continue;
        return &kms_route_cache[i];
    }
    return NULL;
}

static inline int slot_apply(const struct kms_route_slot *sl, uint64_t size)
{
    if (sl->kind == SLOT_SIMPLE) return size < sl->bound ? sl->below : sl->above;
    return kms_decision_apply(sl->d, size);
}

/* Takes ownership of d. */
static void cache_insert(uintptr_t key, struct kms_decision *d)
{
    size_t i = slot_of(key);
    for (unsigned probe = 0; probe < CACHE_PROBES; probe++, i = (i + 1) & (CACHE_SLOTS - 1)) {
        uintptr_t expected = 0;
        if (!__atomic_compare_exchange_n(&kms_route_cache[i].key, &expected, key, false,
                                         __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            continue;
        struct kms_route_slot *sl = &kms_route_cache[i];
        if (d->nframes == 0 && d->n <= 2) {
            sl->below = d->target[0];
            sl->above = d->target[d->n - 1];
            sl->bound = d->n == 2 ? d->bound[0] : 0;
            kms_decision_free(d);
            kms_meta_free(d);
            __atomic_store_n(&sl->kind, SLOT_SIMPLE, __ATOMIC_RELEASE);
            /* The inline path: the home slot of a plain callsite, and no depth
             * rule that could ask for this callsite's stack. */
            if (probe == 0 && kms_routes.max_frames == 1)
                __atomic_store_n(&sl->fast, key, __ATOMIC_RELEASE);
        } else {
            sl->d = d;
            __atomic_store_n(&sl->kind, SLOT_COMPILED, __ATOMIC_RELEASE);
        }
        return;
    }
    /* No room: the decision is kept nowhere, the next request decides again. */
    kms_decision_free(d);
    kms_meta_free(d);
}

/* ---- stacks, for depth rules --------------------------------------------- */

static uintptr_t hash_frames(const uintptr_t *frames, unsigned n)
{
    uintptr_t h = 0xcbf29ce484222325ull;
    for (unsigned i = 0; i < n; i++)
        h = (h ^ frames[i]) * 0x100000001b3ull;
    return h | 1; /* never 0, the empty key */
}

/* A callsite seen for the first time, or a request that depth rules may
 * match: unwind if needed, compile, cache. */
static __attribute__((noinline)) int decide_slow(size_t size, const void *caller)
{
    const struct kms_routes *r = &kms_routes;
    /* Inside a foreign call (libelf resolving symbols, libunwind walking):
     * no decision is possible without recursion, and the request goes to the
     * plain heap anyway. */
    if (kms_bypassed(&kms_self)) return r->below;
    uintptr_t frames[KMS_RULES_MAX_DEPTH];
    unsigned nframes = 1;
    uintptr_t key = (uintptr_t)caller;
    bool stack = r->max_frames > 1 && size >= r->depth_lo && size <= r->depth_hi;
    frames[0] = (uintptr_t)caller;
    if (stack) {
        /* The walk may allocate (libunwind's per-thread cache): those
         * requests are the shim's own. */
        kms_bypass_enter(&kms_self);
        nframes = kms_stackwalk((uintptr_t)caller, frames, r->max_frames);
        kms_bypass_leave(&kms_self);
        key = hash_frames(frames, nframes);
        const struct kms_route_slot *sl = cache_find(key, frames, nframes);
        if (sl) return slot_apply(sl, size);
    }

    int target = r->below;
    struct kms_decision *nd = kms_meta_calloc(1, sizeof(*nd));
    if (nd && kms_decision_compile(r, frames, nframes, stack, nd) == 0) {
        target = kms_decision_apply(nd, size);
        if (stack) {
            nd->frames = kms_meta_malloc(nframes * sizeof(*frames));
            if (nd->frames) {
                memcpy(nd->frames, frames, nframes * sizeof(*frames));
                nd->nframes = nframes;
            }
        }
        if (!stack || nd->frames) {
            cache_insert(key, nd);
        } else {
            kms_decision_free(nd);
            kms_meta_free(nd);
        }
    } else {
        kms_meta_free(nd);
    }
    return target;
}

int kms_route_decide_rules(size_t size, const void *caller)
{
    const struct kms_routes *r = &kms_routes;
    if (!r->by_caller) return kms_decision_apply(&r->global, size);
    if (__builtin_expect(r->max_frames == 1 || size < r->depth_lo || size > r->depth_hi, 1)) {
        uintptr_t key = (uintptr_t)caller;
        size_t i = slot_of(key);
        for (unsigned probe = 0; probe < CACHE_PROBES; probe++) {
            const struct kms_route_slot *sl = &kms_route_cache[i];
            uintptr_t k = __atomic_load_n(&sl->key, __ATOMIC_ACQUIRE);
            if (k == key) {
                uint8_t kind = __atomic_load_n(&sl->kind, __ATOMIC_ACQUIRE);
                if (kind == SLOT_SIMPLE) return size < sl->bound ? sl->below : sl->above;
                if (kind == SLOT_COMPILED && sl->d->nframes == 0)
                    return kms_decision_apply(sl->d, size);
            } else if (k == 0) {
                break;
            }
            i = (i + 1) & (CACHE_SLOTS - 1);
        }
    }
    return decide_slow(size, caller);
}

void kms_route_site_learn(const void *caller)
{
    const struct kms_route_slot *sl = &kms_route_cache[slot_of((uintptr_t)caller)];
    if (kms_route_fast_is(sl, (uintptr_t)caller))
        kms_site_heap_learn((uintptr_t)caller, sl->bound, sl->below, sl->above);
}

bool kms_route_names_caller(uintptr_t caller)
{
    const struct kms_routes *r = &kms_routes;
    if (!r->by_caller) return false;
    struct kms_callsite cs;
    if (kms_callsite_resolve(caller, &cs) < 0) return false;
    for (size_t i = 0; i < r->rules.count; i++) {
        const struct kms_rule *rule = &r->rules.rules[i];
        if (rule->has_caller && kms_callsite_matches(rule, &cs)) return true;
    }
    return false;
}
