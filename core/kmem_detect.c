/* SPDX-License-Identifier: MIT */
#include "core/kmem_detect.h"

#include <daxctl/libdaxctl.h>
#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

/* libdaxctl is opened only when it is needed (no KMEM_NODES): linking it would
 * load libkmod and, through it, libcrypto into every process, 2 MiB of
 * resident memory and a few milliseconds of relocation for nothing. */
struct daxctl_api {
    int (*new_ctx)(struct daxctl_ctx **);
    struct daxctl_ctx *(*unref)(struct daxctl_ctx *);
    struct daxctl_region *(*region_first)(struct daxctl_ctx *);
    struct daxctl_region *(*region_next)(struct daxctl_region *);
    struct daxctl_dev *(*dev_first)(struct daxctl_region *);
    struct daxctl_dev *(*dev_next)(struct daxctl_dev *);
    struct daxctl_memory *(*dev_memory)(struct daxctl_dev *);
    int (*memory_online)(struct daxctl_memory *);
    int (*target_node)(struct daxctl_dev *);
};

static int load(struct daxctl_api *api, char *err, size_t errlen)
{
    void *lib = dlopen("libdaxctl.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(err, errlen, "libdaxctl is not installed (%s)", dlerror());
        return -1;
    }
    static const char *const names[] = {
        "daxctl_new",
        "daxctl_unref",
        "daxctl_region_get_first",
        "daxctl_region_get_next",
        "daxctl_dev_get_first",
        "daxctl_dev_get_next",
        "daxctl_dev_get_memory",
        "daxctl_memory_is_online",
        "daxctl_dev_get_target_node",
    };
    void **slots = (void **)api;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        slots[i] = dlsym(lib, names[i]);
        if (!slots[i]) {
            snprintf(err, errlen, "libdaxctl lacks %s", names[i]);
            dlclose(lib);
            return -1;
        }
    }
    /* Kept open: the library stays loaded, as it would be if linked. */
    return 0;
}

int kms_kmem_detect_daxctl(struct kms_nodeset *out, char *err, size_t errlen)
{
    struct daxctl_api api;
    struct daxctl_ctx *ctx = NULL;
    int found = 0;
    kms_nodeset_clear(out);
    if (load(&api, err, errlen) < 0) return -1;
    int rc = api.new_ctx(&ctx);
    if (rc < 0 || !ctx) {
        snprintf(err, errlen, "libdaxctl could not start (%s)", strerror(rc < 0 ? -rc : rc));
        return -1;
    }
    for (struct daxctl_region *region = api.region_first(ctx); region;
         region = api.region_next(region)) {
        for (struct daxctl_dev *dev = api.dev_first(region); dev; dev = api.dev_next(dev)) {
            struct daxctl_memory *mem = api.dev_memory(dev);
            if (!mem || api.memory_online(mem) <= 0) continue;
            int node = api.target_node(dev);
            if (node >= 0 && node < KMS_MAX_NODES) {
                kms_nodeset_add(out, node);
                found++;
            }
        }
    }
    api.unref(ctx);
    return found;
}

bool kms_kmem_dax_listed(const char *root)
{
    static const char *const dirs[] = {"/sys/bus/dax/devices", "/sys/class/dax"};
    char path[4096];
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(path, sizeof(path), "%s%s", root, dirs[i]);
        DIR *d = opendir(path);
        if (!d) continue;
        struct dirent *e;
        bool any = false;
        while (!any && (e = readdir(d)))
            any = strncmp(e->d_name, "dax", 3) == 0;
        closedir(d);
        if (any) return true;
    }
    return false;
}
