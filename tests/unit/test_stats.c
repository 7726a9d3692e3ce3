/* core/stats: the pure parts (histogram buckets, report path patterns). The
 * counters and reports are tested end to end by tests/preload/stats.sh. */
#include "core/stats.h"

#include <check.h>
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
    ck_assert_int_eq(kms_stats_expand_path("/tmp/s.%p.json", 1234, out, sizeof(out)), 16);
    ck_assert_str_eq(out, "/tmp/s.1234.json");
    kms_stats_expand_path("%p-%p", 7, out, sizeof(out));
    ck_assert_str_eq(out, "7-7");
    kms_stats_expand_path("100%%_%q%", 7, out, sizeof(out));
    ck_assert_str_eq(out, "100%_%q%");
    /* Truncated, still terminated; the return value is the full length. */
    char small[6];
    ck_assert_int_eq(kms_stats_expand_path("abc%pdef", 12345, small, sizeof(small)), 11);
    ck_assert_str_eq(small, "abc12");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, buckets);
    tcase_add_test(tc, paths);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
