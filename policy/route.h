/* The route decision: which target a request goes to. */
#ifndef KMS_POLICY_ROUTE_H
#define KMS_POLICY_ROUTE_H
#include "policy/config.h"
#include "policy/target.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kms_routes {
    uint64_t threshold; /* requests of at least this many bytes go to `above` */
    int above, below;   /* resolved targets, never KMS_TARGET_KMEM */
    bool has_rules;     /* rules exist: decide through kms_route_decide_rules */
    bool uses[KMS_TARGET_COUNT]; /* targets any request can reach */
};

extern struct kms_routes kms_routes;

/* Builds kms_routes from the configuration (and the rules it names). */
int kms_routes_build(const struct kms_config *c, char *err, size_t errlen);

int kms_route_decide_rules(size_t size, const void *caller);

static inline int kms_route_decide(size_t size, const void *caller)
{
    if (__builtin_expect(!kms_routes.has_rules, 1))
        return size >= kms_routes.threshold ? kms_routes.above : kms_routes.below;
    return kms_route_decide_rules(size, caller);
}

#endif
