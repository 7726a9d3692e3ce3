/* SPDX-License-Identifier: MIT */
/* The settings a rules file and the environment share (policy/settings.h): one
 * parser each, so a value is taken or refused the same way in both places, and
 * both say the same thing about what was expected. Each case runs through the
 * environment's reader (kms_config_from_env) and the file's (kms_rules_parse,
 * then kms_config_merge_rules), and the results are compared. */
#include "policy/config.h"
#include "policy/rules.h"
#include "policy/settings.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct both {
    int env_rc;
    size_t file_errors;
    struct kms_config env, file;
    char env_err[512], file_err[512];
    char file_stats[256]; /* the file's stats value, which lives in the freed rule set */
};

/* KMEM_VAR=value through the environment, "word value" through a rules file. */
static void run_both(enum kms_setting_id id, const char *value, struct both *b)
{
    char var[256], line[256], warn[512];
    snprintf(var, sizeof(var), "%s=%s", kms_settings[id].var, value);
    char *env[] = {var, NULL};
    b->env_rc =
        kms_config_from_env(env, &b->env, b->env_err, sizeof(b->env_err), warn, sizeof(warn));
    snprintf(line, sizeof(line), "%s %s\n", kms_settings[id].word, value);
    struct kms_ruleset rs;
    kms_ruleset_init(&rs);
    b->file_errors = kms_rules_parse(&rs, line, strlen(line), "rc", KMS_RULES_FILE);
    b->file_err[0] = '\0';
    if (rs.nerrors) snprintf(b->file_err, sizeof(b->file_err), "%s", rs.errors[0]);
    char *none[] = {NULL};
    ck_assert_int_eq(kms_config_from_env(none, &b->file, b->env_err + 256, 256, warn, sizeof(warn)),
                     0);
    if (!b->file_errors) kms_config_merge_rules(&b->file, &rs);
    if (b->file.stats) {
        snprintf(b->file_stats, sizeof(b->file_stats), "%s", b->file.stats);
        b->file.stats = b->file_stats;
    }
    kms_ruleset_free(&rs);
}

static void same_verdict(enum kms_setting_id id, const char *value, struct both *b)
{
    run_both(id, value, b);
    ck_assert_msg((b->env_rc < 0) == (b->file_errors > 0),
                  "%s='%s': the environment %s it, the file %s it", kms_settings[id].var, value,
                  b->env_rc < 0 ? "refuses" : "takes", b->file_errors ? "refuses" : "takes");
    if (b->env_rc < 0) {
        /* Both name what was expected, in the same words. */
        ck_assert_msg(strstr(b->env_err, kms_settings[id].expected) != NULL, "env: %s", b->env_err);
        ck_assert_msg(strstr(b->file_err, kms_settings[id].expected) != NULL, "file: %s",
                      b->file_err);
    }
}

START_TEST(policy_values)
{
    static const char *const good[] = {"dax_kmem", "kmem_all", "preferred", "interleave",
                                       "MEMKIND_DAX_KMEM_PREFERRED"};
    static const char *const bad[] = {"dram", "fast", "kmem_all_please", "interleave_all"};
    struct both b;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        same_verdict(KMS_SETTING_POLICY, good[i], &b);
        ck_assert_int_eq(b.env_rc, 0);
        ck_assert_int_eq(b.env.kmem_policy, b.file.kmem_policy);
        ck_assert(b.env.policy_set && b.file.policy_set);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        same_verdict(KMS_SETTING_POLICY, bad[i], &b);
        ck_assert_int_lt(b.env_rc, 0);
    }
}
END_TEST

START_TEST(nodes_values)
{
    static const char *const good[] = {"0", "2,3", "2-5", "0,4-7"};
    static const char *const bad[] = {"3-1", "2,x", "2;3", "1024", "-1"};
    struct both b;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        same_verdict(KMS_SETTING_NODES, good[i], &b);
        ck_assert_int_eq(b.env_rc, 0);
        ck_assert(memcmp(&b.env.nodes, &b.file.nodes, sizeof(b.env.nodes)) == 0);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        same_verdict(KMS_SETTING_NODES, bad[i], &b);
        ck_assert_int_lt(b.env_rc, 0);
    }
}
END_TEST

START_TEST(threshold_values)
{
    static const char *const good[] = {"0", "4096", "64K", "1M", "2G", "1T"};
    static const char *const bad[] = {"12Q", "-1", "abc", "99999999999999999999", "17179869184G"};
    struct both b;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        same_verdict(KMS_SETTING_THRESHOLD, good[i], &b);
        ck_assert_int_eq(b.env_rc, 0);
        ck_assert_uint_eq(b.env.threshold, b.file.threshold);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        same_verdict(KMS_SETTING_THRESHOLD, bad[i], &b);
        ck_assert_int_lt(b.env_rc, 0);
    }
}
END_TEST

START_TEST(stats_values)
{
    static const struct {
        const char *v, *want; /* NULL: no report */
    } cases[] = {{"stderr", "stderr"},
                 {"1", "stderr"},
                 {"on", "stderr"},
                 {"0", NULL},
                 {"off", NULL},
                 {"No", NULL},
                 {"/tmp/r.%p.json", "/tmp/r.%p.json"},
                 {"./yes", "./yes"}};
    struct both b;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        same_verdict(KMS_SETTING_STATS, cases[i].v, &b);
        ck_assert_int_eq(b.env_rc, 0);
        if (cases[i].want) {
            ck_assert_str_eq(b.env.stats, cases[i].want);
            ck_assert_str_eq(b.file.stats, cases[i].want);
        } else {
            ck_assert_ptr_null(b.env.stats);
            ck_assert_ptr_null(b.file.stats);
        }
    }
}
END_TEST

START_TEST(parser_reasons)
{
    struct kms_setting_value v;
    char why[96];
    size_t bad;
    ck_assert_int_eq(kms_setting_parse(KMS_SETTING_THRESHOLD, "", 0, &v, why, sizeof(why), &bad),
                     -1);
    ck_assert_str_eq(why, "empty");
    ck_assert_int_eq(kms_setting_parse(KMS_SETTING_THRESHOLD, "12Q", 3, &v, why, sizeof(why), &bad),
                     -1);
    ck_assert_ptr_nonnull(strstr(why, "unknown suffix"));
    ck_assert_int_eq(kms_setting_parse(KMS_SETTING_NODES, "2,x", 3, &v, why, sizeof(why), &bad),
                     -1);
    ck_assert_uint_eq(bad, 2); /* the x */
    ck_assert_int_eq(kms_setting_parse(KMS_SETTING_POLICY, "fast", 4, &v, why, sizeof(why), &bad),
                     -1);
    ck_assert_str_eq(why, "");
    /* Exactly v[0..n): what follows is not read. */
    ck_assert_int_eq(
        kms_setting_parse(KMS_SETTING_THRESHOLD, "64Kjunk", 3, &v, why, sizeof(why), &bad), 0);
    ck_assert_uint_eq(v.size, 64 << 10);
    ck_assert_int_eq(kms_switch_parse("TRUE", 4), 1);
    ck_assert_int_eq(kms_switch_parse("offx", 3), 0);
    ck_assert_int_eq(kms_switch_parse("offx", 4), -1);
    ck_assert_int_eq(kms_switch_parse("", 0), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("settings");
    TCase *tc = tcase_create("shared");
    tcase_add_test(tc, policy_values);
    tcase_add_test(tc, nodes_values);
    tcase_add_test(tc, threshold_values);
    tcase_add_test(tc, stats_values);
    tcase_add_test(tc, parser_reasons);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
