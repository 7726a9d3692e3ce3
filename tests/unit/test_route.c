/* SPDX-License-Identifier: MIT */
/* Building the route decision from the environment's rules: rules that look
 * only at sizes and split them at most once become a threshold (the
 * allocator's fast path), anything else stays a rule set; either way every
 * size goes where the rules say. Each test runs in its own process (Check's
 * fork mode): kms_routes is built once per process. */
#include "policy/config.h"
#include "policy/route.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const void *const caller = (const void *)0x401234;

/* Builds kms_routes from one variable (KMEM_RULES=... or KMEMRC=...) and
 * KMEM_THRESHOLD when threshold is given. */
static int build_env(const char *var, const char *threshold, char *err, size_t errlen)
{
    char threshold_var[64], warn[1024];
    char *envp[3] = {(char *)var, NULL, NULL};
    if (threshold) {
        snprintf(threshold_var, sizeof(threshold_var), "KMEM_THRESHOLD=%s", threshold);
        envp[1] = threshold_var;
    }
    static struct kms_config c;
    ck_assert_int_eq(kms_config_from_env(envp, &c, err, errlen, warn, sizeof(warn)), 0);
    return kms_routes_build(&c, err, errlen);
}

static void build(const char *rules, const char *threshold)
{
    static char rules_var[16384];
    char err[1024];
    snprintf(rules_var, sizeof(rules_var), "KMEM_RULES=%s", rules);
    ck_assert_msg(build_env(rules_var, threshold, err, sizeof(err)) == 0, "%s", err);
}

/* Builds from a rules file holding text (and KMEM_THRESHOLD when threshold). */
static void build_file(const char *text, const char *threshold)
{
    static char path[] = "/tmp/kms_test_route.XXXXXX";
    static char rc_var[64];
    char err[1024];
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    snprintf(rc_var, sizeof(rc_var), "KMEMRC=%s", path);
    int rc = build_env(rc_var, threshold, err, sizeof(err));
    unlink(path);
    ck_assert_msg(rc == 0, "%s", err);
}

START_TEST(default_alone_decides_every_size)
{
    /* What suggest writes when everything fits the budget: nothing may go to kmem. */
    build_file("# everything fits the budget: no rule needed\ndefault dram\n", NULL);
    ck_assert(!kms_routes.has_rules);
    ck_assert_int_eq(kms_route_decide(0, caller), KMS_TARGET_DRAM);
    ck_assert_int_eq(kms_route_decide(64 << 20, caller), KMS_TARGET_DRAM);
    ck_assert_int_eq(kms_route_decide(SIZE_MAX / 2, caller), KMS_TARGET_DRAM);
    ck_assert(kms_routes.uses[KMS_TARGET_DRAM]);
    ck_assert(!kms_routes.uses[KMS_TARGET_DAX_KMEM]);
}
END_TEST

START_TEST(default_alone_to_a_kmem_target)
{
    build_file("default kmem_all\n", NULL);
    ck_assert_int_eq(kms_route_decide(1, caller), KMS_TARGET_KMEM_ALL);
    ck_assert_int_eq(kms_route_decide(SIZE_MAX / 2, caller), KMS_TARGET_KMEM_ALL);
    ck_assert(!kms_routes.uses[KMS_TARGET_DRAM]);
}
END_TEST

START_TEST(default_below_a_threshold)
{
    /* A threshold still sends what reaches it to kmem; the default takes the rest. */
    build_file("default preferred\n", "1M");
    ck_assert_int_eq(kms_route_decide(4096, caller), KMS_TARGET_PREFERRED);
    ck_assert_int_eq(kms_route_decide(1 << 20, caller), KMS_TARGET_DAX_KMEM);
}
END_TEST

START_TEST(empty_file_sends_everything_to_kmem)
{
    /* No threshold, no route, no default: the documented everything-to-kmem. */
    build_file("# nothing\n", NULL);
    ck_assert_int_eq(kms_route_decide(1, caller), KMS_TARGET_DAX_KMEM);
    ck_assert_int_eq(kms_route_decide(64 << 20, caller), KMS_TARGET_DAX_KMEM);
}
END_TEST

START_TEST(one_split_by_size_is_a_threshold)
{
    build("route kmem size >= 64K", NULL);
    ck_assert(!kms_routes.has_rules);
    ck_assert_uint_eq(kms_routes.threshold, 64 << 10);
    ck_assert_int_eq(kms_route_decide(100, caller), KMS_TARGET_DRAM);
    ck_assert_int_eq(kms_route_decide((64 << 10) - 1, caller), KMS_TARGET_DRAM);
    ck_assert_int_eq(kms_route_decide(64 << 10, caller), KMS_TARGET_DAX_KMEM);
    ck_assert_int_eq(kms_route_decide(SIZE_MAX, caller), KMS_TARGET_DAX_KMEM);
}
END_TEST

START_TEST(every_size_to_one_target_is_a_threshold)
{
    build("route dram size >= 0", NULL);
    ck_assert(!kms_routes.has_rules);
    ck_assert_int_eq(kms_route_decide(0, caller), KMS_TARGET_DRAM);
    ck_assert_int_eq(kms_route_decide(1 << 30, caller), KMS_TARGET_DRAM);
    ck_assert_int_eq(kms_route_decide(SIZE_MAX, caller), KMS_TARGET_DRAM);
}
END_TEST

START_TEST(size_rule_merged_with_the_threshold)
{
    /* < 64 dram by the rule, 64..1M-1 dram by default, >= 1M kmem: one split */
    build("route dram size < 64", "1M");
    ck_assert(!kms_routes.has_rules);
    ck_assert_uint_eq(kms_routes.threshold, 1 << 20);
    ck_assert_int_eq(kms_route_decide(32, caller), KMS_TARGET_DRAM);
    ck_assert_int_eq(kms_route_decide(4096, caller), KMS_TARGET_DRAM);
    ck_assert_int_eq(kms_route_decide(2 << 20, caller), KMS_TARGET_DAX_KMEM);
}
END_TEST

START_TEST(two_splits_stay_rules)
{
    build("route kmem size 1K..2K", NULL);
    ck_assert(kms_routes.has_rules);
    ck_assert_int_eq(kms_route_decide(512, caller), KMS_TARGET_DRAM);
    ck_assert_int_eq(kms_route_decide(1024, caller), KMS_TARGET_DAX_KMEM);
    ck_assert_int_eq(kms_route_decide(2048, caller), KMS_TARGET_DAX_KMEM);
    ck_assert_int_eq(kms_route_decide(2049, caller), KMS_TARGET_DRAM);
}
END_TEST

START_TEST(caller_rules_stay_rules)
{
    build("route kmem caller nosuchmod.so:*", NULL);
    ck_assert(kms_routes.has_rules);
    ck_assert(kms_routes.by_caller);
}
END_TEST

/* A callsite tests only the rules without a caller and those whose module
 * glob its module matches: over several 64-rule words, the first matching
 * rule still decides, whichever kind it is. */
static const char *many_rules(void)
{
    static char buf[12000];
    size_t n = 0;
    for (int i = 0; i < 150; i++) {
        const char *rule = "route kmem caller nosuchmod_%d:*; ";
        if (i == 70) rule = "route dram size 100..199; ";
        if (i == 130) rule = "route kmem_all caller test_route:*; ";
        if (i == 140) rule = "route preferred caller test_route:*; ";
        if (i == 149) rule = "route preferred size 5000..5999";
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, rule, i);
    }
    return buf;
}

START_TEST(many_rules_first_match_decides)
{
    build(many_rules(), NULL);
    ck_assert(kms_routes.has_rules && kms_routes.by_caller);
    /* A callsite in this program: rule 70 by size, else rule 130 by module. */
    const void *here = (const void *)(uintptr_t)&many_rules;
    ck_assert_int_eq(kms_route_decide(150, here), KMS_TARGET_DRAM);
    ck_assert_int_eq(kms_route_decide(50, here), KMS_TARGET_KMEM_ALL);
    ck_assert_int_eq(kms_route_decide(5500, here), KMS_TARGET_KMEM_ALL);
    /* An address no module holds: the rules without a caller, then the default. */
    const void *nowhere = (const void *)16;
    ck_assert_int_eq(kms_route_decide(150, nowhere), KMS_TARGET_DRAM);
    ck_assert_int_eq(kms_route_decide(5500, nowhere), KMS_TARGET_PREFERRED);
    ck_assert_int_eq(kms_route_decide(50, nowhere), KMS_TARGET_DRAM);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("route");
    TCase *tc = tcase_create("build");
    tcase_add_test(tc, one_split_by_size_is_a_threshold);
    tcase_add_test(tc, every_size_to_one_target_is_a_threshold);
    tcase_add_test(tc, size_rule_merged_with_the_threshold);
    tcase_add_test(tc, two_splits_stay_rules);
    tcase_add_test(tc, caller_rules_stay_rules);
    tcase_add_test(tc, many_rules_first_match_decides);
    tcase_add_test(tc, default_alone_decides_every_size);
    tcase_add_test(tc, default_alone_to_a_kmem_target);
    tcase_add_test(tc, default_below_a_threshold);
    tcase_add_test(tc, empty_file_sends_everything_to_kmem);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
