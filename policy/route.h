/* The route decision: which target a request goes to, by the first rule that
 * matches (KMEM_RULES, then the rules file), then KMEM_THRESHOLD, then the
 * default target. */
#ifndef KMS_POLICY_ROUTE_H
#define KMS_POLICY_ROUTE_H
#include "policy/config.h"
#include "policy/rules.h"
#include "policy/target.h"

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
    struct kms_decision global;  /* the decision when no rule looks at the caller */
};

extern struct kms_routes kms_routes;

/* Reads KMEM_RULES and the rules file named by the configuration, merges the
 * file's settings into c (the environment wins) and builds kms_routes. On
 * errors returns -1 with every message in err, one per line. */
int kms_routes_build(struct kms_config *c, char *err, size_t errlen);

int kms_route_decide_rules(size_t size, const void *caller);

static inline int kms_route_decide(size_t size, const void *caller)
{
    if (__builtin_expect(!kms_routes.has_rules, 1))
        return size >= kms_routes.threshold ? kms_routes.above : kms_routes.below;
    return kms_route_decide_rules(size, caller);
}

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

/* pthread_atfork support for the callsite resolver's lock. */
void kms_routes_fork_prepare(void);
void kms_routes_fork_parent(void);
void kms_routes_fork_child(void);

#endif
