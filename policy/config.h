/* SPDX-License-Identifier: MIT */
/* The shim's configuration, read from the KMEM_* environment variables (and,
 * through the rules parser, from KMEM_RULES and the KMEMRC file). */
#ifndef KMS_POLICY_CONFIG_H
#define KMS_POLICY_CONFIG_H
#include "core/nodeset.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

/* KMEM_PROFILE=1: the profile's file, in the working directory of the start-up. */
#define KMS_PROFILE_DEFAULT_NAME "kmemshim.%p.profile"

enum kms_nodes_source {
    KMS_NODES_NONE = 0,
    KMS_NODES_ENV,         /* KMEM_NODES */
    KMS_NODES_MEMKIND_ENV, /* MEMKIND_DAX_KMEM_NODES */
    KMS_NODES_FILE,        /* "nodes" in the rules file */
    KMS_NODES_DAXCTL,      /* detected through libdaxctl */
    KMS_NODES_DETECTED,    /* detected by the KMEM_DETECT sources (dax devices, tiers, HMAT) */
};

struct kms_config {
    int kmem_policy; /* what "kmem" means: KMS_TARGET_DAX_KMEM (default), KMEM_ALL, PREFERRED */
    bool policy_set;
    bool threshold_set;
    uint64_t threshold;
    bool nodes_set;
    struct kms_nodeset nodes;
    int nodes_source;
    bool strict;
    unsigned detect;     /* KMEM_DETECT: enum kms_detect_source mask, default all */
    bool movable;        /* KMEM_MOVABLE=1: KMEM targets leave pages to the kernel's tiering */
    uint64_t arena_size; /* KMEM_ARENA_SIZE: cap of one reservation, 0 = sized from the node set */
    const char *rules;   /* KMEM_RULES, or NULL */
    const char *rcfile;  /* KMEMRC, or NULL (also NULL in secure-execution mode) */
    const char *stats;   /* KMEM_STATS: "stderr", a path, or NULL for no report */
    bool stats_set;      /* KMEM_STATS is set (to off, too): the rules file's stats is not used */
    const char *profile; /* KMEM_PROFILE */
    bool stats_sample_set;
    uint64_t stats_sample; /* KMEM_STATS_SAMPLE: mean bytes between sampled blocks, 0 = all */
    unsigned access_ms;    /* KMEM_ACCESS: access sampling interval in ms, 0 = off */
    unsigned access_cost;  /* KMEM_ACCESS_COST: percent of a core and of the program's time
                              the sampling may cost before its interval grows; 0: never */
    bool tier;             /* KMEM_DRAM_BUDGET is set: runtime tiering */
    uint64_t dram_budget;  /* KMEM_DRAM_BUDGET: bytes of DRAM the tracked groups may hold */
    uint64_t tier_rate;    /* KMEM_TIER_RATE: bytes per second moved at most */
    const char *timeline;  /* KMEM_TIMELINE: a row per interval and group, or NULL */
    bool secure;           /* AT_SECURE: variables that name files were ignored */
    bool profile_default;  /* KMEM_PROFILE=1: profile is the default name, printed at exit */
    bool asked;   /* a KMEM_* variable (or MEMKIND_DAX_KMEM_NODES) is set: this process asked
                     for placement or a report, so a degraded placement is worth a warning */
    bool quiet;   /* KMEM_QUIET: no warnings (errors still stop the program with a message) */
    bool version; /* KMEM_VERSION: print the library's version at start-up */
    char profile_buf[PATH_MAX]; /* storage for the default profile name */
};

/* Reads the environment (envp: NULL-terminated, usually environ). On a bad value
 * returns -1 with one message in err naming the variable, the value found and
 * what is accepted. Warnings (unknown KMEM_* names, ignored file variables in
 * secure mode) are appended to warn, one per line. */
int kms_config_from_env(char *const *envp, struct kms_config *c, char *err, size_t errlen,
                        char *warn, size_t warnlen);
const char *kms_nodes_source_name(int source);
/* What a report variable's value (KMEM_STATS, the rules file's stats) asks for: NULL for
 * 0, no, off or false (no report), "stderr" for stderr, 1, yes, on or true, else the value
 * itself, a path. */
const char *kms_config_report_dest(const char *value);

/* The rules file's settings (policy, threshold, nodes, stats) where the environment set none. */
struct kms_ruleset;
void kms_config_merge_rules(struct kms_config *c, const struct kms_ruleset *rs);

/* KMEM_DETECT: "daxctl,tiers,hmat" (any subset of the KMS_DETECT_* bits,
 * comma-separated, or "all"). Returns the mask, or -1 with the unknown word in why. */
int kms_detect_parse(const char *s, char *why, size_t whylen);
/* "daxctl,tiers,hmat" for a mask. */
void kms_detect_format(unsigned mask, char *buf, size_t len);

/* KMEM_ACCESS's (and kmemshim run --interval's) value: milliseconds, digits
 * with an optional "ms". Returns 0, or -1 outside the range or syntax. */
#define KMS_ACCESS_MS_MIN 10
#define KMS_ACCESS_MS_MAX 60000
#define KMS_ACCESS_MS_DEFAULT 100
#define KMS_ACCESS_COST_DEFAULT 5
int kms_access_interval_parse(const char *v, unsigned *ms);

/* KMEM_TIER_RATE's default and least value: bytes per second. */
#define KMS_TIER_RATE_DEFAULT (256ull << 20)
#define KMS_TIER_RATE_MIN (1ull << 20)

#endif
