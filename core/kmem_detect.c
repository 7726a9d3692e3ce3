#include "core/kmem_detect.h"

#include <daxctl/libdaxctl.h>
#include <stdio.h>
#include <string.h>

int kms_kmem_detect_daxctl(struct kms_nodeset *out, char *err, size_t errlen)
{
    struct daxctl_ctx *ctx = NULL;
    struct daxctl_region *region;
    struct daxctl_dev *dev;
    int found = 0;
    kms_nodeset_clear(out);
    int rc = daxctl_new(&ctx);
    if (rc < 0 || !ctx) {
        snprintf(err, errlen, "libdaxctl could not start (%s)", strerror(rc < 0 ? -rc : rc));
        return -1;
    }
    daxctl_region_foreach(ctx, region)
    {
        daxctl_dev_foreach(region, dev)
        {
            struct daxctl_memory *mem = daxctl_dev_get_memory(dev);
            if (!mem || daxctl_memory_is_online(mem) <= 0)
                continue;
            int node = daxctl_dev_get_target_node(dev);
            if (node >= 0 && node < KMS_MAX_NODES) {
                kms_nodeset_add(out, node);
                found++;
            }
        }
    }
    daxctl_unref(ctx);
    return found;
}
