/* SPDX-License-Identifier: MIT */
/* Rules: the kmemrc file (KMEMRC=path) and KMEM_RULES (';'-separated routes).
 *
 * Grammar (design.md, "Rules file grammar"):
 *     policy    dax_kmem|kmem_all|preferred
 *     nodes     2,3 | 2-5
 *     threshold SIZE
 *     stats     stderr|PATH
 *     default   TARGET
 *     route TARGET [size OP SIZE | size LOW..HIGH] [caller PATTERN [depth N]]
 * KMEM_RULES holds route clauses only (settings have their own variables).
 *
 * Rules are kept in precedence order: parse KMEM_RULES first, then the file,
 * into the same ruleset, and the first rule that matches wins. */
#ifndef KMS_POLICY_RULES_H
#define KMS_POLICY_RULES_H
#include "core/nodeset.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define KMS_RULES_MAX_LINE 4096               /* bytes of one line (or one KMEM_RULES rule) */
#define KMS_RULES_MAX_FILE (4u * 1024 * 1024) /* bytes of a rules file */
#define KMS_RULES_MAX_DEPTH 64                /* frames a "depth N" rule may look at */
#define KMS_RULES_MAX_ERRORS 10               /* messages kept; the rest are only counted */
#define KMS_ORIGIN_MAX 96                     /* "file:line", the path cut from the left */

enum kms_caller_kind {
    KMS_CALLER_NONE = 0,
    KMS_CALLER_SYMBOL, /* MODULE:FUNCTION, globs on both sides */
    KMS_CALLER_OFFSET, /* MODULE+0xOFFSET, glob on the module */
};

/* One route, compact: 1,000 of them are parsed by every process that starts.
 * The patterns point into the text of their source (rs->sources), where the
 * parser ends each with a NUL in place: no copy or allocation per rule. */
struct kms_rule {
    uint64_t size_lo;        /* inclusive; 0 without a size condition */
    uint64_t size_hi;        /* inclusive; UINT64_MAX without a size condition */
    const char *module_glob; /* basename glob ("*" = any); NULL without a caller */
    const char *func_glob;   /* symbol glob; NULL unless KMS_CALLER_SYMBOL */
    uint64_t offset;         /* KMS_CALLER_OFFSET: return address - module load bias */
    uint32_t line;           /* the route keyword's line (a file) or column (KMEM_RULES) */
    uint16_t source;         /* index in the ruleset's sources */
    int8_t target;           /* enum kms_target, KMS_TARGET_KMEM included */
    uint8_t caller_kind;     /* enum kms_caller_kind */
    uint8_t has_size;        /* a size condition was written (it may still be 0..max) */
    uint8_t has_caller;      /* caller_kind != KMS_CALLER_NONE */
    uint8_t depth;           /* "depth N" as written (1..64); 0 = not given = direct caller */
};

/* Where rules came from: one per kms_rules_parse call that kept a rule. */
struct kms_rules_source {
    char *name; /* the file path, or "KMEM_RULES" */
    char *text; /* the parsed text with NULs ending the patterns; NULL if none */
    int env;    /* KMS_RULES_ENV: rules are located by column */
};

/* How many innermost frames a rule looks at (1 = the direct caller only). */
static inline unsigned kms_rule_frames(const struct kms_rule *r) { return r->depth ? r->depth : 1; }

/* Whether a rule's caller names a function, which only the module's symbol
 * tables (libelf) can tell; a function glob of "*" matches without them. */
static inline int kms_rule_needs_symbols(const struct kms_rule *r)
{
    return r->has_caller && r->caller_kind == KMS_CALLER_SYMBOL && strcmp(r->func_glob, "*") != 0;
}

static inline int kms_rule_size_matches(const struct kms_rule *r, uint64_t size)
{
    return size >= r->size_lo && size <= r->size_hi;
}

struct kms_ruleset {
    struct kms_rule *rules; /* precedence order */
    size_t count, cap;
    struct kms_rules_source *sources;
    size_t nsources;

    /* Settings, from the file only. */
    int policy;                        /* KMS_TARGET_DAX_KMEM/KMEM_ALL/PREFERRED, -1 unset */
    char *nodes;                       /* as written ("2,3", "2-5"); NULL unset */
    struct kms_nodeset node_set;       /* the same, parsed */
    char nodes_origin[KMS_ORIGIN_MAX]; /* "file:line:column" of the value, for later errors */
    int threshold_set;
    uint64_t threshold;
    char *stats;        /* "stderr" or a path; NULL unset */
    int default_target; /* enum kms_target, -1 unset */

    /* Diagnostics of every parse into this set, in order. Each is one line,
     * no trailing newline: "file:line:column: expected X, found Y". */
    char **errors;
    size_t nerrors;       /* messages kept (at most KMS_RULES_MAX_ERRORS) */
    size_t nerrors_total; /* all errors, kept or not */
    int oom;              /* an allocation failed: the set is incomplete */

    /* private: lines of the settings, to report duplicates */
    unsigned line_of_[5];
};

enum kms_rules_mode {
    KMS_RULES_FILE, /* one rule or setting per line, errors "origin:line:column" */
    KMS_RULES_ENV,  /* ';'-separated routes, errors "origin:column" */
};

void kms_ruleset_init(struct kms_ruleset *rs);
void kms_ruleset_free(struct kms_ruleset *rs);

/* Parses buf[0..len) (NULs and all) and appends its rules to rs. origin is
 * the file path or "KMEM_RULES". Returns the number of errors found by this
 * call (0 = clean); every one is appended to rs->errors. Never aborts. */
size_t kms_rules_parse(struct kms_ruleset *rs, const char *buf, size_t len, const char *origin,
                       enum kms_rules_mode mode);

/* "file:line" or "KMEM_RULES:column" of a rule, the path cut from the left
 * to fit KMS_ORIGIN_MAX; returns buf. */
const char *kms_rule_origin(const struct kms_ruleset *rs, const struct kms_rule *r,
                            char buf[KMS_ORIGIN_MAX]);

/* Reads and parses a rules file. An unreadable, missing or oversized file is
 * one error naming the path. Returns the number of errors. */
size_t kms_rules_load(struct kms_ruleset *rs, const char *path);

/* One line: "3 routes (1 by size, 1 by caller, 1 by size and caller; 1 with
 * depth); policy preferred; nodes 2,3; threshold 1M; stats stderr; default dram".
 * Returns what snprintf would (the full length). */
int kms_ruleset_summary(const struct kms_ruleset *rs, char *buf, size_t buflen);

/* Where the requests that no route matches go, as kms_routes_build places
 * them with the set's own threshold (KMEM_THRESHOLD, when set, replaces it):
 * "dram (the default line)", "kmem from 1M up (threshold), dram below (no
 * default line)", "kmem, every size (no route, no default line and no
 * threshold)". Returns what snprintf would (the full length). */
int kms_ruleset_unmatched(const struct kms_ruleset *rs, char *buf, size_t buflen);

/* The rule in the grammar's canonical form ("route kmem size >= 1M caller
 * app:f depth 2"); parsing it again gives the same rule. snprintf's return. */
int kms_rule_format(const struct kms_rule *r, char *buf, size_t buflen);

/* '*' (any run) and '?' (one byte); everything else is literal. Linear time. */
int kms_glob_match(const char *pat, const char *s);

#endif
