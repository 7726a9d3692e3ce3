/* SPDX-License-Identifier: MIT */
/* core/stats: the pure parts (histogram buckets, report path patterns, the
 * sampling weights and countdowns) and core/sampled (the map of recorded
 * blocks and its filter). The counters and reports are tested end to end by
 * tests/preload/stats.sh. */
#include "core/sampled.h"
#include "core/report.h"
#include "core/stats.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

START_TEST(buckets)
{
    ck_assert_int_eq(kms_stats_bucket(0), 0);
    ck_assert_int_eq(kms_stats_bucket(16), 0);
    ck_assert_int_eq(kms_stats_bucket(17), 1);
    ck_assert_int_eq(kms_stats_bucket(64), 1);
    ck_assert_int_eq(kms_stats_bucket(65), 2);
    ck_assert_int_eq(kms_stats_bucket(1 << 20), 8);
    ck_assert_int_eq(kms_stats_bucket(UINT64_MAX), KMS_STATS_HIST - 1);
    /* Every size falls in the bucket whose limit is the first at or above it. */
    for (uint64_t s = 1; s < (1ull << 40); s = s * 3 + 1) {
        int b = kms_stats_bucket(s);
        ck_assert_uint_ge(kms_stats_bucket_limit(b), s);
        if (b > 0) ck_assert_uint_lt(kms_stats_bucket_limit(b - 1), s);
    }
    ck_assert_uint_eq(kms_stats_bucket_limit(KMS_STATS_HIST - 1), UINT64_MAX);
    ck_assert_uint_eq(kms_stats_bucket_limit(KMS_STATS_HIST - 2), 256ull << 20);
}
END_TEST

START_TEST(paths)
{
    char out[64];
    ck_assert_int_eq(kms_report_expand_path("/tmp/s.%p.json", 1234, out, sizeof(out)), 16);
    ck_assert_str_eq(out, "/tmp/s.1234.json");
    kms_report_expand_path("%p-%p", 7, out, sizeof(out));
    ck_assert_str_eq(out, "7-7");
    kms_report_expand_path("100%%_%q%", 7, out, sizeof(out));
    ck_assert_str_eq(out, "100%_%q%");
    /* Truncated, still terminated; the return value is the full length. */
    char small[6];
    ck_assert_int_eq(kms_report_expand_path("abc%pdef", 12345, small, sizeof(small)), 11);
    ck_assert_str_eq(small, "abc12");
}
END_TEST

START_TEST(weights)
{
    /* At or above the period, and with period 0, a block stands for itself. */
    ck_assert(kms_stats_weight(1 << 20, 1 << 18) == 1.0);
    ck_assert(kms_stats_weight(1 << 18, 1 << 18) == 1.0);
    ck_assert(kms_stats_weight(16, 0) == 1.0);
    /* Below: 1 / (1 - e^(-size/period)); a tiny block stands for period/size blocks. */
    double w = kms_stats_weight(64, 1 << 18);
    ck_assert(fabs(w - 1.0 / -expm1(-64.0 / 262144.0)) < 1e-9);
    ck_assert(w > 4096.0 && w < 4097.0);
    ck_assert(kms_stats_weight(0, 1 << 18) == kms_stats_weight(1, 1 << 18));
    /* Weights fall as blocks grow, and never below one. */
    for (uint64_t size = 1; size < (1u << 18); size *= 3)
        ck_assert(kms_stats_weight(size, 1 << 18) > kms_stats_weight(size * 3, 1 << 18) ||
                  size * 3 >= (1u << 18));
}
END_TEST

START_TEST(draws)
{
    /* Exponential with mean period: mean and median (period * ln 2) within 2%
     * over 200,000 draws, every draw positive. */
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    const uint64_t period = 1 << 18;
    const int n = 200000;
    double sum = 0;
    int below_median = 0;
    for (int i = 0; i < n; i++) {
        int64_t d = kms_stats_draw(&rng, period);
        ck_assert_int_gt(d, 0);
        sum += (double)d;
        below_median += d < (int64_t)(period * M_LN2);
    }
    ck_assert(fabs(sum / n / period - 1.0) < 0.02);
    ck_assert(fabs((double)below_median / n - 0.5) < 0.01);
    /* The sampled-bytes estimate is unbiased: N blocks of size s, each sampled
     * when the countdown crosses zero, weighted by kms_stats_weight. */
    for (uint64_t size = 64; size < period; size *= 8) {
        double est = 0;
        int64_t left = kms_stats_draw(&rng, period);
        /* About 4,000 samples: a standard deviation of 1.6%. */
        const long blocks = (long)(4000 * period / size);
        for (long i = 0; i < blocks; i++)
            if ((left -= (int64_t)size) < 0) {
                left = kms_stats_draw(&rng, period);
                est += kms_stats_weight(size, period);
            }
        ck_assert_msg(fabs(est / blocks - 1.0) < 0.05, "size %lu: %f blocks per block",
                      (unsigned long)size, est / blocks);
    }
}
END_TEST

START_TEST(sampled_map)
{
    struct kms_sampled t = {0};
    struct kms_sampled_rec r = {0}, old, out;
    ck_assert(!kms_sampled_maybe((void *)0x1000));
    ck_assert(!kms_sampled_take(&t, 0x1000, &out)); /* empty map */
    /* 5,000 records (the map grows from 1,024 slots), then every other one out. */
    for (uintptr_t i = 1; i <= 5000; i++) {
        r.addr = i * 48;
        r.bytes = (int64_t)i;
        r.site = (uint32_t)i;
        ck_assert_int_eq(kms_sampled_put(&t, &r, &old), 0);
        ck_assert(kms_sampled_maybe((void *)r.addr));
    }
    ck_assert_uint_eq(t.n, 5000);
    ck_assert_uint_ge(t.cap, 10000);
    for (uintptr_t i = 2; i <= 5000; i += 2) {
        ck_assert(kms_sampled_take(&t, i * 48, &out));
        ck_assert_int_eq(out.bytes, (int64_t)i);
        ck_assert_uint_eq(out.site, i);
        ck_assert(!kms_sampled_take(&t, i * 48, &out));
    }
    /* Backward-shift deletion kept every other record reachable. */
    for (uintptr_t i = 1; i <= 5000; i += 2) {
        ck_assert(kms_sampled_take(&t, i * 48, &out));
        ck_assert_int_eq(out.bytes, (int64_t)i);
    }
    ck_assert_uint_eq(t.n, 0);
    /* Every filter count went back to zero. */
    for (size_t i = 0; i < sizeof(kms_sampled_filter); i++)
        ck_assert_uint_eq(kms_sampled_filter[i], 0);
    /* A record for an address already there replaces it and hands back the old. */
    r.addr = 0x7000;
    r.bytes = 1;
    ck_assert_int_eq(kms_sampled_put(&t, &r, &old), 0);
    r.bytes = 2;
    ck_assert_int_eq(kms_sampled_put(&t, &r, &old), 1);
    ck_assert_int_eq(old.bytes, 1);
    ck_assert_uint_eq(t.n, 1);
    ck_assert(kms_sampled_take(&t, 0x7000, &out));
    ck_assert_int_eq(out.bytes, 2);
    ck_assert(!kms_sampled_maybe((void *)0x7000));
    /* 300 blocks in one filter slot: the count sticks at 255 and the slot
     * keeps saying "maybe" after all are gone (never a wrong "no"). */
    for (uintptr_t i = 0; i < 300; i++) {
        /* Distinct addresses, all in the same filter slot. */
        r.addr = (1u << 20) + (i % 64) + (i / 64) * ((uintptr_t)64 << KMS_SAMPLED_FILTER_BITS);
        ck_assert_int_eq(kms_sampled_put(&t, &r, &old), 0);
    }
    ck_assert(kms_sampled_maybe((void *)(uintptr_t)(1u << 20)));
    for (uintptr_t i = 0; i < 300; i++) {
        uintptr_t a = (1u << 20) + (i % 64) + (i / 64) * ((uintptr_t)64 << KMS_SAMPLED_FILTER_BITS);
        ck_assert(kms_sampled_take(&t, a, &out));
        if (i < 299) ck_assert(kms_sampled_maybe((void *)a));
    }
    ck_assert(kms_sampled_maybe((void *)(uintptr_t)(1u << 20)));
    kms_sampled_clear(&t);
    ck_assert(!kms_sampled_maybe((void *)(uintptr_t)(1u << 20)));
    ck_assert_uint_eq(t.n, 0);
}
END_TEST

static int random_order_cmp(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a * 0x9E3779B97F4A7C15ull,
              y = *(const uintptr_t *)b * 0x9E3779B97F4A7C15ull;
    return x < y ? -1 : x > y;
}

START_TEST(sampled_map_random)
{
    /* Inserts and deletes in a scrambled order against a plain array. */
    enum { N = 20000 };
    static uintptr_t addrs[N];
    struct kms_sampled t = {0};
    struct kms_sampled_rec r = {0}, old, out;
    for (int i = 0; i < N; i++)
        addrs[i] = 0x10000 + (uintptr_t)i * 16;
    qsort(addrs, N, sizeof(addrs[0]), random_order_cmp);
    for (int i = 0; i < N; i++) {
        r.addr = addrs[i];
        r.bytes = (int64_t)addrs[i] / 16;
        ck_assert_int_eq(kms_sampled_put(&t, &r, &old), 0);
        if (i % 3 == 2) { /* take one of the earlier ones out again */
            ck_assert(kms_sampled_take(&t, addrs[i / 2], &out));
            ck_assert_int_eq(out.bytes, (int64_t)addrs[i / 2] / 16);
            addrs[i / 2] = 0;
        }
    }
    for (int i = 0; i < N; i++) {
        if (!addrs[i]) continue;
        ck_assert_msg(kms_sampled_take(&t, addrs[i], &out), "lost %lx", (unsigned long)addrs[i]);
        ck_assert_int_eq(out.bytes, (int64_t)addrs[i] / 16);
    }
    ck_assert_uint_eq(t.n, 0);
    kms_sampled_clear(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, buckets);
    tcase_add_test(tc, paths);
    tcase_set_timeout(tc, 60); /* draws runs ~20 M countdown steps; Check's default is 4 s */
    tcase_add_test(tc, weights);
    tcase_add_test(tc, draws);
    tcase_add_test(tc, sampled_map);
    tcase_add_test(tc, sampled_map_random);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
