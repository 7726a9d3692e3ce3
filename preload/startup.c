/* SPDX-License-Identifier: MIT */
/* Start-up of the preloaded library: configuration, topology and the engine,
 * before main. Allocation requests made meanwhile (by libnuma, libdaxctl,
 * stdio, the dynamic loader) are served by the plain heap. */
#include "core/access.h"
#include "core/elflibs.h"
#include "core/decommit.h"
#include "core/engine.h"
#include "core/fork.h"
#include "core/size.h"
#include "core/stackwalk.h"
#include "policy/setup.h"
#include "core/report.h"
#include "core/stats.h"
#include "core/tier.h"
#include "kms_version.h"
#include "policy/config.h"
#include "policy/route.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static void say(const char *kind, const char *msg)
{
    /* write(2), not stdio: stdio may not be usable yet, and must not allocate here. */
    size_t len = strlen(msg);
    while (len && msg[len - 1] == '\n')
        len--;
    if (!len) return;
    char line[1024];
    size_t k = strlen(kind);
    if (k + len + 12 > sizeof(line)) len = sizeof(line) - k - 12;
    memcpy(line, "kmemshim: ", 10);
    memcpy(line + 10, kind, k);
    memcpy(line + 10 + k, msg, len);
    line[10 + k + len] = '\n';
    ssize_t rc = write(STDERR_FILENO, line, 10 + k + len + 1);
    (void)rc;
}

static void say_lines(const char *kind, const char *text)
{
    char buf[1024];
    while (*text) {
        const char *nl = strchr(text, '\n');
        size_t n = nl ? (size_t)(nl - text) : strlen(text);
        if (n >= sizeof(buf)) n = sizeof(buf) - 1;
        memcpy(buf, text, n);
        buf[n] = '\0';
        say(kind, buf);
        text += nl ? (size_t)(nl - text) + 1 : n;
    }
}

/* "libkmemshim.so" of ".../libkmemshim.so.0.1.0": the name without directory and version. */
static size_t library_stem(const char *path, size_t len, const char **stem)
{
    const char *base = path;
    for (size_t i = 0; i < len; i++)
        if (path[i] == '/') base = path + i + 1;
    size_t n = len - (size_t)(base - path);
    const char *so = memmem(base, n, ".so", 3);
    *stem = base;
    return so ? (size_t)(so - base) + 3 : n;
}

/* Whether LD_PRELOAD names this library: someone preloaded it for this command and its
 * children, rather than for every process through /etc/ld.so.preload (or a program was
 * linked with it). */
static bool named_in_ld_preload(void)
{
    const char *list = NULL;
    for (char **e = environ; e && *e; e++)
        if (strncmp(*e, "LD_PRELOAD=", 11) == 0) list = *e + 11;
    Dl_info self;
    if (!list || !dladdr((void *)named_in_ld_preload, &self) || !self.dli_fname) return false;
    const char *mine;
    size_t mine_len = library_stem(self.dli_fname, strlen(self.dli_fname), &mine);
    while (*list) {
        size_t n = strcspn(list, ": \t");
        const char *stem;
        size_t len = library_stem(list, n, &stem);
        if (n && len == mine_len && memcmp(stem, mine, len) == 0) return true;
        list += n;
        list += strspn(list, ": \t");
    }
    return false;
}

static void say_version(void)
{
    static const char line[] = "kmemshim " KMS_VERSION "\n";
    ssize_t rc = write(STDERR_FILENO, line, sizeof(line) - 1);
    (void)rc;
}

static __attribute__((noreturn)) void stop(const char *msg)
{
    say_lines("error: ", msg);
    _exit(1);
}

/* elfutils, loaded now for the reports rather than from inside the exit
 * handler; rules that name functions open libelf when a module they name
 * first allocates (policy/route.c). */
static void load_elfutils(const struct kms_config *c)
{
    static char msg[512];
    if ((c->stats || c->profile) && !c->quiet) {
        if (!kms_libelf()) {
            snprintf(msg, sizeof(msg), "callsites in the reports will have no symbols: %s",
                     kms_elflibs_error());
            say("warning: ", msg);
        }
        if (c->profile && !kms_libdw()) {
            snprintf(msg, sizeof(msg), "the profile will have no source lines: %s",
                     kms_elflibs_error());
            say("warning: ", msg);
        }
    }
}

/* Runtime tiering needs a KMEM node to demote to and mbind() to move pages;
 * without either it is off, said once (an error under KMEM_STRICT=1). A
 * budget larger than the DRAM nodes' memory is used as that size. */
/* said: the set-up's warning already says why placement degraded (the
 * caller adds that tiering is off to it). */
static bool tier_possible(struct kms_config *c, const struct kms_setup *s, bool tell, bool said)
{
    static char msg[512];
    const char *why = !s->numa_ok                   ? "mbind() is not available"
                      : kms_nodeset_empty(&s->kmem) ? "there is no KMEM node to demote to"
                                                    : NULL;
    if (why) {
        snprintf(msg, sizeof(msg), "KMEM_DRAM_BUDGET: %s; runtime tiering is off", why);
        if (c->strict) {
            snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), " (KMEM_STRICT=1)");
            stop(msg);
        }
        if (tell && !said) say("warning: ", msg);
        return false;
    }
    uint64_t dram = 0;
    bool own = false; /* some node with memory is not KMEM: the DRAM route has nodes of its own */
    for (int nd = 0; nd <= s->topo.max_node; nd++) {
        if (!kms_nodeset_has(&s->topo.with_memory, nd) || kms_nodeset_has(&s->kmem, nd)) continue;
        own = true;
        dram += s->topo.size[nd];
    }
    if (own && dram && c->dram_budget > dram) {
        char b[32], d[32];
        kms_format_size(c->dram_budget, b, sizeof(b));
        kms_format_size(dram, d, sizeof(d));
        snprintf(msg, sizeof(msg),
                 "KMEM_DRAM_BUDGET=%s is more than the DRAM nodes hold (%s): the budget is %s", b,
                 d, d);
        if (tell) say("warning: ", msg);
        c->dram_budget = dram;
    }
    return true;
}

static bool pinned_by_rule(uintptr_t caller) { return kms_route_names_caller(caller); }

static void start_tiering(const struct kms_config *c, const struct kms_setup *s)
{
    (void)s;
    struct kms_tier_setup t = {
        .budget = c->dram_budget,
        .rate = c->tier_rate,
        .kmem_target = c->kmem_policy,
        .timeline = c->timeline,
        .pinned = kms_routes.by_caller ? pinned_by_rule : NULL,
    };
    kms_access_huge = 1;
    if (kms_tier_init(&t) < 0) {
        static char msg[PATH_MAX + 128];
        snprintf(msg, sizeof(msg), "KMEM_TIMELINE='%s': cannot create it (%s)", c->timeline,
                 strerror(errno));
        stop(msg);
    }
}

__attribute__((constructor(101))) static void kms_startup(void)
{
    static struct kms_config config;
    static struct kms_setup setup;
    static char err[8192];
    char warn[1024];
    if (kms_state != KMS_STATE_EARLY) return;
    kms_state = KMS_STATE_STARTING;
    kms_bypass_enter(&kms_self);

    if (kms_config_from_env(environ, &config, err, sizeof(err), warn, sizeof(warn)) < 0) stop(err);
    if (config.version) say_version();
    if (!config.quiet) say_lines("warning: ", warn);
    if (kms_routes_build(&config, err, sizeof(err)) < 0) stop(err);
    /* The access figures are written only into those reports (the rules
     * file's `stats` counts, hence after the rules). */
    if (config.access_ms && !config.tier && !config.stats && !config.profile && !config.secure)
        stop("KMEM_ACCESS: needs KMEM_PROFILE or KMEM_STATS, which the access figures are "
             "written to, or KMEM_DRAM_BUDGET, which places by them");
    load_elfutils(&config);
    /* Placement degraded to DRAM (no KMEM node, mbind denied) is said where placement was
     * asked for: by a KMEM_* variable, or by preloading the library for this command. A
     * system-wide install (/etc/ld.so.preload) with neither stays silent in every process,
     * whose stderr other tools may compare; kmemshim nodes and KMEM_STRICT=1 tell. Only a
     * warning that is said needs the set-up to read what it explains. */
    bool tell = !config.quiet && (config.asked || named_in_ld_preload());
    if (kms_setup_run(&config, kms_routes.uses, tell ? KMS_SETUP_TELL : KMS_SETUP_QUIET, &setup) <
        0)
        stop(setup.error);
    /* Tiering that cannot work is said in the same line as the reason. */
    bool tier = config.tier && tier_possible(&config, &setup, tell, setup.warning[0] != 0);
    if (setup.warning[0] && tell) {
        if (config.tier && !tier)
            snprintf(setup.warning + strlen(setup.warning),
                     sizeof(setup.warning) - strlen(setup.warning),
                     "; runtime tiering (KMEM_DRAM_BUDGET) is off");
        say_lines("warning: ", setup.warning);
    }
    kms_engine_setup(&setup.topo, &setup.plan, config.arena_size);
    kms_fork_handlers_register(kms_routes.has_rules || config.stats || config.profile ||
                               config.access_ms);
    if (config.stats || config.profile || tier) {
        if (config.stats || config.profile) {
            kms_stats_start(config.stats_sample_set ? config.stats_sample
                                                    : KMS_STATS_SAMPLE_DEFAULT);
            kms_report_setup(config.stats, config.profile, config.profile_default, kms_routes.uses);
        }
        const char *why = NULL;
        if (config.access_ms && !kms_access_init(config.access_ms, config.access_cost, &why)) {
            /* Without clearing, every page reads as touched: nothing is placed or planned by it. */
            char msg[512];
            snprintf(msg, sizeof(msg),
                     "cannot clear the pages' accessed bits (%s): no access figures%s", why,
                     tier ? "; runtime tiering is off" : ", the reports say none was measured");
            if (!config.quiet) say("warning: ", msg);
            if (tier && config.strict) stop(msg);
            tier = false;
        }
        /* Wrappers' requests are grouped by their caller, for profiles as for
         * tiering: a stack walk each, with the unwinder opened now rather than
         * from an allocation. */
        if (kms_access_on) {
            kms_stackwalk_load();
            kms_access_contexts = kms_stackwalk_ready();
        }
        if (tier) start_tiering(&config, &setup);
        /* Without statistics, with one route for every size that no CPU changes, a decided
         * callsite's heap goes into the thread's memo. */
        kms_access_memo = tier && !kms_stats_on && !kms_routes.has_rules &&
                          kms_routes.threshold == UINT64_MAX &&
                          kms_target_class[kms_routes.below] != KMS_CLASS_BY_CPU;
    }
    /* Arena memory that mimalloc decommits is held back for reuse (core/decommit.h). */
    if (kms_nclasses > 0 || kms_access_on) kms_decommit_setup();
    /* Access mode takes the full path: it allocates by callsite. */
    kms_fast_enable(!kms_routes.has_rules && !kms_access_on &&
                        kms_target_class[kms_routes.above] != KMS_CLASS_BY_CPU &&
                        kms_target_class[kms_routes.below] != KMS_CLASS_BY_CPU,
                    kms_stats_on, kms_stats_period, kms_routes.threshold, kms_routes.below,
                    kms_routes.above);

    kms_bypass_leave(&kms_self);
    __atomic_store_n(&kms_state, KMS_STATE_READY, __ATOMIC_RELEASE);
}
