/* SPDX-License-Identifier: MIT */
/* The thread's fast and counted pointers (core/engine.h): all that malloc's
 * inline paths test, so each pointer set must mean that nothing else has to
 * happen: learnt after a full-path request, never inside a foreign call
 * (kms_bypass_enter), and emptied when one begins. */
#include "core/engine.h"
#include "core/stats.h"

#include <check.h>
#include <string.h>

static mi_heap_t *kmem_heap;

static void clear_pointers(void)
{
    memset(kms_self.fast, 0, sizeof(kms_self.fast));
    memset(kms_self.counted, 0, sizeof(kms_self.counted));
}

/* kmem in class 0 with a heap of its own. */
static void setup(void)
{
    kmem_heap = mi_heap_new();
    kms_target_class[KMS_TARGET_KMEM_ALL] = 0;
    kms_self.cur[0] = kmem_heap;
    kms_self.bypass = 0;
    kms_self.stats.state = KMS_STATS_NONE;
    clear_pointers();
}

static void teardown(void)
{
    kms_fast_enable(false, false, 0, 0, KMS_TARGET_DRAM, KMS_TARGET_DRAM);
    clear_pointers();
    kms_self.cur[0] = NULL;
    kms_self.stats.state = KMS_STATS_NONE;
    kms_target_class[KMS_TARGET_KMEM_ALL] = -1;
    mi_heap_delete(kmem_heap);
}

START_TEST(fast_pointers_are_emptied_by_the_shims_work_and_not_learnt_in_it)
{
    kms_fast_enable(true, false, 0, 4096, KMS_TARGET_DRAM, KMS_TARGET_KMEM_ALL);
    kms_fast_learn(8, KMS_TARGET_KMEM_ALL);
    kms_fast_learn(8192, KMS_TARGET_KMEM_ALL);
    ck_assert_ptr_eq(kms_self.fast[0], kmem_heap);
    ck_assert_ptr_eq(kms_self.fast[1], kmem_heap);
    ck_assert_ptr_eq(kms_self.fast[KMS_FAST_SMALL], kmem_heap);
    ck_assert_ptr_null(kms_self.counted[0]);

    kms_bypass_enter(&kms_self);
    ck_assert_ptr_null(kms_self.fast[0]);
    ck_assert_ptr_null(kms_self.fast[1]);
    ck_assert_ptr_null(kms_self.fast[KMS_FAST_SMALL]);
    kms_fast_learn(8, KMS_TARGET_KMEM_ALL);
    kms_bypass_enter(&kms_self);
    kms_bypass_leave(&kms_self);
    kms_fast_learn(8, KMS_TARGET_KMEM_ALL); /* still inside the outer section */
    ck_assert_ptr_null(kms_self.fast[0]);
    kms_bypass_leave(&kms_self);
    ck_assert_int_eq(kms_self.bypass, 0);
    ck_assert_ptr_null(kms_self.fast[0]); /* until a request learns it again */
    kms_fast_learn(8, KMS_TARGET_KMEM_ALL);
    ck_assert_ptr_eq(kms_self.fast[0], kmem_heap);
    ck_assert_ptr_null(kms_self.fast[1]);
}
END_TEST

/* mi_heap_malloc_small must never see more than MI_SMALL_SIZE_MAX bytes, nor
 * a request of the other side of the threshold. */
START_TEST(small_requests_are_below_both_the_threshold_and_mimallocs_small_limit)
{
    kms_fast_enable(true, false, 0, 4096, KMS_TARGET_DRAM, KMS_TARGET_KMEM_ALL);
    ck_assert_uint_eq(kms_fast_small_end, MI_SMALL_SIZE_MAX + 1);
    kms_fast_enable(true, false, 0, 100, KMS_TARGET_DRAM, KMS_TARGET_KMEM_ALL);
    ck_assert_uint_eq(kms_fast_small_end, 100);
    kms_fast_enable(true, false, 0, MI_SMALL_SIZE_MAX + 1, KMS_TARGET_DRAM, KMS_TARGET_KMEM_ALL);
    ck_assert_uint_eq(kms_fast_small_end, MI_SMALL_SIZE_MAX + 1);

    /* A side learnt above the threshold leaves the small pointer alone. */
    kms_fast_enable(true, false, 0, 100, KMS_TARGET_DRAM, KMS_TARGET_KMEM_ALL);
    kms_fast_learn(512, KMS_TARGET_KMEM_ALL);
    ck_assert_ptr_eq(kms_self.fast[1], kmem_heap);
    ck_assert_ptr_null(kms_self.fast[0]);
    ck_assert_ptr_null(kms_self.fast[KMS_FAST_SMALL]);

    /* Counted, the threshold is cut at the recorded size, and so is the
     * small path; its pointer stays NULL, as fast[] does. */
    kms_fast_enable(true, true, 256, 4096, KMS_TARGET_DRAM, KMS_TARGET_KMEM_ALL);
    ck_assert_uint_eq(kms_fast_threshold, 256);
    ck_assert_uint_eq(kms_fast_small_end, 256);
    kms_fast_enable(true, true, 1u << 20, 64, KMS_TARGET_DRAM, KMS_TARGET_KMEM_ALL);
    ck_assert_uint_eq(kms_fast_small_end, 64);
}
END_TEST

/* One route for every size (a threshold of 0, or both sides alike) is side
 * 0 for every size, so that small requests take the small path; the side's
 * target is the route. Counted, side 0 ends where blocks are recorded. */
START_TEST(one_route_for_all_sizes_is_side_0)
{
    kms_fast_enable(true, false, 0, 0, KMS_TARGET_DRAM, KMS_TARGET_KMEM_ALL);
    ck_assert_uint_eq(kms_fast_threshold, UINT64_MAX);
    ck_assert_uint_eq(kms_fast_small_end, MI_SMALL_SIZE_MAX + 1);
    ck_assert_int_eq(kms_fast_target[0], KMS_TARGET_KMEM_ALL);
    kms_fast_learn(1u << 20, KMS_TARGET_KMEM_ALL);
    ck_assert_ptr_eq(kms_self.fast[0], kmem_heap);
    ck_assert_ptr_eq(kms_self.fast[KMS_FAST_SMALL], kmem_heap);
    ck_assert_ptr_null(kms_self.fast[1]);

    kms_fast_enable(true, false, 0, 4096, KMS_TARGET_KMEM_ALL, KMS_TARGET_KMEM_ALL);
    ck_assert_uint_eq(kms_fast_threshold, UINT64_MAX);

    clear_pointers();
    kms_fast_enable(true, true, 1u << 18, 0, KMS_TARGET_DRAM, KMS_TARGET_KMEM_ALL);
    ck_assert_uint_eq(kms_fast_threshold, 1u << 18);
    ck_assert_uint_eq(kms_fast_small_end, MI_SMALL_SIZE_MAX + 1);
    ck_assert_int_eq(kms_fast_target[0], KMS_TARGET_KMEM_ALL);
    ck_assert_int_eq(kms_fast_target[1], KMS_TARGET_KMEM_ALL);
    /* Recorded blocks take the full path: no counted pointer above the cut. */
    struct kms_stats_thread *s = &kms_self.stats;
    s->state = KMS_STATS_ACTIVE;
    s->left = 1 << 30;
    kms_fast_learn(1u << 18, KMS_TARGET_KMEM_ALL);
    ck_assert_ptr_null(kms_self.counted[1]);
    kms_fast_learn(8, KMS_TARGET_KMEM_ALL);
    ck_assert_ptr_eq(kms_self.counted[0], kmem_heap);
    ck_assert_ptr_null(kms_self.fast[KMS_FAST_SMALL]);

    /* Every block recorded: nothing to cut at. */
    kms_fast_enable(true, true, 0, 0, KMS_TARGET_DRAM, KMS_TARGET_KMEM_ALL);
    ck_assert_uint_eq(kms_fast_threshold, UINT64_MAX);
}
END_TEST

START_TEST(counted_pointers_need_an_active_thread_outside_the_shims_work)
{
    struct kms_stats_thread *s = &kms_self.stats;
    kms_fast_enable(true, true, 1u << 20, 4096, KMS_TARGET_KMEM_ALL, KMS_TARGET_KMEM_ALL);
    kms_fast_learn(8, KMS_TARGET_KMEM_ALL);
    ck_assert_ptr_null(kms_self.counted[0]); /* not ACTIVE yet */
    s->state = KMS_STATS_ACTIVE;
    s->left = 1 << 30;
    s->side_count[0] = s->side_bytes[0] = 0;
    kms_fast_learn(8, KMS_TARGET_KMEM_ALL);
    ck_assert_ptr_eq(kms_self.counted[0], kmem_heap);
    ck_assert_ptr_null(kms_self.fast[0]); /* counted: the fast pointers stay NULL */
    ck_assert_ptr_eq(kms_stats_counted_heap(8, 0), kmem_heap);
    ck_assert_uint_eq(s->side_count[0], 1);
    ck_assert_uint_eq(s->side_bytes[0], 8);

    /* The inline path has no bypass test: a foreign call's requests find no
     * pointer, and are neither counted nor counted down. */
    kms_bypass_enter(&kms_self);
    ck_assert_ptr_null(kms_self.counted[0]);
    ck_assert_ptr_null(kms_self.counted[1]);
    kms_fast_learn(8, KMS_TARGET_KMEM_ALL);
    ck_assert_ptr_null(kms_stats_counted_heap(8, 0));
    ck_assert_uint_eq(s->side_count[0], 1);
    ck_assert_int_eq(s->left, (1 << 30) - 8);
    kms_bypass_leave(&kms_self);

    kms_fast_learn(8, KMS_TARGET_KMEM_ALL);
    ck_assert_ptr_eq(kms_stats_counted_heap(16, 0), kmem_heap);
    ck_assert_uint_eq(s->side_count[0], 2);
    ck_assert_uint_eq(s->side_bytes[0], 24);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("engine_fast");
    TCase *tc = tcase_create("pointers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, fast_pointers_are_emptied_by_the_shims_work_and_not_learnt_in_it);
    tcase_add_test(tc, counted_pointers_need_an_active_thread_outside_the_shims_work);
    tcase_add_test(tc, small_requests_are_below_both_the_threshold_and_mimallocs_small_limit);
    tcase_add_test(tc, one_route_for_all_sizes_is_side_0);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
