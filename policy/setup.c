/* SPDX-License-Identifier: MIT */
#include "policy/setup.h"

#include "core/arena.h"
#include "core/kmem_detect.h"
#include "core/meta.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* A scratch page on which the kernel is asked whether it takes a placement. */
struct probe {
    void *page;
    size_t len;
};

static int probe_open(struct probe *p)
{
    p->len = (size_t)sysconf(_SC_PAGESIZE);
    p->page = mmap(NULL, p->len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p->page == MAP_FAILED ? -errno : 0;
}

/* Returns 0 or -errno. */
static int probe_mbind(const struct probe *p, const struct kms_placement *pl)
{
    return p->page == MAP_FAILED ? -ENOMEM : kms_mbind(p->page, p->len, pl);
}

static void probe_close(struct probe *p)
{
    if (p->page != MAP_FAILED) munmap(p->page, p->len);
}

/* A problem that does not stop the program: one line of s->warning. */
static void warn_more(struct kms_setup *s, const char *fmt, ...)
{
    size_t used = strlen(s->warning);
    if (used && used + 1 < sizeof(s->warning)) s->warning[used++] = '\n', s->warning[used] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->warning + used, sizeof(s->warning) - used, fmt, ap);
    va_end(ap);
}

static void degrade(const struct kms_config *c, struct kms_setup *s, const char *why)
{
    if (c->strict)
        snprintf(s->error, sizeof(s->error), "%s (KMEM_STRICT=1)", why);
    else
        warn_more(s, "%s; every route uses DRAM", why);
    kms_nodeset_clear(&s->kmem);
}

static bool uses_any(const bool *uses, int a, int b) { return uses && (uses[a] || uses[b]); }

int kms_setup_weighted_fallback(const struct kms_config *c, const bool *uses, bool have_weighted,
                                char *warning, size_t wlen, char *error, size_t elen)
{
    if (have_weighted ||
        !uses_any(uses, KMS_TARGET_WEIGHTED_INTERLEAVE, KMS_TARGET_WEIGHTED_INTERLEAVE_ALL))
        return 0;
    const char *why = "weighted_interleave: this kernel has no MPOL_WEIGHTED_INTERLEAVE "
                      "(Linux 6.9+)";
    if (c->strict) {
        snprintf(error, elen, "%s (KMEM_STRICT=1)", why);
        return -1;
    }
    snprintf(warning, wlen, "%s; the weighted routes interleave evenly", why);
    return 0;
}

/* KMEM nodes from the KMEM_DETECT sources. */
static void detect(const struct kms_config *c, struct kms_setup *s, bool live,
                   const struct kms_setup_reads *need)
{
    char list[3][128], what[32];
    kms_nodeset_clear(&s->dax);
    if (need->daxctl && (!need->daxctl_if_listed || kms_kmem_dax_listed(""))) {
        if (kms_kmem_detect_daxctl(&s->dax, s->dax_error, sizeof(s->dax_error)) < 0)
            kms_nodeset_clear(&s->dax);
    }
    kms_nodeset_clear(&s->kmem);
    /* A text topology is not this machine: its dax devices are not asked for. */
    const struct kms_nodeset *dax = live ? &s->dax : NULL;
    if (need->consult && s->tiers.tier)
        kms_tiers_detect(&s->topo, &s->tiers, dax, c->detect, &s->kmem, s->verdicts);
    kms_detect_format(c->detect, what, sizeof(what));
    if (need->judge) {
        /* Which source found which nodes, for the message and `kmemshim nodes`. */
        static const unsigned src[3] = {KMS_DETECT_DAXCTL, KMS_DETECT_TIERS, KMS_DETECT_HMAT};
        for (int i = 0; i < 3; i++) {
            struct kms_nodeset by;
            kms_nodeset_clear(&by);
            if (s->tiers.tier) kms_tiers_detect(&s->topo, &s->tiers, dax, src[i], &by, NULL);
            if (!(c->detect & src[i]))
                snprintf(list[i], sizeof(list[i]), "off");
            else if (i == 0 && !live)
                snprintf(list[i], sizeof(list[i]), "not asked");
            else if (i == 0 && s->dax_error[0])
                snprintf(list[i], sizeof(list[i]), "unavailable");
            else
                kms_nodeset_format(&by, list[i], sizeof(list[i]));
        }
        snprintf(s->source_desc, sizeof(s->source_desc),
                 "detected (KMEM_DETECT=%s): libdaxctl: %s, memory tiers: %s, HMAT: %s", what,
                 list[0], list[1], list[2]);
    } else {
        snprintf(s->source_desc, sizeof(s->source_desc), "detected (KMEM_DETECT=%s)", what);
    }
    if (!kms_nodeset_empty(&s->kmem)) {
        s->kmem_source = KMS_NODES_DETECTED;
        return;
    }
    s->kmem_source = KMS_NODES_NONE;
    char why[640];
    if (!need->consult) {
        /* Nobody reads this one (kms_setup_reads): say what is known without asking. */
        snprintf(why, sizeof(why),
                 "no KMEM nodes: KMEM_NODES is not set and every node with memory has CPUs");
        degrade(c, s, why);
        return;
    }
    int w = snprintf(why, sizeof(why),
                     "no KMEM nodes: KMEM_NODES is not set and KMEM_DETECT=%s "
                     "found no slow-memory node (",
                     what);
    const char *sep = "";
    if ((c->detect & KMS_DETECT_DAXCTL) && live) {
        w += snprintf(why + w, sizeof(why) - (size_t)w, "%s%s", sep,
                      s->dax_error[0] ? s->dax_error
                                      : "no dax device in system-ram mode with online memory");
        sep = "; ";
    }
    if (c->detect & KMS_DETECT_TIERS) {
        w += snprintf(why + w, sizeof(why) - (size_t)w, "%s%s", sep,
                      s->tiers.have_tiers ? "no CPU-less node in a lower memory tier"
                                          : "the kernel shows no memory tiers");
        sep = "; ";
    }
    if (c->detect & KMS_DETECT_HMAT && w > 0 && (size_t)w < sizeof(why))
        snprintf(why + w, sizeof(why) - (size_t)w, "%s%s", sep,
                 s->tiers.have_hmat ? "no CPU-less node with a clearly higher HMAT latency"
                                    : "the firmware gives no HMAT figures");
    size_t len = strlen(why);
    if (len + 1 < sizeof(why)) strcat(why, ")");
    degrade(c, s, why);
}

/* Reads the sysfs parts s->tiers lacks. An unreadable description of the machine is an
 * error where nothing it says can be trusted; else every part reads as "not given". */
static int read_sysfs(const struct kms_config *c, struct kms_setup *s, bool live,
                      const char *sysfs_root, unsigned parts)
{
    char err[256];
    if (kms_tiers_read(sysfs_root, &s->topo, parts, &s->tiers, err, sizeof(err)) == 0) return 0;
    if (c->strict || !live) {
        snprintf(s->error, sizeof(s->error), "%s%s", err, c->strict ? " (KMEM_STRICT=1)" : "");
        return -1;
    }
    warn_more(s, "%s; memory tiers, HMAT and weights ignored", err);
    /* A root without the files: every node "not given". */
    kms_tiers_read("/nonexistent", &s->topo, KMS_SYSFS_ALL, &s->tiers, err, sizeof(err));
    return 0;
}

static int finish(const struct kms_config *c, const bool *uses, struct kms_setup *s, bool live,
                  const char *sysfs_root, enum kms_setup_detail detail)
{
    char err[256];
    struct kms_setup_reads need = kms_setup_reads(c, &s->topo, live, detail);
    /* Nothing to read and no detection: no tables either (a tie's HMAT is read below). */
    if (sysfs_root && (need.sysfs || need.consult)) {
        if (read_sysfs(c, s, live, sysfs_root, need.sysfs) < 0) return -1;
        if (need.judge)
            s->verdicts = kms_meta_calloc((size_t)s->topo.max_node + 1, sizeof(*s->verdicts));
    }
    if (c->nodes_set) {
        s->kmem = c->nodes;
        s->kmem_source = c->nodes_source;
        snprintf(s->source_desc, sizeof(s->source_desc), "%s",
                 kms_nodes_source_name(c->nodes_source));
        if (s->verdicts)
            kms_tiers_detect(&s->topo, &s->tiers, &s->dax, c->detect, &(struct kms_nodeset){{0}},
                             s->verdicts);
    } else if (live || sysfs_root) {
        detect(c, s, live, &need);
        if (s->error[0]) return -1;
    } else {
        snprintf(s->source_desc, sizeof(s->source_desc), "none");
    }
    if (sysfs_root && kms_setup_reads_tie_break(&s->kmem) &&
        read_sysfs(c, s, live, sysfs_root, KMS_SYSFS_HMAT) < 0)
        return -1;
    /* Probes only for what a request can reach (or what the caller explains). */
    bool every = detail == KMS_SETUP_EXPLAIN || !uses;
    bool want_weighted =
        every || uses_any(uses, KMS_TARGET_WEIGHTED_INTERLEAVE, KMS_TARGET_WEIGHTED_INTERLEAVE_ALL);
    int nkmem = kms_nodeset_count(&s->kmem);
    /* Without a KMEM node only the _all interleaves set a policy: the kernel is asked
     * about it only when a request can reach one. */
    bool probe_all =
        every || uses_any(uses, KMS_TARGET_INTERLEAVE_ALL, KMS_TARGET_WEIGHTED_INTERLEAVE_ALL);
    struct probe probe = {.page = MAP_FAILED};
    if (live && (nkmem > 0 || (s->numa_ok && probe_all))) probe_open(&probe);
    if (live && nkmem > 0) {
        struct kms_placement pl = {.set = s->kmem, .mode = KMS_MODE_BIND, .home = -1};
        /* Only nodes that exist can be probed; a wrong node list is reported by
         * the plan below with a better message. */
        bool exist = true;
        for (int n = kms_nodeset_first(&s->kmem); n >= 0; n = kms_nodeset_next(&s->kmem, n))
            if (!kms_nodeset_has(&s->topo.with_memory, n)) exist = false;
        int rc = exist ? probe_mbind(&probe, &pl) : 0;
        if (rc == -EPERM || rc == -ENOSYS || rc == -EACCES) {
            snprintf(err, sizeof(err),
                     "mbind() is not permitted (%s: a seccomp filter, as in containers started "
                     "without CAP_SYS_NICE?)",
                     strerror(-rc));
            degrade(c, s, err);
            if (s->error[0]) goto fail;
            s->numa_ok = false;
        } else if (exist) {
            if (nkmem > 1 && (every || uses[KMS_TARGET_PREFERRED])) {
                pl.mode = KMS_MODE_PREFERRED_MANY;
                s->have_preferred_many = probe_mbind(&probe, &pl) == 0;
            }
            if (want_weighted) {
                pl.mode = KMS_MODE_WEIGHTED;
                s->have_weighted = probe_mbind(&probe, &pl) == 0;
            }
            if (c->movable) {
                pl.mode = KMS_MODE_BIND;
                pl.flags = KMS_MPOL_F_NUMA_BALANCING;
                pl.home = kms_nodeset_first(&s->kmem);
                rc = probe_mbind(&probe, &pl);
                s->movable = rc == 0;
                if (rc < 0 && c->strict) {
                    snprintf(s->error, sizeof(s->error),
                             "KMEM_MOVABLE=1: the kernel refuses MPOL_BIND|MPOL_F_NUMA_BALANCING "
                             "with a home node (%s; Linux 5.17+) (KMEM_STRICT=1)",
                             strerror(-rc));
                    goto fail;
                }
                if (rc < 0)
                    warn_more(s,
                              "KMEM_MOVABLE=1: the kernel refuses MPOL_BIND|MPOL_F_NUMA_BALANCING "
                              "with a home node (%s; Linux 5.17+); KMEM routes stay bound",
                              strerror(-rc));
            }
        }
    } else if (live && s->numa_ok && probe_all) {
        /* No KMEM node: the _all interleaves still set a policy; may they, and which? */
        struct kms_placement pl = {
            .set = s->topo.with_memory, .mode = KMS_MODE_INTERLEAVE, .home = -1};
        int rc = kms_nodeset_empty(&pl.set) ? -EINVAL : probe_mbind(&probe, &pl);
        if (rc < 0) {
            s->numa_ok = false;
            if (uses_any(uses, KMS_TARGET_INTERLEAVE_ALL, KMS_TARGET_WEIGHTED_INTERLEAVE_ALL)) {
                snprintf(err, sizeof(err),
                         "interleave_all: the kernel refuses MPOL_INTERLEAVE (%s); the "
                         "interleave_all routes use the default policy",
                         strerror(-rc));
                if (c->strict) {
                    snprintf(s->error, sizeof(s->error), "%s (KMEM_STRICT=1)", err);
                    goto fail;
                }
                warn_more(s, "%s", err);
            }
        } else if (want_weighted) {
            pl.mode = KMS_MODE_WEIGHTED;
            s->have_weighted = probe_mbind(&probe, &pl) == 0;
        }
    }
    probe_close(&probe);
    if (nkmem == 0 && uses_any(uses, KMS_TARGET_INTERLEAVE, KMS_TARGET_WEIGHTED_INTERLEAVE) &&
        s->warning[0])
        warn_more(s, "routes interleave and weighted_interleave have no KMEM node to interleave "
                     "over: they use DRAM");
    char wl[256] = "";
    if (kms_setup_weighted_fallback(c, uses, s->have_weighted, wl, sizeof(wl), s->error,
                                    sizeof(s->error)) < 0)
        return -1;
    if (wl[0]) warn_more(s, "%s", wl);
    struct kms_plan_opts opts = {
        .have_preferred_many = s->have_preferred_many,
        .have_weighted = s->have_weighted,
        .movable = s->movable,
        .perf = s->tiers.perf ? &s->tiers : NULL,
        .no_policy = !s->numa_ok,
    };
    if (kms_plan_compute(&s->topo, &s->kmem, &opts, &s->plan, err, sizeof(err)) < 0) {
        snprintf(s->error, sizeof(s->error), "%s: %s", kms_nodes_source_name(s->kmem_source), err);
        return -1;
    }
    if (uses && uses[KMS_TARGET_PREFERRED] && s->plan.preferred_tie[0]) {
        snprintf(s->error, sizeof(s->error), "%s", s->plan.preferred_tie);
        return -1;
    }
    return 0;
fail:
    probe_close(&probe);
    return -1;
}

int kms_setup_run(const struct kms_config *c, const bool *uses, enum kms_setup_detail detail,
                  struct kms_setup *s)
{
    char err[256];
    memset(s, 0, sizeof(*s));
    /* Where only KMEM nodes could give a route a policy of its own and nobody hears why
     * there are none, the node states alone can settle it: with no CPU-less node with
     * memory, no source can claim one, every route is the plain heap, and no node's
     * size, CPUs or distances are needed (kms_setup_reads_brief). */
    if (kms_setup_reads_brief(c, uses, detail)) {
        if (kms_topology_read_live_sets(&s->topo, err, sizeof(err)) == 0) {
            if (!kms_setup_reads_candidates(&s->topo)) {
                s->numa_ok = true;
                return finish(c, uses, s, true, "", detail);
            }
            kms_topology_free(&s->topo);
        }
        memset(s, 0, sizeof(*s));
    }
    if (kms_topology_read_live(&s->topo, err, sizeof(err)) < 0) {
        /* Without NUMA there is one memory: a plan with no KMEM nodes and one node. */
        degrade(c, s, err);
        if (s->error[0]) return -1;
        kms_topology_parse_text("node 0 cpus: 0\nnode 0 size: 0 MB\n", &s->topo, err, sizeof(err));
        s->kmem_source = KMS_NODES_NONE;
        snprintf(s->source_desc, sizeof(s->source_desc), "none");
        struct kms_plan_opts opts = {.no_policy = true};
        return kms_plan_compute(&s->topo, &s->kmem, &opts, &s->plan, s->error, sizeof(s->error));
    }
    s->numa_ok = true;
    return finish(c, uses, s, true, "", detail);
}

int kms_setup_run_text(const struct kms_config *c, const bool *uses, const char *topo_text,
                       const char *sysfs_root, enum kms_setup_detail detail, struct kms_setup *s)
{
    char err[256];
    memset(s, 0, sizeof(*s));
    if (kms_topology_parse_text(topo_text, &s->topo, err, sizeof(err)) < 0) {
        snprintf(s->error, sizeof(s->error), "topology: %s", err);
        return -1;
    }
    s->numa_ok = true;
    s->have_preferred_many = true;
    s->have_weighted = true;
    s->movable = c->movable;
    return finish(c, uses, s, false, sysfs_root, detail);
}

void kms_setup_free(struct kms_setup *s)
{
    kms_plan_free(&s->plan);
    kms_tiers_free(&s->tiers);
    kms_meta_free(s->verdicts);
    s->verdicts = NULL;
    kms_topology_free(&s->topo);
}
