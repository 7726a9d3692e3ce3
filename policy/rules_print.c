/* SPDX-License-Identifier: MIT */
/* Rules printed: the canonical form of a rule and the summary of a set. */
#include "core/size.h"
#include "core/target.h"
#include "policy/rules.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

struct out {
    char *buf;
    size_t len, pos; /* pos may pass len: the full length is still counted */
};

static void __attribute__((format(printf, 2, 3))) outf(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->pos < o->len ? o->len - o->pos : 0;
    int n = vsnprintf(room ? o->buf + o->pos : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0) o->pos += (size_t)n;
}

int kms_rule_format(const struct kms_rule *r, char *buf, size_t buflen)
{
    struct out o = {buf, buflen, 0};
    char a[32], b[32];
    if (buflen) buf[0] = '\0';
    outf(&o, "route %s", kms_target_name(r->target));
    if (r->has_size) {
        kms_format_size(r->size_lo, a, sizeof(a));
        kms_format_size(r->size_hi, b, sizeof(b));
        if (r->size_hi == UINT64_MAX)
            outf(&o, " size >= %s", a);
        else if (r->size_lo == 0)
            outf(&o, " size <= %s", b);
        else
            outf(&o, " size %s..%s", a, b);
    }
    if (r->caller_kind == KMS_CALLER_SYMBOL)
        outf(&o, " caller %s:%s", r->module_glob, r->func_glob);
    else if (r->caller_kind == KMS_CALLER_OFFSET)
        outf(&o, " caller %s+0x%llx", r->module_glob, (unsigned long long)r->offset);
    if (r->depth) outf(&o, " depth %u", r->depth);
    return (int)o.pos;
}

int kms_ruleset_summary(const struct kms_ruleset *rs, char *buf, size_t buflen)
{
    struct out o = {buf, buflen, 0};
    size_t by_size = 0, by_caller = 0, both = 0, none = 0, depth = 0;
    char s[32];
    if (buflen) buf[0] = '\0';
    for (size_t i = 0; i < rs->count; i++) {
        const struct kms_rule *r = &rs->rules[i];
        if (r->has_size && r->has_caller)
            both++;
        else if (r->has_size)
            by_size++;
        else if (r->has_caller)
            by_caller++;
        else
            none++;
        if (r->depth > 1) depth++;
    }
    outf(&o, "%zu route%s", rs->count, rs->count == 1 ? "" : "s");
    if (rs->count) {
        const char *sep = " (";
        if (by_size) {
            outf(&o, "%s%zu by size", sep, by_size);
            sep = ", ";
        }
        if (by_caller) {
            outf(&o, "%s%zu by caller", sep, by_caller);
            sep = ", ";
        }
        if (both) {
            outf(&o, "%s%zu by size and caller", sep, both);
            sep = ", ";
        }
        if (none) {
            outf(&o, "%s%zu unconditional", sep, none);
            sep = ", ";
        }
        if (depth) outf(&o, "; %zu with depth", depth);
        outf(&o, ")");
    }
    if (rs->policy >= 0) outf(&o, "; policy %s", kms_target_name(rs->policy));
    if (rs->nodes) outf(&o, "; nodes %s", rs->nodes);
    if (rs->threshold_set) {
        kms_format_size(rs->threshold, s, sizeof(s));
        outf(&o, "; threshold %s", s);
    }
    if (rs->stats) outf(&o, "; stats %s", rs->stats);
    if (rs->default_target >= 0) outf(&o, "; default %s", kms_target_name(rs->default_target));
    return (int)o.pos;
}

int kms_ruleset_unmatched(const struct kms_ruleset *rs, char *buf, size_t buflen)
{
    struct out o = {buf, buflen, 0};
    if (buflen) buf[0] = '\0';
    const char *deflt = rs->default_target >= 0 ? kms_target_name(rs->default_target) : "dram";
    const char *why = rs->default_target >= 0 ? "the default line" : "no default line";
    if (rs->threshold_set) {
        char s[32];
        kms_format_size(rs->threshold, s, sizeof(s));
        if (rs->threshold == 0)
            outf(&o, "kmem, every size (threshold 0)");
        else
            outf(&o, "kmem from %s up (threshold), %s below (%s)", s, deflt, why);
    } else if (rs->count || rs->default_target >= 0) {
        outf(&o, "%s (%s)", deflt, why);
    } else {
        outf(&o, "kmem, every size (no route, no default line and no threshold)");
    }
    return (int)o.pos;
}
