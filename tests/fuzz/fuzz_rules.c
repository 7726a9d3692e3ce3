/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the rules parser. The first byte picks what is fuzzed:
 * 'e' KMEM_RULES, 'g' the glob matcher (against fnmatch), anything else a
 * rules file; the rest is the input. Beyond "no crash, no leak, no UB" it
 * checks that every rule prints in a form that parses back to itself. */
#include "policy/rules.h"

#include <fnmatch.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) __builtin_trap();                                                             \
    } while (0)

static void fuzz_glob(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    if (!nl || memchr(data, '\0', size) || size > 256) return;
    size_t plen = (size_t)(nl - data);
    char pat[257], str[257];
    memcpy(pat, data, plen);
    pat[plen] = '\0';
    memcpy(str, nl + 1, size - plen - 1);
    str[size - plen - 1] = '\0';
    int got = kms_glob_match(pat, str);
    /* fnmatch agrees where its extra syntax ('[' classes) is absent; it
     * backtracks exponentially, so only a few stars are compared. */
    size_t stars = 0;
    for (size_t i = 0; i < plen; i++)
        stars += pat[i] == '*';
    if (!strchr(pat, '[') && stars <= 4) CHECK(got == (fnmatch(pat, str, FNM_NOESCAPE) == 0));
}

static void check_rule(const struct kms_ruleset *rs, const struct kms_rule *r)
{
    char text[KMS_RULES_MAX_LINE * 2], origin[KMS_ORIGIN_MAX];
    CHECK(strlen(kms_rule_origin(rs, r, origin)) < KMS_ORIGIN_MAX);
    CHECK(r->size_lo <= r->size_hi);
    CHECK(r->has_size || (r->size_lo == 0 && r->size_hi == UINT64_MAX));
    CHECK(r->has_caller == (r->caller_kind != KMS_CALLER_NONE));
    CHECK(r->depth <= KMS_RULES_MAX_DEPTH);
    CHECK(r->depth == 0 || r->has_caller);
    CHECK(!r->has_caller || (r->module_glob && *r->module_glob));
    CHECK((r->caller_kind == KMS_CALLER_SYMBOL) == (r->func_glob != NULL));
    int n = kms_rule_format(r, text, sizeof(text));
    CHECK(n > 0 && (size_t)n < sizeof(text) && strlen(text) == (size_t)n);

    /* Round trip: the canonical form is a rule file line giving the same rule. */
    struct kms_ruleset again;
    kms_ruleset_init(&again);
    CHECK(kms_rules_parse(&again, text, (size_t)n, "again", KMS_RULES_FILE) == 0);
    CHECK(again.count == 1);
    const struct kms_rule *a = &again.rules[0];
    CHECK(a->target == r->target && a->size_lo == r->size_lo && a->size_hi == r->size_hi &&
          a->caller_kind == r->caller_kind && a->offset == r->offset && a->depth == r->depth);
    if (r->module_glob) CHECK(strcmp(a->module_glob, r->module_glob) == 0);
    if (r->func_glob) CHECK(strcmp(a->func_glob, r->func_glob) == 0);
    char text2[sizeof(text)];
    kms_rule_format(a, text2, sizeof(text2));
    CHECK(strcmp(text, text2) == 0);
    kms_ruleset_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    if (data[0] == 'g') {
        fuzz_glob(data + 1, size - 1);
        return 0;
    }
    int env = data[0] == 'e';
    struct kms_ruleset rs;
    kms_ruleset_init(&rs);
    /* An exact-size copy, so reading past the end is caught by ASan. */
    size_t len = size - 1;
    char *buf = malloc(len ? len : 1);
    memcpy(buf, data + 1, len);
    const char *origin = env ? "KMEM_RULES" : "fuzz.rc";
    size_t errors = kms_rules_parse(&rs, buf, len, origin, env ? KMS_RULES_ENV : KMS_RULES_FILE);
    free(buf);

    CHECK(errors == rs.nerrors_total);
    CHECK(rs.nerrors <= KMS_RULES_MAX_ERRORS && rs.nerrors <= rs.nerrors_total);
    for (size_t i = 0; i < rs.nerrors; i++) {
        /* Every message names where (FILE:LINE:COLUMN, or KMEM_RULES, column N:), then
         * says what was expected. */
        CHECK(strncmp(rs.errors[i], origin, strlen(origin)) == 0);
        CHECK(rs.errors[i][strlen(origin)] == (env ? ',' : ':'));
        CHECK(strstr(rs.errors[i], ": expected ") != NULL);
        CHECK(strchr(rs.errors[i], '\n') == NULL);
    }
    for (size_t i = 0; i < rs.count; i++)
        check_rule(&rs, &rs.rules[i]);
    if (env)
        CHECK(rs.policy == -1 && !rs.nodes && !rs.threshold_set && !rs.stats &&
              rs.default_target == -1);

    char big[4096], small[16];
    int n = kms_ruleset_summary(&rs, big, sizeof(big));
    CHECK(n >= 0);
    CHECK(kms_ruleset_summary(&rs, small, sizeof(small)) == n);
    CHECK(strlen(small) == ((size_t)n < sizeof(small) ? (size_t)n : sizeof(small) - 1));
    kms_ruleset_free(&rs);
    return 0;
}
