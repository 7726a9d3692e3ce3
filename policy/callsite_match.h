/* SPDX-License-Identifier: MIT */
/* Whether a rule's caller pattern matches a callsite (core/callsite.h):
 * MODULE+0xOFFSET exactly, or MODULE:FUNCTION by glob on the module's
 * basename (or the program's other name) and on any symbol covering it. */
#ifndef KMS_POLICY_CALLSITE_MATCH_H
#define KMS_POLICY_CALLSITE_MATCH_H
#include "core/callsite.h"
#include "policy/rules.h"

/* 1 when rule r's caller pattern matches cs, or when r has no caller
 * condition. Lock-free: resolve once, test every rule. A callsite that was
 * only located (kms_callsite_locate) matches no rule naming a function other
 * than "*": the caller resolves it first. */
int kms_callsite_matches(const struct kms_rule *r, const struct kms_callsite *cs);

/* 1 when rule r's module glob matches name, or alt (the program's other name, or NULL). */
int kms_rule_module_matches(const struct kms_rule *r, const char *name, const char *alt);

#endif
