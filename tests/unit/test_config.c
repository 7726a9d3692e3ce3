/* SPDX-License-Identifier: MIT */
/* The configuration's switch words (KMEM_STRICT, KMEM_QUIET, KMEM_VERSION, KMEM_STATS,
 * KMEM_PROFILE), the default profile name, and which variables ask for placement (the
 * degraded-placement warning is for those: policy/config.h, asked). */
#include "policy/config.h"

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct kms_config c;
static char err[512], warn[1024];

static int parse(char *const *env)
{
    return kms_config_from_env(env, &c, err, sizeof(err), warn, sizeof(warn));
}

START_TEST(switch_words)
{
    static const char *const on[] = {"1", "yes", "on", "true", "YES", "On", "TRUE"};
    static const char *const off[] = {"0", "no", "off", "false", "NO", "Off"};
    char strict[32], quiet[32], version[32];
    for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
        snprintf(strict, sizeof(strict), "KMEM_STRICT=%s", on[i]);
        snprintf(quiet, sizeof(quiet), "KMEM_QUIET=%s", on[i]);
        snprintf(version, sizeof(version), "KMEM_VERSION=%s", on[i]);
        char *env[] = {strict, quiet, version, NULL};
        ck_assert_int_eq(parse(env), 0);
        ck_assert(c.strict && c.quiet && c.version);
    }
    for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
        snprintf(strict, sizeof(strict), "KMEM_STRICT=%s", off[i]);
        snprintf(quiet, sizeof(quiet), "KMEM_QUIET=%s", off[i]);
        char *env[] = {strict, quiet, NULL};
        ck_assert_int_eq(parse(env), 0);
        ck_assert(!c.strict && !c.quiet && !c.version);
    }
    char *bad[] = {"KMEM_QUIET=2", NULL};
    ck_assert_int_eq(parse(bad), -1);
    ck_assert_str_eq(err, "KMEM_QUIET='2': expected 1, yes, on, true or 0, no, off, false "
                          "(no warnings)");
    char *empty[] = {"KMEM_VERSION=", NULL};
    ck_assert_int_eq(parse(empty), -1);
    ck_assert_str_eq(err, "KMEM_VERSION='': expected 1, yes, on, true or 0, no, off, false "
                          "(print the version)");
}
END_TEST

START_TEST(report_destinations)
{
    ck_assert_str_eq(kms_config_report_dest("1"), "stderr");
    ck_assert_str_eq(kms_config_report_dest("on"), "stderr");
    ck_assert_str_eq(kms_config_report_dest("stderr"), "stderr");
    ck_assert_ptr_null(kms_config_report_dest("0"));
    ck_assert_ptr_null(kms_config_report_dest("Off"));
    ck_assert_str_eq(kms_config_report_dest("/tmp/r.%p.json"), "/tmp/r.%p.json");
    ck_assert_str_eq(kms_config_report_dest("./yes"), "./yes");

    char *stats_on[] = {"KMEM_STATS=yes", NULL};
    ck_assert_int_eq(parse(stats_on), 0);
    ck_assert_str_eq(c.stats, "stderr");
    ck_assert(c.stats_set);
    char *stats_off[] = {"KMEM_STATS=no", "KMEM_PROFILE=off", NULL};
    ck_assert_int_eq(parse(stats_off), 0);
    ck_assert_ptr_null(c.stats);
    ck_assert_ptr_null(c.profile);
    ck_assert(c.stats_set); /* off still keeps the rules file's stats line out */

    /* On: the default name, absolute in the start-up directory, announced at exit. */
    char cwd[PATH_MAX], want[PATH_MAX + 32];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
    snprintf(want, sizeof(want), "%s/kmemshim.%%p.profile", strcmp(cwd, "/") ? cwd : "");
    char *profile_on[] = {"KMEM_PROFILE=1", NULL};
    ck_assert_int_eq(parse(profile_on), 0);
    ck_assert_str_eq(c.profile, want);
    ck_assert(c.profile_default);
    char *profile_path[] = {"KMEM_PROFILE=/tmp/p.prof", NULL};
    ck_assert_int_eq(parse(profile_path), 0);
    ck_assert_str_eq(c.profile, "/tmp/p.prof");
    ck_assert(!c.profile_default);
}
END_TEST

START_TEST(what_asks_for_placement)
{
    char *none[] = {"PATH=/usr/bin", "HOME=/root", NULL};
    ck_assert_int_eq(parse(none), 0);
    ck_assert(!c.asked);
    /* A system-wide install may set these without asking for anything. */
    char *quiet_only[] = {"KMEM_QUIET=1", "KMEM_VERSION=1", NULL};
    ck_assert_int_eq(parse(quiet_only), 0);
    ck_assert(!c.asked);
    ck_assert_str_eq(warn, "");
    static const char *const asking[] = {
        "KMEM_POLICY=kmem_all",
        "KMEM_THRESHOLD=1M",
        "KMEM_RULES=route dram size < 1K",
        "KMEM_NODES=0",
        "KMEM_STRICT=0",
        "KMEM_STATS=0",
        "KMEM_PROFILE=0",
        "KMEM_ARENA_SIZE=1G",
        "KMEM_STATS_SAMPLE=0",
        "MEMKIND_DAX_KMEM_NODES=0",
        "KMEMRC=/nonexistent",
    };
    for (size_t i = 0; i < sizeof(asking) / sizeof(asking[0]); i++) {
        char *env[] = {(char *)asking[i], NULL};
        ck_assert_msg(parse(env) == 0, "%s: %s", asking[i], err);
        ck_assert_msg(c.asked, "%s does not count as asking", asking[i]);
    }
    /* A misspelt variable meant to ask for something: warned, and it counts. */
    char *typo[] = {"KMEM_TRESHOLD=1M", NULL};
    ck_assert_int_eq(parse(typo), 0);
    ck_assert(c.asked);
    ck_assert_ptr_nonnull(strstr(warn, "unknown variable KMEM_TRESHOLD ignored"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, switch_words);
    tcase_add_test(tc, report_destinations);
    tcase_add_test(tc, what_asks_for_placement);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
