/* SPDX-License-Identifier: MIT */
/* The settings a rules file and the environment share: policy (KMEM_POLICY),
 * nodes (KMEM_NODES), threshold (KMEM_THRESHOLD) and stats (KMEM_STATS). One
 * parser each, used by both readers (policy/config.c for the environment,
 * policy/rules_grammar.c for the file), so that a value means the same
 * wherever it is written and is refused with the same words; each reader
 * frames the message with where the value came from. */
#ifndef KMS_POLICY_SETTINGS_H
#define KMS_POLICY_SETTINGS_H
#include "core/nodeset.h"

#include <stddef.h>
#include <stdint.h>

/* What a size is, in messages (the threshold, the rules' size clauses, other sizes). */
#define KMS_SIZE_WORDS "a size such as 4096, 64K, 1M, 2G or 1T"

enum kms_setting_id {
    KMS_SETTING_POLICY,
    KMS_SETTING_NODES,
    KMS_SETTING_THRESHOLD,
    KMS_SETTING_STATS,
    KMS_SETTING_COUNT
};

struct kms_setting {
    const char *word;     /* the rules file's keyword */
    const char *var;      /* the environment variable */
    const char *expected; /* what a value is, for messages ("a policy (dax_kmem, ...)") */
};
extern const struct kms_setting kms_settings[KMS_SETTING_COUNT];

/* Where a report goes, as KMEM_STATS and the file's stats line say it. */
enum kms_report_to { KMS_REPORT_OFF, KMS_REPORT_STDERR, KMS_REPORT_PATH };

struct kms_setting_value {
    int policy;                /* KMS_SETTING_POLICY: a target */
    struct kms_nodeset nodes;  /* KMS_SETTING_NODES */
    uint64_t size;             /* KMS_SETTING_THRESHOLD */
    enum kms_report_to report; /* KMS_SETTING_STATS: the path is the value itself */
};

/* Parses exactly v[0..n) as setting id into *out. Returns 0, or -1 with the
 * reason in why[] ("" when the value is simply not one of the setting's words)
 * and, in *bad, the offset in v the reason is about. */
int kms_setting_parse(enum kms_setting_id id, const char *v, size_t n,
                      struct kms_setting_value *out, char *why, size_t whylen, size_t *bad);

/* The words of a switch, as other allocators' variables take them
 * (MIMALLOC_SHOW_STATS=1): 1 for 1, yes, on, true; 0 for 0, no, off, false
 * (any case); -1 for anything else. */
int kms_switch_parse(const char *v, size_t n);

#endif
