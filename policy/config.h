/* The shim's configuration, read from the KMEM_* environment variables (and,
 * through the rules parser, from KMEM_RULES and the KMEMRC file). */
#ifndef KMS_POLICY_CONFIG_H
#define KMS_POLICY_CONFIG_H
#include "core/nodeset.h"

#include <stdbool.h>
#include <stdint.h>

enum kms_nodes_source {
    KMS_NODES_NONE = 0,
    KMS_NODES_ENV,         /* KMEM_NODES */
    KMS_NODES_MEMKIND_ENV, /* MEMKIND_DAX_KMEM_NODES */
    KMS_NODES_FILE,        /* "nodes" in the rules file */
    KMS_NODES_DAXCTL,      /* detected through libdaxctl */
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
    uint64_t arena_size; /* KMEM_ARENA_SIZE: cap of one reservation, 0 = sized from the node set */
    const char *rules;   /* KMEM_RULES, or NULL */
    const char *rcfile;  /* KMEMRC, or NULL (also NULL in secure-execution mode) */
    const char *stats;   /* KMEM_STATS */
    const char *profile; /* KMEM_PROFILE */
    bool stats_sample_set;
    uint64_t stats_sample; /* KMEM_STATS_SAMPLE: mean bytes between sampled blocks, 0 = all */
    unsigned access_ms;    /* KMEM_ACCESS: access sampling interval in ms, 0 = off */
    bool secure;           /* AT_SECURE: variables that name files were ignored */
};

/* Reads the environment (envp: NULL-terminated, usually environ). On a bad value
 * returns -1 with one message in err naming the variable, the value found and
 * what is accepted. Warnings (unknown KMEM_* names, ignored file variables in
 * secure mode) are appended to warn, one per line. */
int kms_config_from_env(char *const *envp, struct kms_config *c, char *err, size_t errlen,
                        char *warn, size_t warnlen);
const char *kms_nodes_source_name(int source);

/* KMEM_ACCESS's (and kmemshim run --interval's) value: milliseconds, digits
 * with an optional "ms". Returns 0, or -1 outside the range or syntax. */
#define KMS_ACCESS_MS_MIN 10
#define KMS_ACCESS_MS_MAX 60000
#define KMS_ACCESS_MS_DEFAULT 100
int kms_access_interval_parse(const char *v, unsigned *ms);

#endif
