#include "policy/setup.h"

#include "core/arena.h"
#include "core/kmem_detect.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Asks the kernel whether it takes a placement, on a scratch page. Returns 0 or -errno. */
static int probe_mbind(const struct kms_placement *pl)
{
    long page = sysconf(_SC_PAGESIZE);
    void *p = mmap(NULL, (size_t)page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return -errno;
    int rc = kms_mbind(p, (size_t)page, pl);
    munmap(p, (size_t)page);
    return rc;
}

static void degrade(const struct kms_config *c, struct kms_setup *s, const char *why)
{
    if (c->strict)
        snprintf(s->error, sizeof(s->error), "%s (KMEM_STRICT=1)", why);
    else
        snprintf(s->warning, sizeof(s->warning), "%s; every route uses DRAM", why);
    kms_nodeset_clear(&s->kmem);
}

static int finish(const struct kms_config *c, bool uses_preferred, struct kms_setup *s, bool live)
{
    char err[256];
    if (c->nodes_set) {
        s->kmem = c->nodes;
        s->kmem_source = c->nodes_source;
    } else if (live) {
        int n = kms_kmem_detect_daxctl(&s->kmem, err, sizeof(err));
        if (n > 0) {
            s->kmem_source = KMS_NODES_DAXCTL;
        } else {
            s->kmem_source = KMS_NODES_NONE;
            degrade(c, s,
                    n < 0 ? err
                          : "no KMEM nodes: KMEM_NODES is not set and libdaxctl found no dax "
                            "device in system-ram mode with online memory");
            if (s->error[0]) return -1;
        }
    }
    int nkmem = kms_nodeset_count(&s->kmem);
    if (live && nkmem > 0) {
        struct kms_placement pl = {.set = s->kmem, .mode = KMS_MODE_BIND};
        /* Only nodes that exist can be probed; a wrong node list is reported by
         * the plan below with a better message. */
        bool exist = true;
        for (int n = 0; n < KMS_MAX_NODES; n++)
            if (kms_nodeset_has(&s->kmem, n) && !kms_nodeset_has(&s->topo.with_memory, n))
                exist = false;
        int rc = exist ? probe_mbind(&pl) : 0;
        if (rc == -EPERM || rc == -ENOSYS || rc == -EACCES) {
            snprintf(err, sizeof(err),
                     "mbind() is not permitted (%s: a seccomp filter, as in containers started "
                     "without CAP_SYS_NICE?)",
                     strerror(-rc));
            degrade(c, s, err);
            if (s->error[0]) return -1;
            s->numa_ok = false;
        } else if (exist && nkmem > 1) {
            pl.mode = KMS_MODE_PREFERRED_MANY;
            s->have_preferred_many = probe_mbind(&pl) == 0;
        }
    }
    if (kms_plan_compute(&s->topo, &s->kmem, s->have_preferred_many, &s->plan, err, sizeof(err)) <
        0) {
        snprintf(s->error, sizeof(s->error), "%s: %s", kms_nodes_source_name(s->kmem_source), err);
        return -1;
    }
    if (uses_preferred && s->plan.preferred_tie[0]) {
        snprintf(s->error, sizeof(s->error), "%s", s->plan.preferred_tie);
        return -1;
    }
    return 0;
}

int kms_setup_run(const struct kms_config *c, bool uses_preferred, struct kms_setup *s)
{
    char err[256];
    memset(s, 0, sizeof(*s));
    if (kms_topology_read_live(&s->topo, err, sizeof(err)) < 0) {
        /* Without NUMA there is one memory: a plan with no KMEM nodes and one node. */
        degrade(c, s, err);
        if (s->error[0]) return -1;
        kms_topology_parse_text("node 0 cpus: 0\nnode 0 size: 0 MB\n", &s->topo, err, sizeof(err));
        s->kmem_source = KMS_NODES_NONE;
        return kms_plan_compute(&s->topo, &s->kmem, false, &s->plan, s->error, sizeof(s->error));
    }
    s->numa_ok = true;
    return finish(c, uses_preferred, s, true);
}

int kms_setup_run_text(const struct kms_config *c, bool uses_preferred, const char *topo_text,
                       struct kms_setup *s)
{
    char err[256];
    memset(s, 0, sizeof(*s));
    if (kms_topology_parse_text(topo_text, &s->topo, err, sizeof(err)) < 0) {
        snprintf(s->error, sizeof(s->error), "topology: %s", err);
        return -1;
    }
    s->numa_ok = true;
    s->have_preferred_many = true;
    return finish(c, uses_preferred, s, false);
}

void kms_setup_free(struct kms_setup *s)
{
    kms_plan_free(&s->plan);
    kms_topology_free(&s->topo);
}
