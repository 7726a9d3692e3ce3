/* SPDX-License-Identifier: MIT */
#include "policy/route.h"

#include "core/elflibs.h"
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

/* Settings from the rules file, under the environment's. */
static void merge_file_settings(struct kms_config *c, const struct kms_ruleset *rs)
{
    if (!c->policy_set && rs->policy >= 0) {
        c->kmem_policy = rs->policy;
        c->policy_set = true;
    }
    if (!c->threshold_set && rs->threshold_set) {
        c->threshold = rs->threshold;
        c->threshold_set = true;
    }
    if (!c->nodes_set && rs->nodes) {
        c->nodes = rs->node_set;
        c->nodes_set = true;
        c->nodes_source = KMS_NODES_FILE;
    }
    if (!c->stats_set && rs->stats) c->stats = kms_config_report_dest(rs->stats);
}

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
    merge_file_settings(c, &r->rules);

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
    r->plain = words ? kms_meta_calloc(words, sizeof(*r->plain)) : NULL;
    for (size_t i = 0; r->plain && i < r->rules.count; i++)
        if (!r->rules.rules[i].has_caller) r->plain[i / 64] |= 1ull << (i % 64);
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

/* ---- compiling a decision ------------------------------------------------ */

struct piece {
    uint64_t lo, hi;
    int target; /* -1: not decided yet */
};

struct pieces {
    struct piece *p;
    size_t n, cap;
};

static int pieces_insert(struct pieces *ps, size_t at, struct piece v)
{
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 16;
        struct piece *np = kms_meta_realloc(ps->p, cap * sizeof(*np));
        if (!np) return -1;
        ps->p = np;
        ps->cap = cap;
    }
    memmove(&ps->p[at + 1], &ps->p[at], (ps->n - at) * sizeof(*ps->p));
    ps->p[at] = v;
    ps->n++;
    return 0;
}

/* Gives [lo, hi] to target wherever no earlier rule decided. */
static int assign(struct pieces *ps, uint64_t lo, uint64_t hi, int target)
{
    for (size_t i = 0; i < ps->n; i++) {
        struct piece *q = &ps->p[i];
        if (q->target >= 0 || q->hi < lo || q->lo > hi) continue;
        if (q->lo < lo) { /* split off the part below */
            struct piece below = {q->lo, lo - 1, -1};
            q->lo = lo;
            if (pieces_insert(ps, i, below) < 0) return -1;
            continue; /* the same piece, now at i + 1 */
        }
        if (q->hi > hi) { /* split off the part above */
            struct piece above = {hi + 1, q->hi, -1};
            q->hi = hi;
            if (pieces_insert(ps, i + 1, above) < 0) return -1;
            q = &ps->p[i];
        }
        q->target = target;
    }
    return 0;
}

/* Per module, which caller rules its name (or the program's other name)
 * matches: a new callsite then tests its module's rules only, and the glob of
 * every other rule is not run again per callsite (1,000 rules cost ~70,000
 * instructions per new callsite without this). A push-only list: a race adds
 * the same module twice, harmlessly. */
struct module_rules {
    struct module_rules *next;
    const void *mod; /* kms_callsite.mod_ */
    uint64_t bits[];
};
static struct module_rules *module_rules_head;

static const uint64_t *rules_of_module(const struct kms_routes *r, const struct kms_callsite *cs)
{
    for (struct module_rules *m = __atomic_load_n(&module_rules_head, __ATOMIC_ACQUIRE); m;
         m = m->next)
        if (m->mod == cs->mod_) return m->bits;
    size_t words = (r->rules.count + 63) / 64;
    struct module_rules *m = kms_meta_calloc(1, sizeof(*m) + words * sizeof(uint64_t));
    if (!m) return NULL; /* every rule is tested */
    m->mod = cs->mod_;
    for (size_t i = 0; i < r->rules.count; i++) {
        const struct kms_rule *rule = &r->rules.rules[i];
        if (rule->has_caller &&
            (kms_glob_match(rule->module_glob, cs->module) ||
             (cs->module_alt && kms_glob_match(rule->module_glob, cs->module_alt))))
            m->bits[i / 64] |= 1ull << (i % 64);
    }
    m->next = __atomic_load_n(&module_rules_head, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(&module_rules_head, &m->next, m, true, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED))
        ;
    return m->bits;
}

struct frame_info {
    struct kms_callsite cs;
    bool located;        /* some module holds the address */
    bool symbols;        /* cs has the symbol lookup (kms_callsite_resolve) */
    const uint64_t *own; /* rules whose module glob matches; NULL: unknown */
};

/* libelf is opened when a rule that names a function first meets a module it
 * names (core/callsite.c), not at start-up: a process that none of its rules'
 * modules allocate from, as most processes under a system-wide rules file,
 * never pays for it. Without libelf such a rule cannot match: said once. */
static void say_no_symbols(const struct kms_rule *rule)
{
    static int said;
    if (__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED)) return;
    char origin[KMS_ORIGIN_MAX], line[512];
    int n = snprintf(line, sizeof(line),
                     "kmemshim: warning: %s: caller %s:%s needs the symbol tables, and cannot "
                     "match: %s\n",
                     kms_rule_origin(&kms_routes.rules, rule, origin), rule->module_glob,
                     rule->func_glob, kms_elflibs_error());
    if (n > (int)sizeof(line) - 1) {
        n = (int)sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    if (n > 0) {
        ssize_t rc = write(STDERR_FILENO, line, (size_t)n);
        (void)rc;
    }
}

static bool frame_matches(const struct kms_rule *rule, size_t index, struct frame_info *fi,
                          const uintptr_t *frames, unsigned nframes)
{
    unsigned depth = kms_rule_frames(rule);
    for (unsigned f = 0; f < depth && f < nframes; f++) {
        struct frame_info *x = &fi[f];
        if (!x->located || (x->own && !(x->own[index / 64] >> (index % 64) & 1))) continue;
        /* Symbols are read only for a rule that names a function in this
         * module: a module no such rule names never has its tables loaded. */
        if (!x->symbols && kms_rule_needs_symbols(rule)) {
            if (!kms_libelf()) say_no_symbols(rule);
            x->located = kms_callsite_resolve(frames[f], &x->cs) == 0;
            x->symbols = true;
            if (!x->located) continue;
        }
        if (kms_callsite_matches(rule, &x->cs)) return true;
    }
    return false;
}

int kms_decision_compile(const struct kms_routes *r, const uintptr_t *frames, unsigned nframes,
                         bool with_depth_rules, struct kms_decision *out)
{
    struct pieces ps = {0};
    struct frame_info *fi = NULL;
    int rc = -1;
    memset(out, 0, sizeof(*out));
    if (pieces_insert(&ps, 0, (struct piece){0, UINT64_MAX, -1}) < 0) goto done;
    if (nframes) {
        fi = kms_meta_calloc(nframes, sizeof(*fi));
        if (!fi) goto done;
        for (unsigned f = 0; f < nframes; f++) {
            fi[f].located = kms_callsite_locate(frames[f], &fi[f].cs) == 0;
            if (fi[f].located) fi[f].own = rules_of_module(r, &fi[f].cs);
        }
    }
    /* The rules to test, in order: those without a caller, and the caller
     * rules whose module glob one of the frames' modules matches; every rule
     * where a frame's rules are unknown. A program's callsite under a rules
     * file written for other modules tests none of them. */
    const size_t words = (r->rules.count + 63) / 64;
    uint64_t cand_local[64],
        *cand = words <= 64 ? cand_local : kms_meta_calloc(words, sizeof(*cand));
    bool all = !cand || !r->plain;
    if (!all) {
        memcpy(cand, r->plain, words * sizeof(*cand));
        for (unsigned f = 0; f < nframes && !all; f++) {
            if (!fi[f].located) continue;
            if (!fi[f].own) all = true;
            for (size_t w = 0; !all && w < words; w++)
                cand[w] |= fi[f].own[w];
        }
    }
    for (size_t w = 0; w < words; w++) {
        uint64_t bits = all ? UINT64_MAX : cand[w];
        while (bits) {
            const size_t i = w * 64 + (size_t)__builtin_ctzll(bits);
            bits &= bits - 1;
            if (i >= r->rules.count) break; /* the last word's bits past the rules, when all */
            const struct kms_rule *rule = &r->rules.rules[i];
            if (rule->has_caller) {
                if (!with_depth_rules && kms_rule_frames(rule) > 1) continue;
                if (!frame_matches(rule, i, fi, frames, nframes)) continue;
            }
            if (assign(&ps, rule->size_lo, rule->size_hi, rule->target) < 0) {
                if (cand != cand_local) kms_meta_free(cand);
                goto done;
            }
        }
    }
    if (cand != cand_local) kms_meta_free(cand);
    if (r->threshold < UINT64_MAX && assign(&ps, r->threshold, UINT64_MAX, r->above) < 0) goto done;
    if (assign(&ps, 0, UINT64_MAX, r->below) < 0) goto done;
    /* Merge neighbours with the same target. */
    size_t n = 0;
    for (size_t i = 0; i < ps.n; i++) {
        if (n && ps.p[n - 1].target == ps.p[i].target)
            ps.p[n - 1].hi = ps.p[i].hi;
        else
            ps.p[n++] = ps.p[i];
    }
    out->n = (unsigned)n;
    out->bound = kms_meta_malloc(sizeof(*out->bound) * (n > 1 ? n - 1 : 1));
    out->target = kms_meta_malloc(n);
    if (!out->bound || !out->target) goto done;
    for (size_t i = 0; i < n; i++) {
        out->target[i] = (int8_t)ps.p[i].target;
        if (i + 1 < n) out->bound[i] = ps.p[i].hi + 1;
    }
    rc = 0;
done:
    if (rc < 0) kms_decision_free(out);
    kms_meta_free(ps.p);
    kms_meta_free(fi);
    return rc;
}

void kms_decision_free(struct kms_decision *d)
{
    kms_meta_free(d->bound);
    kms_meta_free(d->target);
    kms_meta_free(d->frames);
    memset(d, 0, sizeof(*d));
}

/* ---- the per-callsite cache ---------------------------------------------- */

/* Open addressing, never shrinks, entries are never removed: a callsite is
 * decided once. A full table still decides correctly, just without caching.
 * Most callsites need at most one size bound, which lives in the slot itself;
 * others point to their compiled decision. The layout is in route.h: the
 * allocator's inline path reads a callsite's home slot. */
#define CACHE_SLOTS (1u << KMS_ROUTE_CACHE_BITS)
/* A callsite that finds no free slot in its window is decided again on every
 * request. Simulated, random callsites past a 16-slot window: 16 of 18,000,
 * 344 of 25,000; with 64: none, 11. Lookups stop at the first empty slot. */
#define CACHE_PROBES 64
enum { SLOT_FILLING = 0, SLOT_SIMPLE, SLOT_COMPILED };
struct kms_route_slot kms_route_cache[CACHE_SLOTS] __attribute__((aligned(64)));

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
