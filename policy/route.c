#include "policy/route.h"

struct kms_routes kms_routes = {
    .threshold = 0,
    .above = KMS_TARGET_DRAM,
    .below = KMS_TARGET_DRAM,
};

static int resolve(const struct kms_config *c, int target)
{
    return target == KMS_TARGET_KMEM ? c->kmem_policy : target;
}

int kms_routes_build(const struct kms_config *c, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    struct kms_routes r = {0};
    r.below = KMS_TARGET_DRAM;
    r.above = resolve(c, KMS_TARGET_KMEM);
    /* With no threshold and no rule, the whole heap goes to kmem. */
    r.threshold = c->threshold_set ? c->threshold : 0;
    r.uses[r.above] = true;
    if (r.threshold > 0)
        r.uses[r.below] = true;
    kms_routes = r;
    return 0;
}

int kms_route_decide_rules(size_t size, const void *caller)
{
    (void)caller;
    return size >= kms_routes.threshold ? kms_routes.above : kms_routes.below;
}
