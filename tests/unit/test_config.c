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

START_TEST(runtime_tiering)
{
    char *on[] = {"KMEM_DRAM_BUDGET=80M", NULL};
    ck_assert_int_eq(parse(on), 0);
    ck_assert(c.tier && c.asked);
    ck_assert_uint_eq(c.dram_budget, 80ull << 20);
    ck_assert_uint_eq(c.tier_rate, KMS_TIER_RATE_DEFAULT);
    ck_assert_uint_eq(c.access_ms, KMS_ACCESS_MS_DEFAULT); /* tiering samples by default */
    ck_assert_uint_eq(c.access_cost, KMS_ACCESS_COST_DEFAULT);
    char *zero[] = {"KMEM_DRAM_BUDGET=0",       "KMEM_ACCESS=250",    "KMEM_TIER_RATE=64M",
                    "KMEM_TIMELINE=/tmp/t.tsv", "KMEM_ACCESS_COST=0", NULL};
    ck_assert_int_eq(parse(zero), 0);
    ck_assert_str_eq(warn, ""); /* every one of them known */
    ck_assert(c.tier);
    ck_assert_uint_eq(c.dram_budget, 0);
    ck_assert_uint_eq(c.access_ms, 250);
    ck_assert_uint_eq(c.tier_rate, 64ull << 20);
    ck_assert_str_eq(c.timeline, "/tmp/t.tsv");
    ck_assert_uint_eq(c.access_cost, 0);
    char *off[] = {"KMEM_STATS=1", NULL};
    ck_assert_int_eq(parse(off), 0);
    ck_assert(!c.tier);
    ck_assert_uint_eq(c.access_ms, 0);
    static const struct {
        const char *var, *var2, *err;
    } bad[] = {
        {"KMEM_DRAM_BUDGET=12Q", NULL,
         "KMEM_DRAM_BUDGET='12Q': unknown suffix (expected K, M, G or T); expected the DRAM the "
         "tiered memory may use, a size such as 4096, 64K, 1M, 2G or 1T"},
        {"KMEM_DRAM_BUDGET=-1", NULL, "KMEM_DRAM_BUDGET='-1': "},
        {"KMEM_DRAM_BUDGET=", NULL, "KMEM_DRAM_BUDGET='': "},
        {"KMEM_DRAM_BUDGET=1G", "KMEM_MOVABLE=1",
         "KMEM_DRAM_BUDGET='1G': runtime tiering moves pages itself, KMEM_MOVABLE=1 leaves them "
         "to the kernel; expected one of the two"},
        {"KMEM_TIER_RATE=64M", NULL,
         "KMEM_TIER_RATE='64M': needs KMEM_DRAM_BUDGET, which turns runtime tiering on"},
        {"KMEM_DRAM_BUDGET=1G", "KMEM_TIER_RATE=4K",
         "KMEM_TIER_RATE='4K': too small; expected at least 1M (bytes moved per second)"},
        {"KMEM_DRAM_BUDGET=1G", "KMEM_TIER_RATE=fast", "KMEM_TIER_RATE='fast': "},
        {"KMEM_TIMELINE=/tmp/x", NULL,
         "KMEM_TIMELINE='/tmp/x': needs KMEM_DRAM_BUDGET, which turns runtime tiering on"},
        {"KMEM_DRAM_BUDGET=1G", "KMEM_TIMELINE=1",
         "KMEM_TIMELINE='1': expected a path (the timeline's file)"},
        {"KMEM_DRAM_BUDGET=1G", "KMEM_TIMELINE=", "KMEM_TIMELINE='': empty; expected a path"},
        {"KMEM_ACCESS_COST=101", NULL,
         "KMEM_ACCESS_COST='101': expected a percentage from 0 to 100"},
        {"KMEM_ACCESS_COST=-1", NULL, "KMEM_ACCESS_COST='-1': expected a percentage"},
        {"KMEM_ACCESS_COST=5x", NULL, "KMEM_ACCESS_COST='5x': expected a percentage"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *env[] = {(char *)bad[i].var, (char *)bad[i].var2, NULL};
        ck_assert_msg(parse(env) == -1, "%s %s accepted", bad[i].var, bad[i].var2);
        ck_assert_msg(strncmp(err, bad[i].err, strlen(bad[i].err)) == 0, "%s: %s", bad[i].var, err);
    }
    char *pct[] = {"KMEM_ACCESS_COST=10%", NULL};
    ck_assert_int_eq(parse(pct), 0);
    ck_assert_uint_eq(c.access_cost, 10);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, switch_words);
    tcase_add_test(tc, report_destinations);
    tcase_add_test(tc, what_asks_for_placement);
    tcase_add_test(tc, runtime_tiering);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
