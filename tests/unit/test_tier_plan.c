/* SPDX-License-Identifier: MIT */
/* Runtime tiering's decision (core/tier_plan.h): ranking by density, the
 * budget, the hysteresis that keeps similar groups from swapping, pinned
 * groups, and the smoothing. */
#include "core/tier_plan.h"

#include <check.h>
#include <stdlib.h>

#define MiB (1ull << 20)
enum { D = KMS_TIER_DRAM, K = KMS_TIER_KMEM };

START_TEST(densest_fit_the_budget)
{
    struct kms_tier_group g[] = {
        {64 * MiB, 0.02, D, false}, /* a log written once */
        {64 * MiB, 0.95, K, false}, /* the index read all the time */
        {16 * MiB, 0.50, K, false},
    };
    int out[3];
    ck_assert_uint_eq(kms_tier_plan(g, 3, 80 * MiB, out), 3);
    ck_assert_int_eq(out[0], K);
    ck_assert_int_eq(out[1], D);
    ck_assert_int_eq(out[2], D);
}
END_TEST

START_TEST(a_group_that_does_not_fit_is_passed_over)
{
    struct kms_tier_group g[] = {
        {100 * MiB, 0.9, D, false},
        {10 * MiB, 0.5, K, false},
        {10 * MiB, 0.4, K, false},
    };
    int out[3];
    kms_tier_plan(g, 3, 30 * MiB, out);
    ck_assert_int_eq(out[0], K); /* densest, but larger than the budget */
    ck_assert_int_eq(out[1], D);
    ck_assert_int_eq(out[2], D);
}
END_TEST

START_TEST(hysteresis_keeps_equal_groups_in_place)
{
    /* Equal densities, a budget for one: whichever is in DRAM stays, both ways round. */
    struct kms_tier_group g[] = {{32 * MiB, 0.6, K, false}, {32 * MiB, 0.6, D, false}};
    int out[2];
    ck_assert_uint_eq(kms_tier_plan(g, 2, 40 * MiB, out), 0);
    ck_assert_int_eq(out[0], K);
    ck_assert_int_eq(out[1], D);
    g[0].tier = D;
    g[1].tier = K;
    ck_assert_uint_eq(kms_tier_plan(g, 2, 40 * MiB, out), 0);
    /* Denser, but less than KMS_TIER_STAY times: still no swap. */
    g[1].density = 0.6 * KMS_TIER_STAY * 0.99;
    ck_assert_uint_eq(kms_tier_plan(g, 2, 40 * MiB, out), 0);
    /* More than KMS_TIER_STAY times as dense: the swap. */
    g[0].density = 0.5;
    g[1].density = 0.5 * KMS_TIER_STAY * 1.01;
    ck_assert_uint_eq(kms_tier_plan(g, 2, 40 * MiB, out), 2);
    ck_assert_int_eq(out[0], K);
    ck_assert_int_eq(out[1], D);
}
END_TEST

START_TEST(equal_scores_keep_the_older_group_first)
{
    struct kms_tier_group g[] = {{32 * MiB, 0.3, K, false}, {32 * MiB, 0.3, K, false}};
    int out[2];
    kms_tier_plan(g, 2, 40 * MiB, out);
    ck_assert_int_eq(out[0], D);
    ck_assert_int_eq(out[1], K);
}
END_TEST

START_TEST(pinned_groups_stay_and_take_no_budget)
{
    struct kms_tier_group g[] = {
        {64 * MiB, 0.99, K, true}, /* a rule sends it to KMEM */
        {64 * MiB, 0.10, D, true}, /* a rule keeps it in DRAM */
        {32 * MiB, 0.50, K, false},
    };
    int out[3];
    ck_assert_uint_eq(kms_tier_plan(g, 3, 32 * MiB, out), 1);
    ck_assert_int_eq(out[0], K);
    ck_assert_int_eq(out[1], D);
    ck_assert_int_eq(out[2], D);
}
END_TEST

START_TEST(budget_zero_and_empty_groups)
{
    struct kms_tier_group g[] = {{4096, 1.0, D, false}, {0, 0.0, K, false}};
    int out[2];
    kms_tier_plan(g, 2, 0, out);
    ck_assert_int_eq(out[0], K); /* every group with resident bytes leaves DRAM */
    ck_assert_int_eq(out[1], D); /* nothing resident: fits any budget */
    ck_assert_uint_eq(kms_tier_plan(g, 0, 0, out), 0);
    /* A huge budget and huge groups: no overflow in the sum. */
    struct kms_tier_group h[] = {{UINT64_MAX / 2, 0.5, K, false}, {UINT64_MAX / 2, 0.4, K, false}};
    kms_tier_plan(h, 2, UINT64_MAX, out);
    ck_assert_int_eq(out[0], D);
    ck_assert_int_eq(out[1], D);
    kms_tier_plan(h, 2, UINT64_MAX / 2, out);
    ck_assert_int_eq(out[0], D);
    ck_assert_int_eq(out[1], K);
}
END_TEST

START_TEST(more_groups_than_the_plan_takes)
{
    struct kms_tier_group g[KMS_TIER_PLAN_MAX + 1];
    int out[KMS_TIER_PLAN_MAX + 1];
    for (int i = 0; i <= KMS_TIER_PLAN_MAX; i++)
        g[i] = (struct kms_tier_group){MiB, 0.5, K, false};
    out[KMS_TIER_PLAN_MAX] = -7;
    kms_tier_plan(g, KMS_TIER_PLAN_MAX + 1, UINT64_MAX, out);
    ck_assert_int_eq(out[0], D);
    ck_assert_int_eq(out[KMS_TIER_PLAN_MAX], -7); /* past the limit: untouched */
}
END_TEST

START_TEST(smoothing)
{
    ck_assert_double_eq(kms_tier_smooth(0.7, 50, 100, true), 0.5);
    ck_assert_double_eq_tol(kms_tier_smooth(0.0, 100, 100, false), KMS_TIER_SMOOTH, 1e-12);
    ck_assert_double_eq_tol(kms_tier_smooth(1.0, 0, 100, false), 1.0 - KMS_TIER_SMOOTH, 1e-12);
    ck_assert_double_eq(kms_tier_smooth(0.3, 5, 0, true), 0.0);     /* nothing resident */
    ck_assert_double_eq(kms_tier_smooth(0.0, 200, 100, true), 1.0); /* capped at 1 */
    /* A group that turned cold falls below a hot one's score within a few intervals. */
    double cold = 1.0, hot = 0.0;
    int n = 0;
    while (cold * KMS_TIER_STAY >= hot && n < 100) {
        cold = kms_tier_smooth(cold, 0, 100, false);
        hot = kms_tier_smooth(hot, 100, 100, false);
        n++;
    }
    ck_assert_int_le(n, 4);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tier_plan");
    TCase *tc = tcase_create("plan");
    tcase_add_test(tc, densest_fit_the_budget);
    tcase_add_test(tc, a_group_that_does_not_fit_is_passed_over);
    tcase_add_test(tc, hysteresis_keeps_equal_groups_in_place);
    tcase_add_test(tc, equal_scores_keep_the_older_group_first);
    tcase_add_test(tc, pinned_groups_stay_and_take_no_budget);
    tcase_add_test(tc, budget_zero_and_empty_groups);
    tcase_add_test(tc, more_groups_than_the_plan_takes);
    tcase_add_test(tc, smoothing);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
