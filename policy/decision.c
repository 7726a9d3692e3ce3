/* SPDX-License-Identifier: MIT */
/* The decision compiler: the rules that apply to one callsite (or stack), as
 * disjoint size ranges with their targets (struct kms_decision). The cache of
 * decisions and the stack walks are policy/route.c's. */
#include "policy/route.h"

#include "core/elflibs.h"
#include "core/meta.h"
#include "policy/callsite_match.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
 * every other rule is not run again per callsite (bench/analysis.md, "Figures
 * behind the code"). A push-only list: a race adds the same module twice,
 * harmlessly. */
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
        if (rule->has_caller && kms_rule_module_matches(rule, cs->module, cs->module_alt))
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
    bool all = !cand || !r->no_caller;
    if (!all) {
        memcpy(cand, r->no_caller, words * sizeof(*cand));
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
