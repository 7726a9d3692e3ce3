/* SPDX-License-Identifier: MIT */
/* Access profiling's pieces: the interval's syntax (KMEM_ACCESS, run
 * --interval), and the sampler over a labelled range of this process: what it
 * finds resident and referenced through smaps, summed over every mapping of
 * the range, and that clear_refs starts a new interval. */
#include "core/access_units.h"
#include "policy/config.h"

#include <check.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

START_TEST(interval_syntax)
{
    unsigned ms = 0;
    ck_assert_int_eq(kms_access_interval_parse("10", &ms), 0);
    ck_assert_uint_eq(ms, 10);
    ck_assert_int_eq(kms_access_interval_parse("100ms", &ms), 0);
    ck_assert_uint_eq(ms, 100);
    ck_assert_int_eq(kms_access_interval_parse("60000", &ms), 0);
    ck_assert_uint_eq(ms, 60000);
    static const char *const bad[] = {"",
                                      "9",
                                      "0",
                                      "60001",
                                      "abc",
                                      "100x",
                                      "100 ms",
                                      "-10",
                                      " 100",
                                      "1e3",
                                      "99999999999999999999",
                                      "100mss"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ms = 7;
        ck_assert_msg(kms_access_interval_parse(bad[i], &ms) < 0, "accepted '%s'", bad[i]);
        ck_assert_uint_eq(ms, 7);
    }
}
END_TEST

START_TEST(env_variable)
{
    struct kms_config c;
    char err[512], warn[256];
    char *good[] = {"KMEM_ACCESS=250ms", "KMEM_PROFILE=/dev/null", NULL};
    ck_assert_int_eq(kms_config_from_env(good, &c, err, sizeof(err), warn, sizeof(warn)), 0);
    ck_assert_uint_eq(c.access_ms, 250);
    ck_assert_str_eq(warn, "");
    char *bad[] = {"KMEM_ACCESS=fast", NULL};
    ck_assert_int_lt(kms_config_from_env(bad, &c, err, sizeof(err), warn, sizeof(warn)), 0);
    ck_assert_ptr_nonnull(strstr(err, "KMEM_ACCESS='fast': expected the access sampling interval "
                                      "in milliseconds, 10 to 60000"));
    char *none[] = {NULL};
    ck_assert_int_eq(kms_config_from_env(none, &c, err, sizeof(err), warn, sizeof(warn)), 0);
    ck_assert_uint_eq(c.access_ms, 0);
}
END_TEST

START_TEST(sampler_over_a_range)
{
    long pg = sysconf(_SC_PAGESIZE);
    size_t n = 64;
    char *r =
        mmap(NULL, n * (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(r, MAP_FAILED);
    /* No huge pages (the figures are per 4 KiB page here), and three mappings
     * in the range: the sampler must sum them. */
    madvise(r, n * (size_t)pg, MADV_NOHUGEPAGE);
    ck_assert_int_eq(mprotect(r + 16 * pg, 16 * (size_t)pg, PROT_READ), 0);
    ck_assert_int_eq(mprotect(r + 16 * pg, 16 * (size_t)pg, PROT_READ | PROT_WRITE), 0);
    ck_assert_int_eq(mprotect(r + 32 * pg, 8 * (size_t)pg, PROT_READ), 0);
    for (size_t i = 0; i < n; i++)
        if (i < 32 || i >= 40) r[i * (size_t)pg] = 1;
    memset(&kms_access_units[0], 0, sizeof(kms_access_units[0]));
    kms_access_units[0].start = (uintptr_t)r;
    kms_access_units[0].end = (uintptr_t)r + n * (size_t)pg;
    __atomic_store_n(&kms_access_nunits, 1, __ATOMIC_RELEASE);
    kms_access_interval_ms = 100;
    kms_access_sampler_init();

    /* First interval: 56 pages written (the read-only 8 were never touched). */
    kms_access_sample(false);
    const struct kms_access_acc *a = &kms_access_units[0].acc;
    ck_assert_uint_eq(a->samples, 1);
    ck_assert_uint_eq(a->resident_peak, 56 * (uint64_t)pg);
    ck_assert_uint_eq(a->touched_peak, 56 * (uint64_t)pg);
    /* Second: 10 of them read right after the clear, while the CPU still caches
     * their translations: counted only because the clear flushes the TLB. */
    volatile char sink = 0;
    for (size_t i = 0; i < 10; i++)
        sink += r[(i + 20) * (size_t)pg];
    (void)sink;
    kms_access_sample(false);
    ck_assert_uint_eq(a->samples, 2);
    ck_assert_uint_eq(a->resident_peak, 56 * (uint64_t)pg);
    ck_assert_uint_eq(a->touched_peak, 56 * (uint64_t)pg);
    ck_assert_msg(a->touched_sum == 66.0 * (double)pg, "touched %f pages",
                  a->touched_sum / (double)pg);
    /* A last sample right after the previous one: under half an interval, not counted. */
    kms_access_sample(true);
    ck_assert_uint_eq(a->samples, 2);
    __atomic_store_n(&kms_access_nunits, 0, __ATOMIC_RELEASE);
    munmap(r, n * (size_t)pg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("access");
    TCase *tc = tcase_create("access");
    tcase_add_test(tc, interval_syntax);
    tcase_add_test(tc, env_variable);
    tcase_add_test(tc, sampler_over_a_range);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
