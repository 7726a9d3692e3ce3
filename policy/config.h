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
    const char *stats;   /* KMEM_STATS */
    const char *profile; /* KMEM_PROFILE */
    bool stats_sample_set;
    uint64_t stats_sample; /* KMEM_STATS_SAMPLE: mean bytes between sampled blocks, 0 = all */
    bool secure;           /* AT_SECURE: variables that name files were ignored */
};

/* Reads the environment (envp: NULL-terminated, usually environ). On a bad value
 * returns -1 with one message in err naming the variable, the value found and
 * what is accepted. Warnings (unknown KMEM_* names, ignored file variables in
 * secure mode) are appended to warn, one per line. */
int kms_config_from_env(char *const *envp, struct kms_config *c, char *err, size_t errlen,
                        char *warn, size_t warnlen);
const char *kms_nodes_source_name(int source);

#endif
