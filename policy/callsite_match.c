/* SPDX-License-Identifier: MIT */
#include "policy/callsite_match.h"

#include <string.h>

int kms_rule_module_matches(const struct kms_rule *r, const char *name, const char *alt)
{
    return kms_glob_match(r->module_glob, name) || (alt && kms_glob_match(r->module_glob, alt));
}

static int glob_cb(const char *name, void *pattern) { return kms_glob_match(pattern, name); }

int kms_callsite_matches(const struct kms_rule *r, const struct kms_callsite *cs)
{
    if (!r->has_caller) return 1;
    if (!cs->module || !kms_rule_module_matches(r, cs->module, cs->module_alt)) return 0;
    if (r->caller_kind == KMS_CALLER_OFFSET) return cs->offset == r->offset;
    if (!kms_rule_needs_symbols(r)) return 1;
    return kms_callsite_each_symbol(cs, glob_cb, (void *)r->func_glob);
}
