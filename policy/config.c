#include "policy/config.h"

#include "core/size.h"
#include "core/target.h"
#include "core/tiers.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

#define SIZE_HINT "a size such as 4096, 64K, 1M, 2G or 1T"

static const char *const known_vars[] = {
    "KMEM_POLICY", "KMEM_THRESHOLD", "KMEM_RULES",   "KMEMRC",          "KMEM_NODES",
    "KMEM_STRICT", "KMEM_STATS",     "KMEM_PROFILE", "KMEM_ARENA_SIZE", "KMEM_STATS_SAMPLE",
    "KMEM_DETECT", "KMEM_MOVABLE",   NULL,
};

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

static void append(char *buf, size_t len, const char *fmt, ...)
{
    size_t used = strlen(buf);
    va_list ap;
    if (used >= len) return;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

static int parse_size_var(char *const *envp, const char *var, uint64_t *out, bool *set, char *err,
                          size_t errlen)
{
    const char *v = lookup(envp, var);
    const char *why;
    if (!v) return 0;
    if (kms_parse_size(v, strlen(v), out, &why) < 0)
        return bad(err, errlen, var, v, "%s; expected " SIZE_HINT, why);
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

    if ((v = lookup(envp, "KMEM_POLICY"))) {
        int p = kms_policy_parse(v, strlen(v));
        if (p == KMS_TARGET_INVALID)
            return bad(err, errlen, "KMEM_POLICY", v, "unknown policy; expected " KMS_POLICY_WORDS);
        c->kmem_policy = p;
        c->policy_set = true;
    }
    if (parse_size_var(envp, "KMEM_THRESHOLD", &c->threshold, &c->threshold_set, err, errlen) < 0)
        return -1;
    if (parse_size_var(envp, "KMEM_ARENA_SIZE", &c->arena_size, NULL, err, errlen) < 0) return -1;
    if (lookup(envp, "KMEM_ARENA_SIZE") && c->arena_size < (64ull << 20))
        return bad(err, errlen, "KMEM_ARENA_SIZE", lookup(envp, "KMEM_ARENA_SIZE"),
                   "too small; expected at least 64M");

    if (parse_size_var(envp, "KMEM_STATS_SAMPLE", &c->stats_sample, &c->stats_sample_set, err,
                       errlen) < 0)
        return -1;
    if (c->stats_sample > (1ull << 30))
        return bad(err, errlen, "KMEM_STATS_SAMPLE", lookup(envp, "KMEM_STATS_SAMPLE"),
                   "too large; expected 0 (every block) up to 1G");

    const char *nodes_var = "KMEM_NODES";
    int source = KMS_NODES_ENV;
    if (!(v = lookup(envp, nodes_var))) {
        nodes_var = "MEMKIND_DAX_KMEM_NODES";
        source = KMS_NODES_MEMKIND_ENV;
        v = lookup(envp, nodes_var);
    }
    if (v) {
        char why[128];
        if (kms_nodeset_parse(v, &c->nodes, why, sizeof(why)) < 0)
            return bad(err, errlen, nodes_var, v, "%s; expected a node list such as 2,3 or 2-5",
                       why);
        c->nodes_set = true;
        c->nodes_source = source;
    }

    if ((v = lookup(envp, "KMEM_STRICT"))) {
        if (strcmp(v, "1") == 0)
            c->strict = true;
        else if (strcmp(v, "0") != 0)
            return bad(err, errlen, "KMEM_STRICT", v, "expected 1 (stop on problems) or 0");
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
    if ((v = lookup(envp, "KMEM_MOVABLE"))) {
        if (strcmp(v, "1") == 0)
            c->movable = true;
        else if (strcmp(v, "0") != 0)
            return bad(err, errlen, "KMEM_MOVABLE", v,
                       "expected 1 (leave KMEM pages to the kernel's tiering) or 0");
    }

    if ((v = lookup(envp, "KMEM_RULES"))) {
        if (*v == '\0')
            return bad(err, errlen, "KMEM_RULES", v,
                       "empty; expected rules such as "
                       "'route kmem size >= 1M'");
        c->rules = v;
    }

    /* A setuid program (or a system-wide install) must not read or write a file
     * its caller chose: glibc ignores MALLOC_TRACE for the same reason. */
    c->secure = getauxval(AT_SECURE) != 0;
    static const char *const file_vars[] = {"KMEMRC", "KMEM_STATS", "KMEM_PROFILE"};
    const char **dest[] = {&c->rcfile, &c->stats, &c->profile};
    char ignored[64] = "";
    for (int i = 0; i < 3; i++) {
        if (!(v = lookup(envp, file_vars[i]))) continue;
        if (*v == '\0')
            return bad(err, errlen, file_vars[i], v,
                       i == 1 ? "empty; expected stderr or a path" : "empty; expected a path");
        if (c->secure) {
            snprintf(ignored + strlen(ignored), sizeof(ignored) - strlen(ignored), "%s%s",
                     ignored[0] ? ", " : "", file_vars[i]);
            continue;
        }
        *dest[i] = v;
    }
    if (ignored[0])
        append(warn, warnlen,
               "%s ignored: secure-execution mode (setuid program or system-wide preload) "
               "does not read or write files named by the environment\n",
               ignored);

    for (char *const *e = envp; e && *e; e++) {
        if (strncmp(*e, "KMEM", 4) != 0) continue;
        const char *eq = strchr(*e, '=');
        size_t n = eq ? (size_t)(eq - *e) : strlen(*e);
        bool known = false;
        for (int i = 0; known_vars[i]; i++)
            if (strlen(known_vars[i]) == n && strncmp(known_vars[i], *e, n) == 0) known = true;
        if (!known && (strncmp(*e, "KMEM_", 5) == 0 || strncmp(*e, "KMEMRC", 6) == 0))
            append(warn, warnlen,
                   "unknown variable %.*s ignored (known: KMEM_POLICY, KMEM_THRESHOLD, "
                   "KMEM_RULES, KMEMRC, KMEM_NODES, KMEM_STRICT, KMEM_STATS, KMEM_PROFILE, "
                   "KMEM_STATS_SAMPLE, KMEM_ARENA_SIZE, KMEM_DETECT, KMEM_MOVABLE)\n",
                   (int)n, *e);
    }
    return 0;
}
