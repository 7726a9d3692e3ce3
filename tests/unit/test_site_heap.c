/* SPDX-License-Identifier: MIT */
/* The per-thread memo from callsite to heap (core/site_heap.h). */
#include "core/engine.h"
#include "core/site_heap.h"

#include <check.h>
#include <stdint.h>
#include <string.h>

static mi_heap_t *kmem_heap;

/* kmem in class 0 with a heap of its own, dram the plain heap. */
static void setup(void)
{
    kms_site_heap_forget();
    kmem_heap = mi_heap_new();
    kms_target_class[KMS_TARGET_KMEM_ALL] = 0;
    kms_target_class[KMS_TARGET_DRAM] = -1;
    kms_self.cur[0] = kmem_heap;
    kms_self.bypass = 0;
}

static void teardown(void)
{
    kms_site_heap_forget();
    kms_self.cur[0] = NULL;
    kms_target_class[KMS_TARGET_KMEM_ALL] = -1;
    mi_heap_delete(kmem_heap);
}

/* Another return address with the same slot as a. */
static uintptr_t same_slot(uintptr_t a)
{
    for (uintptr_t b = a + 1;; b++)
        if (kms_site_heap_slot(b) == kms_site_heap_slot(a)) return b;
}

START_TEST(learned_callsite_gets_each_side_heap)
{
    uintptr_t site = 0x7f0000401234;
    ck_assert_ptr_null(kms_site_heap_of(32, (void *)site));
    kms_site_heap_learn(site, 4096, KMS_TARGET_DRAM, KMS_TARGET_KMEM_ALL);
    ck_assert_ptr_eq(kms_site_heap_of(32, (void *)site), mi_heap_get_default());
    ck_assert_ptr_eq(kms_site_heap_of(4095, (void *)site), mi_heap_get_default());
    ck_assert_ptr_eq(kms_site_heap_of(4096, (void *)site), kmem_heap);
    ck_assert_ptr_null(kms_site_heap_of(32, (void *)(site + 1)));
    /* A bound of 0: every size is above it. */
    kms_site_heap_learn(site, 0, KMS_TARGET_DRAM, KMS_TARGET_KMEM_ALL);
    ck_assert_ptr_eq(kms_site_heap_of(0, (void *)site), kmem_heap);
}
END_TEST

START_TEST(collision_replaces_the_older_callsite)
{
    uintptr_t a = 0x55550000a010, b = same_slot(a);
    kms_site_heap_learn(a, 0, KMS_TARGET_KMEM_ALL, KMS_TARGET_KMEM_ALL);
    kms_site_heap_learn(b, 0, KMS_TARGET_DRAM, KMS_TARGET_DRAM);
    ck_assert_ptr_null(kms_site_heap_of(8, (void *)a));
    ck_assert_ptr_eq(kms_site_heap_of(8, (void *)b), mi_heap_get_default());
    /* A callsite in another slot is untouched. */
    uintptr_t c = a + 1;
    while (kms_site_heap_slot(c) == kms_site_heap_slot(a))
        c++;
    kms_site_heap_learn(c, 0, KMS_TARGET_KMEM_ALL, KMS_TARGET_KMEM_ALL);
    ck_assert_ptr_eq(kms_site_heap_of(8, (void *)b), mi_heap_get_default());
    ck_assert_ptr_eq(kms_site_heap_of(8, (void *)c), kmem_heap);
}
END_TEST

START_TEST(bypass_does_not_learn)
{
    uintptr_t site = 0x400abc;
    kms_self.bypass = 1;
    kms_site_heap_learn(site, 0, KMS_TARGET_KMEM_ALL, KMS_TARGET_KMEM_ALL);
    ck_assert_ptr_null(kms_site_heap_of(8, (void *)site));
    kms_self.bypass = 0;
    kms_self.exiting = 1;
    kms_site_heap_learn(site, 0, KMS_TARGET_KMEM_ALL, KMS_TARGET_KMEM_ALL);
    ck_assert_ptr_null(kms_site_heap_of(8, (void *)site));
    kms_self.exiting = 0;
    kms_site_heap_learn(site, 0, KMS_TARGET_KMEM_ALL, KMS_TARGET_KMEM_ALL);
    ck_assert_ptr_eq(kms_site_heap_of(8, (void *)site), kmem_heap);
}
END_TEST

START_TEST(per_cpu_targets_and_missing_heaps_take_the_full_path)
{
    uintptr_t site = 0x400def;
    kms_target_class[KMS_TARGET_KMEM_ALL] = KMS_CLASS_BY_CPU;
    kms_site_heap_learn(site, 0, KMS_TARGET_KMEM_ALL, KMS_TARGET_KMEM_ALL);
    ck_assert_ptr_null(kms_site_heap_of(8, (void *)site));
    /* One side per CPU: only the other side is remembered. */
    kms_site_heap_learn(site, 100, KMS_TARGET_DRAM, KMS_TARGET_KMEM_ALL);
    ck_assert_ptr_eq(kms_site_heap_of(8, (void *)site), mi_heap_get_default());
    ck_assert_ptr_null(kms_site_heap_of(100, (void *)site));
    /* A class the thread has no heap in yet. */
    kms_target_class[KMS_TARGET_KMEM_ALL] = 0;
    kms_self.cur[0] = NULL;
    kms_site_heap_learn(site, 100, KMS_TARGET_DRAM, KMS_TARGET_KMEM_ALL);
    ck_assert_ptr_null(kms_site_heap_of(100, (void *)site));
    ck_assert_ptr_eq(kms_site_heap_of(99, (void *)site), mi_heap_get_default());
}
END_TEST

START_TEST(forget_empties_and_zero_is_never_a_callsite)
{
    uintptr_t site = 0x401000;
    kms_site_heap_learn(site, 0, KMS_TARGET_KMEM_ALL, KMS_TARGET_KMEM_ALL);
    kms_site_heap_forget();
    ck_assert_ptr_null(kms_site_heap_of(8, (void *)site));
    kms_site_heap_learn(0, 0, KMS_TARGET_KMEM_ALL, KMS_TARGET_KMEM_ALL);
    ck_assert_ptr_null(kms_site_heap_of(8, NULL));
    /* malloc probes the memo without a flag of its own: an empty one misses
     * in every slot, for either side, 0 included. */
    uint64_t seen = 0;
    for (uintptr_t a = 0; a < 4096; a += 8) {
        ck_assert_ptr_null(kms_site_heap_of(8, (void *)a));
        ck_assert_ptr_null(kms_site_heap_of(SIZE_MAX, (void *)a));
        seen |= 1ull << kms_site_heap_slot(a);
    }
    ck_assert_uint_eq(seen, UINT64_MAX);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("site_heap");
    TCase *tc = tcase_create("memo");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, learned_callsite_gets_each_side_heap);
    tcase_add_test(tc, collision_replaces_the_older_callsite);
    tcase_add_test(tc, bypass_does_not_learn);
    tcase_add_test(tc, per_cpu_targets_and_missing_heaps_take_the_full_path);
    tcase_add_test(tc, forget_empties_and_zero_is_never_a_callsite);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
