/* SPDX-License-Identifier: MIT */
#include "policy/config.h"

#include "policy/settings.h"

#include "policy/rules.h"

#include "core/size.h"
#include "core/target.h"
#include "core/tiers.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/auxv.h>
#include <unistd.h>

#define ARENA_HINT "a size of at least 64M, such as 64M, 1G or 1T"
#define SAMPLE_HINT "0 (every block) or a size up to 1G, such as 4096, 64K or 1M"

/* The variables that ask for placement or a report: with one of them set, a degraded
 * placement is reported (struct kms_config.asked). KMEM_QUIET, KMEM_VERSION and KMEM_DETECT
 * ask for neither, so a system-wide install that sets only those stays silent. */
static const char *const asking_vars[] = {
    "KMEM_POLICY",      "KMEM_THRESHOLD",
    "KMEM_RULES",       "KMEMRC",
    "KMEM_NODES",       "KMEM_STRICT",
    "KMEM_STATS",       "KMEM_PROFILE",
    "KMEM_ARENA_SIZE",  "KMEM_STATS_SAMPLE",
    "KMEM_ACCESS",      "MEMKIND_DAX_KMEM_NODES",
    "KMEM_MOVABLE",     "KMEM_DRAM_BUDGET",
    "KMEM_TIER_RATE",   "KMEM_TIMELINE",
    "KMEM_ACCESS_COST", NULL,
};
/* KMEM_DETECT says how to look for KMEM nodes, not that placement is wanted. */
static const char *const other_vars[] = {"KMEM_QUIET", "KMEM_VERSION", "KMEM_DETECT", NULL};

#define BOOL_WORDS "1, yes, on, true or 0, no, off, false"

const char *kms_config_report_dest(const char *value)
{
    struct kms_setting_value sv;
    char why[8];
    size_t at;
    if (kms_setting_parse(KMS_SETTING_STATS, value, strlen(value), &sv, why, sizeof(why), &at) <
            0 ||
        sv.report == KMS_REPORT_PATH)
        return value;
    return sv.report == KMS_REPORT_OFF ? NULL : "stderr";
}

static int parse_switch(const char *v) { return kms_switch_parse(v, strlen(v)); }

static bool listed(const char *const *names, const char *var, size_t n)
{
    for (int i = 0; names[i]; i++)
        if (strlen(names[i]) == n && strncmp(names[i], var, n) == 0) return true;
    return false;
}

int kms_access_interval_parse(const char *v, unsigned *ms)
{
    char *end;
    if (*v < '0' || *v > '9') return -1;
    unsigned long n = strtoul(v, &end, 10);
    if (strcmp(end, "ms") != 0 && *end) return -1;
    if (n < KMS_ACCESS_MS_MIN || n > KMS_ACCESS_MS_MAX) return -1;
    *ms = (unsigned)n;
    return 0;
}

const char *kms_nodes_source_name(int source)
{
    switch (source) {
    case KMS_NODES_ENV: return "environment (KMEM_NODES)";
    case KMS_NODES_MEMKIND_ENV: return "environment (MEMKIND_DAX_KMEM_NODES)";
    case KMS_NODES_FILE: return "rules file (nodes)";
    case KMS_NODES_DAXCTL: return "libdaxctl";
    case KMS_NODES_DETECTED: return "detected";
    default: return "none";
    }
}

static const char *lookup(char *const *envp, const char *name)
{
    size_t n = strlen(name);
    for (char *const *e = envp; e && *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') return *e + n + 1;
    return NULL;
}

static int bad(char *err, size_t errlen, const char *var, const char *val, const char *fmt, ...)
{
    va_list ap;
    int w = snprintf(err, errlen, "%s='%s': ", var, val);
    va_start(ap, fmt);
    if (w > 0 && (size_t)w < errlen) vsnprintf(err + w, errlen - (size_t)w, fmt, ap);
    va_end(ap);
    return -1;
}

/* A shared setting's value refused (policy/settings.h), under the variable var. */
static int bad_setting(char *err, size_t errlen, const char *var, enum kms_setting_id id,
                       const char *val, const char *why)
{
    return bad(err, errlen, var, val, "%s%sexpected %s", why, why[0] ? "; " : "",
               kms_settings[id].expected);
}

/* Parses v, the value of var, as the shared setting id: 1 with *out, -1 with err. */
static int setting_value(const char *var, const char *v, enum kms_setting_id id,
                         struct kms_setting_value *out, char *err, size_t errlen)
{
    char why[128];
    size_t at;
    if (kms_setting_parse(id, v, strlen(v), out, why, sizeof(why), &at) < 0)
        return bad_setting(err, errlen, var, id, v, why);
    return 1;
}

/* Reads the shared setting id from var, if set: 1 with *out, 0 when unset, -1 with err. */
static int setting_var(char *const *envp, const char *var, enum kms_setting_id id,
                       struct kms_setting_value *out, char *err, size_t errlen)
{
    const char *v = lookup(envp, var);
    return v ? setting_value(var, v, id, out, err, errlen) : 0;
}

static void append(char *buf, size_t len, const char *fmt, ...)
{
    size_t used = strlen(buf);
    va_list ap;
    if (used >= len) return;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

/* hint: what the variable accepts, for the message of a value that is not a size. */
static int parse_size_var(char *const *envp, const char *var, const char *hint, uint64_t *out,
                          bool *set, char *err, size_t errlen)
{
    const char *v = lookup(envp, var);
    const char *why;
    if (!v) return 0;
    if (kms_parse_size(v, strlen(v), out, &why) < 0)
        return bad(err, errlen, var, v, "%s; expected %s", why, hint);
    if (set) *set = true;
    return 0;
}

int kms_config_from_env(char *const *envp, struct kms_config *c, char *err, size_t errlen,
                        char *warn, size_t warnlen)
{
    const char *v;
    memset(c, 0, sizeof(*c));
    c->kmem_policy = KMS_TARGET_DAX_KMEM;
    if (warn && warnlen) warn[0] = '\0';
    /* Every variable read here starts with K or M (KMEM_*, KMEMRC, MEMKIND_*):
     * one pass keeps those, and each of the many lookups below then scans a
     * few entries instead of the whole environment (every process pays this
     * at start-up). With more than fit, the whole environment is scanned. */
    char *mine[64];
    size_t nmine = 0;
    char *const *e = envp;
    for (; e && *e && nmine + 1 < sizeof(mine) / sizeof(mine[0]); e++)
        if ((*e)[0] == 'K' || (*e)[0] == 'M') mine[nmine++] = *e;
    if (!e || !*e) {
        mine[nmine] = NULL;
        envp = mine;
    }

    struct kms_setting_value sv;
    int got;
    if ((got = setting_var(envp, "KMEM_POLICY", KMS_SETTING_POLICY, &sv, err, errlen)) < 0)
        return -1;
    if (got) {
        c->kmem_policy = sv.policy;
        c->policy_set = true;
    }
    if ((got = setting_var(envp, "KMEM_THRESHOLD", KMS_SETTING_THRESHOLD, &sv, err, errlen)) < 0)
        return -1;
    if (got) {
        c->threshold = sv.size;
        c->threshold_set = true;
    }
    if (parse_size_var(envp, "KMEM_ARENA_SIZE", ARENA_HINT, &c->arena_size, NULL, err, errlen) < 0)
        return -1;
    if (lookup(envp, "KMEM_ARENA_SIZE") && c->arena_size < (64ull << 20))
        return bad(err, errlen, "KMEM_ARENA_SIZE", lookup(envp, "KMEM_ARENA_SIZE"),
                   "too small; expected at least 64M");

    if (parse_size_var(envp, "KMEM_STATS_SAMPLE", SAMPLE_HINT, &c->stats_sample,
                       &c->stats_sample_set, err, errlen) < 0)
        return -1;
    if (c->stats_sample > (1ull << 30))
        return bad(err, errlen, "KMEM_STATS_SAMPLE", lookup(envp, "KMEM_STATS_SAMPLE"),
                   "too large; expected " SAMPLE_HINT);

    const char *nodes_var = "KMEM_NODES";
    int source = KMS_NODES_ENV;
    if (!(v = lookup(envp, nodes_var))) {
        nodes_var = "MEMKIND_DAX_KMEM_NODES";
        source = KMS_NODES_MEMKIND_ENV;
        v = lookup(envp, nodes_var);
    }
    if ((got = setting_var(envp, nodes_var, KMS_SETTING_NODES, &sv, err, errlen)) < 0) return -1;
    if (got) {
        c->nodes = sv.nodes;
        c->nodes_set = true;
        c->nodes_source = source;
    }

    const struct {
        const char *var, *what;
        bool *dest;
    } switches[] = {
        {"KMEM_STRICT", "stop on problems", &c->strict},
        {"KMEM_QUIET", "no warnings", &c->quiet},
        {"KMEM_VERSION", "print the version", &c->version},
        {"KMEM_MOVABLE", "leave KMEM pages to the kernel's tiering", &c->movable},
    };
    for (size_t i = 0; i < sizeof(switches) / sizeof(switches[0]); i++) {
        if (!(v = lookup(envp, switches[i].var))) continue;
        int sw = parse_switch(v);
        if (sw < 0)
            return bad(err, errlen, switches[i].var, v, "expected " BOOL_WORDS " (%s)",
                       switches[i].what);
        *switches[i].dest = sw == 1;
    }

    c->detect = KMS_DETECT_ALL;
    if ((v = lookup(envp, "KMEM_DETECT"))) {
        char why[96];
        int m = kms_detect_parse(v, why, sizeof(why));
        if (m < 0)
            return bad(err, errlen, "KMEM_DETECT", v,
                       "%s; expected a comma-separated list of daxctl, tiers, hmat (or all)", why);
        c->detect = (unsigned)m;
    }

    if ((v = lookup(envp, "KMEM_RULES"))) {
        if (*v == '\0')
            return bad(err, errlen, "KMEM_RULES", v,
                       "empty; expected rules such as "
                       "'route kmem size >= 1M'");
        c->rules = v;
    }

    /* A setuid program must not read or write a file its caller chose: glibc ignores
     * MALLOC_TRACE for the same reason. The kernel sets AT_SECURE for setuid and setgid
     * programs and for file capabilities; /etc/ld.so.preload alone does not. */
    c->secure = getauxval(AT_SECURE) != 0;
    static const char *const file_vars[] = {"KMEMRC", "KMEM_STATS", "KMEM_PROFILE",
                                            "KMEM_TIMELINE"};
    const char **dest[] = {&c->rcfile, &c->stats, &c->profile, &c->timeline};
    char ignored[80] = "";
    for (int i = 0; i < 4; i++) {
        if (!(v = lookup(envp, file_vars[i]))) continue;
        if (i == 1) {
            c->stats_set = true;
            if (setting_value(file_vars[i], v, KMS_SETTING_STATS, &sv, err, errlen) < 0) return -1;
        }
        if (*v == '\0')
            return bad(err, errlen, file_vars[i], v,
                       i == 0 || i == 3
                           ? "empty; expected a path"
                           : "empty; expected 1 (kmemshim.%%p.profile), 0 (no profile) or a path");
        /* A switch word turns the report on or off; "off" asks for nothing, not even in
         * secure mode. */
        if (i > 0 && parse_switch(v) == 0) continue;
        if (i == 3 && parse_switch(v) == 1)
            return bad(err, errlen, file_vars[i], v, "expected a path (the timeline's file)");
        if (c->secure) {
            snprintf(ignored + strlen(ignored), sizeof(ignored) - strlen(ignored), "%s%s",
                     ignored[0] ? ", " : "", file_vars[i]);
            continue;
        }
        *dest[i] = v;
    }
    if (c->stats) c->stats = kms_config_report_dest(c->stats);
    if (c->profile && parse_switch(c->profile) == 1) {
        /* Absolute: the program may change directory before it exits. */
        char cwd[PATH_MAX - sizeof(KMS_PROFILE_DEFAULT_NAME) - 1];
        if (getcwd(cwd, sizeof(cwd)))
            snprintf(c->profile_buf, sizeof(c->profile_buf), "%s/%s",
                     strcmp(cwd, "/") == 0 ? "" : cwd, KMS_PROFILE_DEFAULT_NAME);
        else
            snprintf(c->profile_buf, sizeof(c->profile_buf), "%s", KMS_PROFILE_DEFAULT_NAME);
        c->profile = c->profile_buf;
        c->profile_default = true;
    }
    if (ignored[0])
        append(warn, warnlen,
               "%s ignored: secure-execution mode (setuid, setgid or file capabilities) "
               "does not read or write files named by the environment\n",
               ignored);

    if ((v = lookup(envp, "KMEM_ACCESS"))) {
        if (kms_access_interval_parse(v, &c->access_ms) < 0)
            return bad(err, errlen, "KMEM_ACCESS", v,
                       "expected the access sampling interval in milliseconds, %u to %u "
                       "(such as 100 or 100ms)",
                       KMS_ACCESS_MS_MIN, KMS_ACCESS_MS_MAX);
    }

    if ((v = lookup(envp, "KMEM_DRAM_BUDGET"))) {
        const char *why;
        if (kms_parse_size(v, strlen(v), &c->dram_budget, &why) < 0)
            return bad(err, errlen, "KMEM_DRAM_BUDGET", v,
                       "%s; expected the DRAM the tiered memory may use, " KMS_SIZE_WORDS, why);
        c->tier = true;
        if (c->movable)
            return bad(err, errlen, "KMEM_DRAM_BUDGET", v,
                       "runtime tiering moves pages itself, KMEM_MOVABLE=1 leaves them to the "
                       "kernel; expected one of the two");
    }
    c->tier_rate = KMS_TIER_RATE_DEFAULT;
    if ((v = lookup(envp, "KMEM_TIER_RATE"))) {
        const char *why;
        if (kms_parse_size(v, strlen(v), &c->tier_rate, &why) < 0)
            return bad(err, errlen, "KMEM_TIER_RATE", v,
                       "%s; expected the bytes moved per second at most, such as 64M or 1G", why);
        if (c->tier_rate < KMS_TIER_RATE_MIN)
            return bad(err, errlen, "KMEM_TIER_RATE", v,
                       "too small; expected at least 1M (bytes moved per second)");
        if (!c->tier)
            return bad(err, errlen, "KMEM_TIER_RATE", v,
                       "needs KMEM_DRAM_BUDGET, which turns runtime tiering on");
    }
    if (c->timeline && !c->tier)
        return bad(err, errlen, "KMEM_TIMELINE", c->timeline,
                   "needs KMEM_DRAM_BUDGET, which turns runtime tiering on");
    if (c->tier && !c->access_ms) c->access_ms = KMS_ACCESS_MS_DEFAULT;
    c->access_cost = KMS_ACCESS_COST_DEFAULT;
    if ((v = lookup(envp, "KMEM_ACCESS_COST"))) {
        char *end;
        unsigned long pct = strtoul(v, &end, 10);
        if (*v < '0' || *v > '9' || (*end && strcmp(end, "%") != 0) || pct > 100)
            return bad(err, errlen, "KMEM_ACCESS_COST", v,
                       "expected a percentage from 0 to 100 (such as 5 or 5%%; 0: the interval "
                       "never grows)");
        c->access_cost = (unsigned)pct;
    }

    for (char *const *e = envp; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        size_t n = eq ? (size_t)(eq - *e) : strlen(*e);
        if (listed(asking_vars, *e, n)) c->asked = true;
        if (strncmp(*e, "KMEM", 4) != 0 || listed(asking_vars, *e, n) || listed(other_vars, *e, n))
            continue;
        if (strncmp(*e, "KMEM_", 5) == 0 || strncmp(*e, "KMEMRC", 6) == 0) {
            /* A misspelt variable was meant to ask for something. */
            c->asked = true;
            append(warn, warnlen,
                   "unknown variable %.*s ignored (known: KMEM_POLICY, KMEM_THRESHOLD, "
                   "KMEM_RULES, KMEMRC, KMEM_NODES, KMEM_STRICT, KMEM_STATS, KMEM_PROFILE, "
                   "KMEM_STATS_SAMPLE, KMEM_ARENA_SIZE, KMEM_ACCESS, KMEM_ACCESS_COST, "
                   "KMEM_DRAM_BUDGET, "
                   "KMEM_TIER_RATE, KMEM_TIMELINE, KMEM_DETECT, KMEM_MOVABLE, KMEM_QUIET, "
                   "KMEM_VERSION)\n",
                   (int)n, *e);
        }
    }
    return 0;
}

/* Settings from the rules file, under the environment's. */
void kms_config_merge_rules(struct kms_config *c, const struct kms_ruleset *rs)
{
    if (!c->policy_set && rs->policy >= 0) {
        c->kmem_policy = rs->policy;
        c->policy_set = true;
    }
    if (!c->threshold_set && rs->threshold_set) {
        c->threshold = rs->threshold;
        c->threshold_set = true;
    }
    if (!c->nodes_set && rs->nodes) {
        c->nodes = rs->node_set;
        c->nodes_set = true;
        c->nodes_source = KMS_NODES_FILE;
    }
    if (!c->stats_set && rs->stats) c->stats = kms_config_report_dest(rs->stats);
}

static const struct {
    const char *word;
    unsigned mask;
} detect_words[] = {
    {"daxctl", KMS_DETECT_DAXCTL},
    {"tiers", KMS_DETECT_TIERS},
    {"hmat", KMS_DETECT_HMAT},
    {"all", KMS_DETECT_ALL},
};

int kms_detect_parse(const char *s, char *why, size_t whylen)
{
    unsigned mask = 0;
    const char *p = s;
    if (!*p) {
        snprintf(why, whylen, "empty");
        return -1;
    }
    for (;;) {
        size_t n = strcspn(p, ",");
        bool found = false;
        for (size_t i = 0; i < sizeof(detect_words) / sizeof(detect_words[0]); i++) {
            if (strlen(detect_words[i].word) == n && strncmp(detect_words[i].word, p, n) == 0) {
                mask |= detect_words[i].mask;
                found = true;
            }
        }
        if (!found) {
            snprintf(why, whylen, "unknown source '%.*s'", (int)(n > 40 ? 40 : n), p);
            return -1;
        }
        if (!p[n]) break;
        p += n + 1;
    }
    return (int)mask;
}

void kms_detect_format(unsigned mask, char *buf, size_t len)
{
    buf[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < 3; i++) {
        if (!(mask & detect_words[i].mask)) continue;
        int k = snprintf(buf + used, len - used, "%s%s", used ? "," : "", detect_words[i].word);
        if (k > 0 && (size_t)k < len - used) used += (size_t)k;
    }
    if (!used) snprintf(buf, len, "none");
}
