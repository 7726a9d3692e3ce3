/* SPDX-License-Identifier: MIT */
/* The route decision: which target a request goes to, by the first rule that
 * matches (KMEM_RULES, then the rules file), then KMEM_THRESHOLD, then the
 * default target. */
#ifndef KMS_POLICY_ROUTE_H
#define KMS_POLICY_ROUTE_H
#include "policy/config.h"
#include "policy/rules.h"
#include "core/target.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A compiled decision: disjoint size ranges with their targets. Request size s
 * goes to target[i] for the first i with s < bound[i] (the last has no bound). */
struct kms_decision {
    unsigned n;
    uint64_t *bound; /* n - 1 entries */
    int8_t *target;  /* n entries */
    /* For decisions keyed by a stack (depth rules): the frames it was made for. */
    unsigned nframes;
    uintptr_t *frames;
};

struct kms_routes {
    uint64_t threshold;          /* without rules: requests of at least this go to `above` */
    int above, below;            /* resolved targets, never KMS_TARGET_KMEM */
    bool has_rules;              /* decide through kms_route_decide_rules */
    bool by_caller;              /* some rule looks at the caller: decisions are per callsite */
    unsigned max_frames;         /* deepest "depth N" among the rules; 1 without depth rules */
    uint64_t depth_lo, depth_hi; /* sizes any depth rule can match */
    bool uses[KMS_TARGET_COUNT]; /* targets some request can reach */
    struct kms_ruleset rules;
    uint64_t *no_caller;        /* bit i: rule i has no caller (NULL: unknown, test all) */
    struct kms_decision global; /* the decision when no rule looks at the caller */
};

extern struct kms_routes kms_routes;

/* Reads KMEM_RULES and the rules file named by the configuration, merges the
 * file's settings into c (the environment wins) and builds kms_routes. On
 * errors returns -1 with every message in err, one per line. */
int kms_routes_build(struct kms_config *c, char *err, size_t errlen);

int kms_route_decide_rules(size_t size, const void *caller);

/* Whether a rule names the callsite caller (its innermost frame): runtime
 * tiering leaves such a callsite where the rule puts it. */
bool kms_route_names_caller(uintptr_t caller);

/* The per-callsite decision cache (open addressing on the callsite, or on a
 * stack's hash for depth rules). A slot whose decision is one size bound, for
 * a callsite looked up at its home slot, also carries `fast`: the callsite,
 * stored last, which lets the allocator's inline path use the slot with one
 * compare (without depth rules only: with them a plain callsite key is not
 * the whole story for some sizes). */
#define KMS_ROUTE_CACHE_BITS 15
struct kms_route_slot {
    uintptr_t fast; /* the callsite, once the slot may be used inline; 0 otherwise */
    union {
        uint64_t bound;               /* SIMPLE: size < bound -> below, else above */
        const struct kms_decision *d; /* COMPILED */
    };
    uintptr_t key; /* 0 = empty */
    int8_t below, above;
    uint8_t kind;
};
extern struct kms_route_slot kms_route_cache[1u << KMS_ROUTE_CACHE_BITS]
    __attribute__((visibility("hidden")));

/* Fibonacci hashing of the low 32 bits (the offset in the module and 20 bits
 * of its randomized base; stack keys are hashes already): the top bits of a
 * 32-bit product, one multiply by an immediate. Not the callsite's low bits,
 * as cheap: shared objects are loaded at page granularity, so the low 12 bits
 * of a callsite are its offset in the page and only 3 more bits are random;
 * similar modules (many small extensions with the same boilerplate) would pile
 * callsites into a few slots and overflow the probe window, and an uncached
 * callsite is decided again on every request. */
static inline size_t kms_route_slot_of(uintptr_t key)
{
    return (size_t)(((uint32_t)key * 0x9E3779B1u) >> (32 - KMS_ROUTE_CACHE_BITS));
}

/* Whether sl->fast is the callsite, with acquire order for the slot's other
 * fields. On x86 every load is an acquire in hardware, so a plain load and a
 * compiler barrier do: the compare then takes the load as its operand (an
 * __atomic load stays a separate instruction), which is two instructions of
 * the eight this path adds to a malloc. `fast` is written once, aligned. */
static inline bool kms_route_fast_is(const struct kms_route_slot *sl, uintptr_t caller)
{
#if (defined(__x86_64__) || defined(__i386__)) && !defined(__SANITIZE_THREAD__)
    /* (ThreadSanitizer, which cannot know the hardware's order, gets the
     * __atomic load.) */
    if (*(const uintptr_t *)&sl->fast != caller) return false;
    __atomic_signal_fence(__ATOMIC_ACQUIRE);
    return true;
#else
    return __atomic_load_n(&sl->fast, __ATOMIC_ACQUIRE) == caller;
#endif
}

static inline int kms_route_decide(size_t size, const void *caller)
{
    if (__builtin_expect(!kms_routes.has_rules, 1))
        return size >= kms_routes.threshold ? kms_routes.above : kms_routes.below;
    /* A callsite seen before: one probe of its home slot (a callsite is never
     * 0, an empty slot's `fast` is). */
    const struct kms_route_slot *sl = &kms_route_cache[kms_route_slot_of((uintptr_t)caller)];
    if (__builtin_expect(kms_route_fast_is(sl, (uintptr_t)caller), 1))
        return size < sl->bound ? sl->below : sl->above;
    return kms_route_decide_rules(size, caller);
}

/* After a request from caller was served by the full path: when its decision
 * is one the allocator may use inline (its home slot's `fast`), the thread's
 * memo of callsite heaps learns it (core/site_heap.h). */
void kms_route_site_learn(const void *caller);

/* Compiles the decision for one callsite (frames[0] = the return address into
 * the allocator; NULL/0 frames: rules with a caller condition do not match). */
int kms_decision_compile(const struct kms_routes *r, const uintptr_t *frames, unsigned nframes,
                         bool with_depth_rules, struct kms_decision *out);
void kms_decision_free(struct kms_decision *d);

static inline int kms_decision_apply(const struct kms_decision *d, uint64_t size)
{
    unsigned i = 0;
    while (i + 1 < d->n && size >= d->bound[i])
        i++;
    return d->target[i];
}

#endif
